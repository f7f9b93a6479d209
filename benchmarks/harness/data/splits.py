"""The images of a run: the training and evaluation splits, and the generated faces."""

import csv
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.config.settings import BenchmarkConfig, DataSettings
from harness.data.eval_sets import EvalSet, eval_sets
from harness.storage.lock import exclusive_lock
from harness.storage.staging import remove_stale_staging
from lightly_byel.data import LSD_CLASSES, LabeledImageFiles, LSDImageFolder
from lightly_byel.data.face_detection import FaceDetector, largest_faces
from lightly_byel.data.formats import FORMATS
from lightly_byel.data.synthfaces import (
    GENERATOR_VERSION,
    METADATA_FILE,
    SPLITS,
    generate,
)


@dataclass(frozen=True)
class Splits:
    """The images of one benchmark run.

    Attributes:
        train: The synthetic training split (labels used by BYEL, supervised
            training and the evaluations).
        train_indices: Samples of ``train`` used for training.
        holdout_indices: Samples of ``train`` held out to select evaluation epochs;
            empty for a fixed schedule.
        eval: The main evaluation ("real") split; never used for training or
            selection.
        description: Where the images come from, for the results.
        other_evals: Further evaluation sets by name (see
            :mod:`harness.data.eval_sets`), scored beside ``eval``.
        eval_name: The name of ``eval`` among the evaluation sets.
    """

    train: LabeledImageFiles
    train_indices: list[int]
    holdout_indices: list[int]
    eval: LabeledImageFiles
    description: dict[str, Any]
    other_evals: dict[str, LabeledImageFiles] = field(default_factory=dict)
    eval_name: str = "eval"

    def split(self, name: str) -> LabeledImageFiles:
        """The split ``train``, ``eval`` (the main evaluation set) or another one."""
        if name == "train":
            return self.train
        return self.eval if name == "eval" else self.other_evals[name]

    def data_record(self) -> dict[str, Any]:
        """The resolved data of the run, for ``results.json`` and model files.

        ``train`` and ``eval`` are the folders read (the generated faces' folder in
        the cache, for the embedded default), with their image counts, the format
        of the eval split and the generator version of generated faces (``None``
        for other data). Further evaluation sets add ``other_evals``: each one's
        folder, format and image count by name.
        """
        described = self.description
        record = {
            "train": described["train_dir"],
            "eval": described["eval_dir"],
            "eval_format": described["eval_format"],
            "train_images": described["train_images"],
            "holdout_images": described["holdout_images"],
            "eval_images": described["eval_images"],
            "generator": described["generator"],
        }
        if described.get("other_evals"):
            record["other_evals"] = described["other_evals"]
        return record


def cache_root(settings: DataSettings) -> Path:
    """The folder that keeps generated data between runs."""
    if settings.cache_dir is not None:
        return Path(settings.cache_dir)
    if "LIGHTLY_BYEL_CACHE" in os.environ:
        return Path(os.environ["LIGHTLY_BYEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lightly_byel"


def synthetic_data(settings: DataSettings) -> Path:
    """Returns the embedded synthetic-face data, generating it on first use.

    The data lives in the cache folder under a name made of the generator version
    and the settings, and is generated into a temporary folder that is renamed
    when complete, so an interrupted generation never leaves a half data set.
    Processes that ask at once (DDP ranks) wait for the first to finish.
    """
    name = (
        f"synthfaces-v{GENERATOR_VERSION}-n{settings.synthetic_images_per_class}"
        f"-s{settings.synthetic_image_size}-seed{settings.synthetic_seed}"
    )
    root = cache_root(settings) / name
    if (root / "dataset.json").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    # The processes of a DDP run take turns: the first generates, the others wait.
    with exclusive_lock(root.parent / f".{name}.lock"):
        if (root / "dataset.json").is_file():
            return root
        for stale in remove_stale_staging(root.parent, ".synthfaces-"):
            print(f"Removed {stale}, left by an interrupted generation.")
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root.parent))
        try:
            print(f"Generating the synthetic-face data into {root} (once) ...")
            generate(
                staging,
                images_per_class=settings.synthetic_images_per_class,
                image_size=settings.synthetic_image_size,
                seed=settings.synthetic_seed,
                workers=max(1, min(4, os.cpu_count() or 1)),
            )
            if root.exists():  # left behind without dataset.json: not usable
                shutil.rmtree(root)
            os.replace(staging, root)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return root


def load_splits(config: BenchmarkConfig, seed: int = 0) -> Splits:
    """Indexes the training and evaluation splits and draws the holdout.

    The holdout is ``holdout_fraction`` of the training split, drawn with
    ``seed``: whole people where the generator's ``metadata.csv`` names them
    (:func:`generated_identities`), class-stratified random images otherwise.

    Raises:
        ValueError: If a class has no training images, in the split or left
            after the holdout, since it could not be learned and macro F1 would
            count it as 0; or if ``metadata.csv`` does not name every person.
    """
    data = config.data
    if data.train_dir is not None and data.eval_dir is not None:
        train_dir, default_eval = Path(data.train_dir), None
        source = "user data"
    else:
        root = Path(data.data_root) if data.data_root else synthetic_data(data)
        train_dir, default_eval = root / SPLITS[0], root / SPLITS[1]
        source = (
            "LSD layout" if data.data_root else "embedded synthetic faces (not real)"
        )
    train = LSDImageFolder(train_dir)
    _require_every_class(
        classes_without_images(train.targets), f"{train_dir}", "missing or empty"
    )
    sets, loaded = _evaluation_sets(data, default_eval)
    main, *others = sets
    evaluation = loaded[main.name]
    fraction = config.evaluation.holdout_fraction
    people = generated_identities(train)
    if people is None:
        train_indices, holdout_indices = stratified_split(train.targets, fraction, seed)
        holdout = "class-stratified random images"
    else:
        train_indices, holdout_indices = grouped_split(people, fraction, seed)
        holdout = "people held out by identity (metadata.csv)"
    kept = [train.targets[i] for i in train_indices]
    _require_every_class(
        classes_without_images(kept),
        f"{train_dir}, without the holdout ({holdout}),",
        "all held out",
    )
    description: dict[str, Any] = {
        "source": source,
        "holdout": holdout,
        "train_dir": str(train_dir),
        "eval_dir": str(main.path),
        "eval_format": main.format,
        "generator": GENERATOR_VERSION if source.startswith("embedded") else None,
        "train_images": len(train_indices),
        "holdout_images": len(holdout_indices),
        "eval_images": len(evaluation),
        "train_class_counts": train.class_counts(),
        "eval_class_counts": evaluation.class_counts(),
    }
    description.update(_described_sets(main, others, loaded))
    other_evals = {s.name: loaded[s.name] for s in others}
    return Splits(
        train,
        train_indices,
        holdout_indices,
        evaluation,
        description,
        other_evals,
        main.name,
    )


def _evaluation_sets(
    data: DataSettings, default: Path | None
) -> tuple[list[EvalSet], dict[str, LabeledImageFiles]]:
    """The evaluation sets, each indexed by its format (and cut to faces)."""
    sets = eval_sets(data, default)
    loaded = {s.name: FORMATS[s.format].load(s.path, s.annotations) for s in sets}
    if data.crop_faces:
        loaded = _faces_cut(loaded)
    for name, dataset in loaded.items():
        left_out = getattr(dataset, "skipped", None)
        if left_out:
            print(f"Evaluation set {name}: {len(dataset)} faces; left out {left_out}.")
    return sets, loaded


def _described_sets(
    main: EvalSet, others: list[EvalSet], loaded: dict[str, LabeledImageFiles]
) -> dict[str, Any]:
    """What the run's description adds for the evaluation sets.

    The main set's faces left out of six-class scoring (neutral, no face found,
    ...), and each other set's folder, format, image count and faces left out;
    nothing for one set of a format that leaves nothing out (the default run).
    """
    described: dict[str, Any] = {}
    left_out = getattr(loaded[main.name], "skipped", None)
    if left_out:
        described["eval_left_out"] = left_out
    if others:
        described["other_evals"] = {
            s.name: {
                "path": str(s.path),
                "format": s.format,
                "images": len(loaded[s.name]),
                "left_out": getattr(loaded[s.name], "skipped", {}),
            }
            for s in others
        }
    return described


def _faces_cut(sets: dict[str, LabeledImageFiles]) -> dict[str, LabeledImageFiles]:
    """Each evaluation set cut to the largest face of each image (``--crop-faces``)."""
    detector = FaceDetector()
    cut: dict[str, LabeledImageFiles] = {}
    for name, dataset in sets.items():
        started = time.perf_counter()
        cut[name] = largest_faces(dataset, detector, _FaceProgress(name))
        seconds = time.perf_counter() - started
        print(f"Found faces in {name} in {seconds:.0f} s.")
    return cut


@dataclass(frozen=True)
class _FaceProgress:
    """Prints face finding's progress in one evaluation set every 500 images."""

    name: str

    def __call__(self, done: int, total: int) -> None:
        if done % 500 == 0 or done == total:
            print(f"Finding faces in {self.name}: {done}/{total} images", flush=True)


def classes_without_images(labels: Sequence[int]) -> list[str]:
    """The LSD classes that none of ``labels`` names, in label order.

    The training split must have every class (:func:`load_splits` refuses it
    otherwise); the evaluation split may lack some, which the run reports.

    Examples:
        >>> classes_without_images([0, 1, 1, 3, 4, 5])
        ['FEAR']
    """
    present = set(labels)
    return [name for label, name in enumerate(LSD_CLASSES) if label not in present]


def missing_eval_classes(splits: Splits) -> list[str]:
    """The classes without a single image in the evaluation split."""
    return classes_without_images(splits.eval.targets)


def _require_every_class(missing: list[str], where: str, why: str) -> None:
    """Refuses a training split without images of ``missing`` classes (``why``)."""
    if missing:
        raise ValueError(
            f"the training split {where} has no images of {', '.join(missing)} "
            f"({why}); all {len(LSD_CLASSES)} classes need training images, since "
            "macro F1 counts an unlearned class as 0."
        )


def generated_identities(dataset: LabeledImageFiles) -> list[int] | None:
    """The person each sample shows, for data the synthetic-face generator wrote.

    Read from the generator's ``metadata.csv`` beside the split folder; ``None``
    when there is none (other data).

    Raises:
        ValueError: If ``metadata.csv`` cannot be read as the generator writes
            it, or does not name the person of every sample: the holdout would
            otherwise fall back to random images and mix the same people into
            both sides without saying so.
    """
    if not isinstance(dataset, LSDImageFolder):
        return None
    root = Path(dataset.root).parent
    table = root / METADATA_FILE
    if not table.is_file():
        return None
    try:
        with open(table, newline="", encoding="utf-8") as handle:
            people = {
                os.path.normpath(root / row["file"]): int(row["identity"])
                for row in csv.DictReader(handle)
            }
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(
            f"{table} is not the generator's metadata table (columns file and "
            f"identity, a whole number per row): {type(error).__name__}: "
            f"{str(error)[:200]}."
        ) from None
    unnamed = [
        path for path, _ in dataset.samples if os.path.normpath(path) not in people
    ]
    if unnamed:
        raise ValueError(
            f"{table} names the person of every generated image, but not of "
            f"{len(unnamed)} of the {len(dataset)} images in {dataset.root} (e.g. "
            f"{unnamed[0]}), so the holdout cannot keep people apart. Remove those "
            f"images, regenerate the data, or remove {METADATA_FILE} to hold out "
            "random images instead."
        )
    return [people[os.path.normpath(path)] for path, _ in dataset.samples]


def grouped_split(
    groups: Sequence[int], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Splits sample indices into kept and held-out, whole groups (people) at a time.

    Randomly ordered groups are held out until ``fraction`` of the samples is;
    the group that crosses the mark goes to whichever side leaves the held-out
    share closest to ``fraction``.

    Examples:
        >>> kept, held = grouped_split([0, 0, 1, 1, 2, 2, 3, 3, 4, 4], 0.2, seed=0)
        >>> len(held), len({[0, 0, 1, 1, 2, 2, 3, 3, 4, 4][i] for i in held})
        (2, 1)
    """
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    order = np.random.default_rng(seed).permutation(sorted(members))
    target = fraction * len(groups)
    held: list[int] = []
    for group in order.tolist():
        if len(held) >= target:
            break
        with_group = len(held) + len(members[group])
        if with_group - target > target - len(held):
            break
        held.extend(members[group])
    held_set = set(held)
    return [i for i in range(len(groups)) if i not in held_set], sorted(held)


def stratified_split(
    labels: Sequence[int], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Splits sample indices into kept and held-out, ``fraction`` of each class.

    Examples:
        >>> kept, held = stratified_split([0] * 10 + [1] * 10, 0.2, seed=0)
        >>> len(kept), len(held), sorted(held)[0] < 10 <= sorted(held)[-1]
        (16, 4, True)
    """
    rng = np.random.default_rng(seed)
    targets = np.asarray(labels)
    held: list[int] = []
    for label in np.unique(targets):
        members = np.flatnonzero(targets == label)
        count = round(fraction * len(members))
        held.extend(rng.choice(members, size=count, replace=False).tolist())
    held_set = set(held)
    return [i for i in range(len(targets)) if i not in held_set], sorted(held)
