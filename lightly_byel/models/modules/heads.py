"""Emotion-aware heads for BYEL (Bootstrap Your Emotion Latent)."""

import torch
from lightly.models.modules.heads import BYOLPredictionHead
from torch import Tensor, nn

#: The batch norm buffers that a non-finite batch must not change.
_RUNNING_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


class EmotionClassifier(nn.Module):
    """Linear emotion classifier whose weight columns are the emotion vectors of BYEL.

    The weight ``W`` has shape ``(input_dim, num_classes)`` and is initialised
    orthogonal, so its columns start orthonormal. Column ``W[:, c]`` is the emotion
    vector of class ``c``, subtracted from the online prediction in
    :class:`~lightly_byel.loss.BYELLoss`. The logits are
    ``BatchNorm1d(num_classes)(x @ W)`` [0].

    A training batch whose statistics are not finite leaves the running statistics
    of the batch normalisation as they were, so one diverged batch cannot spoil
    evaluation for good; its logits may still be NaN, for the caller to detect.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Attributes:
        weight: The emotion vectors as columns, shape ``(input_dim, num_classes)``.
        batch_norm: Batch normalisation of the logits.

    Examples:
        >>> import torch
        >>> classifier = EmotionClassifier(input_dim=256, num_classes=6)
        >>> classifier(torch.randn(8, 256)).shape
        torch.Size([8, 6])
        >>> classifier.emotion_vectors(torch.tensor([0, 5, 5])).shape
        torch.Size([3, 256])
        >>> bool(classifier.orthonormality_loss() < 1e-4)
        True
        >>> _ = classifier(torch.full((8, 256), float("nan")))
        >>> bool(classifier.batch_norm.running_mean.isfinite().all())
        True
    """

    def __init__(self, input_dim: int, num_classes: int = 6) -> None:
        """Creates the classifier.

        Args:
            input_dim: Dimension of the predictions it classifies.
            num_classes: Number of emotion classes. At most ``input_dim``, so that the
                emotion vectors can be orthonormal.

        Raises:
            ValueError: If a dimension is not a positive integer or ``num_classes``
                exceeds ``input_dim``.
        """
        super().__init__()
        for name, value in (("input_dim", input_dim), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if num_classes > input_dim:
            raise ValueError(
                f"num_classes ({num_classes}) must not exceed input_dim ({input_dim}): "
                "the emotion vectors are orthonormal columns of a "
                "(input_dim, num_classes) matrix."
            )
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.weight = nn.Parameter(torch.empty(input_dim, num_classes))
        nn.init.orthogonal_(self.weight)
        self.batch_norm = nn.BatchNorm1d(num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Computes emotion logits.

        Args:
            x: Predictions of shape ``(batch, input_dim)``.

        Returns:
            Logits of shape ``(batch, num_classes)``. In training mode, a batch whose
            statistics are not finite gives non-finite logits and leaves the
            running statistics unchanged.

        Raises:
            ValueError: In training mode, for a batch of one sample.
        """
        batch_norm = self.batch_norm
        if batch_norm.training and x.dim() == 2 and x.shape[0] == 1:
            # BatchNorm1d would only say "Expected more than 1 value per channel".
            raise ValueError(
                "EmotionClassifier needs at least 2 samples per batch in training "
                "mode: its BatchNorm1d normalises the logits with the batch's "
                "statistics; got a batch of 1 (call .eval() to classify single "
                "samples)."
            )
        logits: Tensor
        mean, var, count = (
            batch_norm.running_mean,
            batch_norm.running_var,
            batch_norm.num_batches_tracked,
        )
        if not batch_norm.training or mean is None or var is None or count is None:
            logits = batch_norm(x @ self.weight)
            return logits
        # One NaN or inf batch would otherwise leave the running statistics
        # non-finite for good, and every evaluation after it NaN.
        saved = (mean.clone(), var.clone(), count.clone())
        logits = batch_norm(x @ self.weight)
        with torch.no_grad():
            # Chosen on the device with torch.where rather than with a Python `if`,
            # so that the check never waits for the accelerator. Written through
            # `.data`: autograd keeps the running buffers with the batch norm's graph
            # (its training-mode backward never reads them), and an in-place write
            # that autograd sees would fail that backward.
            # Read the buffers again: torch < 1.11 replaces num_batches_tracked
            # with a new tensor instead of incrementing it in place.
            current = [getattr(batch_norm, name) for name in _RUNNING_STATISTICS]
            finite = current[0].isfinite().all() & current[1].isfinite().all()
            for buffer, old in zip(current, saved):
                buffer.data.copy_(torch.where(finite, buffer, old))
        return logits

    def emotion_vectors(self, labels: Tensor) -> Tensor:
        """Returns the emotion vector of each label, ``W[:, labels]^T``.

        Args:
            labels: Class indices of shape ``(batch,)``.

        Returns:
            Emotion vectors of shape ``(batch, input_dim)``.
        """
        return self.weight[:, labels].T

    def orthonormality_loss(self) -> Tensor:
        """Returns ``sum(|I - W^T W|)``, zero when the emotion vectors are orthonormal.

        Returns:
            A scalar tensor.
        """
        gram = self.weight.T @ self.weight
        identity = torch.eye(self.num_classes, device=gram.device, dtype=gram.dtype)
        return (identity - gram).abs().sum()


class BYELPredictionHead(BYOLPredictionHead):
    """BYOL prediction head with the emotion classifier of BYEL.

    The prediction MLP is Lightly's :class:`BYOLPredictionHead` (Linear, BatchNorm1d,
    ReLU, Linear) and ``forward`` returns its predictions. The attribute
    ``classifier`` is an :class:`EmotionClassifier` on those predictions, used by
    :class:`~lightly_byel.loss.BYELLoss` for the cross-entropy, the emotion vector
    subtraction and the orthonormality term [0].

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Attributes:
        classifier: The emotion classifier on the predictions.

    Examples:
        >>> import torch
        >>> head = BYELPredictionHead(input_dim=256, hidden_dim=1024, output_dim=256)
        >>> predictions = head(torch.randn(8, 256))
        >>> predictions.shape
        torch.Size([8, 256])
        >>> head.classifier(predictions).shape
        torch.Size([8, 6])
    """

    def __init__(
        self,
        input_dim: int = 256,
        hidden_dim: int = 4096,
        output_dim: int = 256,
        num_classes: int = 6,
    ) -> None:
        """Creates the head.

        Args:
            input_dim: Dimension of the projections it takes.
            hidden_dim: Hidden dimension of the prediction MLP.
            output_dim: Dimension of the predictions, and the input of the classifier.
            num_classes: Number of emotion classes.

        Raises:
            ValueError: If the classifier cannot be built from ``output_dim`` and
                ``num_classes`` (see :class:`EmotionClassifier`).
        """
        super().__init__(
            input_dim=input_dim, hidden_dim=hidden_dim, output_dim=output_dim
        )
        self.classifier = EmotionClassifier(
            input_dim=output_dim, num_classes=num_classes
        )
