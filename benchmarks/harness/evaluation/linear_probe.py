"""Linear probe: a linear classifier on the frozen features of an encoder.

The encoder runs once over each split; the classifier then trains on the cached
features, which takes seconds even for large splits.
"""

import copy
import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from harness.config.settings import EvalSettings
from harness.data.class_balance import class_counts, inverse_frequency_weights
from harness.evaluation.context import EvalContext
from harness.evaluation.features import (
    evaluation_device,
    extract_features,
    module_device,
)
from harness.evaluation.outcome import EvalOutcome, scored
from lightly_byel.data import LSD_CLASSES
from lightly_byel.utils.metrics import classification_metrics

Batches = Iterable[Sequence[Any]]
"""A data loader: batches of (images, labels, ...)."""


def evaluate(context: EvalContext, earlier: Mapping[str, EvalOutcome]) -> EvalOutcome:
    """The ``linear`` protocol: :func:`linear_probe` of the context's encoder."""
    outcome = linear_probe(
        context.pipeline.encoder(context.backbone),
        context.num_ftrs,
        context.plain_train(),
        context.holdout(),
        context.evaluation(),
        context.config.evaluation,
        context.one_device,
        context.seed,
    )
    return dataclasses.replace(outcome, encoder=context.backbone)


def linear_probe(
    backbone: nn.Module,
    num_ftrs: int,
    train_loader: Batches,
    holdout_loader: Batches | None,
    eval_loader: Batches,
    settings: EvalSettings,
    trainer_kwargs: Mapping[str, Any],
    seed: int,
    class_names: Sequence[str] = LSD_CLASSES,
) -> EvalOutcome:
    """Trains a linear classifier on frozen features and scores it on the eval split.

    Features are standardised with the mean and standard deviation of the training
    features (a fixed affine map, so the classifier stays linear) to make Adam's
    learning rate independent of the encoder's feature scale. The classifier starts
    from zeros and trains with Adam (``settings.linear_lr``) for
    ``settings.linear_epochs`` epochs of mini-batches of
    ``settings.batch_size_per_device`` features, in fp32. Class imbalance follows
    ``settings.class_balance``: inverse-frequency weights in the cross-entropy
    (``weighted_loss``), class-balanced sampling of the features (``sampler``) or
    nothing (``none``). With a holdout split the epoch with the best holdout macro
    F1 is kept (the earliest on ties), otherwise the last; the eval split is only
    predicted.

    The encoder runs on its own device, or on the device of
    ``trainer_kwargs["accelerator"]`` when it is on the CPU; the caller's module is
    neither moved nor changed. Everything runs in the calling process.

    Args:
        backbone: Encoder mapping images (B, ...) to features (B, num_ftrs, ...).
        num_ftrs: Number of features per image, after flattening.
        train_loader: Training batches (images, labels, ...), without augmentation.
        holdout_loader: Holdout batches to select the epoch, or ``None`` to keep the
            last epoch.
        eval_loader: Eval batches to score.
        settings: Epochs, learning rate, batch size, class balance and bootstrap
            resamples.
        trainer_kwargs: Lightning Trainer arguments; only ``accelerator`` is used.
        seed: Seed of the shuffling or sampling and of the bootstrap.
        class_names: Name of each class, in label order.

    Returns:
        The scores and predictions on the eval split.

    Raises:
        ValueError: If the features do not have ``num_ftrs`` entries, the epochs are
            below 1 or a split is empty.
    """
    if settings.linear_epochs < 1:
        raise ValueError(
            f"linear_epochs must be at least 1, got {settings.linear_epochs}"
        )
    num_classes = len(class_names)
    device = evaluation_device(backbone, trainer_kwargs)
    # One copy on the device serves all three splits.
    encoder = backbone if module_device(backbone) == device else copy.deepcopy(backbone)
    encoder.to(device)

    started = time.perf_counter()
    train_x, train_y = _features(encoder, train_loader, device, num_ftrs)
    holdout = None
    if holdout_loader is not None:
        holdout = _features(encoder, holdout_loader, device, num_ftrs)
    mean = train_x.mean(dim=0)
    std = train_x.std(dim=0, unbiased=False).clamp(min=1e-6)
    if holdout is not None:
        holdout = ((holdout[0] - mean) / std, holdout[1])
    classifier, epoch, holdout_f1 = _fit(
        (train_x - mean) / std, train_y, holdout, num_classes, settings, seed
    )
    train_seconds = time.perf_counter() - started

    eval_x, eval_y = _features(encoder, eval_loader, device, num_ftrs)
    # The head on raw features is what a saved model applies, so the eval split
    # is scored with it.
    head = raw_features_head(classifier, mean, std)
    with torch.no_grad():
        predictions = head.to(device)(eval_x).argmax(dim=1).cpu()
    y_true, y_pred = eval_y.tolist(), predictions.tolist()
    return scored(
        "linear",
        y_true,
        y_pred,
        class_names,
        settings.bootstrap_samples,
        seed,
        holdout_f1,
        None if holdout is None else epoch,
        train_seconds,
        len(train_y),
        encoder=backbone,
        head=head.cpu(),
    )


def raw_features_head(classifier: nn.Linear, mean: Tensor, std: Tensor) -> nn.Linear:
    """The classifier of standardised features as one on raw features, on the CPU.

    ``W (x - mean) / std + b`` is ``(W / std) x + (b - W mean / std)``.

    Examples:
        >>> layer = nn.Linear(3, 2)
        >>> mean, std = torch.randn(3), torch.rand(3) + 0.5
        >>> x = torch.randn(4, 3)
        >>> raw = raw_features_head(layer, mean, std)
        >>> torch.allclose(raw(x), layer((x - mean) / std), atol=1e-6)
        True
    """
    raw = nn.Linear(classifier.in_features, classifier.out_features)
    with torch.no_grad():
        weight = classifier.weight / std
        raw.weight.copy_(weight)
        raw.bias.copy_(classifier.bias - weight @ mean)
    return raw.cpu()


def _features(
    encoder: nn.Module, loader: Batches, device: torch.device, num_ftrs: int
) -> tuple[Tensor, Tensor]:
    """Features (on ``device``) and labels (on the CPU) of one split."""
    features, labels = extract_features(encoder, loader, device)
    if features.shape[1] != num_ftrs:
        raise ValueError(
            f"the backbone gives {features.shape[1]} features per image, "
            f"num_ftrs is {num_ftrs}"
        )
    return features.to(device), labels


def _fit(
    features: Tensor,
    labels: Tensor,
    holdout: tuple[Tensor, Tensor] | None,
    num_classes: int,
    settings: EvalSettings,
    seed: int,
) -> tuple[nn.Linear, int, float | None]:
    """Trains the classifier.

    Returns:
        The classifier at the selected epoch, that epoch, and its holdout macro F1
        (``None`` without a holdout).
    """
    device = features.device
    classifier = nn.Linear(features.shape[1], num_classes).to(device)
    nn.init.zeros_(classifier.weight)
    nn.init.zeros_(classifier.bias)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=settings.linear_lr)
    weights = None
    if settings.class_balance == "weighted_loss":
        weights = inverse_frequency_weights(labels, num_classes).to(device)
    sample_weights = 1.0 / class_counts(labels, num_classes).double()[labels]
    targets = labels.to(device)
    # A CPU generator keeps the order the same on every device.
    generator = torch.Generator().manual_seed(seed)
    best_f1, best_epoch, best_state = -1.0, settings.linear_epochs, None
    for epoch in range(1, settings.linear_epochs + 1):
        if settings.class_balance == "sampler":
            order = torch.multinomial(
                sample_weights, len(labels), replacement=True, generator=generator
            )
        else:
            order = torch.randperm(len(labels), generator=generator)
        for batch in torch.split(order.to(device), settings.batch_size_per_device):
            loss = F.cross_entropy(classifier(features[batch]), targets[batch], weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # unannotated in torch
            optimizer.step()
        if holdout is not None:
            with torch.no_grad():
                predicted = classifier(holdout[0]).argmax(dim=1).cpu()
            names = [str(c) for c in range(num_classes)]
            f1 = classification_metrics(holdout[1], predicted, names)["macro_f1"]
            if f1 > best_f1:
                best_f1, best_epoch = f1, epoch
                best_state = copy.deepcopy(classifier.state_dict())
    if best_state is None:
        return classifier, best_epoch, None
    classifier.load_state_dict(best_state)
    return classifier, best_epoch, best_f1
