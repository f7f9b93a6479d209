"""JAFFE and KDEF: the subject and expression are coded in each file name."""

import os
import re
from collections.abc import Callable
from typing import Any

from PIL import Image

from lightly_byel.data.expression_dataset import Entry, ExpressionDataset
from lightly_byel.data.images import count_and_names, image_files_below
from lightly_byel.utils.user_warnings import warn_user

JAFFE_CODES: dict[str, int | str] = {
    "AN": 0,
    "DI": 1,
    "FE": 2,
    "HA": 3,
    "SA": 4,
    "SU": 5,
    "NE": "neutral",
}
"""LSD label, or the reason left out, of each JAFFE expression code."""

KDEF_CODES: dict[str, int | str] = {
    "AN": 0,  # angry
    "DI": 1,  # disgusted
    "AF": 2,  # afraid
    "HA": 3,  # happy
    "SA": 4,  # sad
    "SU": 5,  # surprised
    "NE": "neutral",
}
"""LSD label, or the reason left out, of each KDEF expression code."""

KDEF_ANGLES = ("FL", "HL", "S", "HR", "FR")
"""KDEF's camera angles: full and half left, straight, half and full right."""

# KA.AN1.39.tiff: subject KA, expression AN, its first take, picture 39.
_JAFFE = re.compile(
    r"(?P<subject>[A-Z]{2})\.(?P<code>[A-Z]{2})\d*\.\d+\.tiff?", re.IGNORECASE
)
# AF01ANS.JPG: session A, female 01, afraid, straight.
_KDEF = re.compile(
    r"[AB](?P<subject>[FM]\d\d)(?P<code>[A-Z]{2})(?P<angle>FL|FR|HL|HR|S)\.jpe?g",
    re.IGNORECASE,
)


class FileNameCoded(ExpressionDataset):
    """Images under a folder whose names code the subject and the expression.

    Subclasses give the name pattern (with the groups ``subject`` and ``code``)
    and the codes. Image files whose name does not fit are
    listed in :attr:`unmatched_files`, with one warning, and not used.

    Attributes:
        unmatched_files: The image files whose name does not fit the pattern.
    """

    pattern: re.Pattern[str]
    codes: dict[str, int | str]

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Reads the names of the images in and below ``root``.

        Raises:
            FileNotFoundError: If ``root`` does not exist.
            ValueError: If no face of the six classes is found.
        """
        folder = os.fspath(root)
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"{type(self).__name__} folder {folder!r} does not exist."
            )
        entries, self.unmatched_files = [], []
        for path in image_files_below(folder):
            match = self.pattern.fullmatch(os.path.basename(path))
            if match is None or match["code"].upper() not in self.codes:
                self.unmatched_files.append(path)
            elif self.keeps(match):
                label = self.codes[match["code"].upper()]
                entries.append(Entry(path, label, match["subject"].upper()))
        if self.unmatched_files:
            names = count_and_names(self.unmatched_files, "image files")
            warn_user(
                f"{type(self).__name__}: {names} not named like "
                f"{self.pattern.pattern!r}; left out, listed in .unmatched_files.",
            )
        super().__init__(root, entries, transform, check_headers)

    def keeps(self, match: re.Match[str]) -> bool:
        """Whether a matching file is used (all of them here)."""
        return True


class JAFFE(FileNameCoded):
    r"""JAFFE: ``KA.AN1.39.tiff`` is subject KA, expression AN (anger).

    Codes AN, DI, FE, HA, SA, SU become LSD labels; NE (neutral) is left out and
    counted. The subject's initials are kept in :attr:`subjects`.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for name in ("KA.AN1.39.tiff", "KA.NE2.27.tiff", "KM.SU3.16.TIFF"):
        ...     Image.new("L", (256, 256)).save(os.path.join(tmp.name, name))
        >>> dataset = JAFFE(tmp.name)
        >>> dataset.targets, dataset.subjects, dataset.skipped
        ([0, 5], ['KA', 'KM'], {'neutral': 1})
        >>> tmp.cleanup()
    """

    pattern = _JAFFE
    codes = JAFFE_CODES


class KDEF(FileNameCoded):
    r"""KDEF: ``AF01ANS.JPG`` is session A, female 01, angry, straight.

    Codes AN, DI, AF (afraid), HA, SA, SU become LSD labels; NE (neutral) is left
    out and counted. The subject (``F01``; one person in both sessions) is kept in
    :attr:`subjects`. ``angles`` chooses the camera angles of
    :data:`KDEF_ANGLES`; all by default.

    Attributes:
        angles: The camera angles used.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> os.makedirs(os.path.join(tmp.name, "AF01"))
        >>> for name in ("AF01ANS.JPG", "AF01AFHL.JPG", "AF01NES.JPG"):
        ...     Image.new("RGB", (56, 76)).save(os.path.join(tmp.name, "AF01", name))
        >>> dataset = KDEF(tmp.name, angles=["S"])
        >>> dataset.targets, dataset.subjects, dataset.skipped
        ([0], ['F01'], {'neutral': 1})
        >>> tmp.cleanup()
    """

    pattern = _KDEF
    codes = KDEF_CODES

    def __init__(
        self,
        root: str | os.PathLike[str],
        angles: tuple[str, ...] | list[str] = KDEF_ANGLES,
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Reads the names of the images in and below ``root``.

        Raises:
            FileNotFoundError: If ``root`` does not exist.
            ValueError: If an angle is unknown, or no face is found.
        """
        unknown = sorted(set(angles) - set(KDEF_ANGLES))
        if unknown or not angles:
            raise ValueError(
                f"angles must be among {list(KDEF_ANGLES)}, got {list(angles)}."
            )
        self.angles = tuple(angles)
        super().__init__(root, transform, check_headers)

    def keeps(self, match: re.Match[str]) -> bool:
        """Whether the picture was taken from one of :attr:`angles`."""
        return match["angle"].upper() in self.angles
