"""The common ground of expression datasets read in their published layouts."""

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.images import FaceBox, LabeledImageFiles, count_and_names
from lightly_byel.utils.user_warnings import warn_user


class Entry(NamedTuple):
    """One face a dataset's index lists.

    Attributes:
        path: The image file.
        label: The LSD label (0-5), or why the face is left out of six-class
            scoring (``"neutral"``, ``"contempt"``, a format's other codes).
        subject: The person, where the format knows it.
        box: The region of the file that shows the face, ``None`` for all of it.
    """

    path: str
    label: int | str
    subject: str | None = None
    box: FaceBox | None = None


class ExpressionDataset(LabeledImageFiles):
    """Faces labelled with the six LSD classes, from a dataset's own index.

    Each format (:class:`~lightly_byel.data.rafdb.RAFDB`,
    :class:`~lightly_byel.data.affectnet.AffectNet`, ...) reads its layout into
    :class:`Entry` rows; this class keeps the six classes, counts what it leaves
    out by reason in :attr:`skipped` (``"missing_file"`` for listed files that
    are not on disk, named in :attr:`missing_files` and one warning), and keeps
    subjects and face boxes beside the samples. Labels mean the same as those of
    :class:`~lightly_byel.data.lsd.LSDImageFolder`.

    Attributes:
        root: The dataset folder (or file), as given.
        skipped: How many faces were left out, by reason, reasons in sorted order.
        missing_files: The listed files that are not on disk, in index order.

    The rest are those of :class:`~lightly_byel.data.images.LabeledImageFiles`.

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> face = os.path.join(tmp.name, "a.png")
        >>> Image.new("RGB", (8, 8)).save(face)
        >>> entries = [Entry(face, 3, "S1"), Entry(face, "neutral", "S1")]
        >>> dataset = ExpressionDataset(tmp.name, entries)
        >>> dataset.targets, dataset.subjects, dataset.skipped
        ([3], ['S1'], {'neutral': 1})
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        entries: Iterable[Entry],
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
        check_files: bool = True,
    ) -> None:
        """Keeps the entries of the six classes whose file exists.

        Args:
            root: The dataset folder (or file), for messages.
            entries: The dataset's index.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out, with one warning, the files that do
                not start like an image (12 bytes read a file).
            check_files: Whether entries name files that must exist.

        Raises:
            ValueError: If no face of the six classes is left.

        Warns:
            UserWarning: Once, naming the listed files that are not on disk.
        """
        self.root = root
        skipped: dict[str, int] = {}
        kept: list[Entry] = []
        missing: list[str] = []
        for entry in entries:
            reason = entry.label if isinstance(entry.label, str) else None
            if reason is None and check_files and not os.path.isfile(entry.path):
                reason = "missing_file"
                missing.append(entry.path)
            if reason is None:
                kept.append(entry)
            else:
                skipped[reason] = skipped.get(reason, 0) + 1
        self.skipped = dict(sorted(skipped.items()))
        self.missing_files = missing
        if not kept:
            raise ValueError(
                f"{type(self).__name__} {os.fspath(root)!r}: no face of the six "
                f"classes {list(LSD_CLASSES)}; left out {self.skipped or 'none'}."
            )
        if missing:
            warn_user(
                f"{type(self).__name__}: {count_and_names(missing, 'listed files')} "
                f"not on disk; left out, listed in .missing_files.",
            )
        super().__init__(
            [(entry.path, int(entry.label)) for entry in kept],
            LSD_CLASSES,
            transform,
            check_headers,
            boxes=_unless_all_none([entry.box for entry in kept]),
            subjects=_unless_all_none([entry.subject for entry in kept]),
        )

    def _repr_fields(self) -> list[str]:
        return [f"root={os.fspath(self.root)!r}"]


def _unless_all_none(values: Sequence[Any]) -> list[Any] | None:
    return None if all(value is None for value in values) else list(values)


def locate(root: str | os.PathLike[str], candidates: Sequence[str], what: str) -> str:
    """The first of ``candidates`` (paths relative to ``root``) that exists.

    Releases are unpacked into slightly different trees; each format lists the
    places its files are found in.

    Raises:
        FileNotFoundError: If none exists; the message lists every place tried.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     os.mkdir(os.path.join(tmp, "b"))
        ...     os.path.basename(locate(tmp, ["a", "b"], "the folder"))
        'b'
    """
    base = os.fspath(root)
    if not os.path.exists(base):
        raise FileNotFoundError(f"{what}: {base!r} does not exist.")
    for candidate in candidates:
        path = os.path.normpath(os.path.join(base, candidate))
        if os.path.exists(path):
            return path
    tried = ", ".join(repr(candidate) for candidate in candidates)
    raise FileNotFoundError(f"{what} not found in {base!r}; looked for {tried}.")


def index_lines(path: str) -> Iterator[tuple[int, list[str]]]:
    r"""Yields ``(line number, fields)`` of a whitespace-separated index file.

    Blank lines are passed over; a UTF-8 byte-order mark and Windows line endings
    are accepted.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     name = os.path.join(tmp, "list.txt")
        ...     with open(name, "w", encoding="utf-8-sig", newline="\r\n") as file:
        ...         _ = file.write("a.jpg 5\n\n b.jpg  7 \n")
        ...     list(index_lines(name))
        [(1, ['a.jpg', '5']), (3, ['b.jpg', '7'])]
    """
    with open(path, encoding="utf-8-sig") as file:
        for number, line in enumerate(file, start=1):
            fields = line.split()
            if fields:
                yield number, fields


def code_of(text: str, codes: Mapping[int, int | str], where: str) -> int | str:
    """The label (or reason left out) of a numeric code, ``"3"`` or ``"3.0e+00"``.

    Raises:
        ValueError: If ``text`` is no code of ``codes``; the message says ``where``.

    Examples:
        >>> code_of("3.0000000e+00", {3: 1, 7: "neutral"}, "x.txt, line 1")
        1
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer() or int(value) not in codes:
        raise ValueError(f"{where}: expected a code {sorted(codes)}, got {text!r}.")
    return codes[int(value)]
