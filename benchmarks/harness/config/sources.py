"""The benchmark's configuration: a preset, then a YAML file, then command-line flags.

Later sources win: the preset's values, then the YAML file (``--config``), then the
flags. A YAML file holds sections named like :class:`BenchmarkConfig`'s fields
(``data``, ``run``, ``model``, ``pretrain``, ``evaluation``) with their fields, and
may also set any flag at the top level under its name (``epochs: 3``,
``methods: [byel, byol]``). The resolved configuration is written next to the
results in the sectioned form, and can be passed back with ``--config``.

Every setting is declared once, in :mod:`harness.config.settings`; the flags, the
YAML keys and the checks of each value (type, choices, bounds) all come from there.
"""

import dataclasses
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from harness.config.declared import Declared, declared_fields
from harness.config.mapping_files import read_mapping
from harness.config.presets import preset
from harness.config.quoted import quoted
from harness.config.settings import SECTIONS, BenchmarkConfig


@dataclasses.dataclass(frozen=True)
class Setting(Declared):
    """One declared setting of a section of :class:`BenchmarkConfig`."""

    section: str = ""

    @property
    def key(self) -> str:
        """``section.name``, as error messages and ``also`` name it."""
        return f"{self.section}.{self.name}"


def declared_settings() -> dict[str, Setting]:
    """Every setting of every section, by ``section.name``.

    Examples:
        >>> declared_settings()["pretrain.epochs"].flag
        'epochs'
    """
    settings = {}
    for section, cls in SECTIONS.items():
        for field in declared_fields(cls):
            setting = Setting(field.name, field.annotation, field.declaration, section)
            settings[setting.key] = setting
    return settings


def flag_targets() -> dict[str, tuple[Setting, ...]]:
    """The settings each flag sets, by flag name (underscores).

    Examples:
        >>> [s.key for s in flag_targets()["batch_size_per_device"]]
        ['pretrain.batch_size_per_device', 'evaluation.batch_size_per_device']
    """
    settings = declared_settings()
    targets = {}
    for setting in settings.values():
        if setting.flag is not None:
            also = setting.declaration.metadata["also"]
            targets[setting.flag] = (setting, *(settings[key] for key in also))
    return targets


RENAMED = {"model.out_dim": "output_dim"}
"""Former names of settings in a file's sections, by ``section.name``, and the name
each now has: files written before a rename keep working."""


def apply(
    config: BenchmarkConfig,
    values: Mapping[str, Any],
    source: str,
    text: bool = False,
) -> BenchmarkConfig:
    """Returns ``config`` with ``values`` applied: sections and/or flag names.

    Args:
        config: The configuration to start from.
        values: ``{"model": {"backbone": ...}, "epochs": 3, ...}``; flag names may
            use dashes or underscores.
        source: Where the values come from, for error messages.
        text: Whether the values are command-line text (flags only).

    Raises:
        ValueError: On an unknown key, a value of the wrong type or range, or two
            keys that set one setting (``epochs`` and ``pretrain: {epochs}``):
            one source may not settle a setting two ways silently.
    """
    settings, targets = declared_settings(), flag_targets()
    named_by: dict[str, str] = {}

    def set_once(
        config: BenchmarkConfig, setting: Setting, value: Any, named: str
    ) -> BenchmarkConfig:
        earlier = named_by.setdefault(setting.key, named)
        if earlier != named:
            raise ValueError(
                f"{source}: {quoted(earlier)} and {quoted(named)} both set "
                f"{setting.key}; keep one."
            )
        return _with(config, setting, value)

    for key, value in values.items():
        name = key.replace("-", "_")
        if name == "preset":
            continue
        if name in SECTIONS:
            if not isinstance(value, Mapping):
                raise ValueError(
                    f"{source}: section {quoted(key)} must be a mapping of fields, "
                    f"got {quoted(value)}."
                )
            for field_name, field_value in value.items():
                current = RENAMED.get(f"{name}.{field_name}", field_name)
                setting = settings.get(f"{name}.{current}")
                if setting is None:
                    known = sorted(f.name for f in fields(SECTIONS[name]))
                    raise ValueError(
                        f"{source}: {name} has no setting {quoted(field_name)}; "
                        f"expected one of {known}."
                    )
                where = f"{source}: {setting.key}"
                checked = setting.check(field_value, where, text)
                config = set_once(config, setting, checked, f"{key}: {field_name}")
        elif name in targets:
            first = targets[name][0]
            where = f"--{name.replace('_', '-')}" if text else f"{source}: {first.key}"
            checked = first.check(value, where, text)
            for setting in targets[name]:
                config = set_once(config, setting, checked, key)
        else:
            sections, flags = ", ".join(SECTIONS), ", ".join(sorted(targets))
            raise ValueError(
                f"{source}: unknown setting {quoted(key)}; expected a section "
                f"({sections}) or a flag name ({flags})."
            )
    return config


def _with(config: BenchmarkConfig, setting: Setting, value: Any) -> BenchmarkConfig:
    section = getattr(config, setting.section)
    return replace(
        config, **{setting.section: replace(section, **{setting.name: value})}
    )


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a configuration file.

    Raises:
        FileNotFoundError: If the file does not exist.
        OSError: If it cannot be read.
        ValueError: If it is not YAML or not a mapping.

    Examples:
        >>> load_yaml("x" * 5000)
        Traceback (most recent call last):
        ...
        OSError: configuration file 'xxx...xxx' cannot be read (...).
    """
    file, named = Path(path), quoted(str(path))
    try:
        found = file.is_file()
    except OSError as error:
        # A name the file system refuses (too long, say) is the user's to fix.
        raise OSError(
            f"configuration file {named} cannot be read ({error.strerror})."
        ) from None
    if not found:
        raise FileNotFoundError(f"configuration file {named} does not exist.")
    # Whatever its name: YAML, which JSON files are too.
    return read_mapping(file, is_yaml=True)


def to_plain(value: Any) -> Any:
    """A value as plain data (lists for tuples), for YAML and JSON.

    Examples:
        >>> to_plain({"crop": (0.5, 1.0)})
        {'crop': [0.5, 1.0]}
    """
    if isinstance(value, tuple | list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


def to_dict(config: BenchmarkConfig) -> dict[str, Any]:
    """The configuration as plain data (lists for tuples), for YAML and JSON."""
    return to_plain(dataclasses.asdict(config))  # type: ignore[no-any-return]


def from_dict(values: Mapping[str, Any]) -> BenchmarkConfig:
    """Rebuilds a configuration written by :func:`to_dict`."""
    name = str(values.get("preset", "default"))
    return replace(apply(preset(name), values, "configuration"), preset=name)
