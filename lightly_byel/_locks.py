"""A file lock, so that processes building the same files take turns."""

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Holds an exclusive lock on a file for the duration of a ``with`` block.

    The file is created if missing and left in place. POSIX ``flock``: on other
    systems the block runs without a lock.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with exclusive_lock(f"{folder}/build.lock"):
        ...     print("only one process at a time")
        only one process at a time
    """
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: the callers' builds are not serialised
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
