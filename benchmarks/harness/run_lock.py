"""One writer per results folder: a lock held for the life of a run.

The lock is an exclusive ``flock`` on ``<output>/.lock``, which also records who
holds it (process id, host, start time). The operating system releases it when the
process ends, however it ends, so the lock of a killed run is free at once; its
record is then reported as taken over. A second process that finds the lock held
stops at once with :class:`RunLockedError`, naming the holder.
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
        harness.run_lock.RunLockedError: ...
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(
                f"results folder {str(folder)!r} is in use by another run "
                f"({_describe(_read(handle))}); wait for it to finish or choose "
                "another --output."
            ) from None
        try:
            earlier = _read(handle)
            if earlier:
                print(
                    f"Taking over the lock of {folder} left by an ended run "
                    f"({_describe(earlier)})."
                )
            _write(handle)
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


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
