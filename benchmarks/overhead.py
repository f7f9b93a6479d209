"""Training-step time of BYEL relative to Lightly's BYOL.

BYEL adds an emotion classifier to BYOL's prediction head and replaces BYOL's
negative cosine similarity by the BYEL objective (emotion vector subtraction,
cross-entropy, orthonormality). This script measures what that costs per training
step: it times one BYEL step (``BYEL.update_momentum``, ``BYEL.loss``, backward,
optimizer step) against one step of stock BYOL built as in Lightly's example
``examples/pytorch/byol.py``. Both use the same backbone architecture with the same
initial weights, the same head sizes, the same random batch and the same optimizer.

After a few warm-up steps of each, every round times a block of BYOL steps and a
block of BYEL steps, BYOL first on even rounds and BYEL first on odd ones, so that
slow drifts (clock boost, heat, other load) hit both alike. The result is the
median over rounds of the per-round ratio of step times, BYEL/BYOL; the goal is at
most 1.05.

Run from the repository root::

    python benchmarks/overhead.py
    python benchmarks/overhead.py --backbone resnet50 --optimizer lars --device cuda

It prints a summary and writes the parameters, environment and per-round times to
``benchmarks/results/overhead.json`` (see ``--output``), and a plot of them next to
it as ``overhead.png`` if matplotlib is installed.
"""

import argparse
import contextlib
import copy
import importlib.util
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightly
import torch
import torchvision
from harness.atomic_files import write_atomic
from harness.config import int_at_least
from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules.heads import BYOLPredictionHead, BYOLProjectionHead
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.utils.lars import LARS
from torch import Tensor, nn

import lightly_byel
from lightly_byel import BYEL

GOAL = 1.05
"""Largest acceptable median ratio of step times, BYEL/BYOL."""

NUM_CLASSES = 6
"""Emotion classes of BYEL (the six basic expressions)."""

MOMENTUM = 0.99
"""Momentum of the target networks, as in Lightly's BYOL example and in BYEL."""

BACKBONES = sorted(
    torchvision.models.list_models(
        module=torchvision.models, include=["resnet*", "resnext*", "wide_resnet*"]
    )
)
"""torchvision models that end in a linear ``fc`` layer on pooled features."""

OPTIMIZERS = ("sgd", "lars")

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "overhead.json"

Step = Callable[[], Tensor]
"""One training step; returns the detached loss."""


@dataclass(frozen=True)
class Config:
    """What to measure.

    Attributes:
        backbone: Name of a torchvision ResNet-like model, see ``BACKBONES``.
        batch_size: Images per view.
        input_size: Height and width of the images.
        hidden_dim: Hidden dimension of the projection and prediction heads.
        out_dim: Dimension of the projections and predictions.
        optimizer: ``"sgd"`` or ``"lars"``.
        warmup: Untimed steps of each method before the rounds.
        rounds: Timed rounds.
        steps: Steps of each method per round.
        device: Torch device to run on, e.g. ``"cpu"`` or ``"cuda"``.
        seed: Seed of the initial weights and of the batch.
    """

    backbone: str = "resnet18"
    batch_size: int = 32
    input_size: int = 64
    hidden_dim: int = 1024
    out_dim: int = 256
    optimizer: str = "sgd"
    warmup: int = 3
    rounds: int = 15
    steps: int = 3
    device: str = "cpu"
    seed: int = 0


@dataclass(frozen=True)
class Round:
    """Per-step times of one round.

    Attributes:
        first: Which method ran first in this round, ``"byol"`` or ``"byel"``.
        byol_s: Mean seconds per BYOL step.
        byel_s: Mean seconds per BYEL step.
    """

    first: str
    byol_s: float
    byel_s: float

    @property
    def ratio(self) -> float:
        """Step time of BYEL over that of BYOL."""
        return self.byel_s / self.byol_s


@dataclass(frozen=True)
class Measurement:
    """Outcome of :func:`run`.

    Attributes:
        rounds: The timed rounds, in order.
        optimizer_settings: Hyperparameters of the optimizer, the same for both.
    """

    rounds: list[Round]
    optimizer_settings: dict[str, Any]


class BYOL(nn.Module):
    """Stock BYOL, built as in Lightly's example ``examples/pytorch/byol.py``.

    Args:
        backbone: Maps images to features that flatten to ``(batch, num_ftrs)``.
        num_ftrs: Dimension of the backbone's features.
        hidden_dim: Hidden dimension of the projection and prediction heads.
        out_dim: Dimension of the projections and predictions.
    """

    def __init__(
        self, backbone: nn.Module, num_ftrs: int, hidden_dim: int, out_dim: int
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.projection_head = BYOLProjectionHead(num_ftrs, hidden_dim, out_dim)
        self.prediction_head = BYOLPredictionHead(out_dim, hidden_dim, out_dim)
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward(self, x: Tensor) -> Tensor:
        """Computes online predictions of shape ``(batch, out_dim)``."""
        y = self.backbone(x).flatten(start_dim=1)
        z = self.projection_head(y)
        p: Tensor = self.prediction_head(z)
        return p

    # Lightly's example detaches the result instead; with the momentum weights
    # frozen neither records a graph, and no_grad matches BYEL.forward_momentum.
    @torch.no_grad()
    def forward_momentum(self, x: Tensor) -> Tensor:
        """Computes target projections of shape ``(batch, out_dim)``."""
        y = self.backbone_momentum(x).flatten(start_dim=1)
        z: Tensor = self.projection_head_momentum(y)
        return z


def make_backbone(name: str) -> tuple[nn.Module, int]:
    """Builds a randomly initialised torchvision model without its ``fc`` layer.

    Args:
        name: Name of the torchvision model, e.g. ``"resnet18"``.

    Returns:
        The backbone and the dimension of its flattened features.

    Raises:
        ValueError: If the model does not end in a linear ``fc`` layer.
    """
    model = torchvision.models.get_model(name)
    fc = getattr(model, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise ValueError(f"{name} does not end in a linear fc layer.")
    return nn.Sequential(*list(model.children())[:-1]), fc.in_features


def build_byol(config: Config) -> BYOL:
    """Builds stock BYOL on ``config.device``, seeded with ``config.seed``."""
    # The same seed before the same sequence of layers gives BYOL and BYEL the
    # same backbone and heads; BYEL's classifier is drawn last.
    torch.manual_seed(config.seed)
    backbone, num_ftrs = make_backbone(config.backbone)
    model = BYOL(backbone, num_ftrs, config.hidden_dim, config.out_dim)
    return model.to(config.device)


def build_byel(config: Config) -> BYEL:
    """Builds BYEL on ``config.device``, seeded with ``config.seed``."""
    torch.manual_seed(config.seed)
    backbone, num_ftrs = make_backbone(config.backbone)
    model = BYEL(
        backbone,
        num_ftrs=num_ftrs,
        hidden_dim=config.hidden_dim,
        out_dim=config.out_dim,
        num_classes=NUM_CLASSES,
    )
    return model.to(config.device)


def make_optimizer(name: str, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """Builds the optimizer ``name`` (``"sgd"`` or ``"lars"``) over ``params``.

    Raises:
        ValueError: If ``name`` is unknown.
    """
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.06, momentum=0.9)
    if name == "lars":
        return LARS(params, lr=0.2, weight_decay=1.5e-6)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}.")


def make_batch(config: Config) -> tuple[Tensor, Tensor, Tensor]:
    """Draws two random views and random labels in ``[0, NUM_CLASSES)``.

    Returns:
        ``x0``, ``x1`` of shape ``(batch, 3, input_size, input_size)`` and labels of
        shape ``(batch,)``, on ``config.device``.
    """
    generator = torch.Generator().manual_seed(config.seed)
    shape = (config.batch_size, 3, config.input_size, config.input_size)
    x0 = torch.randn(shape, generator=generator)
    x1 = torch.randn(shape, generator=generator)
    labels = torch.randint(0, NUM_CLASSES, (config.batch_size,), generator=generator)
    return x0.to(config.device), x1.to(config.device), labels.to(config.device)


def make_byol_step(
    model: BYOL, optimizer: torch.optim.Optimizer, x0: Tensor, x1: Tensor
) -> Step:
    """Returns one training step of BYOL as in Lightly's example."""
    criterion = NegativeCosineSimilarity()

    def step() -> Tensor:
        update_momentum(model.backbone, model.backbone_momentum, m=MOMENTUM)
        update_momentum(
            model.projection_head, model.projection_head_momentum, m=MOMENTUM
        )
        p0 = model(x0)
        z0 = model.forward_momentum(x0)
        p1 = model(x1)
        z1 = model.forward_momentum(x1)
        loss: Tensor = 0.5 * (criterion(p0, z1) + criterion(p1, z0))
        loss.backward()  # type: ignore[no-untyped-call]  # unannotated in torch
        optimizer.step()
        optimizer.zero_grad()
        return loss.detach()

    return step


def make_byel_step(
    model: BYEL,
    optimizer: torch.optim.Optimizer,
    x0: Tensor,
    x1: Tensor,
    labels: Tensor,
) -> Step:
    """Returns one training step of BYEL."""

    def step() -> Tensor:
        model.update_momentum(MOMENTUM)
        loss = model.loss([x0, x1], labels)
        loss.backward()  # type: ignore[no-untyped-call]  # unannotated in torch
        optimizer.step()
        optimizer.zero_grad()
        return loss.detach()

    return step


def synchronize(device: torch.device) -> None:
    """Waits for queued work on ``device``, so that the clock sees all of it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Step, steps: int, device: torch.device) -> float:
    """Runs ``step`` ``steps`` times in a row.

    Returns:
        The mean wall-clock seconds per step.
    """
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def run(config: Config) -> Measurement:
    """Times BYOL and BYEL training steps in alternating rounds.

    Args:
        config: What to measure.

    Returns:
        The per-round step times and the setup they were measured with.
    """
    device = torch.device(config.device)
    x0, x1, labels = make_batch(config)
    byol = build_byol(config)
    byel = build_byel(config)
    byol_optimizer = make_optimizer(config.optimizer, byol.parameters())
    byel_optimizer = make_optimizer(config.optimizer, byel.parameters())
    steps = {
        "byol": make_byol_step(byol, byol_optimizer, x0, x1),
        "byel": make_byel_step(byel, byel_optimizer, x0, x1, labels),
    }
    for step in steps.values():
        for _ in range(config.warmup):
            step()
    synchronize(device)

    rounds = []
    for index in range(config.rounds):
        order = ("byol", "byel") if index % 2 == 0 else ("byel", "byol")
        times = {name: time_steps(steps[name], config.steps, device) for name in order}
        rounds.append(Round(first=order[0], byol_s=times["byol"], byel_s=times["byel"]))
    return Measurement(
        rounds=rounds,
        optimizer_settings=dict(byol_optimizer.defaults),
    )


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """Returns the first quartile, median and third quartile of ``values``."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def summarize(rounds: list[Round]) -> dict[str, float]:
    """Summarizes the rounds: median step times, and quartiles and range of ratios."""
    ratios = [r.ratio for r in rounds]
    q1, median, q3 = quartiles(ratios)
    return {
        "ratio_median": median,
        "ratio_q1": q1,
        "ratio_q3": q3,
        "ratio_iqr": q3 - q1,
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "byol_step_s_median": statistics.median(r.byol_s for r in rounds),
        "byel_step_s_median": statistics.median(r.byel_s for r in rounds),
    }


def cpu_name() -> str:
    """Returns the CPU's model name, from ``/proc/cpuinfo`` where there is one."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def environment(device: torch.device) -> dict[str, Any]:
    """Describes the machine and library versions the measurement ran with."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{cpu_name()} ({os.cpu_count()} logical cores)"
    return {
        "device": str(device),
        "device_name": name,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "torchvision": torchvision.__version__,
        "lightly": lightly.__version__,
        "lightly_byel": lightly_byel.__version__,
    }


def plot(path: Path, rounds: list[Round], title: str) -> None:
    """Saves per-round step times and ratios, with the goal, as a PNG at ``path``."""
    # matplotlib is optional; without pyplot no GUI backend or global state is used.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    x = range(1, len(rounds) + 1)
    ratios = [r.ratio for r in rounds]
    figure = Figure(figsize=(7, 6), layout="constrained")
    times_axes, ratio_axes = figure.subplots(2, 1, sharex=True)
    times_axes.plot(x, [1e3 * r.byol_s for r in rounds], "o-", label="BYOL")
    times_axes.plot(x, [1e3 * r.byel_s for r in rounds], "s-", label="BYEL")
    times_axes.set_ylabel("time per step (ms)")
    times_axes.legend()
    ratio_axes.plot(x, ratios, "o-", color="black", label="BYEL/BYOL")
    ratio_axes.axhline(statistics.median(ratios), color="gray", label="median")
    ratio_axes.axhline(GOAL, color="red", linestyle="--", label=f"goal {GOAL}")
    ratio_axes.set_xlabel("round")
    ratio_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    ratio_axes.set_ylabel("step-time ratio")
    ratio_axes.legend()
    figure.suptitle(title)
    write_atomic(path, lambda file: figure.savefig(file, format="png", dpi=120))


def _display(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


_positive_int = int_at_least(1)
_non_negative_int = int_at_least(0)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Config]:
    """Parses the command line into its namespace and the :class:`Config`."""
    parser = argparse.ArgumentParser(
        description="Time a BYEL training step against a stock Lightly BYOL step.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--backbone", default="resnet18", choices=BACKBONES)
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--input-size", type=_positive_int, default=64)
    parser.add_argument("--hidden-dim", type=_positive_int, default=1024)
    parser.add_argument("--out-dim", type=_positive_int, default=256)
    parser.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS)
    parser.add_argument("--warmup", type=_non_negative_int, default=3)
    parser.add_argument("--rounds", type=_positive_int, default=15)
    parser.add_argument("--steps", type=_positive_int, default=3)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--threads", type=_positive_int, help="torch CPU threads (torch's default)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    # Batch norm in the heads needs more than one sample per batch to train.
    if args.batch_size < 2:
        parser.error("--batch-size must be at least 2")
    if args.out_dim < NUM_CLASSES:
        parser.error(f"--out-dim must be at least the {NUM_CLASSES} emotion classes")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device available")
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    config = Config(
        backbone=args.backbone,
        batch_size=args.batch_size,
        input_size=args.input_size,
        hidden_dim=args.hidden_dim,
        out_dim=args.out_dim,
        optimizer=args.optimizer,
        warmup=args.warmup,
        rounds=args.rounds,
        steps=args.steps,
        device=device,
        seed=args.seed,
    )
    return args, config


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark from the command line.

    Args:
        argv: Command-line arguments without the program name; ``None`` reads
            ``sys.argv``.

    Returns:
        The exit status, 0.
    """
    args, config = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    measurement = run(config)
    env = environment(torch.device(config.device))
    summary = summarize(measurement.rounds)
    met = summary["ratio_median"] <= GOAL
    output: Path = args.output

    payload = {
        "goal": GOAL,
        "met": met,
        "parameters": {
            **asdict(config),
            "threads": args.threads,
            "num_classes": NUM_CLASSES,
            "momentum": MOMENTUM,
            "optimizer_settings": measurement.optimizer_settings,
        },
        "environment": env,
        "summary": summary,
        "rounds": [{**asdict(r), "ratio": r.ratio} for r in measurement.rounds],
    }
    text = json.dumps(payload, indent=2, default=str) + "\n"
    write_atomic(output, lambda file: file.write(text.encode("utf-8")))

    ms = 1e3
    lines = [
        "BYEL vs. Lightly BYOL: time per training step",
        f"  device      {env['device']}: {env['device_name']}",
        f"  torch       {env['torch']}, {env['threads']} threads",
        f"  backbone    {config.backbone}, heads {config.hidden_dim} hidden / "
        f"{config.out_dim} out",
        f"  batch       {config.batch_size} x 2 views, input "
        f"{config.input_size}x{config.input_size}, {NUM_CLASSES} classes",
        f"  optimizer   {config.optimizer}",
        f"  timing      {config.rounds} rounds x {config.steps} steps each, "
        f"{config.warmup} warm-up steps, order alternating",
        f"  BYOL step   {ms * summary['byol_step_s_median']:.1f} ms (median)",
        f"  BYEL step   {ms * summary['byel_step_s_median']:.1f} ms (median)",
        f"  ratio       IQR {summary['ratio_q1']:.3f}-{summary['ratio_q3']:.3f}, "
        f"min {summary['ratio_min']:.3f}, max {summary['ratio_max']:.3f}",
        f"  results     {_display(output)}",
    ]
    if importlib.util.find_spec("matplotlib") is None:
        lines.append("  figure      none: matplotlib is not installed")
    else:
        figure_path = output.with_suffix(".png")
        title = f"BYEL vs. BYOL, {config.backbone}, {env['device_name']}"
        plot(figure_path, measurement.rounds, title)
        lines.append(f"  figure      {_display(figure_path)}")
    lines.append(
        f"BYEL/BYOL step-time ratio (median of {config.rounds} rounds): "
        f"{summary['ratio_median']:.3f}  goal <= {GOAL}: "
        f"{'met' if met else 'not met'}"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
