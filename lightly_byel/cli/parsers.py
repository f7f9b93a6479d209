"""The argument parsers of the ``lightly-byel`` commands, built one way."""

import argparse
from collections.abc import Callable
from pathlib import Path


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's paragraphs and shows the defaults that say something.

    argparse's ``ArgumentDefaultsHelpFormatter`` would also print ``(default:
    None)`` for optional paths and ``(default: False)`` for switches.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and default not in (None, False, argparse.SUPPRESS)
            and "%(default)" not in text
        ):
            text += " (default: %(default)s)"
        return text


def described(doc: str | None) -> str:
    """A module docstring as help text: without reST's double back-quotes.

    Examples:
        >>> print(described("``x``: does x. Examples::  "))
        x: does x. Examples:
    """
    # "::" opens a literal block in reST, as in "Examples::".
    return (doc or "").replace("``", "").replace("::", ":").strip()


def path(text: str) -> Path:
    """A flag's type: a path, which may not be empty.

    Examples:
        >>> path("")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must name a file or folder, got ''
    """
    if not text:
        raise argparse.ArgumentTypeError("must name a file or folder, got ''")
    return Path(text)


def at_least(minimum: int) -> Callable[[str], int]:
    """A flag's type: a whole number, at least ``minimum``.

    Examples:
        >>> at_least(1)("3")
        3
        >>> at_least(1)("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be at least 1, got 0
    """

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return whole_number
