r"""Training throughput of the benchmark's methods: images per second and memory.

For each method (BYEL, stock Lightly BYOL, SimCLR, supervised) it trains the
harness's own LightningModule with a Lightning Trainer for ``--warmup`` steps, then
times ``--steps`` more, and reports training images per second (images of one view:
a two-view step on a batch of 256 counts 256), the median step time and the peak
memory, in one or more modes:

- ``device``: GPU-only. Batches of already augmented views wait on the device; this
  is the training step alone (forward, backward, optimizer, momentum update).
- ``device-augment``: uint8 batches wait on the device and are augmented there per
  sample (:class:`~lightly_byel.BYELBatchTransform`) before the step.
- ``files``: end to end from JPEG files: DataLoader workers decode and augment every
  image (PIL + torchvision), batches are pinned and copied to the device.
- ``cache``: end to end from the same files through the uint8 cache (decoded once;
  the build time is reported apart): batches are gathered, pinned, copied and
  augmented on the device.
- ``files-data`` and ``cache-data``: the data path of ``files`` and ``cache`` alone,
  two views per image and no training step (method ``-``): how many images a second
  the CPU side can supply with ``--num-workers`` workers. ``cache-gather``: the
  cache's batches copied to the device, without augmentation: the CPU's whole share
  of the ``cache`` pipeline when the device augments.

The end-to-end modes read synthetic-face JPEGs made by the embedded generator at
``--image-size`` (LSD-like: 112 px), or an LSD-layout split given with ``--data``.
Every figure is written with the device, precision, batch, backbone and image size.
The BYEL/BYOL ratio of each mode is printed too, from the median over
``--repeats`` alternating measurements of each (one by default: on a noisy machine,
``benchmarks/overhead.py`` alternates steps and measures the ratio more tightly).

Run from the repository root, e.g. on a GPU::

    python benchmarks/throughput.py --backbone resnet50 --input-size 128 \
        --batch-size 256 --modes device,device-augment,files,cache --num-workers 16

and on a CPU (defaults sized for it)::

    python benchmarks/throughput.py

It writes ``throughput.json`` and ``throughput.md`` to ``--output`` (default
``benchmarks/results/throughput``).
"""

import resource
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from harness.config.declared import like, parse_script_flags, setting
from harness.config.settings import DataSettings, RunSettings
from harness.data.splits import synthetic_data
from harness.methods import METHODS
from harness.pipelines.base import PretrainData
from harness.pipelines.cache.pipeline import training_augmentation
from harness.pipelines.cache.uint8_cache import CachedSubset, UInt8ImageCache
from harness.pipelines.files import training_transform
from harness.pipelines.loading import Transformed, loader
from harness.reporting.results import environment_info
from harness.scripts.results import write_report
from harness.scripts.step_flags import StepFlags, StepOptions
from harness.scripts.step_timing import (
    PreparedBatches,
    alternating,
    random_batches,
    synchronize,
    timed_fit,
)
from harness.training.console import quiet_third_party
from torch.utils.data import DataLoader

from lightly_byel.data import LSDImageFolder
from lightly_byel.data.synthfaces import SPLITS

MODES = (
    "device",
    "device-augment",
    "files",
    "cache",
    "files-data",
    "cache-data",
    "cache-gather",
)
DATA_ONLY = ("files-data", "cache-data", "cache-gather")
DEFAULT_OUTPUT = Path("benchmarks") / "results" / "throughput"


@dataclass(frozen=True)
class Setup:
    """What every measurement of one invocation shares."""

    methods: tuple[str, ...]
    modes: tuple[str, ...]
    step: StepFlags
    num_workers: int
    device_name: str

    def record(self) -> dict[str, Any]:
        """The setup as one flat dict for the results; ``device`` is its name."""
        return {
            "methods": self.methods,
            "modes": self.modes,
            **asdict(self.step),
            "num_workers": self.num_workers,
            "device": self.device_name,
        }


@dataclass(frozen=True)
class Measurement:
    """One method in one mode."""

    method: str
    mode: str
    images_per_second: float
    median_step_ms: float
    peak_memory_mib: float
    peak_memory_kind: str
    steps: int


def _peak_memory(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda max allocated"
    # ru_maxrss is in KiB on Linux (bytes on macOS): the process's peak so far.
    scale = 1 if sys.platform == "darwin" else 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    return peak, "process peak RSS so far"


def measure(
    setup: Setup,
    method: str,
    mode: str,
    data: LSDImageFolder | None,
    cache: UInt8ImageCache | None,
) -> Measurement:
    """Trains ``method`` for warm-up + timed steps in ``mode`` and measures it."""
    step = setup.step
    spec = METHODS[method]
    model = step.model_settings()
    pl.seed_everything(0, verbose=False)
    module = spec.build(model, step.pretrain_settings())
    device = torch.device(step.device)
    batches: Any
    if mode in ("device", "device-augment"):
        prepared = random_batches(
            4,
            step.batch_size,
            step.input_size,
            device,
            views=1 if method == "supervised" else 2,
            uint8=mode == "device-augment",
        )
        batches = DataLoader(PreparedBatches(prepared), batch_size=None)
        if mode == "device-augment":
            batches = PretrainData(batches, training_augmentation(spec, model))
    elif mode == "files":
        assert data is not None
        dataset = Transformed(data, range(len(data)), training_transform(spec, model))
        batches = loader(
            dataset, step.batch_size, setup.num_workers, True, drop_last=True
        )
    else:
        assert cache is not None
        batches = loader(
            CachedSubset(cache, range(len(cache))),
            step.batch_size,
            setup.num_workers,
            True,
            drop_last=True,
        )
        # Augmented on the device, as the cache pipeline of the benchmark does.
        batches = PretrainData(batches, training_augmentation(spec, model))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = timed_fit(module, batches, device, step.precision, step.warmup, step.steps)
    return _summary(method, mode, times, step.batch_size, device)


def measure_data(
    setup: Setup,
    mode: str,
    data: LSDImageFolder | None,
    cache: UInt8ImageCache | None,
) -> Measurement:
    """Times the data path of ``files`` or ``cache`` without a training step.

    ``files-data``: batches of two views from the workers, copied to the device.
    ``cache-data``: cached uint8 batches copied to the device and augmented there
    into two views. ``cache-gather``: cached uint8 batches copied to the device.
    Each batch's time runs from the end of the previous one.
    """
    step = setup.step
    device = torch.device(step.device)
    model = step.model_settings()
    spec = METHODS["byel"]
    augment = None
    if mode == "files-data":
        assert data is not None
        dataset: Any = Transformed(
            data, range(len(data)), training_transform(spec, model)
        )
    else:
        assert cache is not None
        dataset = CachedSubset(cache, range(len(cache)))
        if mode == "cache-data":
            augment = training_augmentation(spec, model).to(device)
    batches = loader(dataset, step.batch_size, setup.num_workers, True, drop_last=True)
    times: list[float] = []
    last = time.perf_counter()
    done = 0
    while done < step.warmup + step.steps:
        for images, _ in batches:
            if mode == "cache-gather":
                views = [images.to(device, non_blocking=True)]
            elif augment is not None:
                views = augment(images.to(device, non_blocking=True))
            else:
                views = [view.to(device, non_blocking=True) for view in images]
            assert len(views) == (1 if mode == "cache-gather" else 2)
            synchronize(device)
            now = time.perf_counter()
            if done >= step.warmup:
                times.append(now - last)
            last = now
            done += 1
            if done == step.warmup + step.steps:
                break
    return _summary("-", mode, times, step.batch_size, device)


def _summary(
    method: str, mode: str, times: list[float], batch_size: int, device: torch.device
) -> Measurement:
    """The measurement of timed steps (seconds each) of ``batch_size`` images."""
    peak, kind = _peak_memory(device)
    median = statistics.median(times)
    return Measurement(
        method=method,
        mode=mode,
        images_per_second=batch_size / median,
        median_step_ms=median * 1000,
        peak_memory_mib=peak,
        peak_memory_kind=kind,
        steps=len(times),
    )


def table(setup: Setup, results: Sequence[Measurement]) -> str:
    """A markdown table of the measurements, with the shared settings above it."""
    step = setup.step
    lines = [
        f"Device {setup.device_name}, precision {step.precision}, batch "
        f"{step.batch_size}, backbone {step.backbone} at {step.input_size} px, "
        f"channels_last {step.channels_last}, compile {step.compile}, optimizer "
        f"{step.optimizer} ({step.optimizer_impl}), {setup.num_workers} workers, "
        f"median of {step.steps} steps after {step.warmup} warm-up steps.",
        "",
        "| method | mode | images/s | step ms | peak memory MiB |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.method} | {r.mode} | {r.images_per_second:.1f} | "
            f"{r.median_step_ms:.1f} | {r.peak_memory_mib:.0f} ({r.peak_memory_kind}) |"
        )
    ratios = byel_byol_ratios(results)
    if ratios:
        lines.append("")
        lines.extend(
            f"BYEL/BYOL step-time ratio, {mode}: {ratio:.3f}"
            for mode, ratio in ratios.items()
        )
    return "\n".join(lines) + "\n"


def byel_byol_ratios(results: Sequence[Measurement]) -> dict[str, float]:
    """BYEL's median step time over BYOL's, for every mode that measured both.

    A method measured several times (``--methods byel,byol,byel,byol``, which
    alternates them so that drifts of the machine hit both) counts with the median
    of its measurements.
    """
    steps: dict[tuple[str, str], list[float]] = {}
    for r in results:
        steps.setdefault((r.method, r.mode), []).append(r.median_step_ms)
    return {
        mode: statistics.median(times) / statistics.median(steps[("byol", mode)])
        for (method, mode), times in steps.items()
        if method == "byel" and ("byol", mode) in steps
    }


@dataclass(frozen=True)
class ThroughputFlags(StepOptions):
    """The command line: the shared step flags and this script's own."""

    methods: tuple[str, ...] = like(
        RunSettings,
        "methods",
        default=("byel", "byol", "simclr", "supervised"),
        help="trained methods of the registry; a repeated name is measured again",
        distinct=False,
    )
    modes: tuple[str, ...] = setting(
        ("device", "files", "cache"),
        f"what to time, in order: {', '.join(MODES)}",
        flag="modes",
        distinct=False,
    )
    num_workers: int = like(DataSettings, "num_workers")
    repeats: int = setting(
        1,
        "measure every method this many times, in alternating order",
        flag="repeats",
        minimum=1,
    )
    data: str | None = setting(
        None, "an LSD-layout training split (class folders)", flag="data"
    )
    # Generated when no --data is given.
    images_per_class: int = like(
        DataSettings, "synthetic_images_per_class", default=400, flag="images_per_class"
    )
    image_size: int = like(
        DataSettings, "synthetic_image_size", default=112, flag="image_size", minimum=8
    )
    cache_dir: str | None = like(DataSettings, "cache_dir", flag="cache_dir")
    output: Path = setting(DEFAULT_OUTPUT, "results folder", flag="output")


def machine_defaults() -> dict[str, Any]:
    """The defaults sized for this machine: a GPU's, or a CPU's."""
    gpu = torch.cuda.is_available()
    return {
        "modes": ("device", "cache") if gpu else ("device", "files", "cache"),
        "backbone": "resnet50" if gpu else "resnet18",
        "input_size": 128 if gpu else 64,
        "batch_size": 256 if gpu else 32,
        "warmup": 5 if gpu else 2,
        "steps": 30 if gpu else 5,
    }


def parse_args(argv: Sequence[str] | None) -> tuple[ThroughputFlags, StepFlags]:
    """The command line, and its flags of the timed steps resolved."""
    defaults = machine_defaults()
    args = parse_script_flags(ThroughputFlags, __file__, __doc__, argv, defaults)
    return args, args.resolved()


def main(argv: Sequence[str] | None = None) -> int:
    """Measures every method in every mode and writes the results."""
    args, step = parse_args(argv)
    quiet_third_party()
    methods: tuple[str, ...] = args.methods
    modes: tuple[str, ...] = args.modes
    trained = sorted(name for name, spec in METHODS.items() if spec.pretrains)
    unknown = [m for m in methods if m not in trained] + [
        m for m in modes if m not in MODES
    ]
    if unknown:
        raise SystemExit(
            f"unknown or untrained methods or modes {unknown}; methods: {trained}, "
            f"modes: {list(MODES)}."
        )
    setup = Setup(
        methods=methods,
        modes=modes,
        step=step,
        num_workers=args.num_workers,
        device_name=torch.cuda.get_device_name(0) if step.device == "cuda" else "cpu",
    )
    data, cache = None, None
    data_info: dict[str, Any] = {}
    if {"files", "cache", *DATA_ONLY} & set(modes):
        with_cache = bool({"cache", "cache-data", "cache-gather"} & set(modes))
        data, cache, data_info = _data(args, with_cache)
    results: list[Measurement] = []
    for mode in modes:
        # Alternating the order (A B, B A, ...) spreads drifts of the machine.
        order = [m for rounds in alternating(methods, args.repeats) for m in rounds]
        for method in ("-",) if mode in DATA_ONLY else order:
            if mode in DATA_ONLY:
                result = measure_data(setup, mode, data, cache)
            else:
                result = measure(setup, method, mode, data, cache)
            results.append(result)
            print(
                f"{method:>11} {mode:>14}: {result.images_per_second:9.1f} images/s, "
                f"step {result.median_step_ms:8.1f} ms, peak "
                f"{result.peak_memory_mib:8.0f} MiB",
                flush=True,
            )
    text = table(setup, results)
    print("\n" + text)
    payload = {
        "setup": setup.record(),
        "data": data_info,
        "results": [asdict(r) for r in results],
        "byel_byol_ratio": byel_byol_ratios(results),
        "environment": environment_info(setup.device_name),
        "command": " ".join(["python", "benchmarks/throughput.py", *(argv or [])]),
    }
    path = write_report(args.output, "throughput", payload, text)
    print(f"Wrote {path} and throughput.md")
    return 0


def _data(
    args: ThroughputFlags, with_cache: bool
) -> tuple[LSDImageFolder, UInt8ImageCache | None, dict[str, Any]]:
    """The image files of the end-to-end modes, and their uint8 cache."""
    settings = DataSettings(
        synthetic_images_per_class=args.images_per_class,
        synthetic_image_size=args.image_size,
        cache_dir=args.cache_dir,
    )
    if args.data:
        folder = Path(args.data)
        source = "user data"
    else:
        folder = synthetic_data(settings) / SPLITS[0]
        source = f"embedded synthetic faces, {args.image_size} px JPEG"
    data = LSDImageFolder(folder)
    info: dict[str, Any] = {"source": source, "folder": str(folder)}
    info["images"] = len(data)
    cache = None
    if with_cache:
        cache_dir = (
            Path(args.cache_dir) if args.cache_dir else folder.parent
        ) / "uint8"
        # The generated JPEGs' size, or the network's for user data: the size comes
        # from the settings, never from an image.
        size = args.input_size if args.data else args.image_size
        existed = cache_dir.is_dir() and any(cache_dir.glob(f"uint8-{size}px-*"))
        started = time.perf_counter()
        cache = UInt8ImageCache.build(data, cache_dir, size, args.num_workers)
        # Building decodes every file; opening an earlier build only checks them.
        key = "cache_open_seconds" if existed else "cache_build_seconds"
        info[key] = time.perf_counter() - started
        info["cache_size_px"] = cache.size
    return data, cache, info


if __name__ == "__main__":
    raise SystemExit(main())
