"""Time that opening a uint8 image cache takes with its block checks and without.

Opening a :class:`~harness.pipelines.cache.uint8_cache.UInt8ImageCache` compares every
16 MiB block of ``images.npy`` and ``labels.npy`` with the CRC-32 recorded when the
cache was built: one sequential read of both files. The script writes a cache of
``--images`` random images of ``--size`` px with the code that builds caches
(``write_cache``: the same files, the same checksums; random pixels instead of
decoded ones, which the check cannot tell apart), then opens it ``--repeats`` times
with the check and as often without (``verify=False``), alternating the order
between rounds, and reports the medians, their ratio and the rate of the check.

Two states of the page cache are measured. ``warm``: the files are in memory, as
right after a build. ``cold``: before every open the script flushes the files and
asks the kernel to drop their pages (``posix_fadvise(POSIX_FADV_DONTNEED)``, no
root needed), so that the check reads from the disk; a virtual machine's host may
still hold the disk's blocks in its own cache, which makes ``cold`` faster than a
physical disk would be. ``--epoch`` also times one pass over every image in random
batches of 256 after each open, as the first epoch of training reads them: the
check leaves the pixels in the page cache for it.

The defaults are the default benchmark's caches (1,200 images a split at 64 px);
the LSD training split at the paper's 128 px is ``--images 277251 --size 128``
(13.6 GB: the disk needs that much free; the cache is deleted at the end).

Run from the repository root::

    python benchmarks/cache_check.py
    python benchmarks/cache_check.py --images 277251 --size 128 --repeats 5

It prints a table and writes ``benchmarks/results/cache_check-<N>x<S>px.json``
(see ``--output``).
"""

import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from harness.config.declared import parse_script_flags, setting
from harness.pipelines.cache.block_checksums import MAX_THREADS
from harness.pipelines.cache.uint8_cache import (
    CHECKED_FILES,
    CHECKSUM_BLOCK_BYTES,
    UInt8ImageCache,
    write_cache,
)
from harness.scripts.results import shown, write_json
from harness.scripts.spread import Spread
from harness.scripts.step_timing import alternating
from numpy.typing import NDArray

from lightly_byel.data import LSD_CLASSES

BENCHMARKS = Path(__file__).resolve().parent

EPOCH_BATCH = 256
"""Images per random batch of ``--epoch`` (the paper's batch size)."""

CAN_EVICT = hasattr(os, "posix_fadvise")
"""Whether this system can drop a file's pages from the page cache (Linux can)."""


def random_batches(
    count: int, size: int, seed: int = 0, batch: int = 1024
) -> Iterator[tuple[NDArray[np.uint8], NDArray[np.int64]]]:
    """``count`` random images of ``size`` px with random labels, a batch at a time."""
    rng = np.random.default_rng(seed)
    for start in range(0, count, batch):
        rows = min(batch, count - start)
        pixels = np.frombuffer(rng.bytes(rows * size * size * 3), dtype=np.uint8)
        labels = rng.integers(0, len(LSD_CLASSES), rows, dtype=np.int64)
        yield pixels.reshape(rows, size, size, 3), labels


def evict(folder: Path) -> None:
    """Writes the cache's files to disk and drops their pages from the page cache."""
    for name in CHECKED_FILES:
        handle = os.open(folder / name, os.O_RDONLY)
        try:
            os.fsync(handle)  # dirty pages cannot be dropped
            os.posix_fadvise(handle, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(handle)


def read_epoch(cache: UInt8ImageCache, seed: int) -> None:
    """Gathers every image once in random batches, as a training epoch reads them."""
    order = np.random.default_rng(seed).permutation(len(cache))
    for start in range(0, len(order), EPOCH_BATCH):
        cache.batch(order[start : start + EPOCH_BATCH])


def measure(
    folder: Path, state: str, repeats: int, epoch: bool
) -> dict[str, list[float]]:
    """Opens the cache with and without the check, alternating; returns the times.

    Keys: ``checked`` and ``unchecked`` (seconds to open), and with ``epoch``,
    ``checked_epoch`` and ``unchecked_epoch`` (seconds of the pass that follows).
    """
    times: dict[str, list[float]] = {}
    if state == "warm":
        UInt8ImageCache(folder)  # reads both files into the page cache
    for index, order in enumerate(alternating([True, False], repeats)):
        for verify in order:
            if state == "cold":
                evict(folder)
            key = "checked" if verify else "unchecked"
            start = time.perf_counter()
            cache = UInt8ImageCache(folder, verify=verify)
            times.setdefault(key, []).append(time.perf_counter() - start)
            if epoch:
                start = time.perf_counter()
                read_epoch(cache, seed=index)
                times.setdefault(f"{key}_epoch", []).append(time.perf_counter() - start)
            del cache
    return times


def summary(times: dict[str, list[float]], checked_bytes: int) -> dict[str, Any]:
    """Medians, the ratio of the opens and the check's rate, with the raw times."""
    medians = {key: Spread.of(values).median for key, values in times.items()}
    check_seconds = medians["checked"] - medians["unchecked"]
    figures: dict[str, Any] = {
        "median_s": medians,
        "ratio": medians["checked"] / medians["unchecked"],
        "check_s": check_seconds,
        "check_gb_per_s": checked_bytes / check_seconds / 1e9
        if check_seconds > 0
        else None,
        "times_s": times,
    }
    if "checked_epoch" in medians:
        figures["open_and_epoch_s"] = {
            key: medians[key] + medians[f"{key}_epoch"]
            for key in ("checked", "unchecked")
        }
    return figures


@dataclass(frozen=True)
class CacheCheckFlags:
    """The command line."""

    images: int = setting(1200, "images in the cache", flag="images", minimum=1)
    size: int = setting(64, "side of the images, px", flag="size", minimum=1)
    repeats: int = setting(5, "opens of each kind", flag="repeats", minimum=1)
    # Cold opens need posix_fadvise.
    states: Literal["warm", "cold", "both"] = setting(
        "both", "page-cache states to measure", flag="states"
    )
    epoch: bool = setting(
        False, "also time a pass in random batches after each open", flag="epoch"
    )
    dir: Path | None = setting(
        None, "folder of the temporary cache; null: the system's temp", flag="dir"
    )
    output: Path | None = setting(
        None, "results file; null: results/cache_check-<N>x<S>px.json", flag="output"
    )


def main(argv: list[str] | None = None) -> int:
    """Writes the cache, measures, prints and saves the figures; returns 0."""
    args = parse_script_flags(CacheCheckFlags, __file__, __doc__, argv)
    states = ["warm", "cold"] if args.states == "both" else [args.states]
    if "cold" in states and not CAN_EVICT:
        print("no cold figures: this system has no posix_fadvise")
        states.remove("cold")
    output = args.output or (
        BENCHMARKS / "results" / f"cache_check-{args.images}x{args.size}px.json"
    )

    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="cache_check-") as name:
        folder = Path(name)
        write_s, checked_bytes = _write(folder, args)
        results = {
            state: summary(
                measure(folder, state, args.repeats, args.epoch), checked_bytes
            )
            for state in states
        }
    payload = _payload(args, argv, write_s, checked_bytes, results)
    write_json(output, payload)
    print(_table(results))
    print(f"results: {shown(output)}")
    return 0


def _write(folder: Path, args: CacheCheckFlags) -> tuple[float, int]:
    """Writes the cache of random images; returns its seconds and checked bytes."""
    start = time.perf_counter()
    write_cache(
        folder,
        args.size,
        LSD_CLASSES,
        args.images,
        random_batches(args.images, args.size),
    )
    write_s = time.perf_counter() - start
    checked_bytes = sum((folder / file).stat().st_size for file in CHECKED_FILES)
    print(
        f"Wrote a cache of {args.images:,} random images at {args.size} px "
        f"({checked_bytes / 1e6:,.1f} MB, checksums included) in {write_s:.1f} s",
        flush=True,
    )
    return write_s, checked_bytes


def _payload(
    args: CacheCheckFlags,
    argv: list[str] | None,
    write_s: float,
    checked_bytes: int,
    results: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The results file: the command, the machine, the settings and the figures."""
    return {
        "command": " ".join(
            [
                "python benchmarks/cache_check.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "environment": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {
            "images": args.images,
            "size": args.size,
            "checked_bytes": checked_bytes,
            "block_bytes": CHECKSUM_BLOCK_BYTES,
            "max_threads": MAX_THREADS,
            "repeats": args.repeats,
            "epoch_batch": EPOCH_BATCH if args.epoch else None,
            "cold": "fsync, then posix_fadvise(POSIX_FADV_DONTNEED) on both files "
            "before every open",
        },
        "write_s": write_s,
        "states": results,
    }


def _table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "state  open checked s  unchecked s  ratio   check GB/s  open+epoch s "
        "(checked / unchecked)"
    ]
    for state, figures in results.items():
        median = figures["median_s"]
        rate = figures["check_gb_per_s"]
        epoch = figures.get("open_and_epoch_s")
        lines.append(
            f"{state:<6} {median['checked']:>13.4f} {median['unchecked']:>12.4f} "
            f"{figures['ratio']:>6.1f}x {rate if rate is None else f'{rate:.2f}':>11}"
            + (f"  {epoch['checked']:.3f} / {epoch['unchecked']:.3f}" if epoch else "")
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
