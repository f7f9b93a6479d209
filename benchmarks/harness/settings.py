"""Settings the methods and evaluations are built from (one frozen dataclass each)."""

from dataclasses import dataclass
from typing import Literal

Optimizer = Literal["lars", "sgd", "adam"]
OptimizerImpl = Literal["auto", "for-loop", "foreach", "fused"]
ClassBalance = Literal["none", "sampler", "weighted_loss"]


@dataclass(frozen=True)
class ModelSettings:
    """The encoder and heads.

    Attributes:
        backbone: A torchvision model name (``resnet18``, ``resnet50``) or
            ``timm:NAME`` for a timm model.
        pretrained: A local checkpoint to start the backbone from, or ``None`` for
            random weights. Nothing is ever downloaded.
        input_size: Side of the square training images in pixels.
        hidden_dim: Hidden dimension of the projection and prediction MLPs.
        out_dim: Dimension of the projections and predictions.
        num_classes: Number of expression classes.
        channels_last: Whether to train in channels-last memory format; on a GPU
            the benchmark turns it on whatever this says.
        min_scale: Smallest random crop, as a share of the image area, of the
            training augmentations of every method and of fine-tuning (the
            published recipe: 0.08; larger values keep more of the face).
        compile: Whether to ``torch.compile`` the backbones for pretraining (the
            saved weights and the evaluations use the plain modules).
    """

    backbone: str = "resnet18"
    pretrained: str | None = None
    input_size: int = 64
    hidden_dim: int = 1024
    out_dim: int = 256
    num_classes: int = 6
    channels_last: bool = False
    min_scale: float = 0.08
    compile: bool = False


@dataclass(frozen=True)
class PretrainSettings:
    """Pretraining on the synthetic split.

    Attributes:
        epochs: Training epochs.
        batch_size_per_device: Batch size on each device.
        optimizer: ``lars`` (SGD wrapped in LARS, the BYEL recipe), ``sgd`` or
            ``adam``.
        lr: Learning rate for a global batch of 256; scaled linearly by
            ``batch_size_per_device * world_size / 256``.
        weight_decay: Weight decay (not applied to biases and norms).
        momentum_start: Target-network momentum at the first step (BYOL, BYEL).
        momentum_end: Target-network momentum at the last step, reached on a cosine
            schedule.
        warmup_epochs: Linear learning-rate warm-up before a cosine decay.
        temperature: NT-Xent temperature (SimCLR).
        optimizer_impl: The optimizer's kernels. ``for-loop``: one parameter at a
            time (Lightly's LARS, torch's ``foreach=False``); ``foreach``:
            multi-tensor kernels (LARS: :class:`lightly_byel.utils.LARS`, without
            host synchronisation); ``fused``: torch's fused SGD/AdamW kernels;
            ``auto``: fused SGD/AdamW on a GPU, foreach on a CPU; LARS from
            :mod:`lightly_byel.utils` with multi-tensor kernels on a GPU and its
            loop (no synchronisation either) on a CPU.
    """

    epochs: int = 10
    batch_size_per_device: int = 64
    optimizer: Optimizer = "lars"
    lr: float = 0.2
    weight_decay: float = 1.5e-6
    momentum_start: float = 0.99
    momentum_end: float = 1.0
    warmup_epochs: int = 0
    temperature: float = 0.1
    optimizer_impl: OptimizerImpl = "auto"


@dataclass(frozen=True)
class EvalSettings:
    """Linear probe and fine-tuning, both trained on synthetic labels only.

    Attributes:
        linear_epochs: Epochs of the linear probe on frozen features.
        linear_lr: Learning rate of the linear probe (Adam).
        finetune_epochs: Epochs of fine-tuning (encoder + Dropout + Linear).
        finetune_lr: Learning rate of fine-tuning (Adam, the BYEL recipe: 1e-4).
        dropout: Dropout before the fine-tuning classifier (BYEL: 0.3).
        batch_size_per_device: Batch size on each device.
        class_balance: How class imbalance of the training labels is handled:
            ``none``, a class-balanced ``sampler`` or a ``weighted_loss``.
        holdout_fraction: Share of the synthetic training split held out to select
            the epoch; 0 trains on all of it for a fixed schedule (last epoch).
        bootstrap_samples: Resamples of the eval split for the 95% interval of
            macro F1.
    """

    linear_epochs: int = 10
    linear_lr: float = 1e-3
    finetune_epochs: int = 5
    finetune_lr: float = 1e-4
    dropout: float = 0.3
    batch_size_per_device: int = 128
    class_balance: ClassBalance = "weighted_loss"
    holdout_fraction: float = 0.1
    bootstrap_samples: int = 1000
