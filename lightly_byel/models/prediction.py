"""Applying a saved model to many image files, streaming, batch by batch.

:class:`ImageSamples` decodes and prepares each image in the DataLoader workers and
marks unreadable files instead of failing, :func:`predict_batches` yields the class
probabilities of each batch, and :class:`VideoSmoother` averages them over
neighbouring frames of a video. Nothing holds more than a batch (or, when
smoothing, one video) of results.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from lightly_byel.data.images import load_rgb
from lightly_byel.models.emotion_model import ModelInfo
from lightly_byel.transforms.eval_transform import EvalTransform


class Classifier(Protocol):
    """What prediction needs of a model, saved or exported to ONNX.

    :class:`~lightly_byel.models.emotion_model.EmotionModel` and
    :class:`~lightly_byel.models.onnx_model.OnnxEmotionModel` are two.

    Attributes:
        info: Its description (input size, normalisation, classes).
        mean: Its normalisation mean, on the device it runs on.
    """

    info: ModelInfo
    mean: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        """Logits ``(B, classes)`` of network input ``(B, 3, S, S)``."""
        ...


class ImageSamples(Dataset[tuple[Tensor | None, int]]):
    """Network input of each image file, or ``None`` where it cannot be read.

    Args:
        paths: The image files.
        model: The model whose preprocessing is applied.
    """

    def __init__(self, paths: Sequence[str | Path], model: Classifier) -> None:
        self.paths = paths
        self.transform = EvalTransform(
            model.info.input_size, model.info.mean, model.info.std
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor | None, int]:
        try:
            image = load_rgb(self.paths[index])
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
    paths: Sequence[str | Path],
    batch_size: int = 64,
    workers: int = 0,
) -> Iterator[tuple[list[int], Tensor | None, list[int]]]:
    """Yields, batch by batch, the indices into ``paths``, probabilities, unreadable.

    Images are decoded and prepared in ``workers`` DataLoader processes; the model
    runs on its own device. Probabilities are ``(B, classes)`` on the CPU, or
    ``None`` for a batch of unreadable files only.

    Examples:
        >>> import tempfile
        >>> from PIL import Image
        >>> from torch import nn
        >>> from lightly_byel.models.emotion_model import EmotionModel
        >>> encoder = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        >>> info = ModelInfo(backbone="", num_ftrs=3, input_size=16)
        >>> model = EmotionModel(encoder, nn.Linear(3, 6), info)
        >>> folder = Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 20)).save(folder / "face.png")
        >>> (folder / "broken.png").write_bytes(b"not an image")
        12
        >>> paths = [folder / "face.png", folder / "broken.png"]
        >>> for indices, probabilities, unreadable in predict_batches(model, paths):
        ...     print(indices, tuple(probabilities.shape), unreadable)
        [0] (1, 6) [1]
    """
    loader: DataLoader[Any] = DataLoader(
        ImageSamples(paths, model),
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
