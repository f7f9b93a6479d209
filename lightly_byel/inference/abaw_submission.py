"""ABAW EXPR submission files: one ``<video>.txt`` per video, a value per frame.

A file is laid out like the challenge's annotation files (see
:func:`~lightly_byel.data.affwild2.read_expr_annotation`): the header
``Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other``, then one integer a
line, the expression of frame 1, 2, ... up to the video's last frame, as an index
into that header. A model of the six LSD classes (anger ... surprise, labels 0-5)
therefore writes 1-6 (:func:`expr_values`). Frames without a prediction hold
:data:`NO_FACE`.

A video has as many lines as its annotation file (``--annotations``: the release's
files, or the test set's template files, give every video's length), else as its
highest frame number on disk. :class:`SubmissionWriter` takes predictions frame by
frame in the order of ``lightly-byel predict``'s images, holds one video's, and
writes each video's file atomically once its frames are done.
"""

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from lightly_byel.data.affwild2 import (
    EXPR_HEADER,
    annotation_files,
    frame_files,
    read_expr_annotation,
)
from lightly_byel.inference.image_sources import ImageSource
from lightly_byel.utils.atomic_files import write_text_atomic

NO_FACE = -1
"""The value of a frame without a prediction: no frame file (no face was found in
it), an unreadable one, or one that was not predicted.

No statement of the ABAW challenge on what a per-video submission holds for such
frames was found; -1 is what the annotation files hold for frames without an
annotation, which the challenge's evaluation leaves out.
"""

FILL_REASONS = ("no frame file", "unreadable", "not predicted")
"""Why a line holds :data:`NO_FACE`: no frame file of that number on disk; a file
that could not be read; a file that was not among the images predicted (with
``--format affwild2-expr``, the frames annotated neutral, other or -1)."""


def expr_values(classes: Sequence[str]) -> list[int]:
    """The submission value of each class index: the class's place in the header.

    Raises:
        ValueError: Naming the classes that are not ABAW EXPR expressions.

    Examples:
        >>> from lightly_byel.data import LSD_CLASSES
        >>> expr_values(LSD_CLASSES)
        [1, 2, 3, 4, 5, 6]
        >>> expr_values(["happy"])
        Traceback (most recent call last):
        ...
        ValueError: the model's classes ['happy'] are not ABAW EXPR expressions
        ('Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise',
        'Other'); a submission cannot be written for it.
    """
    header = [name.casefold() for name in EXPR_HEADER]
    unknown = [name for name in classes if name.casefold() not in header]
    if unknown:
        raise ValueError(
            f"the model's classes {unknown} are not ABAW EXPR expressions "
            f"{EXPR_HEADER}; a submission cannot be written for it."
        )
    return [header.index(name.casefold()) for name in classes]


def expr_lengths(annotations: Path) -> dict[str, int]:
    """The number of frames of each video: the value lines of its ``<video>.txt``.

    Raises:
        FileNotFoundError: If the folder does not exist.
        ValueError: If it holds no ``<video>.txt``, or one is malformed (named).
    """
    return {
        video: len(read_expr_annotation(path))
        for video, path in annotation_files(os.fspath(annotations))
    }


@dataclass
class SubmissionCounts:
    """What the files of a submission hold.

    Attributes:
        videos: Files written.
        frames: Frame lines written, over all files.
        predicted: Lines that hold a prediction.
        filled: Lines that hold :data:`NO_FACE`, by reason (:data:`FILL_REASONS`).
        outside: Predictions of frames numbered 0 or beyond the video's length from
            the annotation file, not written.
        videos_without_frames: Videos of the annotation folder without any frame
            file to predict, written with :data:`NO_FACE` on every line.
        other_files: ``.txt`` files in the folder that this submission did not
            write (left from another run?), by name.
    """

    videos: int = 0
    frames: int = 0
    predicted: int = 0
    filled: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(FILL_REASONS, 0)
    )
    outside: int = 0
    videos_without_frames: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The counts as plain data, for JSON."""
        return dataclasses.asdict(self)


class SubmissionWriter:
    """Writes the ABAW EXPR file of each video as its predictions come in.

    ``sources`` are the images being predicted, every one a numbered frame of a
    video, each video's frames together. Predictions come through :meth:`add` in
    the order of ``sources`` (frames that could not be read are left out); a
    video's file is written when a prediction of a later video arrives, or at
    :meth:`finish`. Each line holds the value of the frame's predicted class
    (:func:`expr_values`), or :data:`NO_FACE` where there is no prediction.

    Args:
        folder: Where the ``<video>.txt`` files go (made if missing).
        sources: The frames being predicted.
        classes: The model's class names, in label order.
        lengths: The number of frames of each video (:func:`expr_lengths`), or
            ``None``: each video then ends at its highest frame number on disk.
            A video listed here without any source gets a file of
            :data:`NO_FACE` only.

    Raises:
        ValueError: If a source is not a numbered frame of a video, a video's
            frames are not together, or a class is not an ABAW EXPR expression.

    Examples:
        >>> import tempfile
        >>> from lightly_byel.data import LSD_CLASSES
        >>> frames = Path(tempfile.mkdtemp()) / "v1"
        >>> frames.mkdir()
        >>> paths = [frames / f"{number:05d}.jpg" for number in (1, 2, 4)]
        >>> for path in paths:
        ...     path.touch()
        >>> sources = [
        ...     ImageSource(str(path), path.name, group="v1", frame=int(path.stem))
        ...     for path in paths
        ... ]
        >>> out = frames.parent / "submission"
        >>> writer = SubmissionWriter(out, sources, LSD_CLASSES)
        >>> writer.add(0, 3)  # frame 1: HAPPINESS; frame 2 was unreadable
        >>> writer.add(2, 0)  # frame 4: ANGER
        >>> counts = writer.finish()
        >>> print((out / "v1.txt").read_text(), end="")
        Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other
        4
        -1
        -1
        1
        >>> counts.predicted, counts.filled
        (2, {'no frame file': 1, 'unreadable': 1, 'not predicted': 0})
    """

    def __init__(
        self,
        folder: Path,
        sources: Sequence[ImageSource],
        classes: Sequence[str],
        lengths: Mapping[str, int] | None = None,
    ) -> None:
        self.folder = folder
        self.sources = sources
        self.values = expr_values(classes)
        self.lengths = lengths
        self.counts = SubmissionCounts()
        self._videos = _video_ranges(sources)
        self._next = 0  # the video whose predictions are being gathered
        self._predicted: dict[int, int] = {}  # its frames' predicted classes
        self._written: set[str] = set()

    def add(self, index: int, expression: int) -> None:
        """Takes the predicted class of ``sources[index]``."""
        while self._videos[self._next][2] <= index:
            self._write_next()
        self._predicted[_frame(self.sources[index])] = expression

    def finish(self) -> SubmissionCounts:
        """Writes the remaining files; returns what the submission holds.

        Those are the files of the videos still open, and of the videos of
        ``lengths`` without sources.
        """
        while self._next < len(self._videos):
            self._write_next()
        for video, length in (self.lengths or {}).items():
            if video not in self._written:
                self.counts.videos_without_frames.append(video)
                self.counts.filled["no frame file"] += length
                self._write(video, [NO_FACE] * length)
        if self.folder.is_dir():
            self.counts.other_files = sorted(
                path.name
                for path in self.folder.glob("*.txt")
                if path.name[: -len(".txt")] not in self._written
            )
        return self.counts

    def _write_next(self) -> None:
        """Writes the file of the video being gathered; moves on to the next."""
        video, start, stop = self._videos[self._next]
        self._next += 1
        predicted, self._predicted = self._predicted, {}
        inputs = {_frame(self.sources[i]) for i in range(start, stop)}
        on_disk = set(frame_files(os.path.dirname(self.sources[start].path)))
        length = None if self.lengths is None else self.lengths.get(video)
        if length is None:
            length = max(on_disk | inputs)
        lines = []
        for frame in range(1, length + 1):
            expression = predicted.get(frame)
            if expression is not None:
                lines.append(self.values[expression])
                self.counts.predicted += 1
                continue
            if frame in inputs:  # given to the model, so it could not be read
                self.counts.filled["unreadable"] += 1
            elif frame in on_disk:
                self.counts.filled["not predicted"] += 1
            else:
                self.counts.filled["no frame file"] += 1
            lines.append(NO_FACE)
        self.counts.outside += sum(not 1 <= frame <= length for frame in predicted)
        self._write(video, lines)

    def _write(self, video: str, lines: Sequence[int]) -> None:
        text = ",".join(EXPR_HEADER) + "\n" + "".join(f"{v}\n" for v in lines)
        write_text_atomic(self.folder / f"{video}.txt", text)
        self._written.add(video)
        self.counts.videos += 1
        self.counts.frames += len(lines)


def _video_ranges(sources: Sequence[ImageSource]) -> list[tuple[str, int, int]]:
    """``(video, start, stop)`` of each run of sources of one video, in order.

    Raises:
        ValueError: If a source has no video or frame number, or a video's
            sources are not together.
    """
    ranges: list[tuple[str, int, int]] = []
    for index, source in enumerate(sources):
        if source.group is None or source.frame is None:
            raise ValueError(
                f"{source.name!r} is not a numbered frame of a video; a submission "
                "needs --format video or affwild2-expr."
            )
        if ranges and ranges[-1][0] == source.group:
            video, start, _ = ranges[-1]
            ranges[-1] = (video, start, index + 1)
        elif source.group in {video for video, _, _ in ranges}:
            raise ValueError(
                f"the frames of video {source.group!r} are not together: "
                f"{source.name!r} follows another video's."
            )
        else:
            ranges.append((source.group, index, index + 1))
    return ranges


def _frame(source: ImageSource) -> int:
    """The frame number of a source that :func:`_video_ranges` accepted."""
    return cast(int, source.frame)
