"""The flags that the scripts timing training steps share, declared once.

``throughput.py`` and ``overhead.py`` time the methods' training steps. Their
shared flags (the encoder, batch, precision, optimizer, step counts and device) are
the fields of :class:`StepOptions`, declared like every setting
(:mod:`harness.config.declared`) and, where a flag sets what a benchmark setting
sets, with that setting's own declaration (:func:`~harness.config.declared.like`).
A script's flags dataclass extends it with its own fields and defaults;
:meth:`StepOptions.resolved` turns the ``auto`` values into this machine's
:class:`StepFlags`, which the methods are built and trained with.
"""

from dataclasses import dataclass
from typing import Literal

from harness.config.declared import like, setting
from harness.config.settings import (
    ModelSettings,
    Optimizer,
    OptimizerImpl,
    Precision,
    PretrainSettings,
    RunSettings,
)
from lightly_byel.utils.devices import resolve_device


@dataclass(frozen=True)
class StepOptions:
    """The flags of timed training steps, as given; see :meth:`resolved`."""

    backbone: str = like(ModelSettings, "backbone")
    input_size: int = like(ModelSettings, "input_size")
    # Batch norm in the heads needs more than one sample per batch to train.
    batch_size: int = like(
        PretrainSettings,
        "batch_size_per_device",
        default=32,
        flag="batch_size",
        also=(),
        help="images per batch (of each view)",
    )
    warmup: int = setting(
        5, "untimed steps before the timed ones", flag="warmup", minimum=1
    )
    steps: int = setting(20, "timed steps of each measurement", flag="steps", minimum=1)
    precision: Precision | None = like(RunSettings, "precision")
    channels_last: Literal["auto", "on", "off"] = setting(
        "auto",
        "channels-last memory format (auto: on a GPU, as the benchmark trains)",
        flag="channels_last",
    )
    compile: bool = like(ModelSettings, "compile")
    optimizer: Optimizer = like(PretrainSettings, "optimizer")
    optimizer_impl: OptimizerImpl = like(PretrainSettings, "optimizer_impl")
    device: Literal["auto", "cpu", "cuda"] = setting(
        "auto", "where to train: cuda where there is a CUDA device", flag="device"
    )

    def __post_init__(self) -> None:
        """Refuses a CUDA device that this machine does not have.

        Raises:
            ValueError: For ``--device cuda`` without a CUDA device (a usage error
                on the command line, :func:`~harness.config.declared.parse_flags`).
        """
        resolve_device(self.device)

    def resolved(self) -> "StepFlags":
        """The flags resolved for this machine.

        ``--device auto`` is CUDA where there is a CUDA device; there, precision
        and channels-last default to the benchmark's GPU settings (``bf16-mixed``,
        on).

        Examples:
            >>> flags = StepOptions(optimizer="sgd", device="cpu").resolved()
            >>> flags.precision, flags.channels_last, flags.device
            ('32-true', False, 'cpu')
        """
        device = resolve_device(self.device)
        on_gpu = device == "cuda"
        return StepFlags(
            backbone=self.backbone,
            input_size=self.input_size,
            batch_size=self.batch_size,
            precision=self.precision or ("bf16-mixed" if on_gpu else "32-true"),
            channels_last=self.channels_last == "on"
            or (self.channels_last == "auto" and on_gpu),
            compile=self.compile,
            optimizer=self.optimizer,
            optimizer_impl=self.optimizer_impl,
            warmup=self.warmup,
            steps=self.steps,
            device=device,
        )


@dataclass(frozen=True)
class StepFlags:
    """The flags of :func:`add_step_flags`, resolved for this machine.

    Attributes:
        backbone: The harness's backbone name.
        input_size: Height and width of the images.
        batch_size: Images per batch (of each view).
        precision: Lightning's precision.
        channels_last: Whether the backbones run channels-last.
        compile: Whether the backbones are compiled.
        optimizer: ``lars``, ``sgd`` or ``adamw``.
        optimizer_impl: The optimizer's kernels.
        warmup: Untimed steps before the timed ones.
        steps: Timed steps.
        device: ``"cpu"`` or ``"cuda"``.
    """

    backbone: str
    input_size: int
    batch_size: int
    precision: str
    channels_last: bool
    compile: bool
    optimizer: Optimizer
    optimizer_impl: OptimizerImpl
    warmup: int
    steps: int
    device: str

    def model_settings(self) -> ModelSettings:
        """The encoder settings of the methods to time (heads at their defaults)."""
        return ModelSettings(
            backbone=self.backbone,
            input_size=self.input_size,
            channels_last=self.channels_last,
            compile=self.compile,
        )

    def pretrain_settings(self) -> PretrainSettings:
        """The optimisation settings of the methods to time (one epoch)."""
        return PretrainSettings(
            epochs=1,
            batch_size_per_device=self.batch_size,
            optimizer=self.optimizer,
            optimizer_impl=self.optimizer_impl,
        )
