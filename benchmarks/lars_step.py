"""Optimizer-step time and host reads of Lightly's LARS against ours.

Lightly's ``LARS.step`` decides per parameter with ``if p_norm != 0 and g_norm !=
0``, which reads two norms back to the host: on a GPU, two synchronisations per
parameter and step. ``lightly_byel.utils.LARS`` computes the same update with
``torch.where`` on the device, one parameter at a time (``foreach=False``) or with
multi-tensor kernels (``foreach=True``). This script times ``step()`` alone for the
three on the parameters of the published BYEL network (ResNet-50 with BYOL's
projection head and BYEL's prediction head, LARS with weight decay on the weights
and none on biases and norms, as the benchmark sets it up), and counts the values
each step reads back to Python (``bool``, ``float``, ``int``, ``item``, ``tolist``
on a tensor).

Every round times a block of ``--steps`` steps of each optimizer, in a rotating
order, so that slow drifts hit all alike; the result is the median over rounds of
the step time and of its ratio to Lightly's. On CUDA each block ends with a
synchronisation, so the time includes the waits.

Run from the repository root::

    python benchmarks/lars_step.py
    python benchmarks/lars_step.py --device cuda

It prints a table and writes it with the environment and every round's times to
``benchmarks/results/lars_step.json`` (see ``--output``).
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torchvision
from harness.config.declared import parse_script_flags, setting
from harness.reporting.results import environment_info
from harness.scripts.results import shown, write_json
from harness.scripts.spread import Spread
from lightly.models.modules import BYOLProjectionHead
from lightly.models.utils import get_weight_decay_parameters
from lightly.utils.lars import LARS as LightlyLARS
from torch import nn
from torch.optim import Optimizer

from lightly_byel.models.modules.heads import BYELPredictionHead
from lightly_byel.utils.lars import LARS

#: The optimizers compared, by name; Lightly's first, as the reference.
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "lightly": LightlyLARS,
    "ours, loop": lambda groups, **kw: LARS(groups, **kw, foreach=False),
    "ours, foreach": lambda groups, **kw: LARS(groups, **kw, foreach=True),
}
#: The published recipe's LARS.
RECIPE = {"lr": 0.2, "momentum": 0.9, "weight_decay": 1.5e-6}


def byel_network(backbone: str) -> nn.Module:
    """The online network BYEL trains: backbone, projection and prediction heads."""
    resnet = getattr(torchvision.models, backbone)()
    features = resnet.fc.in_features
    return nn.Sequential(
        nn.Sequential(*list(resnet.children())[:-1]),
        nn.Flatten(),
        BYOLProjectionHead(features, 4096, 256),
        BYELPredictionHead(256, 4096, 256, num_classes=6),
    )


def prepared(name: str, backbone: str, device: torch.device) -> Optimizer:
    """An optimizer over a fresh network whose gradients are set, state filled."""
    torch.manual_seed(0)
    model = byel_network(backbone).to(device)
    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter) * 1e-3
    decay, no_decay = get_weight_decay_parameters([model])
    groups = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]
    optimizer = OPTIMIZERS[name](groups, **RECIPE)
    optimizer.step()  # the first step creates the momentum buffers
    return optimizer


@contextmanager
def counted_host_reads(counts: list[int]) -> Iterator[None]:
    """Counts the tensor values read back to Python while the block runs."""
    originals = {
        name: getattr(torch.Tensor, name)
        for name in ("__bool__", "__float__", "__int__", "item", "tolist")
    }

    def counting(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts.append(1)
            return original(*args, **kwargs)

        return wrapper

    try:
        for name, original in originals.items():
            setattr(torch.Tensor, name, counting(original))
        yield
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


def timed(optimizer: Optimizer, steps: int, device: torch.device) -> float:
    """Seconds per ``step()``, over a block of ``steps``."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


@dataclass(frozen=True)
class LarsStepFlags:
    """The command line."""

    backbone: str = setting("resnet50", "a torchvision model", flag="backbone")
    device: str = setting(
        "cpu", "torch device to step on: cpu, cuda or cuda:N", flag="device"
    )
    steps: int = setting(5, "steps per timed block", flag="steps", minimum=1)
    rounds: int = setting(7, "timed blocks of each", flag="rounds", minimum=1)
    output: Path = setting(
        Path("benchmarks/results/lars_step.json"), "results file", flag="output"
    )


def main(argv: list[str] | None = None) -> int:
    """Parses the flags, measures, prints and writes the results; returns 0."""
    args = parse_script_flags(LarsStepFlags, __file__, __doc__, argv)
    device = torch.device(args.device)
    optimizers = {name: prepared(name, args.backbone, device) for name in OPTIMIZERS}
    reads = {}
    for name, optimizer in optimizers.items():
        counts: list[int] = []
        with counted_host_reads(counts):
            optimizer.step()
        reads[name] = len(counts)
    names = list(OPTIMIZERS)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(optimizers[name], args.steps, device))
    parameters = sum(
        len(group["params"]) for group in optimizers["lightly"].param_groups
    )
    rows = _rows(names, times, reads)
    _print_table(args, device, parameters, rows)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    write_json(
        args.output,
        {
            "backbone": args.backbone,
            "parameter_tensors": parameters,
            "steps": args.steps,
            "rounds": args.rounds,
            "recipe": RECIPE,
            "results": rows,
            "times_s": times,
            "environment": environment_info(device_name),
        },
    )
    print(f"wrote {shown(args.output)}")
    return 0


def _rows(
    names: list[str], times: dict[str, list[float]], reads: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Each optimizer's step time, its ratio to Lightly's, and its host reads."""
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        ratios = [t / ref for t, ref in zip(times[name], times["lightly"], strict=True)]
        rows[name] = {
            "step_ms": asdict(Spread.of(t * 1e3 for t in times[name])),
            "ratio_to_lightly": asdict(Spread.of(ratios)),
            "host_reads_per_step": reads[name],
        }
    return rows


def _print_table(
    args: LarsStepFlags,
    device: torch.device,
    parameters: int,
    rows: dict[str, dict[str, Any]],
) -> None:
    """Prints the run's setting and one line per optimizer: medians and reads."""
    print(
        f"LARS step, {args.backbone} + BYOL/BYEL heads ({parameters} parameter "
        f"tensors), {device}, median of {args.rounds} rounds of {args.steps} steps"
    )
    print(f"{'optimizer':<15} {'step ms':>9} {'ratio':>7} {'host reads':>11}")
    for name, row in rows.items():
        step_ms, ratio = row["step_ms"]["median"], row["ratio_to_lightly"]["median"]
        reads_per_step = row["host_reads_per_step"]
        print(f"{name:<15} {step_ms:>9.1f} {ratio:>7.3f} {reads_per_step:>11}")


if __name__ == "__main__":
    raise SystemExit(main())
