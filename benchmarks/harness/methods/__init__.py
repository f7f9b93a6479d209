"""The pretraining methods and their registry.

Every method is a LightningModule built as ``spec.model(model_settings,
pretrain_settings)``, or with ``spec.build`` that also weighs the supervised
baseline's classes from the training labels. The BYEL ablations are
:func:`byel_variant` rows, :class:`BYEL` with one loss option changed. The
self-supervised methods share one two-view :class:`~lightly_byel.BYELTransform`,
so that only their objectives differ; the supervised baseline gets one view of
the same augmentations (:mod:`harness.pipelines` makes the views).

To add a method: a module with its LightningModule (a :class:`PretrainMethod`)
and one row here.

Examples:
    >>> from harness.config.settings import ModelSettings, PretrainSettings
    >>> spec = METHODS["byel-no-subtraction"]
    >>> module = spec.model(ModelSettings(hidden_dim=64), PretrainSettings())
    >>> module.num_ftrs, module.criterion.subtract, spec.uses_labels
    (512, False, True)
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import torch
from PIL import Image
from torch import Tensor

from harness.config.settings import ModelSettings, PretrainSettings
from harness.data.class_balance import inverse_frequency_weights
from harness.methods.base import MomentumMethod, PretrainMethod
from harness.methods.byel import BYEL
from harness.methods.byol import BYOL
from harness.methods.random_init import RandomInit
from harness.methods.simclr import SimCLR
from harness.methods.supervised import Supervised

Transform = Callable[[Image.Image | Tensor], Tensor | list[Tensor]]


@dataclass(frozen=True)
class MethodSpec:
    """How to build and train one pretraining method.

    Attributes:
        model: Builds the LightningModule, called as
            ``model(model_settings, pretrain_settings, **options)``.
        description: One line for reports.
        views: Augmented views per training image: two for the self-supervised
            methods, one for the supervised baseline, none for the no-pretraining
            control, which is never trained. All draw the same augmentations, so
            that only the objectives differ.
        uses_labels: Whether training uses the synthetic labels.
        class_weighted: Whether ``model`` takes ``class_weights``, which
            :meth:`build` sets to the inverse class frequencies.
        own_settings: States the settings only this method uses (a momentum, a
            temperature), for the results; the shared ones are stated once.
    """

    model: Callable[..., PretrainMethod]
    description: str
    views: Literal[0, 1, 2] = 2
    uses_labels: bool = False
    class_weighted: bool = False
    own_settings: Callable[[PretrainSettings], str] = lambda settings: "none"

    @property
    def pretrains(self) -> bool:
        """Whether the method trains its encoder (all but the control do)."""
        return self.views > 0

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

    def check_pretrains(self) -> None:
        """Refuses to give training augmentations to a method that never trains.

        Raises:
            ValueError: For the no-pretraining control.
        """
        if not self.pretrains:
            raise ValueError(f"{self.description}: never trained, no transform.")


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


def byel_variant(description: str, **options: Any) -> MethodSpec:
    """BYEL with loss options changed, as for an ablation.

    The options are saved in the checkpoint, so ``BYEL.load_from_checkpoint``
    rebuilds the variant.
    """
    return MethodSpec(
        model=partial(BYEL, **options),
        description=description,
        uses_labels=True,
        own_settings=byel_settings,
    )


METHODS: dict[str, MethodSpec] = {
    "byel": byel_variant(
        "BYEL: BYOL + emotion classifier + emotion vector subtraction"
    ),
    "byol": MethodSpec(
        model=BYOL,
        description="BYOL without labels",
        own_settings=momentum_settings,
    ),
    "simclr": MethodSpec(
        model=SimCLR,
        description="SimCLR without labels",
        own_settings=lambda settings: f"NT-Xent temperature {settings.temperature}",
    ),
    "supervised": MethodSpec(
        model=Supervised,
        description="Supervised cross-entropy on the synthetic labels",
        views=1,
        uses_labels=True,
        class_weighted=True,
        own_settings=lambda settings: (
            "cross-entropy weighted by inverse class frequency"
        ),
    ),
    "random-init": MethodSpec(
        model=RandomInit,
        description="No pretraining: the same encoder as initialised (control)",
        views=0,
        own_settings=lambda settings: "no pretraining",
    ),
    "byel-no-subtraction": byel_variant(
        "BYEL ablation: no emotion vector subtraction", subtract=False
    ),
    "byel-no-ce": byel_variant(
        "BYEL ablation: no emotion cross-entropy", classification_weight=0.0
    ),
    "byel-no-orth": byel_variant(
        "BYEL ablation: no orthonormality term", orthonormality_weight=0.0
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
    "byel_variant",
    "one_view_batch_transform",
    "one_view_transform",
]
