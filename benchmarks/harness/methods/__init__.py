"""The pretraining methods and their registry.

Every method is a LightningModule built as ``spec.model(model_settings,
pretrain_settings)``, or with ``spec.build`` that also weighs the supervised
baseline's classes from the training labels. The BYEL
ablations are ``functools.partial`` of :class:`BYEL` with one loss option changed;
the options are saved in the checkpoint, so ``BYEL.load_from_checkpoint(path)``
rebuilds any of them. The self-supervised methods share one two-view
:class:`~lightly_byel.BYELTransform`, so that only their objectives differ; the
supervised baseline gets one view of the same augmentations.

Examples:
    >>> from harness.settings import ModelSettings, PretrainSettings
    >>> spec = METHODS["byel-no-subtraction"]
    >>> module = spec.model(ModelSettings(hidden_dim=64), PretrainSettings())
    >>> module.num_ftrs, module.criterion.subtract, spec.uses_labels
    (512, False, True)
    >>> len(spec.transform(ModelSettings())(torch.zeros(3, 80, 80)))
    2
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from PIL import Image
from torch import Tensor, nn

from harness.evaluation.class_balance import inverse_frequency_weights
from harness.methods.base import MomentumMethod, PretrainMethod
from harness.methods.byel import BYEL
from harness.methods.byol import BYOL
from harness.methods.random_init import RandomInit
from harness.methods.simclr import SimCLR
from harness.methods.supervised import Supervised
from harness.settings import ModelSettings, PretrainSettings
from lightly_byel import (
    BYELBatchTransform,
    BYELBatchViewTransform,
    BYELTransform,
    BYELViewTransform,
)

Transform = Callable[[Image.Image | Tensor], Tensor | list[Tensor]]


@dataclass(frozen=True)
class MethodSpec:
    """How to build and train one pretraining method.

    Attributes:
        model: Builds the LightningModule, called as
            ``model(model_settings, pretrain_settings, **options)``.
        transform: Builds the training transform from the model settings: two views
            for the self-supervised methods, one for the supervised baseline;
            ``None`` for the no-pretraining control, which is never trained.
        batch_transform: The same augmentations for uint8 batches on the training
            device (the cache pipeline); ``None`` where ``transform`` is.
        uses_labels: Whether training uses the synthetic labels.
        description: One line for reports.
        class_weighted: Whether ``model`` takes ``class_weights``, which
            :meth:`build` sets to the inverse class frequencies.
        own_settings: States the settings only this method uses (a momentum, a
            temperature), for the results; the shared ones are stated once.
    """

    model: Callable[..., PretrainMethod]
    transform: Callable[[ModelSettings], Transform] | None
    batch_transform: Callable[[ModelSettings], nn.Module] | None
    uses_labels: bool
    description: str
    class_weighted: bool = False
    own_settings: Callable[[PretrainSettings], str] = lambda settings: "none"

    @property
    def pretrains(self) -> bool:
        """Whether the method trains its encoder (all but the control do)."""
        return self.transform is not None

    def views(self, model: ModelSettings) -> Transform:
        """The training transform of the files pipeline.

        Raises:
            ValueError: For a method that does not pretrain.
        """
        if self.transform is None:
            raise ValueError(f"{self.description}: never trained, no transform.")
        return self.transform(model)

    def batch_views(self, model: ModelSettings) -> nn.Module:
        """The training augmentation of uint8 batches on the device (cache pipeline).

        Raises:
            ValueError: For a method that does not pretrain.
        """
        if self.batch_transform is None:
            raise ValueError(f"{self.description}: never trained, no transform.")
        return self.batch_transform(model)

    def build(
        self,
        model: ModelSettings,
        pretrain: PretrainSettings,
        labels: Sequence[int] | None = None,
    ) -> PretrainMethod:
        """Builds the method's LightningModule.

        Args:
            model: The encoder and head settings.
            pretrain: The optimisation settings.
            labels: The training labels; a class-weighted method weighs each class
                by ``N / (C * count)`` (macro F1 weighs the classes alike). Without
                them, or for other methods, no weights are used.

        Returns:
            The LightningModule to train.
        """
        if self.class_weighted and labels is not None:
            weights = inverse_frequency_weights(
                torch.as_tensor(labels), model.num_classes
            )
            return self.model(model, pretrain, class_weights=weights)
        return self.model(model, pretrain)


def momentum_settings(settings: PretrainSettings) -> str:
    """The target network's momentum schedule (BYOL, BYEL)."""
    return (
        f"target momentum {settings.momentum_start} to {settings.momentum_end} (cosine)"
    )


def byel_settings(settings: PretrainSettings) -> str:
    """BYEL's own settings: the momentum and the published loss."""
    return (
        f"{momentum_settings(settings)}; loss terms and emotion vector "
        "subtraction as published, weights 1, unless the name says otherwise"
    )


def two_view_transform(model: ModelSettings) -> BYELTransform:
    """Returns the two-view transform of the self-supervised methods."""
    view = one_view_transform(model)
    return BYELTransform(view_1_transform=view, view_2_transform=view)


def one_view_transform(model: ModelSettings) -> BYELViewTransform:
    """Returns the one-view transform of the supervised baseline."""
    return BYELViewTransform(input_size=model.input_size, min_scale=model.min_scale)


def two_view_batch_transform(model: ModelSettings) -> BYELBatchTransform:
    """Returns the two-view batch transform of the self-supervised methods."""
    view = one_view_batch_transform(model)
    return BYELBatchTransform(view_1_transform=view, view_2_transform=view)


def one_view_batch_transform(model: ModelSettings) -> BYELBatchViewTransform:
    """Returns the one-view batch transform of the supervised baseline."""
    return BYELBatchViewTransform(
        input_size=model.input_size, min_scale=model.min_scale
    )


METHODS: dict[str, MethodSpec] = {
    "byel": MethodSpec(
        model=BYEL,
        transform=two_view_transform,
        batch_transform=two_view_batch_transform,
        uses_labels=True,
        description="BYEL: BYOL + emotion classifier + emotion vector subtraction",
        own_settings=byel_settings,
    ),
    "byol": MethodSpec(
        model=BYOL,
        transform=two_view_transform,
        batch_transform=two_view_batch_transform,
        uses_labels=False,
        description="BYOL without labels",
        own_settings=momentum_settings,
    ),
    "simclr": MethodSpec(
        model=SimCLR,
        transform=two_view_transform,
        batch_transform=two_view_batch_transform,
        uses_labels=False,
        description="SimCLR without labels",
        own_settings=lambda settings: f"NT-Xent temperature {settings.temperature}",
    ),
    "supervised": MethodSpec(
        model=Supervised,
        transform=one_view_transform,
        batch_transform=one_view_batch_transform,
        uses_labels=True,
        description="Supervised cross-entropy on the synthetic labels",
        class_weighted=True,
        own_settings=lambda settings: (
            "cross-entropy weighted by inverse class frequency"
        ),
    ),
    "random-init": MethodSpec(
        model=RandomInit,
        transform=None,
        batch_transform=None,
        uses_labels=False,
        description="No pretraining: the same encoder as initialised (control)",
        own_settings=lambda settings: "no pretraining",
    ),
    "byel-no-subtraction": MethodSpec(
        model=partial(BYEL, subtract=False),
        transform=two_view_transform,
        batch_transform=two_view_batch_transform,
        uses_labels=True,
        description="BYEL ablation: no emotion vector subtraction",
        own_settings=byel_settings,
    ),
    "byel-no-ce": MethodSpec(
        model=partial(BYEL, classification_weight=0.0),
        transform=two_view_transform,
        batch_transform=two_view_batch_transform,
        uses_labels=True,
        description="BYEL ablation: no emotion cross-entropy",
        own_settings=byel_settings,
    ),
    "byel-no-orth": MethodSpec(
        model=partial(BYEL, orthonormality_weight=0.0),
        transform=two_view_transform,
        batch_transform=two_view_batch_transform,
        uses_labels=True,
        description="BYEL ablation: no orthonormality term",
        own_settings=byel_settings,
    ),
}

__all__ = [
    "BYEL",
    "BYOL",
    "METHODS",
    "MethodSpec",
    "MomentumMethod",
    "PretrainMethod",
    "RandomInit",
    "SimCLR",
    "Supervised",
    "Transform",
    "one_view_batch_transform",
    "one_view_transform",
    "two_view_batch_transform",
    "two_view_transform",
]
