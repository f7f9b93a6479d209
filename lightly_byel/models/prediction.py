"""Applying a saved model to many image files, streaming, batch by batch.

:class:`ImageSamples` decodes and prepares each image in the DataLoader workers and
marks unreadable files instead of failing, :func:`predict_batches` yields the class
probabilities of each batch, and :class:`VideoSmoother` averages them over a window
of frame numbers within a video. Nothing holds more than a batch (or, when
smoothing, one window of frames) of results.
"""

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from PIL import Image
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
        read: Reads image ``i`` as RGB instead of ``load_rgb(paths[i])``: a face
            cut from a photo, a face stored in a table (FER2013). It runs in the
            DataLoader workers, so it must be picklable.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        model: Classifier,
        read: Callable[[int], Image.Image] | None = None,
    ) -> None:
        self.paths = paths
        self.read = read
        self.transform = EvalTransform(
            model.info.input_size, model.info.mean, model.info.std
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor | None, int]:
        try:
            if self.read is None:
                image = load_rgb(self.paths[index])
            else:
                image = self.read(index)
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
    read: Callable[[int], Image.Image] | None = None,
) -> Iterator[tuple[list[int], Tensor | None, list[int]]]:
    """Yields, batch by batch, the indices into ``paths``, probabilities, unreadable.

    Images are decoded (by ``read``, if given; see :class:`ImageSamples`) and
    prepared in ``workers`` DataLoader processes; the model runs on its own
    device. Probabilities are ``(B, classes)`` on the CPU, or ``None`` for a batch
    of unreadable files only.

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
        ImageSamples(paths, model, read),
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
    """Averages class probabilities over a window of frame numbers within each video.

    Frames arrive video by video, each video's frames in increasing frame number.
    Frame ``f`` gets the mean of the probabilities of the frames of its own video
    numbered ``f - window // 2`` to ``f - window // 2 + window - 1`` (``f`` among
    them), as many of them as were given. A missing frame number (a frame without
    a face file, or whose file could not be read) contributes nothing: the mean is
    taken over the frames present in that range only, so near a gap, as at a
    video's ends, fewer frames are averaged; frames ``window`` or more numbers
    apart are never averaged together, and a frame whose range holds no other
    frame keeps its own probabilities. Frames of different videos never mix. A
    window of 1 returns every frame's probabilities unchanged.

    A frame is returned once no later frame can fall into its range (a frame past
    the range's end has arrived) or its video ends (the next video starts, or
    :meth:`flush`), so at most about ``window`` frames are held.

    Args:
        window: Frame numbers averaged, at least 1 (1: no smoothing).

    Raises:
        ValueError: If ``window`` is below 1.

    Examples:
        Frame 3 of video ``a`` is missing, so frame 4 is not averaged with frame 2,
        and frame 5 of video ``b`` not with frame 4 of video ``a``:

        >>> smoother = VideoSmoother(3)
        >>> one, two = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
        >>> rows = [(0, "a", 1, one), (1, "a", 2, one), (2, "a", 4, two)]
        >>> rows.append((3, "b", 5, one))
        >>> done = [out for row in rows for out in smoother.add(*row)]
        >>> done += smoother.flush()
        >>> [(index, probs.tolist()) for index, probs in done]
        [(0, [1.0, 0.0]), (1, [1.0, 0.0]), (2, [0.0, 1.0]), (3, [1.0, 0.0])]
    """

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"the smoothing window must be at least 1, got {window}.")
        self.window = window
        self._before = window // 2  # frame numbers of the range before its frame
        self._group: str | None = None
        self._last: int | None = None  # the current video's latest frame number
        # (frame number, index, probabilities) of the current video, by frame; the
        # first ``_returned`` were returned and stay while a range still reaches.
        self._held: deque[tuple[int, int, Tensor]] = deque()
        self._returned = 0

    def add(
        self, index: int, group: str | None, frame: int, probabilities: Tensor
    ) -> list[tuple[int, Tensor]]:
        """Takes one frame; returns ``(index, smoothed)`` of the frames now complete.

        Args:
            index: The caller's name for the frame, returned with its result.
            group: The video the frame belongs to.
            frame: Its frame number in the video.
            probabilities: Its class probabilities ``(classes,)``.

        Raises:
            ValueError: If ``frame`` does not follow the video's previous frame.
        """
        done = self.flush() if group != self._group else []
        if self._last is not None and frame <= self._last:
            raise ValueError(
                f"frame {frame} of video {group!r} came after frame {self._last}; "
                "a video's frames must come in increasing order of frame number."
            )
        self._group, self._last = group, frame
        self._held.append((frame, index, probabilities))
        return done + self._release(frame)

    def flush(self) -> list[tuple[int, Tensor]]:
        """Returns the frames of the video held so far, smoothed; ends the video."""
        done = self._release(None)
        self._held.clear()
        self._returned = 0
        self._group = self._last = None
        return done

    def _release(self, last: int | None) -> list[tuple[int, Tensor]]:
        """Returns the frames whose range ends by frame ``last`` (all: ``None``)."""
        done = []
        while self._returned < len(self._held):
            frame, index, _ = self._held[self._returned]
            start = frame - self._before
            end = start + self.window - 1
            if last is not None and end > last:
                break
            # Each window's own mean (not differences of running sums), so that a
            # window of 1 leaves the probabilities exactly as they were.
            rows = [row for number, _, row in self._held if start <= number <= end]
            done.append((index, torch.stack(rows).mean(dim=0)))
            self._returned += 1
        if last is not None:
            # The next frame to return, or failing that the next to arrive, starts
            # the earliest range still to come; frames before it are done with.
            following = (
                self._held[self._returned][0]
                if self._returned < len(self._held)
                else last + 1
            )
            while self._returned and self._held[0][0] < following - self._before:
                self._held.popleft()
                self._returned -= 1
        return done
