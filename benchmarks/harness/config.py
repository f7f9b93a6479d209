"""The benchmark's configuration: a preset, then a YAML file, then command-line flags.

Later sources win: the preset's values, then the YAML file (``--config``), then the
flags. A YAML file holds sections named like :class:`BenchmarkConfig`'s fields
(``data``, ``run``, ``model``, ``pretrain``, ``evaluation``) with their fields, and
may also set any flag at the top level under its name (``epochs: 3``,
``methods: [byel, byol]``). The resolved configuration is written next to the
results in the sectioned form, and can be passed back with ``--config``.

Every setting is declared once, in :mod:`harness.settings`; the flags, the YAML keys
and the checks of each value (type, choices, bounds) all come from there.
"""

import argparse
import dataclasses
import math
import types
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import Field, fields, replace
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from harness.mapping_files import read_mapping
from harness.presets import PRESETS, preset
from harness.quoted import quoted
from harness.settings import SECTIONS, BenchmarkConfig


@dataclasses.dataclass(frozen=True)
class Setting:
    """One declared setting: where it lives, its type and its declaration."""

    section: str
    name: str
    annotation: Any
    declaration: Field[Any]

    @property
    def key(self) -> str:
        """``section.name``, as error messages and ``also`` name it."""
        return f"{self.section}.{self.name}"

    @property
    def flag(self) -> str | None:
        """The flag name without dashes, or ``None`` for a file-only setting."""
        flag: str | None = self.declaration.metadata.get("flag")
        return flag


def declared_settings() -> dict[str, Setting]:
    """Every setting of every section, by ``section.name``.

    Examples:
        >>> declared_settings()["pretrain.epochs"].flag
        'epochs'
    """
    settings = {}
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls)
        for declaration in fields(cls):
            setting = Setting(
                section, declaration.name, hints[declaration.name], declaration
            )
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


def checked_value(setting: Setting, value: Any, where: str, text: bool = False) -> Any:
    """Returns ``value`` as the setting's type, after checking its choices and bounds.

    Args:
        setting: The declared setting.
        value: A value from a YAML file, or the text of a flag with ``text``.
        where: How to name the setting in an error (``--epochs``, ``file: ...``).
        text: Whether ``value`` is command-line text to parse.

    Raises:
        ValueError: Naming the setting, the value and what was expected.

    Examples:
        >>> epochs = declared_settings()["pretrain.epochs"]
        >>> checked_value(epochs, "3", "--epochs", text=True)
        3
        >>> checked_value(epochs, 0, "pretrain.epochs")
        Traceback (most recent call last):
        ...
        ValueError: pretrain.epochs must be at least 1, got 0.
    """
    return _checked(
        setting.annotation, value, where, setting.declaration.metadata, text
    )


def _checked(
    annotation: Any, value: Any, where: str, meta: Mapping[str, Any], text: bool
) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        if value is None or (text and value.lower() in ("none", "null")):
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _checked(inner, value, where, meta, text)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(choice) for choice in args)
            raise ValueError(f"{where} must be one of {choices}, got {quoted(value)}.")
        return value
    if origin is tuple:
        return _checked_tuple(args[0], value, where, meta, text)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {quoted(value)}.")
        return value
    if annotation is int or annotation is float:
        return _checked_number(annotation, value, where, meta, text)
    if annotation is str:
        # An unquoted number in YAML (devices: 2) means its text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise ValueError(f"{where} must be text, got {quoted(value)}.")
        return value
    raise TypeError(f"{where}: settings of type {annotation!r} are not supported")


def _checked_tuple(
    element: Any, value: Any, where: str, meta: Mapping[str, Any], text: bool
) -> tuple[Any, ...]:
    if isinstance(value, str):
        # "0,1" on the command line, and in a file too.
        items: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
        text = element is not str
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError(f"{where} must be a list, got {quoted(value)}.")
    if not items:
        raise ValueError(f"{where} must not be empty.")
    checked = tuple(_checked(element, item, where, meta, text) for item in items)
    # Counted once: a pasted list of many thousand names must not take seconds.
    counts = Counter(checked)
    repeated = sorted((item for item, n in counts.items() if n > 1), key=str)
    if repeated and meta.get("distinct", True):
        raise ValueError(
            f"{where} names {', '.join(map(quoted, repeated))} more than once: "
            f"{quoted(list(checked))}."
        )
    return checked


def _checked_number(
    kind: type, value: Any, where: str, meta: Mapping[str, Any], text: bool
) -> int | float:
    noun = "a whole number" if kind is int else "a finite number"
    number: int | float
    try:
        if isinstance(value, bool):
            raise ValueError
        if text:
            number = int(value) if kind is int else float(value)
        elif isinstance(value, int | float):
            number = value
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"{where} must be {noun}, got {quoted(value)}.") from None
    if not math.isfinite(number) or (kind is int and number != int(number)):
        raise ValueError(f"{where} must be {noun}, got {quoted(value)}.")
    number = kind(number)
    bounds: list[tuple[str, str, Callable[[float, float], bool]]] = [
        ("minimum", "at least", lambda x, bound: x >= bound),
        ("maximum", "at most", lambda x, bound: x <= bound),
        ("above", "greater than", lambda x, bound: x > bound),
        ("below", "less than", lambda x, bound: x < bound),
    ]
    for key, words, holds in bounds:
        bound = meta.get(key)
        if bound is not None and not holds(number, bound):
            raise ValueError(f"{where} must be {words} {bound}, got {number}.")
    return number


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
                setting = settings.get(f"{name}.{field_name}")
                if setting is None:
                    known = sorted(f.name for f in fields(SECTIONS[name]))
                    raise ValueError(
                        f"{source}: {name} has no setting {quoted(field_name)}; "
                        f"expected one of {known}."
                    )
                where = f"{source}: {setting.key}"
                checked = checked_value(setting, field_value, where, text)
                config = set_once(config, setting, checked, f"{key}: {field_name}")
        elif name in targets:
            first = targets[name][0]
            where = f"--{name.replace('_', '-')}" if text else f"{source}: {first.key}"
            checked = checked_value(first, value, where, text)
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


def to_dict(config: BenchmarkConfig) -> dict[str, Any]:
    """The configuration as plain data (lists for tuples), for YAML and JSON."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value

    return plain(dataclasses.asdict(config))  # type: ignore[no-any-return]


def from_dict(values: Mapping[str, Any]) -> BenchmarkConfig:
    """Rebuilds a configuration written by :func:`to_dict`."""
    name = str(values.get("preset", "default"))
    return replace(apply(preset(name), values, "configuration"), preset=name)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage text."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (--help lists the settings)\n")


def parser() -> argparse.ArgumentParser:
    """The command line of ``benchmarks/affwild2.py``, one flag per declared flag.

    Every flag takes text that :func:`checked_value` parses and checks; flags of a
    ``Literal`` setting list their choices, flags of a boolean setting take no
    value.
    """
    p = _Parser(
        prog="python benchmarks/affwild2.py",
        description=(
            "BYEL against BYOL, SimCLR and supervised training, from synthetic to "
            "real faces. Without data flags it generates and uses the embedded "
            "synthetic-face data."
        ),
    )
    p.add_argument("--preset", choices=tuple(PRESETS), help="base configuration")
    p.add_argument("--config", help="YAML file of settings (sections or flag names)")
    p.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error instead of one line",
    )
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name, (setting, *_) in flag_targets().items():
        group = groups.get(setting.section)
        if group is None:
            group = groups[setting.section] = p.add_argument_group(setting.section)
        option = f"--{name.replace('_', '-')}"
        help_text = setting.declaration.metadata["help"]
        if setting.annotation is bool:
            group.add_argument(option, action="store_const", const=True, help=help_text)
            continue
        choices = (
            get_args(setting.annotation)
            if get_origin(setting.annotation) is Literal
            else None
        )
        # A list setting's flag may be repeated; resolve() joins the values.
        action = "append" if _is_list(setting.annotation) else "store"
        group.add_argument(
            option, choices=choices, metavar=None, help=help_text, action=action
        )
    return p


def _is_list(annotation: Any) -> bool:
    """Whether a setting holds a tuple, optional or not."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    return get_origin(annotation) is tuple


def resolve(argv: Sequence[str] | None = None) -> BenchmarkConfig:
    """Parses the command line into the resolved, checked configuration.

    Raises:
        SystemExit: On a usage error (argparse's convention), with the message.
    """
    p = parser()
    args = p.parse_args(argv)
    given = {
        key: ",".join(value) if isinstance(value, list) else value
        for key, value in vars(args).items()
        if value is not None and key != "debug"
    }
    try:
        file_values = load_yaml(given.pop("config")) if "config" in given else {}
        name = str(given.pop("preset", file_values.get("preset", "default")))
        config = replace(preset(name), preset=name)
        config = apply(config, file_values, "configuration file")
        flags = {key: value for key, value in given.items() if value is not True}
        switches = {key: True for key, value in given.items() if value is True}
        config = apply(config, flags, "command line", text=True)
        config = apply(config, switches, "command line")
        check(config)
    except (ValueError, OSError) as error:
        p.error(str(error))
    return config


def check(config: BenchmarkConfig) -> None:
    """Checks what no single setting can: settings that belong together, names.

    Raises:
        ValueError: Naming the setting and what was expected.
    """
    from harness.eval_sets import eval_sets
    from harness.evaluation.protocols import PROTOCOLS
    from harness.methods import METHODS

    for kind, names, known in (
        ("methods", config.run.methods, METHODS),
        ("protocols", config.run.protocols, PROTOCOLS),
    ):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"unknown {kind} {quoted(unknown)}; expected names from "
                f"{sorted(known)}."
            )
    data = config.data
    if data.data_root is not None and (data.train_dir or data.eval_dir):
        raise ValueError("give --data-root or --train-dir/--eval-dir, not both.")
    if (data.train_dir is None) != (data.eval_dir is None):
        raise ValueError("--train-dir and --eval-dir go together.")
    # Without --eval-dir the split is the data's validation split; its name
    # matters only for messages here.
    eval_sets(data, Path("validation_set_real_images"))
    if (
        config.pretrain.optimizer_impl == "fused"
        and config.pretrain.optimizer == "lars"
    ):
        raise ValueError(
            "--optimizer-impl fused is not available for LARS; use foreach (no "
            "host synchronisation) or for-loop (Lightly's LARS)."
        )


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``.

    Examples:
        >>> int_at_least(1)("3")
        3
    """

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse
