"""The results files of the benchmark scripts: JSON, with a Markdown table beside it.

Every file is written atomically (:mod:`lightly_byel.utils.atomic_files`), so that an
interrupted script leaves the previous results, never torn ones.
"""

import contextlib
import json
from pathlib import Path
from typing import Any

from lightly_byel.utils.atomic_files import write_text_atomic


def write_json(path: Path, payload: Any) -> None:
    """Writes ``payload`` as indented JSON; values JSON lacks are written as text.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "out" / "a.json"
        >>> write_json(path, {"n": 1, "where": Path("x")})
        >>> json.loads(path.read_text())
        {'n': 1, 'where': 'x'}
    """
    write_text_atomic(path, json.dumps(payload, indent=2, default=str) + "\n")


def write_report(folder: Path, name: str, payload: Any, markdown: str) -> Path:
    r"""Writes ``<name>.json`` and the table ``<name>.md`` into ``folder``.

    Returns:
        The path of the JSON file.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_report(folder, "speed", {"n": 1}, "| n |\n").name
        'speed.json'
        >>> sorted(p.name for p in folder.iterdir())
        ['speed.json', 'speed.md']
    """
    path = folder / f"{name}.json"
    write_json(path, payload)
    write_text_atomic(folder / f"{name}.md", markdown)
    return path


def shown(path: Path) -> str:
    """``path`` for a message: relative to the working folder where it lies below it.

    Examples:
        >>> shown(Path.cwd() / "results" / "a.json") == str(Path("results", "a.json"))
        True
    """
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)
