"""Aff-Wild2 frames with the expression annotations of the ABAW EXPR track."""

import codecs
import os
import re
from collections.abc import Callable
from typing import Any

from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.images import (
    LabeledImageFiles,
    count_and_names,
    is_image_name,
    natural_key,
)
from lightly_byel.utils.user_warnings import warn_user

EXPR_HEADER: tuple[str, ...] = (
    "Neutral",
    "Anger",
    "Disgust",
    "Fear",
    "Happiness",
    "Sadness",
    "Surprise",
    "Other",
)
"""First line of every annotation file; the values index it, -1 is unannotated."""

SKIP_REASONS: dict[int, str] = {0: "neutral", 7: "other", -1: "unannotated"}
"""Why an annotation value has no LSD class; 1..6 are LSD labels 0..5."""

_VALUE = re.compile(r"\s*(-1|[0-7])\s*")

# Longest first: the UTF-32 little-endian mark starts with the UTF-16 one.
_BYTE_ORDER_MARKS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_EXPECTED_ENCODINGS = (
    "UTF-8 (with or without a byte-order mark), or UTF-16 or UTF-32 with a "
    "byte-order mark"
)


def read_expr_annotation(path: str | os.PathLike[str]) -> list[int]:
    r"""Reads one EXPR annotation file: the value of frame 1, 2, ... in order.

    The file holds the header line ``Neutral,Anger,...,Other``, then one value a
    line, -1 to 7. The header is compared without regard to case and spaces around
    the commas; Windows or old Mac line endings and trailing blank lines are
    accepted. The file is UTF-8, with or without a byte-order mark, or UTF-16 or
    UTF-32 with one (as Windows tools save "Unicode" text).

    Args:
        path: The ``<video>.txt`` file.

    Returns:
        The value of every frame; index ``i`` belongs to frame ``i + 1``.

    Raises:
        ValueError: If the file is not text in one of those encodings, the header
            is wrong, or a line is not a value from -1 to 7; the message names the
            file (and the line number).

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "video1.txt")
        >>> text = "\ufeff" + ",".join(EXPR_HEADER) + "\n4\n-1\n0\n\n"
        >>> with open(path, "w", encoding="utf-8", newline="\r\n") as file:
        ...     _ = file.write(text)
        >>> read_expr_annotation(path)
        [4, -1, 0]
        >>> tmp.cleanup()
    """
    name = os.fspath(path)
    with open(name, "rb") as file:
        lines = _decode(file.read(), name).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    header = [part.strip().casefold() for part in lines[0].split(",")] if lines else []
    if header != [part.casefold() for part in EXPR_HEADER]:
        found = repr(lines[0]) if lines else "an empty file"
        raise ValueError(
            f"{name}, line 1: expected the header {','.join(EXPR_HEADER)!r}, got "
            f"{found}."
        )
    values: list[int] = []
    for number, line in enumerate(lines[1:], start=2):
        match = _VALUE.fullmatch(line)
        if match is None:
            raise ValueError(
                f"{name}, line {number}: expected an integer from -1 to 7, got "
                f"{line!r}."
            )
        values.append(int(match.group(1)))
    return values


def _decode(data: bytes, name: str) -> str:
    """Decodes an annotation file by its byte-order mark, UTF-8 without one."""
    encoding, start = "utf-8", 0
    for mark, marked in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            encoding, start = marked, len(mark)
            break
    else:
        if b"\0" in data:
            # UTF-8 allows NUL, but no annotation holds one: most likely UTF-16 or
            # UTF-32 saved without a mark, which would otherwise read as garbage.
            raise ValueError(
                f"{name}: holds NUL bytes, like UTF-16 or UTF-32 text without a "
                f"byte-order mark; expected {_EXPECTED_ENCODINGS}."
            )
    try:
        return data[start:].decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name}: cannot be read as {encoding.upper()} ({error.reason} at byte "
            f"{start + error.start}); expected {_EXPECTED_ENCODINGS}."
        ) from None


class AffWild2Expr(LabeledImageFiles):
    r"""Aff-Wild2 frames labelled with the six LSD classes from ABAW EXPR annotations.

    Frames lie in ``<frames_root>/<video>/<number>.jpg``, numbered from 1 (the
    release writes five digits, ``00001.jpg``; any number of digits and any image
    extension of :class:`~lightly_byel.data.lsd.LSDImageFolder` are read). If
    ``frames_root`` holds a ``cropped_aligned`` folder, that folder is used, so the
    folder above it may be passed too. Each ``<annotations_dir>/<video>.txt`` (see
    :func:`read_expr_annotation`) labels the frames of one video.

    Values 1 to 6 (anger to surprise) become LSD labels 0 to 5, so the labels mean
    the same as those of :class:`~lightly_byel.data.lsd.LSDImageFolder`. Frames
    annotated neutral (0), other (7) or not annotated (-1) are skipped, as are
    labelled frames without a file (no face was found in them); :attr:`skipped`
    counts each reason. Frames on disk without an annotation line are ignored.
    Annotated videos without a frames folder are listed in
    :attr:`missing_videos`, with one warning, and their frames are not counted.

    Samples are sorted by video in natural order, then by frame number. Frames are
    found with one ``os.scandir`` per video and no image is decoded; files that are
    not images or unreadable are handled as in
    :class:`~lightly_byel.data.images.LabeledImageFiles`.

    Attributes:
        frames_root: The folder of video folders in use, ``cropped_aligned`` if
            there is one.
        annotations_dir: The folder of annotation files, as given.
        videos: The annotated videos whose frames folder exists, in sample order.
        missing_videos: The annotated videos without a frames folder.
        skipped: How many frames were skipped for each reason, ``"neutral"``,
            ``"other"``, ``"unannotated"`` and ``"missing_frame"``.

    The rest, ``classes`` (the LSD class names) among them, are those of
    :class:`~lightly_byel.data.images.LabeledImageFiles`.

    Examples:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> tmp = tempfile.TemporaryDirectory()
        >>> frames = os.path.join(tmp.name, "cropped_aligned", "video1")
        >>> os.makedirs(frames)
        >>> for number in (1, 2, 3):
        ...     Image.new("RGB", (8, 8)).save(os.path.join(frames, f"{number:05d}.jpg"))
        >>> annotations = os.path.join(tmp.name, "Train_Set")
        >>> os.mkdir(annotations)
        >>> with open(os.path.join(annotations, "video1.txt"), "w") as file:
        ...     _ = file.write(",".join(EXPR_HEADER) + "\n5\n0\n2\n7\n3\n")
        >>> dataset = AffWild2Expr(tmp.name, annotations)
        >>> [os.path.basename(path) for path, _ in dataset.samples], dataset.targets
        (['00001.jpg', '00003.jpg'], [4, 1])
        >>> dataset.skipped
        {'neutral': 1, 'other': 1, 'unannotated': 0, 'missing_frame': 1}
        >>> image, label = dataset[0]
        >>> image.mode, dataset.classes[label]
        ('RGB', 'SADNESS')
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        frames_root: str | os.PathLike[str],
        annotations_dir: str | os.PathLike[str],
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Indexes the annotated frames.

        Args:
            frames_root: The folder of video folders, or the folder holding it as
                ``cropped_aligned``.
            annotations_dir: The folder of ``<video>.txt`` annotation files, e.g.
                the release's ``Train_Set`` or ``Validation_Set``.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out, with one warning, the files that do
                not start like an image (12 bytes read a file).

        Raises:
            FileNotFoundError: If a folder does not exist.
            NotADirectoryError: If a folder is a file.
            ValueError: If there is no annotation file, an annotation file is
                malformed (see :func:`read_expr_annotation`), or no frame is left.

        Warns:
            UserWarning: Once, naming the annotated videos without frames folder.
        """
        frames = os.fspath(frames_root)
        _check_folder(frames, "Aff-Wild2 frames folder")
        nested = os.path.join(frames, "cropped_aligned")
        self.frames_root = nested if os.path.isdir(nested) else frames
        self.annotations_dir = annotations_dir
        annotations = {
            video: read_expr_annotation(path)
            for video, path in annotation_files(os.fspath(annotations_dir))
        }

        self.skipped = dict.fromkeys(
            ("neutral", "other", "unannotated", "missing_frame"), 0
        )
        self.videos: list[str] = []
        self.missing_videos: list[str] = []
        samples: list[tuple[str, int]] = []
        for video, values in annotations.items():
            folder = os.path.join(self.frames_root, video)
            try:
                on_disk = frame_files(folder)
            except (FileNotFoundError, NotADirectoryError):
                self.missing_videos.append(video)
                continue
            self.videos.append(video)
            for number, value in enumerate(values, start=1):
                if value in SKIP_REASONS:
                    self.skipped[SKIP_REASONS[value]] += 1
                elif number not in on_disk:
                    self.skipped["missing_frame"] += 1
                else:
                    path = os.path.join(folder, on_disk[number])
                    samples.append((path, value - 1))

        if not samples:
            raise ValueError(
                f"no frame of the six classes {list(LSD_CLASSES)} was found: "
                f"{len(self.missing_videos)} of the {len(annotations)} videos "
                f"annotated in {os.fspath(annotations_dir)!r} have no folder in "
                f"{self.frames_root!r}, and the others skipped {self.skipped}."
            )
        if self.missing_videos:
            missing = count_and_names(self.missing_videos, "annotated videos")
            warn_user(
                f"{type(self).__name__}: no frames folder in {self.frames_root!r} "
                f"for {missing}; left out.",
            )
        super().__init__(samples, LSD_CLASSES, transform, check_headers)

    def _repr_fields(self) -> list[str]:
        return [f"frames_root={self.frames_root!r}", f"videos={len(self.videos)}"]


def _check_folder(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} {path!r} does not exist.")
    if not os.path.isdir(path):
        raise NotADirectoryError(f"{what} {path!r} is not a folder.")


def annotation_files(folder: str) -> list[tuple[str, str]]:
    """Lists ``(video, path)`` of the annotation files in natural order of video.

    Raises:
        FileNotFoundError: If ``folder`` does not exist.
        NotADirectoryError: If it is a file.
        ValueError: If it holds no ``<video>.txt`` file.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     for name in ("video10.txt", "video2.txt", "notes.md"):
        ...         open(os.path.join(tmp, name), "w").close()
        ...     [video for video, _ in annotation_files(tmp)]
        ['video2', 'video10']
    """
    _check_folder(folder, "Aff-Wild2 annotations folder")
    with os.scandir(folder) as entries:
        files = [
            (entry.name[: -len(".txt")], entry.path)
            for entry in entries
            if not entry.name.startswith(".")
            and entry.name.lower().endswith(".txt")
            and entry.is_file()
        ]
    if not files:
        raise ValueError(
            f"Aff-Wild2 annotations folder {folder!r} holds no <video>.txt file; "
            "pass the folder of one set, e.g. Train_Set or Validation_Set."
        )
    return sorted(files, key=lambda item: natural_key(item[0]))


def frame_files(folder: str) -> dict[int, str]:
    """Maps each frame number in ``folder`` to its file name.

    Files named by a number with an image extension are frames; of two files of
    one frame (``00001.jpg``, ``1.png``) the first name in sorted order is kept.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     for name in ("00002.jpg", "00001.jpg", "1.png", "cover.jpg"):
        ...         open(os.path.join(tmp, name), "w").close()
        ...     sorted(frame_files(tmp).items())
        [(1, '00001.jpg'), (2, '00002.jpg')]
    """
    frames: dict[int, str] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            stem = os.path.splitext(entry.name)[0]
            if (
                stem.isascii()
                and stem.isdigit()
                and is_image_name(entry.name)
                and entry.is_file()
            ):
                number = int(stem)
                # Of two files of one frame (00001.jpg, 1.png) keep the same one
                # whatever order the file system lists them in.
                if number not in frames or entry.name < frames[number]:
                    frames[number] = entry.name
    return frames
