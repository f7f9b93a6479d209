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

import argparse
import json
import logging
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from harness.atomic_files import write_text_atomic
from harness.config import int_at_least
from harness.data import Transformed, loader, synthetic_data
from harness.methods import METHODS
from harness.reporting.results import environment_info
from harness.settings import DataSettings, ModelSettings, PretrainSettings
from torch.utils.data import DataLoader, Dataset

from lightly_byel.data import LSDImageFolder
from lightly_byel.data.synthfaces import SPLITS
from lightly_byel.data.uint8_cache import CachedSubset, UInt8ImageCache

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
    backbone: str
    input_size: int
    batch_size: int
    precision: str
    channels_last: bool
    compile: bool
    optimizer: str
    optimizer_impl: str
    warmup: int
    steps: int
    num_workers: int
    device: str


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


class StepClock(pl.Callback):
    """Times each training step after the warm-up, batch fetch included.

    A step's time runs from the end of the previous step to the end of this one,
    so it holds the wait for the batch, the transfer, the augmentation on the
    device and the step; the device is synchronised at each boundary.
    """

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.times: list[float] = []
        self._last = 0.0

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        _synchronize(pl_module.device)
        now = time.perf_counter()
        if trainer.global_step > self.warmup:
            self.times.append(now - self._last)
        self._last = now


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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
    spec = METHODS[method]
    model = ModelSettings(
        backbone=setup.backbone,
        input_size=setup.input_size,
        channels_last=setup.channels_last,
        compile=setup.compile,
    )
    pretrain = PretrainSettings(
        epochs=1,
        batch_size_per_device=setup.batch_size,
        optimizer=setup.optimizer,  # type: ignore[arg-type]
        optimizer_impl=setup.optimizer_impl,  # type: ignore[arg-type]
    )
    pl.seed_everything(0, verbose=False)
    module = spec.build(model, pretrain)
    device = torch.device(setup.device)
    batches: Any
    if mode in ("device", "device-augment"):
        # batch_size=None: the loader hands out the prepared batches as they are.
        batches = DataLoader(
            _Prepared(_device_batches(setup, method, mode, device)), batch_size=None
        )
        if mode == "device-augment":
            module.batch_transform = spec.batch_views(model)
    elif mode == "files":
        assert data is not None
        dataset = Transformed(data, range(len(data)), spec.views(model))
        batches = loader(
            dataset, setup.batch_size, setup.num_workers, True, drop_last=True
        )
    else:
        assert cache is not None
        batches = loader(
            CachedSubset(cache, range(len(cache))),
            setup.batch_size,
            setup.num_workers,
            True,
            drop_last=True,
        )
        module.batch_transform = spec.batch_views(model)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    clock = StepClock(setup.warmup)
    trainer = pl.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        precision=setup.precision,  # type: ignore[arg-type]
        max_steps=setup.warmup + setup.steps,
        max_epochs=10**6,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[clock],
    )
    trainer.fit(module, batches)
    return _summary(method, mode, clock.times, setup.batch_size, device)


class _Prepared(Dataset[Any]):
    """Batches made in advance, handed out as they are."""

    def __init__(self, batches: list[Any]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> Any:
        return self.batches[index]


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
    device = torch.device(setup.device)
    model = ModelSettings(input_size=setup.input_size)
    spec = METHODS["byel"]
    augment = None
    if mode == "files-data":
        assert data is not None
        dataset: Any = Transformed(data, range(len(data)), spec.views(model))
    else:
        assert cache is not None
        dataset = CachedSubset(cache, range(len(cache)))
        if mode == "cache-data":
            augment = spec.batch_views(model).to(device)
    batches = loader(dataset, setup.batch_size, setup.num_workers, True, drop_last=True)
    times: list[float] = []
    last = time.perf_counter()
    done = 0
    while done < setup.warmup + setup.steps:
        for images, _ in batches:
            if mode == "cache-gather":
                views = [images.to(device, non_blocking=True)]
            elif augment is not None:
                views = augment(images.to(device, non_blocking=True))
            else:
                views = [view.to(device, non_blocking=True) for view in images]
            assert len(views) == (1 if mode == "cache-gather" else 2)
            _synchronize(device)
            now = time.perf_counter()
            if done >= setup.warmup:
                times.append(now - last)
            last = now
            done += 1
            if done == setup.warmup + setup.steps:
                break
    return _summary("-", mode, times, setup.batch_size, device)


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


def _device_batches(
    setup: Setup, method: str, mode: str, device: torch.device
) -> list[Any]:
    """A few batches already on the device: views, or uint8 images to augment."""
    generator = torch.Generator().manual_seed(0)
    size, batch = setup.input_size, setup.batch_size
    views = 1 if method == "supervised" else 2
    batches = []
    for _ in range(4):
        labels = torch.randint(0, 6, (batch,), generator=generator).to(device)
        if mode == "device-augment":
            images: Any = torch.randint(
                0, 256, (batch, 3, size, size), generator=generator, dtype=torch.uint8
            ).to(device)
        else:
            made = [
                torch.randn(batch, 3, size, size, generator=generator).to(device)
                for _ in range(views)
            ]
            images = made[0] if views == 1 else made
        batches.append((images, labels))
    return batches


def table(setup: Setup, results: Sequence[Measurement]) -> str:
    """A markdown table of the measurements, with the shared settings above it."""
    lines = [
        f"Device {setup.device}, precision {setup.precision}, batch "
        f"{setup.batch_size}, backbone {setup.backbone} at {setup.input_size} px, "
        f"channels_last {setup.channels_last}, compile {setup.compile}, optimizer "
        f"{setup.optimizer} ({setup.optimizer_impl}), {setup.num_workers} workers, "
        f"median of {setup.steps} steps after {setup.warmup} warm-up steps.",
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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python benchmarks/throughput.py", description=__doc__.split("\n")[0]
    )
    gpu = torch.cuda.is_available()
    p.add_argument("--methods", default="byel,byol,simclr,supervised")
    p.add_argument("--modes", default="device,cache" if gpu else "device,files,cache")
    p.add_argument("--backbone", default="resnet50" if gpu else "resnet18")
    p.add_argument("--input-size", type=int_at_least(8), default=128 if gpu else 64)
    p.add_argument("--batch-size", type=int_at_least(2), default=256 if gpu else 32)
    p.add_argument(
        "--precision", default=None, help="Lightning precision (bf16-mixed on a GPU)"
    )
    p.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--compile", action="store_true", help="torch.compile backbones")
    p.add_argument("--optimizer", choices=("lars", "sgd", "adam"), default="lars")
    p.add_argument(
        "--optimizer-impl",
        choices=("auto", "for-loop", "foreach", "fused"),
        default="auto",
    )
    p.add_argument("--warmup", type=int_at_least(1), default=5 if gpu else 2)
    p.add_argument("--steps", type=int_at_least(1), default=30 if gpu else 5)
    p.add_argument("--num-workers", type=int_at_least(0), default=2)
    p.add_argument(
        "--repeats",
        type=int_at_least(1),
        default=1,
        help="measure every method this many times, in alternating order",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--data", help="an LSD-layout training split (class folders)")
    p.add_argument(
        "--images-per-class",
        type=int_at_least(1),
        default=400,
        help="generated faces per class when no --data is given",
    )
    p.add_argument("--image-size", type=int_at_least(8), default=112)
    p.add_argument("--cache-dir", help="where generated faces and caches are kept")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measures every method in every mode and writes the results."""
    args = parse_args(argv)
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    methods = tuple(name.strip() for name in args.methods.split(",") if name.strip())
    modes = tuple(name.strip() for name in args.modes.split(",") if name.strip())
    trained = sorted(name for name, spec in METHODS.items() if spec.pretrains)
    unknown = [m for m in methods if m not in trained] + [
        m for m in modes if m not in MODES
    ]
    if unknown:
        raise SystemExit(
            f"unknown or untrained methods or modes {unknown}; methods: {trained}, "
            f"modes: {list(MODES)}."
        )
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    on_gpu = device == "cuda"
    channels_last = args.channels_last == "on" or (
        args.channels_last == "auto" and on_gpu
    )
    setup = Setup(
        methods=methods,
        modes=modes,
        backbone=args.backbone,
        input_size=args.input_size,
        batch_size=args.batch_size,
        precision=args.precision or ("bf16-mixed" if on_gpu else "32-true"),
        channels_last=channels_last,
        compile=args.compile,
        optimizer=args.optimizer,
        optimizer_impl=args.optimizer_impl,
        warmup=args.warmup,
        steps=args.steps,
        num_workers=args.num_workers,
        device=torch.cuda.get_device_name(0) if on_gpu else "cpu",
    )
    data, cache = None, None
    data_info: dict[str, Any] = {}
    if {"files", "cache", *DATA_ONLY} & set(modes):
        with_cache = bool({"cache", "cache-data", "cache-gather"} & set(modes))
        data, cache, data_info = _data(args, with_cache)
    results: list[Measurement] = []
    for mode in modes:
        order = [
            method
            for repeat in range(args.repeats)
            # Alternating the order (A B, B A, ...) spreads drifts of the machine.
            for method in (methods if repeat % 2 == 0 else methods[::-1])
        ]
        for method in ("-",) if mode in DATA_ONLY else order:
            measured = replace(setup, device=device)
            if mode in DATA_ONLY:
                result = measure_data(measured, mode, data, cache)
            else:
                result = measure(measured, method, mode, data, cache)
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
        "setup": asdict(setup),
        "data": data_info,
        "results": [asdict(r) for r in results],
        "byel_byol_ratio": byel_byol_ratios(results),
        "environment": environment_info(setup.device),
        "command": " ".join(["python", "benchmarks/throughput.py", *(argv or [])]),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        args.output / "throughput.json", json.dumps(payload, indent=2) + "\n"
    )
    write_text_atomic(args.output / "throughput.md", text)
    print(f"Wrote {args.output / 'throughput.json'} and throughput.md")
    return 0


def _data(
    args: argparse.Namespace, with_cache: bool
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
