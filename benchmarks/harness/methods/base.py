"""What the pretraining methods share: backbone, optimizer, momentum networks."""

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from lightly.models.modules.heads import BYOLProjectionHead
from lightly.models.utils import (
    deactivate_requires_grad,
    get_weight_decay_parameters,
    update_momentum,
)
from lightly.utils import lars as lightly_lars
from lightly.utils.scheduler import CosineWarmupScheduler, cosine_schedule
from pytorch_lightning import LightningModule
from pytorch_lightning.core.optimizer import LightningOptimizer
from pytorch_lightning.utilities.types import OptimizerLRSchedulerConfig
from torch import Tensor, nn
from torch.optim import Optimizer

from harness.config.settings import ModelSettings, PretrainSettings
from lightly_byel.models.backbones import build_backbone
from lightly_byel.utils import LARS

_Settings = TypeVar("_Settings", ModelSettings, PretrainSettings)


class PretrainMethod(LightningModule):
    """Base of the pretraining methods: backbone, settings and optimizer.

    Subclasses add their heads and loss in :meth:`build_heads` (or their
    constructor) and compute their losses in :meth:`losses`; the training step
    logs and returns them. The settings are saved as plain dicts in the
    hyperparameters, together with the method's own options, so
    ``Method.load_from_checkpoint(path)`` rebuilds the module.

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
        self.build_heads()

    def build_heads(self) -> None:
        """Adds the method's heads and loss around the backbone (the base: none)."""

    def compiled(self, module: nn.Module) -> Callable[..., Any]:
        """Returns ``module``, or its ``torch.compile`` with ``compile`` on.

        The compiled callable is kept outside the module tree, so the state dict,
        checkpoints and the evaluations see the plain module.
        """
        if not self.model_settings.compile:
            return module
        cache = self.__dict__.setdefault("_compiled", {})
        if id(module) not in cache:
            cache[id(module)] = torch.compile(module)
        return cache[id(module)]  # type: ignore[no-any-return]

    def forward(self, x: Tensor) -> Tensor:
        """Computes backbone features.

        Args:
            x: Images of shape ``(batch, 3, H, W)``.

        Returns:
            Features of shape ``(batch, num_ftrs)``.
        """
        features: Tensor = self.compiled(self.backbone)(self.as_input(x))
        return features.flatten(start_dim=1)

    def as_input(self, x: Tensor) -> Tensor:
        """Returns images in the backbone's memory format (channels-last or not)."""
        if self.model_settings.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def losses(self, inputs: Any, labels: Tensor) -> Mapping[str, Tensor]:
        """Computes the method's losses of one batch.

        Args:
            inputs: The training transform's output: the two views
                ``[x_1, x_2]``, each ``(batch, 3, H, W)``, of the self-supervised
                methods, or the images ``(batch, 3, H, W)`` of the supervised one.
            labels: The class indices ``(batch,)``, unused without labels.

        Returns:
            Scalars by name: ``train_loss``, the objective, and any of its parts
            worth logging.
        """
        raise NotImplementedError(f"{type(self).__name__} computes no losses.")

    def training_step(self, batch: tuple[Any, Tensor], batch_idx: int) -> Tensor:
        """Computes, logs and returns the loss of a batch ``(inputs, labels)``.

        ``train_loss`` is shown on the progress bar; every loss is logged each step
        and averaged over the epoch by the batch size.
        """
        inputs, labels = batch[0], batch[1]
        losses = self.losses(inputs, labels)
        for name, value in losses.items():
            self.log(
                name,
                value,
                prog_bar=name == "train_loss",
                sync_dist=True,
                batch_size=len(labels),
            )
        return losses["train_loss"]

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
        on_gpu = any(p.is_cuda for p in self.parameters())
        optimizer = make_optimizer(settings, groups, lr, on_gpu)
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
    """Base of BYOL and BYEL: the online projection and the momentum target networks.

    Builds the online projection head (Lightly's ``BYOLProjectionHead``) and momentum
    copies of the backbone and of it. A subclass adds its ``prediction_head`` and its
    loss. After every optimizer step (once per step, so gradient accumulation is
    respected) each target moves towards its online network with Lightly's
    ``update_momentum`` and the momentum of a cosine schedule from
    ``momentum_start`` to ``momentum_end`` over the training steps.
    """

    prediction_head: nn.Module

    def build_heads(self) -> None:
        """Adds the online projection head and the momentum copies."""
        settings = self.model_settings
        self.projection_head = BYOLProjectionHead(
            self.num_ftrs, settings.hidden_dim, settings.output_dim
        )
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward_online(self, x: Tensor) -> Tensor:
        """Returns the online predictions ``(batch, output_dim)`` of images."""
        predictions: Tensor = self.prediction_head(self.projection_head(self(x)))
        return predictions

    @torch.no_grad()
    def forward_momentum(self, x: Tensor) -> Tensor:
        """Returns the target projections ``(batch, output_dim)`` of images."""
        backbone = self.compiled(self.backbone_momentum)
        features = backbone(self.as_input(x)).flatten(start_dim=1)
        projections: Tensor = self.projection_head_momentum(features)
        return projections

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
        update_momentum(self.backbone, self.backbone_momentum, m=momentum)
        update_momentum(self.projection_head, self.projection_head_momentum, m=momentum)


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


def make_optimizer(
    settings: PretrainSettings,
    groups: list[dict[str, Any]],
    lr: float,
    on_gpu: bool = False,
) -> Optimizer:
    """Creates the optimizer the settings name, with the kernels they name.

    Args:
        settings: ``optimizer``, ``optimizer_impl`` and ``weight_decay``.
        groups: Parameter groups.
        lr: Learning rate.
        on_gpu: Whether the parameters are on a GPU (``auto`` picks fused kernels
            there).

    Raises:
        ValueError: On an unknown optimizer or implementation, or fused LARS.

    Examples:
        >>> from harness.config.settings import PretrainSettings
        >>> params = [{"params": [nn.Parameter(torch.zeros(2))]}]
        >>> type(make_optimizer(PretrainSettings(), params, 0.1)).__module__
        'lightly_byel.utils.lars'
        >>> loop = PretrainSettings(optimizer="sgd", optimizer_impl="for-loop")
        >>> make_optimizer(loop, params, 0.1).defaults["foreach"]
        False
    """
    impl = settings.optimizer_impl
    if impl not in ("auto", "for-loop", "foreach", "fused"):
        raise ValueError(
            "optimizer_impl must be 'auto', 'for-loop', 'foreach' or 'fused', got "
            f"{impl!r}."
        )
    settings.check_kernels()
    decay = settings.weight_decay
    if settings.optimizer == "lars":
        if impl == "for-loop":
            return lightly_lars.LARS(groups, lr=lr, momentum=0.9, weight_decay=decay)
        # auto: multi-tensor kernels on CUDA, the loop (faster there) on CPU.
        foreach = True if impl == "foreach" else None
        return LARS(groups, lr=lr, momentum=0.9, weight_decay=decay, foreach=foreach)
    if impl == "auto":
        impl = "fused" if on_gpu else "foreach"
    kernels: dict[str, Any] = {
        "for-loop": {"foreach": False},
        "foreach": {"foreach": True},
        "fused": {"fused": True},
    }[impl]
    if settings.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=lr, momentum=0.9, weight_decay=decay, **kernels
        )
    if settings.optimizer == "adamw":
        # Decoupled weight decay, so the decay does not depend on the gradient scale.
        return torch.optim.AdamW(groups, lr=lr, weight_decay=decay, **kernels)
    raise ValueError(
        f"optimizer must be 'lars', 'sgd' or 'adamw', got {settings.optimizer!r}."
    )
