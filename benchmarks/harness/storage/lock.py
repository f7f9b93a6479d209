"""The harness's one file lock, and its two uses.

:func:`locked` holds an exclusive ``flock`` on a file. The operating system releases
it when the process ends, however it ends, so a killed process never leaves a lock
behind. It serves:

- :func:`exclusive_lock`: processes that build the same files take turns (the
  generated faces, the uint8 caches; DDP ranks wait for the first).
- :func:`run_lock`: one writer per results folder, held for the life of a run.
  ``<output>/.lock`` also records who holds it (process id, host, start time); a
  second process that finds it held stops at once with :class:`RunLockedError`,
  naming the holder, and the record of a killed run is reported as taken over.

Without POSIX ``flock`` (Windows) the blocks run unlocked.
"""

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

LOCK_FILE = ".lock"


class RunLockedError(RuntimeError):
    """Another process is writing to the results folder."""


@contextlib.contextmanager
def locked(handle: IO[Any], wait: bool = True) -> Iterator[None]:
    """Holds an exclusive lock on an open file for the duration of a ``with`` block.

    Args:
        handle: The open lock file.
        wait: Whether to wait for another holder; else raise at once.

    Raises:
        BlockingIOError: Without ``wait``, if another process holds the lock.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: the callers' blocks are not serialised
        yield
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Waits for and holds the lock of ``path`` for the duration of a ``with`` block.

    The file is created if missing and left in place.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with exclusive_lock(f"{folder}/build.lock"):
        ...     print("only one process at a time")
        only one process at a time
    """
    with open(path, "a+b") as handle, locked(handle):
        yield


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Holds the folder's lock for the duration of a ``with`` block.

    Raises:
        RunLockedError: If another process holds it.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> with run_lock(folder):
        ...     with run_lock(folder):
        ...         pass
        Traceback (most recent call last):
        ...
        harness.storage.lock.RunLockedError: ...
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as handle, contextlib.ExitStack() as held:
        try:
            held.enter_context(locked(handle, wait=False))
        except BlockingIOError:
            raise RunLockedError(
                f"results folder {str(folder)!r} is in use by another run "
                f"({_describe(_read(handle))}); wait for it to finish or choose "
                "another --output."
            ) from None
        earlier = _read(handle)
        if earlier:
            print(
                f"Taking over the lock of {folder} left by an ended run "
                f"({_describe(earlier)})."
            )
        _write(handle)
        try:
            yield
        finally:
            # Cleared before the lock is released (the stack unwinds after this).
            handle.seek(0)
            handle.truncate()
            handle.flush()


def _read(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    try:
        record = json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        return {"pid": "unknown"}
    return record if isinstance(record, dict) else {"pid": "unknown"}


def _write(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    handle.write(json.dumps(record))
    handle.flush()


def _describe(record: dict[str, Any]) -> str:
    return (
        f"process {record.get('pid', 'unknown')} on {record.get('host', 'unknown')}, "
        f"started {record.get('started', 'at an unknown time')}"
    )
