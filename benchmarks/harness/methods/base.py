"""What every pretraining method shares: backbone, settings, optimizer, momentum."""

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from lightly.models.utils import (
    deactivate_requires_grad,
    get_weight_decay_parameters,
    update_momentum,
)
from lightly.utils.lars import LARS
from lightly.utils.scheduler import CosineWarmupScheduler, cosine_schedule
from pytorch_lightning import LightningModule
from pytorch_lightning.core.optimizer import LightningOptimizer
from pytorch_lightning.utilities.types import OptimizerLRSchedulerConfig
from torch import Tensor, nn
from torch.optim import Optimizer

from harness.backbones import build_backbone
from harness.settings import ModelSettings, PretrainSettings

_Settings = TypeVar("_Settings", ModelSettings, PretrainSettings)


class PretrainMethod(LightningModule):
    """Base of the pretraining methods: backbone, settings and optimizer.

    Subclasses add their heads and loss and implement ``training_step``. The
    settings are saved as plain dicts in the hyperparameters, together with the
    method's own options, so ``Method.load_from_checkpoint(path)`` rebuilds the
    module.

    Attributes:
        backbone: The encoder to evaluate, mapping images ``(batch, 3, H, W)`` to
            features ``(batch, num_ftrs)``.
        num_ftrs: Dimension of the backbone's features.
        model_settings: The encoder and head settings.
        pretrain_settings: The optimisation settings.
    """

    def __init__(
        self,
        model: ModelSettings | Mapping[str, Any],
        pretrain: PretrainSettings | Mapping[str, Any],
        **options: Any,
    ) -> None:
        """Builds the backbone and saves the hyperparameters.

        Args:
            model: The encoder and head settings, or their dict (from a checkpoint).
            pretrain: The optimisation settings, or their dict (from a checkpoint).
            **options: The subclass's own constructor arguments, saved with the
                settings; plain values only.
        """
        super().__init__()
        self.model_settings = _as_settings(ModelSettings, model)
        self.pretrain_settings = _as_settings(PretrainSettings, pretrain)
        self.save_hyperparameters(
            {
                "model": dataclasses.asdict(self.model_settings),
                "pretrain": dataclasses.asdict(self.pretrain_settings),
                **options,
            }
        )
        self.backbone, self.num_ftrs = build_backbone(
            self.model_settings.backbone, self.model_settings.pretrained
        )
        if self.model_settings.channels_last:
            self.backbone.to(memory_format=torch.channels_last)

    def forward(self, x: Tensor) -> Tensor:
        """Computes backbone features.

        Args:
            x: Images of shape ``(batch, 3, H, W)``.

        Returns:
            Features of shape ``(batch, num_ftrs)``.
        """
        if self.model_settings.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        features: Tensor = self.backbone(x)
        return features.flatten(start_dim=1)

    def log_losses(self, losses: Mapping[str, Tensor], batch_size: int) -> None:
        """Logs ``train_loss`` (on the progress bar) and other losses every step.

        Args:
            losses: Values by name; ``train_loss`` is shown on the progress bar.
            batch_size: Samples in the batch, for averaging over an epoch.
        """
        for name, value in losses.items():
            self.log(
                name,
                value,
                prog_bar=name == "train_loss",
                sync_dist=True,
                batch_size=batch_size,
            )

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        """Creates the optimizer and a per-step cosine schedule with warm-up.

        The learning rate is ``lr * batch_size_per_device * world_size / 256``.
        Biases and normalisation parameters get no weight decay; parameters that
        do not require gradients (momentum networks) are not optimised.

        Returns:
            The optimizer and its step-wise scheduler.

        Raises:
            ValueError: If the trainer has no finite number of steps (``max_epochs``
                unset) to schedule over.
        """
        settings = self.pretrain_settings
        total_steps = self.trainer.estimated_stepping_batches
        max_epochs = self.trainer.max_epochs
        if not math.isfinite(total_steps) or not max_epochs or max_epochs < 1:
            raise ValueError(
                "the learning-rate schedule needs a trainer with max_epochs >= 1, got "
                f"max_epochs={max_epochs!r} ({total_steps} steps)."
            )
        decay, no_decay = get_weight_decay_parameters([self])
        groups: list[dict[str, Any]] = [
            {"params": [p for p in decay if p.requires_grad]},
            {
                "params": [p for p in no_decay if p.requires_grad],
                "weight_decay": 0.0,
            },
        ]
        lr = (
            settings.lr * settings.batch_size_per_device * self.trainer.world_size / 256
        )
        optimizer = _make_optimizer(settings, groups, lr)
        scheduler = CosineWarmupScheduler(
            optimizer=optimizer,
            warmup_epochs=int(total_steps / max_epochs * settings.warmup_epochs),
            max_epochs=int(total_steps),
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


class MomentumMethod(PretrainMethod):
    """Base of methods with momentum (target) networks, such as BYOL and BYEL.

    :meth:`momentum_copy` makes a target network; after every optimizer step
    (once per step, so gradient accumulation is respected) each target moves
    towards its online network with the momentum of a cosine schedule from
    ``momentum_start`` to ``momentum_end`` over the training steps.
    """

    def __init__(
        self,
        model: ModelSettings | Mapping[str, Any],
        pretrain: PretrainSettings | Mapping[str, Any],
        **options: Any,
    ) -> None:
        """Builds the backbone; see :class:`PretrainMethod`."""
        super().__init__(model, pretrain, **options)
        self._momentum_pairs: list[tuple[nn.Module, nn.Module]] = []

    def momentum_copy(self, online: nn.Module) -> nn.Module:
        """Returns a momentum copy of ``online`` that gets no gradients.

        Args:
            online: The online network, trained by gradients.

        Returns:
            Its copy, updated after every optimizer step. Assign it to an attribute
            so that it is registered and saved.
        """
        target = copy.deepcopy(online)
        deactivate_requires_grad(target)
        self._momentum_pairs.append((online, target))
        return target

    def momentum(self) -> float:
        """Returns the momentum of the current optimizer step."""
        return float(
            cosine_schedule(
                step=self.trainer.global_step,
                max_steps=int(self.trainer.estimated_stepping_batches),
                start_value=self.pretrain_settings.momentum_start,
                end_value=self.pretrain_settings.momentum_end,
            )
        )

    def optimizer_step(
        self,
        epoch: int,
        batch_idx: int,
        optimizer: Optimizer | LightningOptimizer,
        optimizer_closure: Callable[[], Any] | None = None,
    ) -> None:
        """Steps the optimizer, then updates the momentum networks."""
        # Read before stepping: the step increments the trainer's global step.
        momentum = self.momentum()
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        for online, target in self._momentum_pairs:
            update_momentum(online, target, m=momentum)


def _as_settings(
    cls: type[_Settings], value: _Settings | Mapping[str, Any]
) -> _Settings:
    """Returns settings, rebuilding them from a dict saved in a checkpoint."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return cls(**value)
    raise ValueError(
        f"expected {cls.__name__} or a dict of its fields, got {type(value).__name__}."
    )


def _make_optimizer(
    settings: PretrainSettings, groups: list[dict[str, Any]], lr: float
) -> Optimizer:
    """Creates the optimizer the settings name."""
    if settings.optimizer == "lars":
        return LARS(groups, lr=lr, momentum=0.9, weight_decay=settings.weight_decay)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=lr, momentum=0.9, weight_decay=settings.weight_decay
        )
    if settings.optimizer == "adam":
        # Decoupled weight decay, so the decay does not depend on the gradient scale.
        return torch.optim.AdamW(groups, lr=lr, weight_decay=settings.weight_decay)
    raise ValueError(
        f"optimizer must be 'lars', 'sgd' or 'adam', got {settings.optimizer!r}."
    )
