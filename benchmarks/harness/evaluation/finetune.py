"""Fine-tuning: the whole encoder with a Dropout + Linear classifier (BYEL recipe).

BYEL fine-tunes its encoder with Dropout(0.3) and a linear layer, Adam at 1e-4 and
cross-entropy. Its published code kept the epoch with the best F1 on the reported
real validation set; here the epoch is chosen on held-out synthetic data, or the
schedule is fixed, so the eval split is never looked at before scoring.
"""

import contextlib
import copy
import dataclasses
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from harness.config.settings import EvalSettings, LoggerKind
from harness.data.class_balance import inverse_frequency_weights
from harness.evaluation import linear_probe
from harness.evaluation.context import EvalContext
from harness.evaluation.features import extract_features
from harness.evaluation.outcome import EvalOutcome, scored
from harness.training.checkpointed_fit import checkpointed_fit
from harness.training.loggers import training_loggers
from lightly_byel.data import LSD_CLASSES
from lightly_byel.utils.metrics import classification_metrics

HOLDOUT_METRIC = "holdout_macro_f1"
"""Name under which the holdout macro F1 of each epoch is logged."""


class FineTuneClassifier(pl.LightningModule):
    """An encoder with Dropout and a linear classifier, trained with cross-entropy.

    Args:
        backbone: Encoder mapping images (B, ...) to features (B, num_ftrs, ...);
            trained along with the classifier.
        num_ftrs: Number of features per image, after flattening.
        num_classes: Number of classes.
        dropout: Dropout probability before the classifier.
        lr: Learning rate of Adam.
        class_weights: Cross-entropy weight of each class, shape (num_classes,), or
            ``None`` for equal weights.
    """

    class_weights: Tensor | None

    def __init__(
        self,
        backbone: nn.Module,
        num_ftrs: int,
        num_classes: int,
        dropout: float = 0.3,
        lr: float = 1e-4,
        class_weights: Tensor | None = None,
    ) -> None:
        super().__init__()
        if class_weights is not None and class_weights.shape != (num_classes,):
            raise ValueError(
                f"class_weights must have shape ({num_classes},), "
                f"got {tuple(class_weights.shape)}"
            )
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(num_ftrs, num_classes)
        self.lr = lr
        self.register_buffer("class_weights", class_weights, persistent=False)
        self._holdout_predictions: list[Tensor] = []
        self._holdout_labels: list[Tensor] = []

    def forward(self, images: Tensor) -> Tensor:
        """Logits of shape (B, num_classes) for images of shape (B, ...)."""
        features = self.backbone(images).flatten(start_dim=1)
        logits: Tensor = self.classifier(self.dropout(features))
        return logits

    def training_step(self, batch: Sequence[Any], batch_idx: int) -> Tensor:
        images, labels = batch[0], batch[1]
        loss = F.cross_entropy(self(images), labels, self.class_weights)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(labels))
        return loss

    def validation_step(self, batch: Sequence[Any], batch_idx: int) -> None:
        images, labels = batch[0], batch[1]
        self._holdout_predictions.append(self(images).argmax(dim=1))
        self._holdout_labels.append(labels)

    def on_validation_epoch_end(self) -> None:
        predictions = torch.cat(self._holdout_predictions)
        labels = torch.cat(self._holdout_labels)
        self._holdout_predictions.clear()
        self._holdout_labels.clear()
        if self.trainer.sanity_checking:
            return
        # Under DDP every process scores the whole holdout split, so all agree on
        # the selected epoch.
        predictions = cast(Tensor, self.all_gather(predictions)).flatten()
        labels = cast(Tensor, self.all_gather(labels)).flatten()
        names = [str(c) for c in range(self.classifier.out_features)]
        scores = classification_metrics(labels, predictions, names)
        self.log(HOLDOUT_METRIC, scores["macro_f1"], prog_bar=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class BestHoldoutState(pl.Callback):
    """Keeps a CPU copy of the model's weights at the epoch with the best holdout score.

    The earliest epoch wins ties. The copy is saved with the fit's checkpoints, so
    a resumed fine-tuning still knows the best epoch before the interruption.

    Attributes:
        best_score: The best holdout score so far (-inf before the first).
        best_epoch: The epoch (1-based) of that score, 0 before the first.
        best_state: The model's state dict at that epoch, or ``None``.
    """

    def __init__(self, monitor: str = HOLDOUT_METRIC) -> None:
        self.monitor = monitor
        self.best_score = float("-inf")
        self.best_epoch = 0
        self.best_state: dict[str, Tensor] | None = None

    def on_validation_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        if trainer.sanity_checking:
            return
        score = float(trainer.callback_metrics[self.monitor])
        if score > self.best_score:
            self.best_score = score
            self.best_epoch = trainer.current_epoch + 1
            self.best_state = {
                name: tensor.detach().to("cpu", copy=True)
                for name, tensor in pl_module.state_dict().items()
            }

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = state_dict["best_score"]
        self.best_epoch = state_dict["best_epoch"]
        self.best_state = state_dict["best_state"]


def evaluate(context: EvalContext, earlier: Mapping[str, EvalOutcome]) -> EvalOutcome:
    """The ``finetune`` protocol: :func:`finetune` of the context's encoder.

    With ``finetune_head: linear-probe`` it starts from the linear probe's
    classifier, from ``earlier`` or probed here.
    """
    settings = context.config.evaluation
    head = None
    if settings.finetune_head == "linear-probe":
        probe = earlier.get("linear") or linear_probe.evaluate(context, earlier)
        head = probe.head
    samples = context.pipeline.augmented(context.pipeline.splits.train_indices)
    unit = context.unit
    outcome = finetune(
        context.pipeline.encoder(context.backbone, augment=True),
        context.num_ftrs,
        context.batches(samples, train=True),
        context.holdout(),
        context.evaluation(),
        settings,
        context.one_device,
        context.seed,
        context.output / "logs" / unit,
        train_labels=samples.labels(),
        logger=context.config.run.logger,
        head=head,
        checkpoint_dir=context.output / "checkpoints" / unit / "finetune",
        unit=f"{unit}, fine-tuning",
        writer=context.writer,
    )
    assert outcome.encoder is not None  # finetune always keeps its encoder
    return dataclasses.replace(
        outcome, encoder=context.pipeline.backbone_of(outcome.encoder)
    )


def finetune(
    backbone: nn.Module,
    num_ftrs: int,
    train_loader: Iterable[Sequence[Any]],
    holdout_loader: Iterable[Sequence[Any]] | None,
    eval_loader: Iterable[Sequence[Any]],
    settings: EvalSettings,
    trainer_kwargs: Mapping[str, Any],
    seed: int,
    log_dir: Path | None = None,
    logger: LoggerKind = "csv",
    train_labels: Sequence[int] | None = None,
    class_names: Sequence[str] = LSD_CLASSES,
    head: nn.Linear | None = None,
    checkpoint_dir: Path | None = None,
    unit: str = "fine-tuning",
    writer: bool = True,
) -> EvalOutcome:
    """Fine-tunes a copy of the encoder on synthetic labels and scores the eval split.

    Trains :class:`FineTuneClassifier` (``settings.dropout``,
    ``settings.finetune_lr``) for ``settings.finetune_epochs`` epochs with a
    Lightning Trainer. With a holdout split the weights of the epoch with the best
    holdout macro F1 are kept, otherwise those of the last epoch; the eval split is
    only predicted, after training. Class imbalance: ``weighted_loss`` weights the
    cross-entropy by inverse class frequency; ``sampler`` is the caller's
    ``train_loader`` (built with a class-balanced sampler); ``none`` does nothing.

    The Trainer gets ``max_epochs`` and ``trainer_kwargs``, on top of these
    defaults: a CSV logger writing ``log_dir/finetune/metrics.csv`` (no logger
    without ``log_dir``) and no sanity validation. Every epoch is checkpointed in
    ``checkpoint_dir``
    (:func:`~harness.training.checkpointed_fit.checkpointed_fit`), from which an
    interrupted fine-tuning continues. The eval split is predicted in
    fp32 on the Trainer's device. Meant for one device: under DDP every process
    selects the same epoch and predicts the whole eval split itself, so any one
    (rank 0) can report.

    Args:
        backbone: Encoder mapping images (B, ...) to features (B, num_ftrs, ...).
            It is copied; the caller's module is not changed.
        num_ftrs: Number of features per image, after flattening.
        train_loader: Training batches (images, labels, ...), augmented.
        holdout_loader: Holdout batches without augmentation to select the epoch,
            or ``None`` to keep the last epoch.
        eval_loader: Eval batches to score.
        settings: Epochs, learning rate, dropout, class balance and bootstrap
            resamples.
        trainer_kwargs: Further Trainer arguments (accelerator, devices, precision,
            strategy, logger, progress bar, ...).
        seed: Seed of the classifier's initialisation, dropout and data order (via
            ``seed_everything``) and of the bootstrap.
        log_dir: Folder for the CSV log, or ``None``.
        logger: ``csv``, or ``tensorboard`` for a TensorBoard log beside it.
        train_labels: Labels of the training split, for the ``weighted_loss`` class
            weights. If ``None`` they are read with one pass over ``train_loader``,
            which loads every image once.
        class_names: Name of each class, in label order.
        head: A classifier on the encoder's features to start from (a linear
            probe's, for LP-FT); ``None`` for a new, random one. It is copied.
        checkpoint_dir: Folder of the epoch checkpoints; ``None`` for a temporary
            one (nothing to continue from).
        unit: What is fine-tuned, for messages and errors.
        writer: Whether this process may remove files (the first process).

    Returns:
        The scores and predictions on the eval split.

    Raises:
        ValueError: If ``settings.finetune_epochs`` is below 1, or ``head`` does
            not map ``num_ftrs`` features to the classes.
        DivergenceError: If the loss stays non-finite.
    """
    if settings.finetune_epochs < 1:
        raise ValueError(
            f"finetune_epochs must be at least 1, got {settings.finetune_epochs}"
        )
    num_classes = len(class_names)
    class_weights = None
    if settings.class_balance == "weighted_loss":
        class_weights = _class_weights(train_labels, train_loader, num_classes)

    pl.seed_everything(seed, workers=True, verbose=False)
    model = _classifier(backbone, num_ftrs, num_classes, settings, class_weights, head)
    selection = BestHoldoutState()
    defaults: dict[str, Any] = {
        "logger": False
        if log_dir is None
        else training_loggers(logger, log_dir, "", "finetune"),
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,
    }
    with contextlib.ExitStack() as stack:
        folder = checkpoint_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory())
        )
        fit = checkpointed_fit(
            model,
            train_loader,
            holdout_loader,
            settings.finetune_epochs,
            folder,
            unit,
            {**defaults, **trainer_kwargs},
            callbacks=[selection],
            writer=writer,
        )

    holdout_f1, epoch = None, None
    if holdout_loader is not None and selection.best_state is not None:
        model.load_state_dict(selection.best_state)
        holdout_f1, epoch = selection.best_score, selection.best_epoch
    # Lightning returns the model to the CPU after fit; predict on the Trainer's
    # device.
    model.to(fit.device)
    logits, eval_y = extract_features(model, eval_loader)
    return scored(
        "finetune",
        eval_y.tolist(),
        logits.argmax(dim=1).tolist(),
        class_names,
        settings.bootstrap_samples,
        seed,
        holdout_f1,
        epoch,
        fit.seconds,
        fit.images,
        encoder=model.backbone,
        head=copy.deepcopy(model.classifier).cpu(),
    )


def _class_weights(
    train_labels: Sequence[int] | None,
    train_loader: Iterable[Sequence[Any]],
    num_classes: int,
) -> Tensor:
    """Inverse class frequencies of the training labels.

    Without ``train_labels`` they are read from the batches: one pass that loads
    every image.
    """
    labels = (
        torch.as_tensor(train_labels)
        if train_labels is not None
        else torch.cat([torch.as_tensor(batch[1]) for batch in train_loader])
    )
    return inverse_frequency_weights(labels, num_classes)


def _classifier(
    backbone: nn.Module,
    num_ftrs: int,
    num_classes: int,
    settings: EvalSettings,
    class_weights: Tensor | None,
    head: nn.Linear | None,
) -> FineTuneClassifier:
    """A new classifier on a copy of the encoder, starting from ``head`` if given.

    Raises:
        ValueError: If ``head`` does not map ``num_ftrs`` features to the classes.
    """
    model = FineTuneClassifier(
        copy.deepcopy(backbone),
        num_ftrs,
        num_classes,
        dropout=settings.dropout,
        lr=settings.finetune_lr,
        class_weights=class_weights,
    )
    if head is not None:
        if (head.in_features, head.out_features) != (num_ftrs, num_classes):
            raise ValueError(
                f"head maps {head.in_features} features to {head.out_features} "
                f"classes, expected {num_ftrs} to {num_classes}"
            )
        model.classifier.load_state_dict(head.state_dict())
    return model
