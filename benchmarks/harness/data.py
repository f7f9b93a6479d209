"""The benchmark's data: the training and evaluation splits and their loaders."""

import csv
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightly.transforms.utils import IMAGENET_NORMALIZE
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler

from harness.eval_formats import EVAL_FORMATS
from harness.eval_sets import EvalSet, eval_sets
from harness.evaluation.class_balance import inverse_frequency_weights
from harness.settings import BenchmarkConfig, DataSettings
from lightly_byel._locks import exclusive_lock
from lightly_byel.data import LSD_CLASSES, LabeledImageFiles, LSDImageFolder
from lightly_byel.data.face_detection import FaceDetector, largest_faces
from lightly_byel.data.staging import remove_stale_staging
from lightly_byel.data.synthfaces import (
    GENERATOR_VERSION,
    METADATA_FILE,
    SPLITS,
    generate,
)
from lightly_byel.data.uint8_cache import CachedSubset, UInt8ImageCache, collate_batch
from lightly_byel.transforms.eval_transform import network_input


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
            :mod:`harness.eval_sets`), scored beside ``eval``.
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


class Transformed(Dataset[tuple[Any, int]]):
    """A subset of a labelled image dataset, with its own transform."""

    def __init__(
        self,
        dataset: LabeledImageFiles,
        indices: Sequence[int],
        transform: Callable[[Image.Image], Any],
    ) -> None:
        self.dataset = dataset
        self.indices = list(indices)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, label = self.dataset[self.indices[index]]
        return self.transform(image), label

    def labels(self) -> list[int]:
        """The label of every sample, without loading an image."""
        return [self.dataset.targets[i] for i in self.indices]


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
    loaded = {s.name: EVAL_FORMATS[s.format].load(s.path, s.annotations) for s in sets}
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


@dataclass(frozen=True)
class Caches:
    """The splits decoded once into uint8 arrays (the ``cache`` pipeline)."""

    train: UInt8ImageCache
    eval: UInt8ImageCache
    others: dict[str, UInt8ImageCache] = field(default_factory=dict)

    def split(self, name: str) -> UInt8ImageCache:
        """The cache of ``train``, ``eval`` or another evaluation set."""
        if name == "train":
            return self.train
        return self.eval if name == "eval" else self.others[name]


def build_caches(splits: Splits, config: BenchmarkConfig) -> Caches:
    """Decodes both splits into uint8 caches (once; later runs reuse them).

    The caches live in ``<cache folder>/uint8``, at the size
    :func:`cache_size` gives; every image is resized into it.
    """
    size = cache_size(config)
    folder = cache_root(config.data) / "uint8"
    workers = config.data.num_workers
    print(f"Decoding the images into uint8 caches at {size} px in {folder} ...")
    return Caches(
        train=UInt8ImageCache.build(splits.train, folder, size, workers),
        eval=UInt8ImageCache.build(splits.eval, folder, size, workers),
        others={
            name: UInt8ImageCache.build(dataset, folder, size, workers)
            for name, dataset in splits.other_evals.items()
        },
    )


def cache_size(config: BenchmarkConfig) -> int:
    """The side of the cached images: from the settings, never from the data.

    ``data.cache_size`` if set; else the generated image size for the embedded
    synthetic faces (their exact pixels); else the model's input size.

    Examples:
        >>> from dataclasses import replace
        >>> from harness.presets import preset
        >>> config = preset("paper")
        >>> cache_size(config), config.model.input_size
        (48, 128)
        >>> cache_size(replace(config, data=replace(config.data, data_root="lsd")))
        128
    """
    data = config.data
    if data.cache_size is not None:
        return data.cache_size
    embedded = data.data_root is None and data.train_dir is None
    return data.synthetic_image_size if embedded else config.model.input_size


class DevicePreprocess(nn.Module):
    """Turns uint8 batches into network input on the device (``cache`` pipeline).

    In training mode with an ``augment`` module it returns augmented views; in
    evaluation mode (or without one) it resizes to ``input_size`` with antialiasing
    and normalises, as :class:`~lightly_byel.transforms.eval_transform.EvalTransform`
    does per image. Put it in front of a backbone
    (``nn.Sequential(preprocess, backbone)``) to evaluate or fine-tune the backbone on
    cached uint8 batches.

    Examples:
        >>> preprocess = DevicePreprocess(16).eval()
        >>> preprocess(torch.zeros(2, 3, 24, 24, dtype=torch.uint8)).shape
        torch.Size([2, 3, 16, 16])
    """

    mean: Tensor
    std: Tensor

    def __init__(self, input_size: int, augment: nn.Module | None = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.augment = augment
        mean = torch.tensor(IMAGENET_NORMALIZE["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_NORMALIZE["std"]).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        """Views ``(B, 3, input_size, input_size)`` of uint8 images ``(B, 3, H, W)``."""
        if self.training and self.augment is not None:
            view: Tensor = self.augment(images)
            return view
        return network_input(images, self.input_size, self.mean, self.std)


class EpochShuffle(Sampler[int]):
    """A random order of the samples for each epoch, drawn from ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before every epoch (also through its
    distributed wrapper), so a fit resumed at epoch ``k`` draws epoch ``k``'s order,
    as an uninterrupted fit does. With ``weights`` it draws ``size`` samples with
    replacement in proportion to them (a class-balanced sampler) instead.

    Examples:
        >>> sampler = EpochShuffle(5, seed=0)
        >>> first = list(sampler)
        >>> sampler.set_epoch(1)
        >>> sorted(first), list(sampler) != first, len(sampler)
        ([0, 1, 2, 3, 4], True, 5)
        >>> sampler.set_epoch(0)
        >>> list(sampler) == first
        True
    """

    def __init__(self, size: int, seed: int, weights: Tensor | None = None) -> None:
        self.size = size
        self.seed = seed
        self.weights = weights
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose order :meth:`__iter__` gives."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        state = np.random.SeedSequence([self.seed, self.epoch]).generate_state(1)
        generator = torch.Generator().manual_seed(int(state[0]))
        if self.weights is None:
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.multinomial(
                self.weights, self.size, replacement=True, generator=generator
            )
        return iter(order.tolist())


def loader(
    dataset: Transformed | CachedSubset,
    batch_size: int,
    num_workers: int,
    shuffle: bool,
    drop_last: bool = False,
    balanced: bool = False,
    seed: int = 0,
) -> DataLoader[Any]:
    """A DataLoader with pinned memory and persistent workers where they help.

    Batches of a :class:`CachedSubset` are gathered whole from its cache. Shuffled
    and balanced orders come from :class:`EpochShuffle`.

    Args:
        dataset: The samples.
        batch_size: Batch size on this device.
        num_workers: Worker processes.
        shuffle: Whether to shuffle (training).
        drop_last: Whether to drop a last incomplete batch (batch norm needs > 1).
        balanced: Whether to draw classes equally often (a class-balanced
            sampler) instead of shuffling.
        seed: Seed of the shuffling or sampling.
    """
    sampler = None
    if balanced:
        labels = torch.as_tensor(dataset.labels())
        weights = inverse_frequency_weights(labels, int(labels.max()) + 1)
        sampler = EpochShuffle(len(labels), seed, weights[labels].double())
    elif shuffle:
        sampler = EpochShuffle(len(dataset), seed)
    return DataLoader(
        dataset,
        batch_size=min(batch_size, len(dataset)),
        sampler=sampler,
        drop_last=drop_last and len(dataset) > batch_size,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
        # Draws the workers' base seed, so that it too is the same on a resume.
        generator=torch.Generator().manual_seed(seed),
        collate_fn=collate_batch if isinstance(dataset, CachedSubset) else None,
    )
