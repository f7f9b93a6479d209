"""One split of the ABAW "Learning from Synthetic Data" (LSD) release."""

import os
from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.expression_names import LSD_MISSPELLINGS
from lightly_byel.data.images import (
    IGNORED_FOLDERS,
    IMAGE_EXTENSIONS,
    LabeledImageFiles,
    image_files_below,
)

CLASS_ALIASES: dict[str, str] = {
    **{name.casefold(): name for name in LSD_CLASSES},
    # The release misspells anger in some copies.
    **LSD_MISSPELLINGS,
}
"""Class of every accepted folder name, case-folded and stripped."""


class LSDImageFolder(LabeledImageFiles):
    """One split of the LSD release, ``root/<CLASS>/<file>``, like ``ImageFolder``.

    ``root`` is a split folder such as ``training_set_synthetic_images`` or
    ``validation_set_real_images``. Class folders match the six classes of
    :data:`~lightly_byel.data.classes.LSD_CLASSES` in any case and with surrounding
    whitespace, and under the release's misspellings of anger (``ANGRER``,
    ``ANGERE``); see :data:`CLASS_ALIASES`. A split may lack classes, but
    :attr:`classes` always holds all six, so a label means the same class in every
    split. Hidden entries and ``__MACOSX`` are ignored, and so are files at the top
    of ``root``.

    Images are the files with a ``.jpg``, ``.jpeg``, ``.png``, ``.bmp`` or ``.webp``
    extension in any case, in a class folder or in any non-hidden folder below it;
    other files (``Thumbs.db``, ``desktop.ini``, ...) are ignored. Symbolic links to
    files and class folders are followed, links to folders inside a class folder
    are not, so that a link loop cannot trap the scan. A class folder must resolve
    to a folder of its own inside the split: one that resolves to the split, to a
    folder above or outside it, or onto or into another class folder is refused,
    since it would label other images with its class. Samples are sorted by label,
    then by path inside the class folder in natural order (``2.jpg`` before
    ``10.jpg``).

    Indexing lists the folders with ``os.scandir`` and reads the first 12 bytes of
    each file, decoding none, so it takes seconds for the 277,251 training images.
    Files that do not start like an image are left out with one warning; files that
    turn out unreadable later (truncated ones) are replaced at load time, or dropped
    up front by :meth:`verify`; see
    :class:`~lightly_byel.data.images.LabeledImageFiles`.

    Attributes:
        root: The split folder, as given.
        class_folders: Name of the folder found for each class present.

    and those of :class:`~lightly_byel.data.images.LabeledImageFiles`, whose
    ``classes`` are the six LSD class names.

    Examples:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for folder, names in [("ANGRER", ["10.jpg", "2.jpg"]), ("happiness",
        ...                                                        ["0.PNG"])]:
        ...     os.mkdir(os.path.join(tmp.name, folder))
        ...     for name in names:
        ...         Image.new("L", (8, 8)).save(os.path.join(tmp.name, folder, name))
        >>> dataset = LSDImageFolder(tmp.name)
        >>> dataset.class_folders
        {'ANGER': 'ANGRER', 'HAPPINESS': 'happiness'}
        >>> [os.path.basename(path) for path, _ in dataset.samples]
        ['2.jpg', '10.jpg', '0.PNG']
        >>> dataset.targets
        [0, 0, 3]
        >>> image, label = dataset[2]
        >>> image.mode, label, dataset.classes[label]
        ('RGB', 3, 'HAPPINESS')
        >>> dataset
        LSDImageFolder(root='...', samples=3, ANGER=2, DISGUST=0, FEAR=0,
                       HAPPINESS=1, SADNESS=0, SURPRISE=0)
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Indexes the split.

        Args:
            root: The split folder holding the class folders.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out, with one warning, the files that do
                not start like an image (12 bytes read a file).

        Raises:
            FileNotFoundError: If ``root`` does not exist.
            NotADirectoryError: If ``root`` is not a folder.
            ValueError: If a folder matches no class, two folders match the same
                class, a class folder resolves onto, above or outside the split or
                onto or into another class folder, or there is no image at all.
        """
        self.root = root
        self.class_folders = _class_folders(os.fspath(root))
        samples: list[tuple[str, int]] = []
        for name, folder in self.class_folders.items():
            label = LSD_CLASSES.index(name)
            paths = image_files_below(os.path.join(os.fspath(root), folder))
            samples.extend((path, label) for path in paths)
        if not samples:
            raise ValueError(
                f"LSD split {os.fspath(root)!r} holds no image: expected "
                f"{', '.join(sorted(IMAGE_EXTENSIONS))} files in its class folders "
                f"{list(LSD_CLASSES)}."
            )
        super().__init__(samples, LSD_CLASSES, transform, check_headers)

    def _repr_fields(self) -> list[str]:
        return [f"root={os.fspath(self.root)!r}"]


def _class_folders(root: str) -> dict[str, str]:
    """Maps each class to its folder in ``root``, in label order."""
    folders = match_class_folders(
        root,
        CLASS_ALIASES,
        "LSD split",
        f"expected class folders {list(LSD_CLASSES)} (any case, or ANGRER or ANGERE "
        "for ANGER). Pass a split folder such as training_set_synthetic_images, not "
        "the folder above it",
    )
    return {name: folders[name] for name in LSD_CLASSES if name in folders}


def match_class_folders(
    root: str, names: Mapping[str, str], what: str, expected: str
) -> dict[str, str]:
    """Maps each class to the one folder in ``root`` whose name means it.

    Folder names are looked up in ``names`` case-folded and stripped; hidden
    folders and :data:`~lightly_byel.data.images.IGNORED_FOLDERS` are passed over.

    Args:
        root: The folder of class folders.
        names: The class each accepted folder name means, case-folded.
        what: What ``root`` is, for messages (``"LSD split"``).
        expected: What the folders should be called, for messages.

    Raises:
        FileNotFoundError: If ``root`` does not exist.
        NotADirectoryError: If ``root`` is not a folder.
        ValueError: If a folder matches no class, two folders match one class, or
            a class folder resolves onto, above or outside ``root`` or onto or
            into another class folder.
    """
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} folder {root!r} does not exist.") from None
    except NotADirectoryError:
        raise NotADirectoryError(
            f"{what} {root!r} is not a folder; {expected}."
        ) from None
    folders: dict[str, str] = {}
    for entry in sorted(entries, key=lambda entry: entry.name):
        if (
            entry.name.startswith(".")
            or entry.name in IGNORED_FOLDERS
            or not entry.is_dir()
        ):
            continue
        name = names.get(entry.name.strip().casefold())
        if name is None:
            raise ValueError(
                f"folder {entry.name!r} in {what} {root!r} matches no class: "
                f"{expected}."
            )
        if name in folders:
            raise ValueError(
                f"folders {folders[name]!r} and {entry.name!r} in {what} {root!r} "
                f"both match class {name}; keep one of them."
            )
        folders[name] = entry.name
    _check_class_folders_stay_apart(root, list(folders.values()), what)
    return folders


def _check_class_folders_stay_apart(root: str, names: list[str], what: str) -> None:
    """Refuses class folders that resolve onto, above or outside the split.

    A linked class folder that resolves to the split, to a folder above it or to
    another class folder would label other classes' images with its class; one
    that resolves outside the split may bring in images of another split.
    """
    split = os.path.realpath(root)
    resolved = {name: os.path.realpath(os.path.join(root, name)) for name in names}
    for name, real in resolved.items():
        problem = None
        if real == split:
            problem = "the split folder itself"
        elif _is_inside(split, real):
            problem = "a folder above the split"
        elif not _is_inside(real, split):
            problem = f"a folder outside the split {split!r}"
        else:
            # Of a real folder and a link onto it, the link is the one refused.
            linked = os.path.islink(os.path.join(root, name))
            for other, other_real in resolved.items():
                if other == name:
                    continue
                if real == other_real and linked:
                    problem = f"the folder of class folder {other!r}"
                elif _is_inside(real, other_real):
                    problem = f"a folder inside class folder {other!r}"
                if problem is not None:
                    break
        if problem is not None:
            raise ValueError(
                f"class folder {name!r} in {what} {root!r} resolves to {real!r}, "
                f"{problem}; each class folder must be a folder of its own inside "
                "the split."
            )


def _is_inside(path: str, folder: str) -> bool:
    """Tells whether ``path`` lies strictly inside ``folder`` (both resolved)."""
    try:
        return path != folder and os.path.commonpath([path, folder]) == folder
    except ValueError:  # on Windows, paths on different drives
        return False
