"""A folder per expression, named in plain English: ``angry/``, ``Happy/``, ..."""

import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from lightly_byel.data.expression_dataset import Entry, ExpressionDataset
from lightly_byel.data.expression_names import EXPRESSION_NAMES, expression_label
from lightly_byel.data.images import image_files_below
from lightly_byel.data.lsd import match_class_folders


class ExpressionFolders(ExpressionDataset):
    """Images sorted into a folder per expression, the usual names in any case.

    Folder names are the six LSD classes or their usual synonyms (``angry``,
    ``disgusted``, ``fearful``, ``afraid``, ``happy``, ``sad``, ``surprised``, see
    :data:`~lightly_byel.data.expression_names.EXPRESSION_NAMES`), in any case;
    ``neutral`` and ``contempt`` folders are read and their images counted in
    :attr:`skipped`. Images below a class folder, hidden entries, links and
    folders that must resolve inside ``root`` are handled as in
    :class:`~lightly_byel.data.lsd.LSDImageFolder`.

    Attributes:
        class_folders: The folder found for each expression, in sorted order.

    The rest are those of
    :class:`~lightly_byel.data.expression_dataset.ExpressionDataset`.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for folder in ("Happy", "surprised", "neutral"):
        ...     os.mkdir(os.path.join(tmp.name, folder))
        ...     Image.new("RGB", (8, 8)).save(os.path.join(tmp.name, folder, "0.png"))
        >>> dataset = ExpressionFolders(tmp.name)
        >>> dataset.targets, dataset.skipped
        ([3, 5], {'neutral': 1})
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Indexes the class folders.

        Raises:
            FileNotFoundError: If ``root`` does not exist.
            NotADirectoryError: If ``root`` is not a folder.
            ValueError: If a folder names no expression, two folders name the same
                one, a folder resolves outside ``root``, or no face is found.
        """
        folder = os.fspath(root)
        names = ", ".join(sorted(EXPRESSION_NAMES))
        found = match_class_folders(
            folder,
            EXPRESSION_NAMES,
            "expression folder",
            f"expected a folder per expression named one of {names} (any case)",
        )
        self.class_folders = dict(sorted(found.items()))
        entries = []
        for name in sorted(found, key=_label_order):
            label = expression_label(name)
            assert label is not None  # every canonical name is an expression
            for path in image_files_below(os.path.join(folder, found[name])):
                entries.append(Entry(path, label))
        super().__init__(root, entries, transform, check_headers)


def _label_order(name: str) -> tuple[int, str]:
    """LSD classes in label order, then the expressions left out."""
    label = expression_label(name)
    return (label, "") if isinstance(label, int) else (6, name)
