"""Files that are either wholly written or not there: results, reports, checkpoints.

A file is written to a temporary file in the same folder, flushed to the disk
(``fsync``) and renamed over its final name; the folder is synced too, so that the
rename survives a power cut. A kill or a full disk at any moment leaves the previous
file, or none, never a torn one; the temporary file is removed when the write fails.
Temporary files are named ``.<name>.<random>.tmp``, so that
:func:`remove_temporary_files` can clear those a killed process left behind.
"""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Writes a file through a synced temporary file in the same folder.

    Readers never see a partly written file: the temporary file replaces ``path``
    only once ``write`` has finished and the data is on the disk, and it is removed
    if anything fails. Missing parent folders are created. An ``OSError`` without a
    file name (a full disk) is raised again with ``path`` as its file name.

    Examples:
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_atomic(folder / "a.bin", lambda file: file.write(b"abc"))
        >>> (folder / "a.bin").read_bytes(), sorted(p.name for p in folder.iterdir())
        (b'abc', ['a.bin'])
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private; results are meant to be read by others.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        if error.filename is not None or error.errno is None:
            raise
        # A full disk raises from write() without a file name: name the file.
        raise OSError(error.errno, error.strerror, str(path)) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    """Writes UTF-8 text to ``path`` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda file: file.write(text.encode("utf-8")))


def remove_temporary_files(folder: Path) -> list[Path]:
    """Removes the temporary files that interrupted writes left in ``folder``.

    Only call it while no other process writes there (under the run's lock).

    Returns:
        The removed files.
    """
    removed = []
    for path in sorted(folder.glob(".*.tmp")):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _sync_folder(folder: Path) -> None:
    # Not every system can open a folder to sync it; the rename is atomic anyway.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
