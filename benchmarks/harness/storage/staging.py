"""Clean-up of the hidden staging folders that interrupted builds leave behind.

Builders that must never leave a half-written result write it under a hidden
temporary name next to the final one and rename it when complete:
:meth:`~harness.pipelines.cache.uint8_cache.UInt8ImageCache.build` stages a cache
``uint8-<size>px-<fingerprint>`` as ``.uint8-<size>px-<fingerprint>.<random>`` in
the cache folder. A process that is killed (out of memory, a cluster's time limit)
never gets to remove its staging folder, and such leftovers can be as large as the
result. :func:`remove_stale_staging` removes the old ones.
"""

import math
import os
import shutil
import time
import warnings
from pathlib import Path

LOCK_SUFFIX = ".lock"
"""Names ending in this are lock files, never staging: see ``exclusive_lock``."""


def remove_stale_staging(
    parent: str | os.PathLike[str],
    prefix: str,
    max_age_seconds: float = 86400.0,
) -> list[Path]:
    """Removes the staging folders and files in ``parent`` untouched for a while.

    An entry of ``parent`` (not of its subfolders) is removed when its name starts
    with ``prefix`` and nothing in it was modified for more than
    ``max_age_seconds``: the newest modification time of the entry and, for a
    folder, of everything below it (links not followed) counts, so a build that is
    still writing is left alone however long it runs. Lock files (names ending in
    ``.lock``) are never removed, since other processes may hold or wait on them.
    A link is removed, not what it points to.

    Call it while holding the builder's lock, so that no other process of the same
    build can be staging; the age protects the staging of other builds with the
    same prefix.

    Args:
        parent: The folder that holds the staging entries; a missing folder holds
            none.
        prefix: The start of the staging names, e.g. ``".uint8-"``; it should be
            specific to one builder, since everything old that matches goes.
        max_age_seconds: How long an entry must have been left untouched.

    Returns:
        The removed entries, in name order. An entry that disappears meanwhile is
        skipped; one that cannot be removed is left, with a warning.

    Raises:
        ValueError: If ``prefix`` is empty or holds a path separator, or
            ``max_age_seconds`` is not a finite number >= 0.

    Examples:
        >>> import os, tempfile
        >>> from pathlib import Path
        >>> parent = Path(tempfile.mkdtemp())
        >>> for name in (".cache-a.x1", ".cache-a.lock", "cache-a"):
        ...     (parent / name).mkdir()
        >>> day_ago = time.time() - 2 * 86400
        >>> for name in (".cache-a.x1", ".cache-a.lock", "cache-a"):
        ...     os.utime(parent / name, (day_ago, day_ago))
        >>> [path.name for path in remove_stale_staging(parent, ".cache-")]
        ['.cache-a.x1']
        >>> sorted(os.listdir(parent))
        ['.cache-a.lock', 'cache-a']
    """
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix must be a non-empty string, got {prefix!r}.")
    if os.sep in prefix or (os.altsep is not None and os.altsep in prefix):
        raise ValueError(
            f"prefix must be the start of a name in parent, without a path "
            f"separator, got {prefix!r}."
        )
    if (
        isinstance(max_age_seconds, bool)
        or not isinstance(max_age_seconds, int | float)
        or not math.isfinite(max_age_seconds)
        or max_age_seconds < 0
    ):
        raise ValueError(
            f"max_age_seconds must be a finite number >= 0, got {max_age_seconds!r}."
        )
    try:
        with os.scandir(parent) as entries:
            candidates = sorted(
                Path(entry.path)
                for entry in entries
                if entry.name.startswith(prefix)
                and not entry.name.endswith(LOCK_SUFFIX)
            )
    except FileNotFoundError:
        return []
    oldest_kept = time.time() - max_age_seconds
    removed: list[Path] = []
    for path in candidates:
        try:
            if _newest_modification(path) >= oldest_kept:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # removed by someone else meanwhile
        except OSError as error:
            warnings.warn(
                f"could not remove the stale staging entry {str(path)!r}: {error}",
                stacklevel=2,
            )
            continue
        removed.append(path)
    return removed


def _newest_modification(path: Path) -> float:
    """The newest modification time of ``path`` and, for a folder, all below it."""
    newest = path.lstat().st_mtime
    if not path.is_dir() or path.is_symlink():
        return newest
    for folder, subfolders, files in os.walk(path):
        for name in (*subfolders, *files):
            try:
                newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
            except FileNotFoundError:
                continue
    return newest
