"""Where outputs may go: apart from every input, and only where they can be written.

Every script that writes results checks its outputs with these functions before it
does any work, so that a mistyped flag loses nothing: an output that is an input
file (the model a CSV would replace), lies inside an input folder (a CSV among the
images, results among the training data) or holds one is refused, and so is an
output that is empty (which would mean the current folder) or cannot be written.
"""

import errno
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def check_outputs_apart(
    outputs: Mapping[str, str | Path | None], inputs: Mapping[str, str | Path | None]
) -> None:
    """Refuses outputs that are, hold or lie inside an input, or each other.

    Args:
        outputs: Each output path by the flag that names it; ``None`` is unset.
        inputs: Each input file or folder by its flag; ``None`` is unset.

    Raises:
        ValueError: Naming both flags and paths, before anything is written.

    Examples:
        >>> check_outputs_apart({"--output": "runs/a"}, {"--data-root": "data/lsd"})
        >>> check_outputs_apart({"--output": "data/out.csv"}, {"--images": "data"})
        Traceback (most recent call last):
        ...
        ValueError: --output 'data/out.csv' lies inside --images 'data'; an output
        must not be written onto or among the inputs, choose another path.
        >>> check_outputs_apart({"--output": ""}, {})
        Traceback (most recent call last):
        ...
        ValueError: --output must name a file or folder, got ''.
    """
    named_outputs = {flag: path for flag, path in outputs.items() if path is not None}
    for flag, path in named_outputs.items():
        if not str(path).strip():
            raise ValueError(f"{flag} must name a file or folder, got {str(path)!r}.")
    named_inputs = {flag: path for flag, path in inputs.items() if path is not None}
    others = list(named_outputs.items())
    for index, (flag, path) in enumerate(others):
        overlaps = [
            (relation, other_flag, other)
            for other_flag, other in [*named_inputs.items(), *others[index + 1 :]]
            if (relation := _relation(Path(path), Path(other))) is not None
        ]
        if overlaps:
            # The closest overlap says most: the file itself before its folder.
            relation, other_flag, other = min(overlaps, key=lambda o: _RANK[o[0]])
            raise ValueError(
                f"{flag} {str(path)!r} {relation} {other_flag} {str(other)!r}; an "
                "output must not be written onto or among the inputs, choose "
                "another path."
            )


_RANK = {"is the same as": 0, "lies inside": 1, "holds": 2}


def _relation(output: Path, other: Path) -> str | None:
    """How ``output`` overlaps ``other`` (a key of ``_RANK``), or ``None``."""
    if output.exists() and other.exists() and os.path.samefile(output, other):
        return "is the same as"
    # resolve() follows links, so a link into a data folder counts as inside it.
    out, path = output.resolve(), other.resolve()
    if out == path:
        return "is the same as"
    if path in out.parents:
        return "lies inside"
    if out in path.parents:
        return "holds"
    return None


def check_writable(folder: Path, flag: str = "--output") -> None:
    """Checks that ``folder`` is, or can become, a folder this process can write.

    Nothing is left behind: a missing folder is checked through the nearest folder
    above it that exists, which must be writable for it to be made.

    Args:
        folder: The folder an output goes into.
        flag: The flag that names it, for the error.

    Raises:
        OSError: Naming the folder and why it cannot be written.
    """
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{flag} {str(folder)!r} is a file, not a folder.")
    existing = nearest_existing(folder)
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise PermissionError(
            f"{flag} {str(folder)!r} cannot be written: {error.strerror or error}."
        ) from None


def nearest_existing(path: Path) -> Path:
    """``path`` made absolute, or the nearest folder above it that exists.

    Examples:
        >>> nearest_existing(Path("/") / "no such folder" / "below") == Path("/")
        True
    """
    existing = Path(os.path.abspath(path))
    while not existing.exists():
        existing = existing.parent
    return existing
