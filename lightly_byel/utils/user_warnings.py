"""Warnings that point at the user's code, not at the library or torch's loaders.

A dataset warns from ``__getitem__`` (an unreadable image was replaced) or from a
constructor several calls deep; a fixed ``stacklevel`` then shows the file and line
of torch's ``DataLoader`` fetcher or of a class inside this package, which tells the
user nothing. :func:`warn_user` shows the first caller outside this package, torch
and Lightning instead; the message itself names the data file or setting. (Python
3.12's ``skip_file_prefixes`` does the same; this library supports 3.10.)
"""

import os
import sys
import sysconfig
import warnings
from pathlib import Path

_PACKAGES = ("lightly_byel", "torch", "pytorch_lightning", "lightning")
"""Packages whose frames are passed over, with the standard library's (a worker
process starts in ``multiprocessing``)."""


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """Warns with the location of the first caller outside the library and torch.

    Where no such caller exists (a ``DataLoader`` worker process runs only torch's
    and the library's code), the location is the direct caller of the function
    that warns.

    Args:
        message: What happened, naming the file or setting concerned.
        category: The warning's class.

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_user("1 file left out")
        >>> caught[0].filename.startswith("<doctest")  # this example's code
        True
    """
    internal = _internal_folders()
    frame = sys._getframe(1)  # the function that warns: stacklevel 2
    level = 2
    while frame.f_back is not None and _is_internal(frame.f_code.co_filename, internal):
        frame = frame.f_back
        level += 1
    if _is_internal(frame.f_code.co_filename, internal):
        level = 3  # nothing of the user's: the caller of the one that warns
    warnings.warn(message, category, stacklevel=level)


_Folders = tuple[tuple[str, ...], str, tuple[str, ...]]
"""The loaded packages' folders, the standard library's, and the folders of
installed packages (which may lie below the standard library's)."""


def _is_internal(filename: str, folders: _Folders | None = None) -> bool:
    """Whether code in ``filename`` is the library's, torch's or Python's own.

    Args:
        filename: A frame's file.
        folders: :func:`_internal_folders`, found once for a whole stack.
    """
    packages, stdlib, installed = folders or _internal_folders()
    if filename.startswith(("<frozen", *packages)):
        return True
    # Outside a virtual environment, installed packages lie below the standard
    # library's folder; the user's packages may be among them.
    return filename.startswith(stdlib) and not filename.startswith(installed)


def _internal_folders() -> _Folders:
    """The folders :func:`_is_internal` compares with, each ending in a separator."""
    packages = []
    for name in _PACKAGES:
        module = sys.modules.get(name)
        if module is not None and module.__file__ is not None:
            packages.append(os.path.join(str(Path(module.__file__).parent), ""))
    paths = sysconfig.get_paths()
    installed = tuple(os.path.join(paths[key], "") for key in ("purelib", "platlib"))
    return tuple(packages), os.path.join(paths["stdlib"], ""), installed
