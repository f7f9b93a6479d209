"""Writing a procedural face data set in the layout of the ABAW LSD release.

``generate`` writes ``training_set_synthetic_images/<CLASS>/<number>.jpg`` (clean
rendered look) and ``validation_set_real_images/<CLASS>/<number>.jpg`` (a shifted
rendering standing in for real photos; not real), ``dataset.json`` and a per-image
``metadata.csv``. Every image is a pure function of ``(seed, split, class, number)``,
so the bytes do not depend on the number of worker processes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import numbers
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces.faces import (
    ACTION_UNITS,
    FRAMINGS,
    PROTOTYPES,
    Domain,
    Framing,
    Identity,
    Occluder,
    Pose,
    sample_action_units,
    sample_identity,
    sample_occluder,
    sample_pose,
)
from lightly_byel.data.synthfaces.render import render_face

GENERATOR_VERSION = "2.0.0"
"""Bumped whenever the same arguments would give different images."""

SPLITS: tuple[str, str] = (
    "training_set_synthetic_images",
    "validation_set_real_images",
)
"""Split folders: the clean rendered split, then the shifted one."""

DOMAINS: Mapping[str, Domain] = {SPLITS[0]: "clean", SPLITS[1]: "shifted"}
"""The rendering domain of each split."""

DATASET_FILE = "dataset.json"
METADATA_FILE = "metadata.csv"

LSD_VALIDATION_BALANCE: tuple[int, ...] = (804, 252, 523, 1714, 774, 603)
"""Approximate class counts of the real LSD validation split (``LSD_CLASSES`` order)."""

METADATA_COLUMNS: tuple[str, ...] = (
    "file",
    "split",
    "expression",
    "label",
    "identity",
    "intensity",
    *(f"AU{au:02d}" for au in ACTION_UNITS),
    "yaw",
    "pitch",
    "roll",
    "scale",
    "shift_x",
    "shift_y",
    "occluder",
    "framing",
)
"""Columns of ``metadata.csv``; ``file`` is relative to the data set root."""

NOTE = (
    "Procedurally rendered faces; no image shows a real person. Both splits are "
    "synthetic: validation_set_real_images is a shifted rendering (other identities, "
    "photo-like light, skin and background texture, blur, noise, JPEG artefacts, "
    "colour casts, occluders, wider pose; the same expressions) "
    "standing in for real photographs. It is not real data."
)

_JPEG_QUALITY = 92
_CHUNK = 100
_IMAGES_PER_IDENTITY = 20


@dataclass(frozen=True)
class Sample:
    """One rendered image and what it shows.

    ``identity`` is unique across splits: the two splits draw from disjoint pools.
    """

    image: Image.Image
    identity: int
    units: Mapping[int, float]
    pose: Pose
    occluder: Occluder


@lru_cache(maxsize=4096)
def _identity(seed: int, split: int, identity: int) -> Identity:
    return sample_identity(np.random.default_rng([seed, 1, split, identity]))


def render_sample(
    seed: int,
    split: str,
    label: int,
    number: int,
    image_size: int,
    identities: int,
    identity: int | None = None,
    framing: Framing = "aligned",
) -> Sample:
    """Render the image ``number`` of class ``label`` in a split.

    Args:
        seed: Data set seed.
        split: One of ``SPLITS``.
        label: Class index into ``LSD_CLASSES``.
        number: Image number within the class folder.
        image_size: Width and height in pixels.
        identities: Size of the split's identity pool.
        identity: Show this identity of the pool instead of the drawn one.
        framing: ``"aligned"`` face crops or ``"loose"`` head-and-shoulders shots.

    Returns:
        The image and its metadata.

    Examples:
        >>> sample = render_sample(0, SPLITS[0], 3, 0, 32, identities=10)
        >>> sample.image.size, 0 <= sample.identity < 10
        ((32, 32), True)
    """
    code = SPLITS.index(split)
    domain = DOMAINS[split]
    rng = np.random.default_rng([seed, 0, code, label, number])
    drawn = int(rng.integers(identities))
    chosen = drawn if identity is None else identity
    person = _identity(seed, code, chosen)
    units = sample_action_units(LSD_CLASSES[label], rng)
    pose = sample_pose(domain, rng, framing)
    occluder = sample_occluder(domain, rng)
    image = render_face(person, units, pose, domain, image_size, rng, occluder, framing)
    return Sample(image, code * identities + chosen, units, pose, occluder)


def lsd_validation_counts(total: int) -> tuple[int, ...]:
    """Split ``total`` images over the classes like the real LSD validation set.

    Every class gets at least one image; the rest follows the real proportions by
    largest remainders.

    Args:
        total: Number of images, at least the number of classes.

    Returns:
        Per-class counts in ``LSD_CLASSES`` order, summing to ``total``.

    Raises:
        ValueError: If ``total`` is smaller than the number of classes.

    Examples:
        >>> lsd_validation_counts(600)
        (103, 33, 68, 219, 99, 78)
    """
    classes = len(LSD_CLASSES)
    if total < classes:
        raise ValueError(f"total must be at least {classes}, got {total}")
    weights = np.array(LSD_VALIDATION_BALANCE, dtype=np.float64)
    share = weights / weights.sum() * (total - classes)
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - classes - int(counts.sum())]] += 1
    return tuple(int(n) + 1 for n in counts)


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate`` wrote.

    ``counts`` maps each split folder to its per-class image counts.
    """

    root: Path
    counts: Mapping[str, tuple[int, ...]]
    identities: int
    seconds: float

    @property
    def images(self) -> int:
        """Total number of images in both splits."""
        return sum(sum(counts) for counts in self.counts.values())


@dataclass(frozen=True)
class _Job:
    root: str
    seed: int
    image_size: int
    identities: int
    split: str
    label: int
    start: int
    stop: int
    framing: Framing


def _format(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def _render_chunk(job: _Job) -> list[list[str]]:
    folder = Path(job.root) / job.split / LSD_CLASSES[job.label]
    rows = []
    for number in range(job.start, job.stop):
        sample = render_sample(
            job.seed,
            job.split,
            job.label,
            number,
            job.image_size,
            job.identities,
            framing=job.framing,
        )
        name = f"{number:05d}.jpg"
        sample.image.save(folder / name, format="JPEG", quality=_JPEG_QUALITY)
        required = PROTOTYPES[LSD_CLASSES[job.label]][0]
        intensity = sum(sample.units[au] for au in required) / len(required)
        pose = sample.pose
        rows.append(
            [
                f"{job.split}/{LSD_CLASSES[job.label]}/{name}",
                job.split,
                LSD_CLASSES[job.label],
                str(job.label),
                str(sample.identity),
                _format(intensity, 4),
                *(_format(sample.units[au], 4) for au in ACTION_UNITS),
                *(_format(angle, 2) for angle in (pose.yaw, pose.pitch, pose.roll)),
                *(_format(v, 4) for v in (pose.scale, pose.shift_x, pose.shift_y)),
                sample.occluder,
                job.framing,
            ]
        )
    return rows


def _whole(name: str, value: object, minimum: int) -> int:
    """Returns ``value`` as an int of at least ``minimum``.

    Bools, floats and other non-integers are refused: a float would be truncated or
    fail deep inside the renderer, and a bool is an int to Python but never a meant
    size or count.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be a whole number, got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_counts(name: str, counts: Sequence[int]) -> tuple[int, ...]:
    if isinstance(counts, str | bytes) or any(
        isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in counts
    ):
        raise ValueError(
            f"{name} must be {len(LSD_CLASSES)} whole numbers (in the order "
            f"{', '.join(LSD_CLASSES)}), got {counts!r}"
        )
    if len(counts) != len(LSD_CLASSES) or any(n < 0 for n in counts) or not sum(counts):
        raise ValueError(
            f"{name} must be {len(LSD_CLASSES)} non-negative counts, not all zero "
            f"(in the order {', '.join(LSD_CLASSES)}), got {tuple(counts)}"
        )
    return tuple(int(n) for n in counts)


def _prepare(root: Path, overwrite: bool) -> None:
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"output {str(root)!r} exists and is not a directory")
    ours = [root / name for name in (*SPLITS, DATASET_FILE, METADATA_FILE)]
    existing = [path for path in ours if path.exists()]
    if existing and not overwrite:
        what = (
            "a data set"
            if (root / DATASET_FILE).exists()
            else f"an unfinished data set ({existing[0].name}, no {DATASET_FILE})"
        )
        raise FileExistsError(
            f"output {str(root)!r} already holds {what}; pass overwrite=True "
            "(--overwrite) to replace it"
        )
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8", newline="")
    os.replace(temporary, path)


def _jobs(
    root: Path,
    counts: dict[str, tuple[int, ...]],
    seed: int,
    image_size: int,
    identities: int,
    framing: Framing,
) -> list[_Job]:
    """Chunks of images to render, and their class folders (created)."""
    jobs = []
    for split, split_counts in counts.items():
        for label, count in enumerate(split_counts):
            (root / split / LSD_CLASSES[label]).mkdir(parents=True, exist_ok=True)
            for start in range(0, count, _CHUNK):
                stop = min(count, start + _CHUNK)
                jobs.append(
                    _Job(
                        str(root),
                        seed,
                        image_size,
                        identities,
                        split,
                        label,
                        start,
                        stop,
                        framing,
                    )
                )
    return jobs


def _render(
    jobs: list[_Job],
    workers: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> list[list[str]]:
    """Renders every chunk, in ``workers`` processes; returns the metadata rows."""
    rows: list[list[str]] = []

    def collect(chunk: list[list[str]]) -> None:
        rows.extend(chunk)
        if progress is not None:
            progress(len(rows), total)

    if workers == 1:
        for job in jobs:
            collect(_render_chunk(job))
    else:
        # Forked workers start at once with the modules already imported; they only
        # use numpy and PIL, so threads a parent may hold (torch's) are not touched.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers) as pool:
            for chunk in pool.imap(_render_chunk, jobs):
                collect(chunk)
    return rows


def generate(
    output: str | os.PathLike[str],
    images_per_class: int = 100,
    image_size: int = 64,
    seed: int = 0,
    workers: int = 1,
    identities: int | None = None,
    train_counts: Sequence[int] | None = None,
    eval_counts: Sequence[int] | Literal["lsd"] | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    framing: Framing = "aligned",
) -> GenerationSummary:
    """Write a procedural face data set in the LSD layout.

    Each split has ``images_per_class`` images a class unless ``train_counts`` or
    ``eval_counts`` says otherwise. ``eval_counts="lsd"`` spreads as many shifted
    images as there are training images like the real LSD validation set
    (``lsd_validation_counts``), a class balance unlike training's. The two splits
    draw identities from disjoint pools.

    Args:
        output: Root folder; created if missing.
        images_per_class: Images per class in each split.
        image_size: Width and height in pixels.
        seed: Data set seed; the same seed gives the same bytes.
        workers: Worker processes; does not change the output.
        identities: Identities per split; by default one per 20 images of the
            split, so that each person shows several expressions.
        train_counts: Per-class counts of the training split, ``LSD_CLASSES`` order.
        eval_counts: Per-class counts of the shifted split, ``LSD_CLASSES`` order,
            or ``"lsd"`` for the real validation set's balance.
        overwrite: Replace a data set already in ``output``.
        progress: Called as ``progress(done, total)`` after each batch of images.
        framing: ``"aligned"`` face crops like LSD and Aff-Wild2's
            ``cropped_aligned`` frames (the face fills the frame, the eyes at a
            fixed height), or ``"loose"`` head-and-shoulders shots.

    Returns:
        A summary of what was written.

    Raises:
        ValueError: If a count, size, seed, worker number or identity number is not
            a whole number or out of range, or the framing is unknown. Nothing is
            written then.
        FileExistsError: If ``output`` holds a data set and ``overwrite`` is false.
        NotADirectoryError: If ``output`` is a file.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as root:
        ...     summary = generate(root, images_per_class=1, image_size=32)
        ...     sorted(os.listdir(root))
        ['dataset.json', 'metadata.csv', 'training_set_synthetic_images',
         'validation_set_real_images']
        >>> summary.images
        12
    """
    images_per_class = _whole("images_per_class", images_per_class, 1)
    image_size = _whole("image_size", image_size, 16)
    seed = _whole("seed", seed, 0)
    workers = _whole("workers", workers, 1)
    if identities is not None:
        identities = _whole("identities", identities, 1)
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
    counts = _split_counts(images_per_class, train_counts, eval_counts)
    if identities is None:
        largest = max(sum(c) for c in counts.values())
        identities = max(1, math.ceil(largest / _IMAGES_PER_IDENTITY))
    root = Path(output)
    _prepare(root, overwrite)
    started = time.perf_counter()
    jobs = _jobs(root, counts, seed, image_size, identities, framing)
    rows = _render(jobs, workers, sum(sum(c) for c in counts.values()), progress)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(METADATA_COLUMNS)
    writer.writerows(rows)
    _write_atomically(root / METADATA_FILE, table.getvalue())
    description = _description(
        seed, image_size, images_per_class, identities, framing, counts
    )
    _write_atomically(root / DATASET_FILE, json.dumps(description, indent=2) + "\n")
    return GenerationSummary(root, counts, identities, time.perf_counter() - started)


def _split_counts(
    images_per_class: int,
    train_counts: Sequence[int] | None,
    eval_counts: Sequence[int] | Literal["lsd"] | None,
) -> dict[str, tuple[int, ...]]:
    """The per-class image counts of each split (see :func:`generate`)."""
    per_split = images_per_class * len(LSD_CLASSES)
    return {
        SPLITS[0]: _check_counts("train_counts", train_counts)
        if train_counts is not None
        else (images_per_class,) * len(LSD_CLASSES),
        SPLITS[1]: (images_per_class,) * len(LSD_CLASSES)
        if eval_counts is None
        else lsd_validation_counts(per_split)
        if eval_counts == "lsd"
        else _check_counts("eval_counts", eval_counts),
    }


def _description(
    seed: int,
    image_size: int,
    images_per_class: int,
    identities: int,
    framing: Framing,
    counts: dict[str, tuple[int, ...]],
) -> dict[str, Any]:
    """``dataset.json``: the generator, its parameters, the splits and classes."""
    return {
        "name": "synthfaces",
        "generator": "lightly_byel.data.synthfaces",
        "version": GENERATOR_VERSION,
        "note": NOTE,
        "parameters": {
            "seed": seed,
            "image_size": image_size,
            "images_per_class": images_per_class,
            "identities_per_split": identities,
            "framing": framing,
            "jpeg_quality": _JPEG_QUALITY,
        },
        "classes": list(LSD_CLASSES),
        "splits": {
            split: {
                "domain": DOMAINS[split],
                "images": sum(split_counts),
                "counts": dict(zip(LSD_CLASSES, split_counts, strict=True)),
                "identities": [code * identities, (code + 1) * identities],
            }
            for code, (split, split_counts) in enumerate(counts.items())
        },
        "action_units": {
            name: {"required": list(required), "optional": list(optional)}
            for name, (required, optional) in PROTOTYPES.items()
        },
        "metadata": METADATA_FILE,
        "metadata_columns": list(METADATA_COLUMNS),
    }
