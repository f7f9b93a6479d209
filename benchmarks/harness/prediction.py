"""Applying a saved model to a folder of images, streaming, batch by batch.

:func:`image_sources` lists what ``benchmarks/predict.py`` reads: a flat folder
(the ABAW LSD test set), an LSD split or Aff-Wild2 frames, through the project's
loaders. :class:`ImageSamples` decodes and prepares each image in the DataLoader
workers and marks unreadable files instead of failing, :func:`predict_batches`
yields the class probabilities of each batch, and :class:`VideoSmoother` averages
them over neighbouring frames of a video. Nothing holds more than a batch (or, when
smoothing, one video) of results.
"""

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from harness.data import EvalTransform
from harness.emotion_model import ModelInfo
from harness.eval_formats import EVAL_FORMATS
from harness.settings import DataSettings
from lightly_byel.data.images import is_image_name, load_rgb, natural_key


class Classifier(Protocol):
    """What prediction needs of a model, saved or exported to ONNX.

    :class:`~harness.emotion_model.EmotionModel` and
    :class:`~harness.onnx_model.OnnxEmotionModel` are two.

    Attributes:
        info: Its description (input size, normalisation, classes).
        mean: Its normalisation mean, on the device it runs on.
    """

    info: ModelInfo
    mean: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        """Logits ``(B, classes)`` of network input ``(B, 3, S, S)``."""
        ...


@dataclass(frozen=True)
class ImageSource:
    """One image to predict.

    Attributes:
        path: The file.
        name: Its name in the CSV: the file name in a flat folder, the path
            relative to the folder given otherwise.
        label: The true class, or ``None`` for unlabelled images.
        group: The video a frame belongs to (Aff-Wild2), for smoothing; ``None``
            otherwise.
    """

    path: str
    name: str
    label: int | None = None
    group: str | None = None


def image_sources(
    images: Path, form: str, annotations: Path | None = None
) -> tuple[list[ImageSource], list[str]]:
    """The images to predict, in a fixed order, and the files passed over.

    Args:
        images: A flat folder of images (``flat``), an LSD split (``lsd``) or the
            Aff-Wild2 frames folder (``affwild2-expr``).
        form: ``flat``, or a name of :data:`~harness.eval_formats.EVAL_FORMATS`.
        annotations: The Aff-Wild2 EXPR annotation folder (``affwild2-expr``).

    Returns:
        The images, and the names of files in a flat folder that are not images
        by their name (a labelled format's loader passes over those itself).

    Raises:
        FileNotFoundError: If ``images`` is not a folder.
        ValueError: For an unknown format, or one that needs ``annotations``.
    """
    if not images.is_dir():
        raise FileNotFoundError(f"--images {str(images)!r} is not a folder.")
    if form == "flat":
        names = sorted(
            (entry.name for entry in os.scandir(images) if entry.is_file()),
            key=natural_key,
        )
        skipped = [name for name in names if not is_image_name(name)]
        sources = [
            ImageSource(str(images / name), name)
            for name in names
            if is_image_name(name)
        ]
        return sources, skipped
    if form not in EVAL_FORMATS:
        raise ValueError(
            f"--format must be flat or one of {sorted(EVAL_FORMATS)}, got {form!r}."
        )
    settings = DataSettings(
        eval_annotations=None if annotations is None else str(annotations)
    )
    dataset = EVAL_FORMATS[form].load(images, settings)
    grouped = form == "affwild2-expr"
    sources = []
    for path, label in dataset.samples:
        name = os.path.relpath(path, images)
        group = os.path.basename(os.path.dirname(path)) if grouped else None
        sources.append(ImageSource(path, name, label, group))
    return sources, []


class ImageSamples(Dataset[tuple[Tensor | None, int]]):
    """Network input of each source, or ``None`` where its file cannot be read.

    Args:
        sources: The images.
        model: The model whose preprocessing is applied.
    """

    def __init__(self, sources: Sequence[ImageSource], model: Classifier) -> None:
        self.sources = sources
        self.transform = EvalTransform(
            model.info.input_size, model.info.mean, model.info.std
        )

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[Tensor | None, int]:
        try:
            image = load_rgb(self.sources[index].path)
        except Exception:  # any damage: reported, then skipped
            return None, index
        return self.transform(image), index


@dataclass(frozen=True)
class Batch:
    """Network input of the readable images of a batch, and where they came from.

    Attributes:
        inputs: ``(B, 3, S, S)``, or ``None`` if no image of the batch was readable.
        indices: The source index of each row of ``inputs``.
        unreadable: The source indices of the files that could not be read.
    """

    inputs: Tensor | None
    indices: list[int]
    unreadable: list[int]


def collate_readable(samples: Sequence[tuple[Tensor | None, int]]) -> Batch:
    """Stacks the readable samples and lists the unreadable ones."""
    readable = [(image, index) for image, index in samples if image is not None]
    unreadable = [index for image, index in samples if image is None]
    inputs = torch.stack([image for image, _ in readable]) if readable else None
    return Batch(inputs, [index for _, index in readable], unreadable)


def predict_batches(
    model: Classifier,
    sources: Sequence[ImageSource],
    batch_size: int,
    workers: int,
) -> Iterator[tuple[list[int], Tensor | None, list[int]]]:
    """Yields, batch by batch, the source indices, probabilities and unreadable.

    Images are decoded and prepared in ``workers`` DataLoader processes; the model
    runs on its own device. Probabilities are ``(B, classes)`` on the CPU, or
    ``None`` for a batch of unreadable files only.
    """
    loader: DataLoader[Any] = DataLoader(
        ImageSamples(sources, model),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=collate_readable,
        pin_memory=model.mean.is_cuda,
    )
    device = model.mean.device
    with torch.no_grad():
        for batch in loader:
            probabilities = None
            if batch.inputs is not None:
                logits = model(batch.inputs.to(device, non_blocking=True))
                probabilities = logits.float().softmax(dim=1).cpu()
            yield batch.indices, probabilities, batch.unreadable


class VideoSmoother:
    """Averages class probabilities over a window of frames within each video.

    Frames arrive in order; a video's frames are held until the next video starts
    (or :meth:`flush`), then each frame gets the mean of the probabilities of the
    ``window`` frames centred on it, fewer at the video's ends.

    Args:
        window: Frames averaged, at least 1 (1: no smoothing).

    Examples:
        >>> smoother = VideoSmoother(3)
        >>> one, two = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
        >>> rows = [(0, "a", one), (1, "a", two), (2, "a", two), (3, "b", one)]
        >>> done = [out for row in rows for out in smoother.add(*row)]
        >>> done += smoother.flush()
        >>> [(index, [round(p, 2) for p in probs.tolist()]) for index, probs in done]
        [(0, [0.5, 0.5]), (1, [0.33, 0.67]), (2, [0.0, 1.0]), (3, [1.0, 0.0])]
    """

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"the smoothing window must be at least 1, got {window}.")
        self.window = window
        self._group: str | None = None
        self._indices: list[int] = []
        self._rows: list[Tensor] = []

    def add(
        self, index: int, group: str | None, probabilities: Tensor
    ) -> list[tuple[int, Tensor]]:
        """Takes one frame; returns the smoothed frames of a finished video."""
        done = self.flush() if group != self._group else []
        self._group = group
        self._indices.append(index)
        self._rows.append(probabilities)
        return done

    def flush(self) -> list[tuple[int, Tensor]]:
        """Returns the smoothed frames of the video held so far."""
        if not self._rows:
            return []
        rows = torch.stack(self._rows)
        half = self.window // 2
        # Each window's own mean (not differences of running sums), so that a
        # window of 1 leaves the probabilities exactly as they were.
        smoothed = [
            rows[max(0, i - half) : i - half + self.window].mean(dim=0)
            for i in range(len(rows))
        ]
        done = list(zip(self._indices, smoothed, strict=True))
        self._indices, self._rows = [], []
        return done
