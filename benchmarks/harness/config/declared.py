"""Fields declared once: each gives its flag, its YAML key, its checks and its errors.

Every setting of a benchmark run (:mod:`harness.config.settings`), every flag of
the other scripts and every field of the run record
(:mod:`harness.reporting.records`) is a field of a frozen dataclass, declared with
:func:`setting`. The field's annotation is its type (a ``Literal`` lists the
choices); :func:`setting` adds its help, its bounds and its flag. From that one
declaration:

- :func:`check_value` checks and converts a value (YAML, JSON or flag text), with a
  one-line error that names the setting and what was expected;
- :func:`from_mapping` builds a dataclass from a mapping read back from a file,
  checking every field;
- :func:`add_flags` and :func:`parse_flags` make a script's command line.

Dataclasses with one validator rather than pydantic: the harness needs no further
dependency, the declarations stay plain frozen dataclasses that mypy checks, and
the error texts the command line has always given stay exactly as they were.
"""

import argparse
import dataclasses
import itertools
import math
import types
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from harness.config.quoted import quoted

_T = TypeVar("_T")
_D = TypeVar("_D")


def setting(
    default: Any = MISSING,
    help: str = "",
    *,
    flag: str | None = None,
    also: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    distinct: bool = True,
    length: int | None = None,
    ordered: bool = False,
    square: bool = False,
    prefix: str | None = None,
    choices: tuple[str, ...] | None = None,
    aliases: Mapping[str, str] | None = None,
    default_factory: Callable[[], Any] | None = None,
) -> Any:
    """Declares one field: a dataclass field with its help, flag and bounds.

    Args:
        default: The value when nothing sets it; none for a field every value
            must have (a record's scores).
        help: What it does, for ``--help`` and the error messages.
        flag: Its command-line flag without the dashes (``"epochs"`` for
            ``--epochs``), also accepted as a top-level key of a YAML file;
            ``None`` for settings that only a file sets.
        also: Further settings (``"section.name"``) that the flag sets to the
            same value.
        minimum: Smallest allowed value (numbers; the elements of a list), or
            the fewest characters of a text.
        maximum: Largest allowed value.
        above: The value must be greater than this.
        below: The value must be less than this.
        distinct: Whether the elements of a tuple must differ.
        length: The number of elements a list must have.
        ordered: Whether a list's elements must not decrease (an interval).
        square: Whether a list of lists must have as many rows as columns.
        prefix: Text that a string must start with.
        choices: The texts a string may be, where a registry (not a ``Literal``)
            holds them.
        aliases: Former names of a ``Literal``'s choices, each read as the
            choice it names (files and command lines written before a rename
            keep working); the help lists only the choices.
        default_factory: Makes the default, for mutable defaults.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Example:
        ...     steps: int = setting(3, "steps to take", flag="steps", minimum=1)
        >>> fields(Example)[0].metadata["minimum"], Example().steps
        (1, 3)
    """
    metadata: dict[str, Any] = {
        "help": help,
        "flag": flag,
        "also": also,
        "minimum": minimum,
        "maximum": maximum,
        "above": above,
        "below": below,
        "distinct": distinct,
        "length": length,
        "ordered": ordered,
        "square": square,
        "prefix": prefix,
        "choices": choices,
        "aliases": dict(aliases or {}),
    }
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def like(cls: type[Any], name: str, **changes: Any) -> Any:
    """The declaration of ``cls.name`` again, with ``changes`` (a default, a flag).

    A script's flag that sets what a benchmark setting sets reuses that setting's
    help and bounds instead of restating them.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Run:
        ...     epochs: int = setting(10, "epochs", flag="epochs", minimum=1)
        >>> @dataclasses.dataclass(frozen=True)
        ... class Script:
        ...     epochs: int = like(Run, "epochs", default=2)
        >>> fields(Script)[0].metadata["minimum"], Script().epochs
        (1, 2)
    """
    (declared,) = [f for f in fields(cls) if f.name == name]
    metadata = dict(declared.metadata)
    default = changes.pop("default", declared.default)
    metadata.update(changes)
    return setting(default, **metadata)


@dataclasses.dataclass(frozen=True)
class Declared:
    """One declared field: its name, its type and its declaration."""

    name: str
    annotation: Any
    declaration: Field[Any]

    @property
    def meta(self) -> Mapping[str, Any]:
        """What :func:`setting` recorded: help, flag, bounds."""
        return self.declaration.metadata

    @property
    def flag(self) -> str | None:
        """The flag name without dashes, or ``None`` for a file-only field."""
        flag: str | None = self.meta.get("flag")
        return flag

    @property
    def required(self) -> bool:
        """Whether every value must be given (the field has no default)."""
        return (
            self.declaration.default is MISSING
            and self.declaration.default_factory is MISSING
        )

    def check(self, value: Any, where: str, text: bool = False) -> Any:
        """The value as the field's type, after its checks (:func:`check_value`)."""
        return check_value(self.annotation, value, where, self.meta, text)


def declared_fields(cls: type[Any]) -> tuple[Declared, ...]:
    """The declared fields of a dataclass, in order.

    Examples:
        >>> from harness.config.settings import PretrainSettings
        >>> declared_fields(PretrainSettings)[0].flag
        'epochs'
    """
    # Cached: resolving the annotations is most of the cost of reading a record.
    known = _DECLARED.get(cls)
    if known is None:
        hints = get_type_hints(cls)
        known = tuple(Declared(f.name, hints[f.name], f) for f in fields(cls))
        _DECLARED[cls] = known
    return known


_DECLARED: dict[type[Any], tuple[Declared, ...]] = {}


def check_value(
    annotation: Any,
    value: Any,
    where: str,
    meta: Mapping[str, Any] | None = None,
    text: bool = False,
) -> Any:
    """Returns ``value`` as the annotation's type, after checking choices and bounds.

    Args:
        annotation: The field's type: ``bool``, ``int``, ``float``, ``str``,
            ``Path``, a ``Literal``, a ``tuple``, ``list`` or ``dict`` of those,
            optional or not, or a declared dataclass (read from a mapping).
        value: A value from a YAML or JSON file, or the text of a flag with
            ``text``.
        where: How to name the field in an error (``--epochs``, ``file: ...``).
        meta: The field's declaration (:func:`setting`'s bounds).
        text: Whether ``value`` is command-line text to parse.

    Raises:
        ValueError: Naming the field, the value and what was expected.

    Examples:
        >>> check_value(int, "3", "--epochs", {"minimum": 1}, text=True)
        3
        >>> check_value(int, 0, "pretrain.epochs", {"minimum": 1})
        Traceback (most recent call last):
        ...
        ValueError: pretrain.epochs must be at least 1, got 0.
        >>> check_value(list[float], [0.7, 0.6], "ci", {"ordered": True})
        Traceback (most recent call last):
        ...
        ValueError: ci must not decrease, got [0.7, 0.6].
    """
    meta = meta or {}
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        if value is None or (text and value.lower() in ("none", "null")):
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return check_value(inner, value, where, meta, text)
    if origin is Literal:
        if isinstance(value, str):
            value = meta.get("aliases", {}).get(value, value)
        if value not in args:
            choices = ", ".join(repr(choice) for choice in args)
            raise ValueError(f"{where} must be one of {choices}, got {quoted(value)}.")
        return value
    if origin is tuple:
        return _as_tuple(args[0], value, where, meta, text)
    if origin is list:
        return _as_list(args[0], value, where, meta)
    if origin is dict:
        return _as_mapping(args[1], value, where, meta)
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return from_mapping(annotation, value, where)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {quoted(value)}.")
        return value
    if annotation is int or annotation is float:
        return _as_number(annotation, value, where, meta, text)
    if annotation is str or annotation is Path:
        return _as_text(annotation, value, where, meta)
    raise TypeError(f"{where}: fields of type {annotation!r} are not supported")


def _as_text(kind: type, value: Any, where: str, meta: Mapping[str, Any]) -> Any:
    # An unquoted number in YAML (devices: 2) means its text.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{where} must be text, got {quoted(value)}.")
    if meta.get("minimum") is not None and len(value) < meta["minimum"]:
        raise ValueError(f"{where} must not be empty, got {quoted(value)}.")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        named = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{where} must be one of {named}, got {quoted(value)}.")
    prefix = meta.get("prefix")
    if prefix is not None and not value.startswith(prefix):
        raise ValueError(f"{where} must start with {prefix!r}, got {quoted(value)}.")
    if kind is Path and not value.strip():
        # Path("") is the current folder: never what an empty value meant.
        raise ValueError(f"{where} must name a file or folder, got {value!r}.")
    return Path(value) if kind is Path else value


def _as_tuple(
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
    checked = tuple(check_value(element, item, where, meta, text) for item in items)
    # Counted once: a pasted list of many thousand names must not take seconds.
    counts = Counter(checked)
    repeated = sorted((item for item, n in counts.items() if n > 1), key=str)
    if repeated and meta.get("distinct", True):
        raise ValueError(
            f"{where} names {', '.join(map(quoted, repeated))} more than once: "
            f"{quoted(list(checked))}."
        )
    return checked


def _as_list(
    element: Any, value: Any, where: str, meta: Mapping[str, Any]
) -> list[Any]:
    """A JSON list: its elements checked, then its length, order and shape."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where} must be a list, got {quoted(value)}.")
    # The element checks see the bounds; the shape rules belong to the outer list.
    inner = {**meta, "length": None, "ordered": False, "square": False}
    checked = [check_value(element, item, where, inner) for item in value]
    length = meta.get("length")
    if length is not None and len(checked) != length:
        raise ValueError(
            f"{where} must have {length} elements, got {quoted(list(value))}."
        )
    if meta.get("ordered") and any(a > b for a, b in itertools.pairwise(checked)):
        raise ValueError(f"{where} must not decrease, got {quoted(list(value))}.")
    if meta.get("square") and any(len(row) != len(checked) for row in checked):
        raise ValueError(f"{where} must be square, got {quoted(list(value))}.")
    return checked


def _as_mapping(
    element: Any, value: Any, where: str, meta: Mapping[str, Any]
) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(
            f"{where} must be an object with text keys, got {quoted(value)}."
        )
    return {
        key: check_value(element, item, f"{where}[{key!r}]", meta)
        for key, item in value.items()
    }


def _as_number(
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


def from_mapping(cls: type[_D], value: Any, where: str) -> _D:
    """Builds a declared dataclass from a mapping read back, checking every field.

    Fields with a default may be left out; keys that declare nothing are ignored,
    so that a file written by a later version still reads.

    Raises:
        ValueError: Naming the first field that is missing or wrong.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Score:
        ...     f1: float = setting(help="macro F1", minimum=0)
        >>> from_mapping(Score, {"f1": 1}, "score")
        Score(f1=1.0)
        >>> from_mapping(Score, {}, "score")
        Traceback (most recent call last):
        ...
        ValueError: score lacks 'f1'
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object, got {type(value).__name__}")
    checked = {}
    for declared in declared_fields(cls):
        if declared.name not in value:
            if declared.required:
                raise ValueError(f"{where} lacks {declared.name!r}")
            continue
        named = f"{where}: {declared.name!r}"
        checked[declared.name] = declared.check(value[declared.name], named)
    return cls(**checked)


class FlagParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage text."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (--help lists the settings)\n")


def add_flags(
    parser: "argparse._ActionsContainer",
    declared: Sequence[Declared],
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Adds a flag for every declared field that has one.

    Every flag takes text that :func:`check_value` parses and checks later
    (:func:`parse_flags`), so its errors read as the YAML file's do. A ``Literal``
    field's flag lists its choices, a boolean field's flag takes no value, and a
    list field's flag may be repeated (its values are joined by commas).

    Args:
        parser: The parser to add to.
        declared: The fields.
        defaults: Defaults to show in the help, by field name; the declared
            defaults otherwise.
    """
    for field in declared:
        if field.flag is None:
            continue
        option = f"--{field.flag.replace('_', '-')}"
        default = (defaults or {}).get(field.name, field.declaration.default)
        help_text = field.meta["help"]
        if default is not MISSING and default is not None and default is not False:
            shown = (
                ",".join(map(str, default)) if isinstance(default, tuple) else default
            )
            help_text = f"{help_text} (default: {shown})"
        if field.annotation is bool:
            parser.add_argument(
                option,
                dest=field.flag,
                action="store_const",
                const=True,
                help=help_text,
            )
            continue
        choices = field.meta.get("choices")
        metavar = None
        if get_origin(field.annotation) is Literal:
            choices = get_args(field.annotation)
            aliases = tuple(field.meta.get("aliases", ()))
            if aliases:
                # The help shows the choices; argparse accepts the former names.
                metavar = "{" + ",".join(choices) + "}"
                choices = (*choices, *aliases)
        parser.add_argument(
            option,
            dest=field.flag,
            choices=choices,
            metavar=metavar,
            help=help_text,
            required=field.required,
            action="append" if _is_list(field.annotation) else "store",
        )


def _is_list(annotation: Any) -> bool:
    """Whether a field holds a tuple, optional or not."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    return get_origin(annotation) is tuple


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given on a command line, repeated list flags joined by commas."""
    return {
        key: ",".join(value) if isinstance(value, list) else value
        for key, value in vars(args).items()
        if value is not None
    }


def parse_flags(
    cls: type[_D],
    argv: Sequence[str] | None,
    parser: argparse.ArgumentParser,
    defaults: Mapping[str, Any] | None = None,
) -> _D:
    """Parses a script's command line into its declared flags dataclass.

    Args:
        cls: The frozen dataclass whose fields declare the flags (:func:`setting`
            with ``flag=...``); fields without a flag keep their defaults.
        argv: The arguments; ``None`` reads ``sys.argv``.
        parser: The script's parser, with the flags already added
            (:func:`add_flags`) and any of its own.
        defaults: Defaults that replace the declared ones, by field name (those
            that depend on the machine, say).

    Exits through ``parser.error`` with the checked field's message.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Flags:
        ...     steps: int = setting(5, "timed steps", flag="steps", minimum=1)
        >>> p = FlagParser(prog="timing")
        >>> add_flags(p, declared_fields(Flags))
        >>> parse_flags(Flags, ["--steps", "7"], p)
        Flags(steps=7)
    """
    return flags_from(cls, parser.parse_args(argv), parser, defaults)


def flags_from(
    cls: type[_D],
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    defaults: Mapping[str, Any] | None = None,
) -> _D:
    """The declared flags dataclass from parsed arguments (see :func:`parse_flags`).

    For a script that passes the flags it does not know on (``parse_known_args``).
    """
    given = given_flags(args)
    values = dict(defaults or {})
    try:
        for field in declared_fields(cls):
            if field.flag is None or field.flag not in given:
                continue
            where = f"--{field.flag.replace('_', '-')}"
            value = given[field.flag]
            values[field.name] = field.check(value, where, text=value is not True)
        # The dataclass's own checks of fields together (its __post_init__).
        return cls(**values)
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits; for a parser that does not


def script_parser(file: str, doc: str | None) -> FlagParser:
    r"""A parser for ``python benchmarks/<script>.py``.

    Args:
        file: The script's ``__file__``.
        doc: The script's ``__doc__``; its first paragraph describes the script.

    Examples:
        >>> parser = script_parser("benchmarks/index_lsd.py", "Times it.\n\nMore.")
        >>> parser.prog, parser.description
        ('python benchmarks/index_lsd.py', 'Times it.')
    """
    return FlagParser(
        prog=f"python benchmarks/{Path(file).name}",
        description=(doc or "").split("\n\n")[0].strip() or None,
    )


def parse_script_flags(
    cls: type[_D],
    file: str,
    doc: str | None,
    argv: Sequence[str] | None,
    defaults: Mapping[str, Any] | None = None,
) -> _D:
    """A script's declared flags from its command line, in one call.

    ``defaults`` replace declared defaults (:func:`parse_flags`) and show in the
    help. A check in the dataclass's ``__post_init__`` that raises ``ValueError``
    is a usage error, as a field's is.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Flags:
        ...     repeats: int = setting(3, "repeats", flag="repeats", minimum=1)
        >>> parse_script_flags(Flags, "benchmarks/x.py", "X.", ["--repeats", "2"])
        Flags(repeats=2)
    """
    parser = script_parser(file, doc)
    add_flags(parser, declared_fields(cls), defaults)
    return parse_flags(cls, argv, parser, defaults)
