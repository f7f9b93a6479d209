"""Reading the JSON and YAML mappings a run keeps, with one kind of error.

A settings file, a run's identity or its results may be torn, edited by hand or
not what its name says; each then fails with an error that names the file.
"""

import json
from pathlib import Path
from typing import Any

import yaml


def read_mapping(
    path: Path, consequence: str = "", is_yaml: bool | None = None
) -> dict[str, Any]:
    """The mapping held by JSON or YAML file ``path``.

    An empty YAML file holds the empty mapping.

    Args:
        path: A JSON or YAML file.
        consequence: Appended to the error, e.g. ``"; the run cannot resume"``.
        is_yaml: Whether the file is YAML; ``None`` goes by its suffix (``.yaml``,
            ``.yml``).

    Raises:
        OSError: If the file cannot be read.
        ValueError: If it is not UTF-8 text in its format, or holds no mapping.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "run.json"
        ...     _ = path.write_text("[1, 2]")
        ...     read_mapping(path, "; nothing changed")
        Traceback (most recent call last):
        ...
        ValueError: .../run.json must hold a mapping, got list; nothing changed.
    """
    if is_yaml is None:
        is_yaml = path.suffix in (".yaml", ".yml")
    try:
        text = path.read_text(encoding="utf-8")
        values = yaml.safe_load(text) if is_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        # json's and UTF-8's decoding errors are ValueErrors.
        kind = "YAML" if is_yaml else "JSON"
        raise ValueError(
            f"{path} is not valid {kind} in UTF-8 ({error}){consequence}."
        ) from None
    if is_yaml and values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(
            f"{path} must hold a mapping, got {type(values).__name__}{consequence}."
        )
    return values
