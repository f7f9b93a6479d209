"""Training-step time of the benchmark's BYEL relative to its stock BYOL.

BYEL adds an emotion classifier to BYOL's prediction head and replaces BYOL's
negative cosine similarity by the BYEL objective (emotion vector subtraction,
cross-entropy, orthonormality). This script measures what that costs per training
step, on the LightningModules the benchmark trains: ``METHODS["byel"]`` against
``METHODS["byol"]`` of :mod:`harness.methods`, whose BYOL has Lightly's stock
heads and loss. Both are built from the same settings with the same seed (the same
initial backbone and projection head) and train on the same random batch, which
waits on the device, with the same optimizer.

The steps run in a tiny Lightning loop (:func:`harness.scripts.step_timing.timed_fit`):
every block of steps is a short ``Trainer.fit`` of the module on that batch, so a
step is Lightning's automatic optimisation as in the benchmark: ``training_step``,
backward, the optimizer step, the momentum update of the target networks, logging
and the learning-rate scheduler. A new fit builds the optimizer again, so the first
step of every block, which fills the optimizer's state, is not timed; the
learning-rate and momentum schedules start afresh with every block, which does not
change what a step costs. On a GPU the steps run in ``bf16-mixed`` precision and
channels-last by default, as the benchmark trains there.

After ``--warmup`` untimed steps of each, every round times a block of
``--steps`` BYOL steps and one of BYEL steps, BYOL first on even rounds and BYEL
first on odd ones, so that slow drifts (clock boost, heat, other load) hit both
alike. The result is the median over rounds of the per-round ratio of step times,
BYEL/BYOL, with its interquartile range; the goal is at most 1.05.

Run from the repository root::

    python benchmarks/overhead.py
    python benchmarks/overhead.py --backbone resnet50 --optimizer lars --device cuda

It prints a summary and writes the parameters, environment and per-round times to
``benchmarks/results/overhead.json`` (see ``--output``), and a plot of them next to
it as ``overhead.png`` if matplotlib is installed.
"""

import importlib.util
import statistics
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from harness.config.declared import like, parse_script_flags, setting
from harness.config.settings import ModelSettings, Optimizer, PretrainSettings
from harness.methods import METHODS, PretrainMethod
from harness.reporting.results import environment_info
from harness.scripts.results import shown, write_json
from harness.scripts.spread import Spread
from harness.scripts.step_flags import StepFlags, StepOptions
from harness.scripts.step_timing import (
    PreparedBatches,
    alternating,
    random_batches,
    timed_fit,
)
from harness.training.console import quiet_third_party
from torch.utils.data import DataLoader

from lightly_byel.utils.atomic_files import write_atomic

GOAL = 1.05
"""Largest acceptable median ratio of step times, BYEL/BYOL."""

COMPARED = ("byol", "byel")
"""The methods compared, in the order of the even rounds."""

NUM_CLASSES = ModelSettings().num_classes
"""Emotion classes of BYEL (the six basic expressions)."""

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "overhead.json"


@dataclass(frozen=True)
class Config:
    """What to measure.

    Attributes:
        step: The encoder, batch, precision, optimizer, step counts and device.
        hidden_dim: Hidden dimension of the projection and prediction heads.
        output_dim: Dimension of the projections and predictions.
        rounds: Timed rounds.
        seed: Seed of the initial weights and of the batch.
    """

    step: StepFlags
    hidden_dim: int
    output_dim: int
    rounds: int
    seed: int

    def parameters(self) -> dict[str, Any]:
        """The configuration as one flat dict, for the results."""
        own = asdict(self)
        return {**own.pop("step"), **own}


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


def settings(config: Config) -> tuple[ModelSettings, PretrainSettings]:
    """The harness settings that both methods are built with."""
    step = config.step
    model = replace(
        step.model_settings(),
        hidden_dim=config.hidden_dim,
        output_dim=config.output_dim,
    )
    return model, step.pretrain_settings()


def build(method: str, config: Config) -> PretrainMethod:
    """Builds the benchmark's module of ``method``, seeded with ``config.seed``."""
    # The same seed before the same layers gives BYOL and BYEL the same backbone
    # and projection head.
    pl.seed_everything(config.seed, verbose=False)
    return METHODS[method].build(*settings(config))


def block_loader(config: Config) -> DataLoader[Any]:
    """The batch of every step: two random views and labels, on the device.

    One block (an untimed step and ``steps`` timed ones) is one epoch of it, so
    that no epoch ends within a block.
    """
    [batch] = random_batches(
        1,
        config.step.batch_size,
        config.step.input_size,
        torch.device(config.step.device),
        num_classes=NUM_CLASSES,
        seed=config.seed,
    )
    return DataLoader(
        PreparedBatches([batch] * (1 + config.step.steps)), batch_size=None
    )


def run(config: Config) -> Measurement:
    """Times BYOL and BYEL training steps in alternating rounds.

    Args:
        config: What to measure.

    Returns:
        The per-round step times and the setup they were measured with.
    """
    step = config.step
    device = torch.device(step.device)
    loader = block_loader(config)
    modules = {method: build(method, config) for method in COMPARED}
    for module in modules.values():
        timed_fit(module, loader, device, step.precision, step.warmup, steps=0)

    rounds = []
    for order in alternating(COMPARED, config.rounds):
        seconds = {
            method: statistics.fmean(
                timed_fit(
                    modules[method], loader, device, step.precision, 1, step.steps
                )
            )
            for method in order
        }
        rounds.append(
            Round(first=order[0], byol_s=seconds["byol"], byel_s=seconds["byel"])
        )
    return Measurement(
        rounds=rounds,
        optimizer_settings=dict(modules["byol"].trainer.optimizers[0].defaults),
    )


def summarize(rounds: list[Round]) -> dict[str, float]:
    """Summarizes the rounds: median step times, and quartiles and range of ratios."""
    ratios = Spread.of(r.ratio for r in rounds)
    return {
        "ratio_median": ratios.median,
        "ratio_q1": ratios.q1,
        "ratio_q3": ratios.q3,
        "ratio_iqr": ratios.iqr,
        "ratio_min": ratios.low,
        "ratio_max": ratios.high,
        "byol_step_s_median": statistics.median(r.byol_s for r in rounds),
        "byel_step_s_median": statistics.median(r.byel_s for r in rounds),
    }


def environment(device: torch.device) -> dict[str, Any]:
    """Describes the machine and library versions the measurement ran with."""
    info = environment_info(str(device))
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{info['cpu']} ({info['cpu_count']} logical cores)"
    return {**info, "device_name": name, "threads": torch.get_num_threads()}


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


@dataclass(frozen=True)
class OverheadFlags(StepOptions):
    """The command line: the shared step flags, this script's defaults, its own."""

    warmup: int = like(StepOptions, "warmup", default=3)
    steps: int = like(StepOptions, "steps", default=3)
    optimizer: Optimizer = like(StepOptions, "optimizer", default="sgd")
    hidden_dim: int = like(ModelSettings, "hidden_dim", flag="hidden_dim")
    output_dim: int = like(
        ModelSettings, "output_dim", flag="output_dim", minimum=NUM_CLASSES
    )
    rounds: int = setting(15, "timed rounds", flag="rounds", minimum=1)
    threads: int | None = setting(
        None, "torch CPU threads; null for torch's default", flag="threads", minimum=1
    )
    seed: int = setting(
        0, "seed of the initial weights and of the batch", flag="seed", minimum=0
    )
    output: Path = setting(DEFAULT_OUTPUT, "results file", flag="output")


def parse_args(argv: list[str] | None) -> tuple[OverheadFlags, Config]:
    """Parses the command line into its flags and the :class:`Config`."""
    args = parse_script_flags(OverheadFlags, __file__, __doc__, argv)
    config = Config(
        step=args.resolved(),
        hidden_dim=args.hidden_dim,
        output_dim=args.output_dim,
        rounds=args.rounds,
        seed=args.seed,
    )
    return args, config


def main(argv: list[str] | None = None) -> int:
    """Measures the step-time ratio, writes the results and prints a summary.

    Args:
        argv: Command-line arguments without the program name; ``None`` reads
            ``sys.argv``.

    Returns:
        The exit status, 0.
    """
    args, config = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    quiet_third_party()
    measurement = run(config)
    env = environment(torch.device(config.step.device))
    summary = summarize(measurement.rounds)
    model, pretrain = settings(config)
    met = summary["ratio_median"] <= GOAL
    output: Path = args.output

    write_json(
        output,
        {
            "goal": GOAL,
            "met": met,
            "parameters": {
                **config.parameters(),
                "threads": args.threads,
                "num_classes": NUM_CLASSES,
                "optimizer_settings": measurement.optimizer_settings,
                "model_settings": asdict(model),
                "pretrain_settings": asdict(pretrain),
            },
            "environment": env,
            "summary": summary,
            "rounds": [{**asdict(r), "ratio": r.ratio} for r in measurement.rounds],
        },
    )

    print(_report(config, env, summary, output, measurement.rounds, met))
    return 0


def _report(
    config: Config,
    env: dict[str, Any],
    summary: dict[str, float],
    output: Path,
    rounds: list[Round],
    met: bool,
) -> str:
    """The printed summary; draws the figure beside the results where it can."""
    step, ms = config.step, 1e3
    lines = [
        "BYEL vs. stock BYOL, the benchmark's modules: time per training step",
        f"  device      {env['device']}: {env['device_name']}",
        f"  torch       {env['torch']}, {env['threads']} threads, {step.precision}",
        f"  backbone    {step.backbone}, heads {config.hidden_dim} hidden / "
        f"{config.output_dim} out",
        f"  batch       {step.batch_size} x 2 views, input "
        f"{step.input_size}x{step.input_size}, {NUM_CLASSES} classes",
        f"  optimizer   {step.optimizer} ({step.optimizer_impl})",
        f"  timing      {config.rounds} rounds x {step.steps} steps each, "
        f"{step.warmup} warm-up steps, order alternating",
        f"  BYOL step   {ms * summary['byol_step_s_median']:.1f} ms (median)",
        f"  BYEL step   {ms * summary['byel_step_s_median']:.1f} ms (median)",
        f"  ratio       IQR {summary['ratio_q1']:.3f}-{summary['ratio_q3']:.3f}, "
        f"min {summary['ratio_min']:.3f}, max {summary['ratio_max']:.3f}",
        f"  results     {shown(output)}",
    ]
    if importlib.util.find_spec("matplotlib") is None:
        lines.append("  figure      none: matplotlib is not installed")
    else:
        figure_path = output.with_suffix(".png")
        title = f"BYEL vs. BYOL, {step.backbone}, {env['device_name']}"
        plot(figure_path, rounds, title)
        lines.append(f"  figure      {shown(figure_path)}")
    lines.append(
        f"BYEL/BYOL step-time ratio (median of {config.rounds} rounds): "
        f"{summary['ratio_median']:.3f}  goal <= {GOAL}: "
        f"{'met' if met else 'not met'}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
