"""Reading the JSON and YAML mappings a run keeps, with one kind of error.

A settings file, a run's identity or its results may be torn, edited by hand or
not what its name says; each then fails with an error that names the file. YAML is
read with PyYAML's safe loader (no Python objects), a key given twice in one
mapping or object is refused instead of the last one silently winning, and a YAML
document whose aliases expand to more than :data:`MAX_NODES` values (an "alias
bomb") is refused before it is built.
"""

import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from harness.config.quoted import quoted


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
    kind = "YAML" if is_yaml else "JSON"
    try:
        text = path.read_text(encoding="utf-8")
        values = _load_yaml(text) if is_yaml else _load_json(text)
    except _Refused as error:
        raise ValueError(f"{path}: {error}{consequence}.") from None
    except (ValueError, yaml.YAMLError) as error:
        # json's and UTF-8's decoding errors are ValueErrors.
        reason = str(error)[:300]
        raise ValueError(
            f"{path} is not valid {kind} in UTF-8 ({reason}){consequence}."
        ) from None
    except RecursionError:
        raise ValueError(
            f"{path} nests its {kind} too deeply to be a settings file{consequence}."
        ) from None
    if is_yaml and values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(
            f"{path} must hold a mapping, got {type(values).__name__}{consequence}."
        )
    return values


MAX_NODES = 100_000
"""The most values a YAML document may stand for once its aliases are expanded.

A settings file holds a few dozen; an alias bomb (``b: [*a, *a, ...]`` nested)
stands for billions in a few kilobytes, and quoting or walking it would take
gigabytes.
"""


class _Refused(Exception):
    """A document that parses but is refused: duplicate keys, too many values."""


class _SettingsLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key that a mapping gives twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *defaults" may be overridden, as YAML intends
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable):
                continue  # PyYAML's own error names it below
            if key in seen:
                raise _Refused(
                    f"the key {quoted(key)} is given twice, on lines {seen[key]} and "
                    f"{line}; keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> Any:
    """The value of a YAML document, refusing duplicate keys and alias bombs."""
    loader = _SettingsLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        count = _expanded_size(node, {})
        if count > MAX_NODES:
            raise _Refused(
                f"its aliases expand to more than {MAX_NODES:,} values, far more "
                "than a settings file holds; write the values out"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for, every alias counted where it is used.

    Each node is counted once and its size remembered, so the count costs the size
    of the document, not of its expansion.
    """
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(
            _expanded_size(key, sizes) + _expanded_size(value, sizes)
            for key, value in node.value
        )
    sizes[id(node)] = size
    return size


def _load_json(text: str) -> Any:
    """The value of a JSON document, refusing a key that an object gives twice."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        values = dict(pairs)
        if len(values) < len(pairs):
            keys = [key for key, _ in pairs]
            twice = next(key for index, key in enumerate(keys) if key in keys[:index])
            raise _Refused(f"the key {quoted(twice)} is given twice; keep one")
        return values

    return json.loads(text, object_pairs_hook=unique)
