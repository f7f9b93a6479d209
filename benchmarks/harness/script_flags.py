"""The command lines of the benchmark scripts: their parser and the shared flags.

Every script's parser comes from :func:`script_parser`. The scripts that time
training steps (``throughput.py``, ``overhead.py``) share :func:`add_step_flags`:
the encoder, batch, precision, optimizer, step counts and device, which
:func:`step_flags` resolves (``auto`` values for this machine) into the
:class:`StepFlags` that the methods are built and trained with.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import torch

from harness.config import int_at_least
from harness.settings import (
    ModelSettings,
    Optimizer,
    OptimizerImpl,
    PretrainSettings,
)


def script_parser(file: str, doc: str | None) -> argparse.ArgumentParser:
    r"""A parser for ``python benchmarks/<script>.py``, showing defaults in ``--help``.

    Args:
        file: The script's ``__file__``.
        doc: The script's ``__doc__``; its first paragraph describes the script.

    Examples:
        >>> parser = script_parser("benchmarks/index_lsd.py", "Times it.\n\nMore.")
        >>> parser.prog, parser.description
        ('python benchmarks/index_lsd.py', 'Times it.')
    """
    return argparse.ArgumentParser(
        prog=f"python benchmarks/{Path(file).name}",
        description=(doc or "").split("\n\n")[0].strip() or None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def comma_separated(text: str) -> tuple[str, ...]:
    """The names in a comma-separated list, blanks dropped.

    Examples:
        >>> comma_separated("byel, byol,,")
        ('byel', 'byol')
    """
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_step_flags(
    parser: argparse.ArgumentParser,
    *,
    warmup: int,
    steps: int,
    backbone: str = ModelSettings().backbone,
    input_size: int = ModelSettings().input_size,
    batch_size: int = 32,
    optimizer: str = PretrainSettings().optimizer,
) -> None:
    """Adds the flags of timed training steps, with the script's defaults.

    Args:
        parser: The script's parser.
        warmup: Default ``--warmup``, the untimed steps before the timed ones.
        steps: Default ``--steps``, the timed steps.
        backbone: Default ``--backbone``; the benchmark's by default.
        input_size: Default ``--input-size``; the benchmark's by default.
        batch_size: Default ``--batch-size``; by default sized for a CPU.
        optimizer: Default ``--optimizer``; the benchmark's by default.
    """
    p = parser
    p.add_argument("--backbone", default=backbone, help="the harness's backbone name")
    # (flag, smallest value, default, help); batch norm in the heads needs more
    # than one sample per batch to train.
    for flag, minimum, default, text in (
        ("--input-size", 8, input_size, "height and width of the images"),
        ("--batch-size", 2, batch_size, "images per batch (of each view)"),
        ("--warmup", 1, warmup, "untimed steps before the timed ones"),
        ("--steps", 1, steps, "timed steps of each measurement"),
    ):
        p.add_argument(flag, type=int_at_least(minimum), default=default, help=text)
    p.add_argument("--precision", help="Lightning precision (bf16-mixed on a GPU)")
    p.add_argument(
        "--channels-last",
        choices=("auto", "on", "off"),
        default="auto",
        help="channels-last memory format (auto: on a GPU, as the benchmark trains)",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile backbones")
    p.add_argument("--optimizer", choices=get_args(Optimizer), default=optimizer)
    p.add_argument("--optimizer-impl", choices=get_args(OptimizerImpl), default="auto")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")


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
        optimizer: ``lars``, ``sgd`` or ``adam``.
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


def step_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> StepFlags:
    """Resolves the flags of :func:`add_step_flags` for this machine.

    ``--device auto`` is CUDA where there is a CUDA device; there, precision and
    channels-last default to the benchmark's GPU settings (``bf16-mixed``, on).

    Exits through ``parser.error`` if ``--device cuda`` has no CUDA device.

    Examples:
        >>> parser = argparse.ArgumentParser()
        >>> add_step_flags(parser, optimizer="sgd", warmup=2, steps=5)
        >>> flags = step_flags(parser, parser.parse_args(["--device", "cpu"]))
        >>> flags.precision, flags.channels_last, flags.pretrain_settings().optimizer
        ('32-true', False, 'sgd')
    """
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device available")
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    on_gpu = device == "cuda"
    return StepFlags(
        backbone=args.backbone,
        input_size=args.input_size,
        batch_size=args.batch_size,
        precision=args.precision or ("bf16-mixed" if on_gpu else "32-true"),
        channels_last=args.channels_last == "on"
        or (args.channels_last == "auto" and on_gpu),
        compile=args.compile,
        optimizer=args.optimizer,
        optimizer_impl=args.optimizer_impl,
        warmup=args.warmup,
        steps=args.steps,
        device=device,
    )
