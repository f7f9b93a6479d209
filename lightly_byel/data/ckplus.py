"""CK+ (extended Cohn-Kanade): the labelled peak frames of its sequences."""

import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from lightly_byel.data.expression_dataset import (
    Entry,
    ExpressionDataset,
    code_of,
    index_lines,
    locate,
)
from lightly_byel.data.images import natural_key

CKPLUS_CODES: dict[int, int | str] = {
    0: "neutral",
    1: 0,  # anger
    2: "contempt",
    3: 1,  # disgust
    4: 2,  # fear
    5: 3,  # happy
    6: 4,  # sadness
    7: 5,  # surprise
}
"""LSD label, or the reason left out, of each CK+ emotion code."""

_SUFFIX = "_emotion.txt"


class CKPlus(ExpressionDataset):
    r"""CK+ peak frames, labelled by ``Emotion/S*/*/..._emotion.txt``.

    Each labelled sequence ``S005/001`` has one file
    ``Emotion/S005/001/S005_001_00000011_emotion.txt`` holding its code (written
    as ``3.0000000e+00``) for its last, peak frame
    ``cohn-kanade-images/S005/001/S005_001_00000011.png``. With
    ``frames_per_sequence=k`` the ``k`` frames ending at the peak are used.
    Codes 1, 3-7 (anger, disgust, fear, happy, sadness, surprise) become LSD
    labels; 0 neutral and 2 contempt are left out and counted. Sequences without
    a label file are not used. The subject (``S005``) is kept in
    :attr:`subjects`.

    Attributes:
        emotion_dir: The ``Emotion`` folder read.
        images: The ``cohn-kanade-images`` folder.

    The rest are those of
    :class:`~lightly_byel.data.expression_dataset.ExpressionDataset`.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for code, sequence in ((5, "001"), (2, "002")):
        ...     labels = os.path.join(tmp.name, "Emotion", "S005", sequence)
        ...     frames = os.path.join(tmp.name, "cohn-kanade-images", "S005", sequence)
        ...     os.makedirs(labels)
        ...     os.makedirs(frames)
        ...     for frame in (1, 2):
        ...         Image.new("L", (64, 48)).save(
        ...             os.path.join(frames, f"S005_{sequence}_{frame:08d}.png"))
        ...     with open(os.path.join(labels,
        ...               f"S005_{sequence}_00000002_emotion.txt"), "w") as file:
        ...         _ = file.write(f"   {code:.7e}\n")
        >>> dataset = CKPlus(tmp.name)
        >>> [os.path.basename(path) for path, _ in dataset.samples], dataset.targets
        (['S005_001_00000002.png'], [3])
        >>> dataset.subjects, dataset.skipped
        (['S005'], {'contempt': 1})
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        frames_per_sequence: int = 1,
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Reads every label file.

        Args:
            root: The folder holding ``Emotion`` and ``cohn-kanade-images``.
            frames_per_sequence: Frames used per sequence, ending at the peak.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out the files that do not start like
                an image.

        Raises:
            FileNotFoundError: If a folder is missing.
            ValueError: If a label file is malformed (the message names it), or no
                face is left.
        """
        if frames_per_sequence < 1:
            raise ValueError(
                f"frames_per_sequence must be at least 1, got {frames_per_sequence}."
            )
        self.emotion_dir = locate(
            root, ["Emotion", "Emotion_labels/Emotion"], "CK+ label folder"
        )
        self.images = locate(
            root,
            ["cohn-kanade-images", "extended-cohn-kanade-images/cohn-kanade-images"],
            "CK+ image folder",
        )
        entries = []
        for subject, sequence, name in _label_files(self.emotion_dir):
            label = _read_code(os.path.join(self.emotion_dir, subject, sequence, name))
            peak = int(name[: -len(_SUFFIX)].rsplit("_", 1)[1])
            for frame in range(max(1, peak - frames_per_sequence + 1), peak + 1):
                file = f"{subject}_{sequence}_{frame:08d}.png"
                path = os.path.join(self.images, subject, sequence, file)
                entries.append(Entry(path, label, subject))
        super().__init__(root, entries, transform, check_headers)


def _read_code(path: str) -> int | str:
    lines = list(index_lines(path))
    if len(lines) != 1 or len(lines[0][1]) != 1:
        raise ValueError(f"{path}: expected one emotion code, got {len(lines)} lines.")
    return code_of(lines[0][1][0], CKPLUS_CODES, path)


def _label_files(folder: str) -> list[tuple[str, str, str]]:
    """``(subject, sequence, file)`` of every label file, in natural order."""
    found: list[tuple[str, str, str]] = []
    for subject in _folders(folder):
        for sequence in _folders(os.path.join(folder, subject)):
            with os.scandir(os.path.join(folder, subject, sequence)) as entries:
                names = [
                    entry.name
                    for entry in entries
                    if entry.name.endswith(_SUFFIX)
                    and not entry.name.startswith(".")
                    and entry.name.count("_") == 3
                    and entry.name.split("_")[2].isdigit()
                ]
            found.extend((subject, sequence, name) for name in names)
    return sorted(found, key=lambda item: natural_key("/".join(item)))


def _folders(folder: str) -> list[str]:
    with os.scandir(folder) as entries:
        return [
            entry.name
            for entry in entries
            if entry.is_dir() and not entry.name.startswith((".", "__MACOSX"))
        ]
