"""The flags of ``benchmarks/affwild2.py`` and the configuration they resolve to.

This module reads the command line without the registries of methods and
protocols, which import torch and Lightning: ``--help`` and most usage errors
answer before those load (:mod:`harness.runs.command_line` checks the names
afterwards). The values are resolved as :mod:`harness.config.sources` describes:
a preset, a YAML file, the flags.
"""

import argparse
import dataclasses
import textwrap
from collections.abc import Sequence
from dataclasses import replace

import yaml

from harness.config.declared import FlagParser, add_flags, given_flags
from harness.config.presets import PRESETS, preset
from harness.config.settings import SECTIONS, BenchmarkConfig
from harness.config.sources import (
    apply,
    declared_settings,
    load_yaml,
    to_dict,
    to_plain,
)

PROG = "python benchmarks/affwild2.py"
"""How the help and the errors name the program."""

_CONTROL_FLAGS = ("preset", "config", "debug", "print_config")
"""Flags that choose where settings come from or how the program reports, not
settings themselves."""


@dataclasses.dataclass(frozen=True)
class ParsedCommandLine:
    """The resolved configuration and what the command line asked to do with it.

    Attributes:
        config: The preset, the YAML file and the flags applied, each value
            checked on its own.
        print_config: Whether to print the configuration as YAML instead of
            running it (``--print-config``).
        debug: Whether errors show their traceback (``--debug``).
    """

    config: BenchmarkConfig
    print_config: bool = False
    debug: bool = False


def parser() -> argparse.ArgumentParser:
    """The command line of ``benchmarks/affwild2.py``, one flag per declared flag.

    Every flag takes text that :func:`~harness.config.declared.check_value` parses
    and checks; flags of a ``Literal`` setting list their choices, flags of a
    boolean setting take no value; the help shows the ``default`` preset's values
    and ends with the settings that only a YAML file (``--config``) sets.

    Examples:
        >>> "model.hidden_dim" in parser().format_help()
        True
    """
    defaults = preset("default")
    p = FlagParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "BYEL against BYOL, SimCLR and supervised training, from synthetic to\n"
            "real faces. Without data flags it generates and uses the embedded\n"
            "synthetic-face data. Values: the preset's, then the --config file's,\n"
            "then the flags'."
        ),
        epilog=_file_only_settings(defaults),
    )
    p.add_argument("--preset", choices=tuple(PRESETS), help="base configuration")
    p.add_argument("--config", help="YAML file of settings (sections or flag names)")
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved settings as YAML (a --config file) and exit",
    )
    p.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error instead of one line",
    )
    settings = declared_settings()
    for section in SECTIONS:
        add_flags(
            p.add_argument_group(section),
            [s for s in settings.values() if s.section == section],
            dataclasses.asdict(getattr(defaults, section)),
        )
    return p


def _file_only_settings(defaults: BenchmarkConfig) -> str:
    """The help's list of the settings without a flag, with the default values."""
    lines = [
        "settings only in a --config YAML file (section.name: the default "
        "preset's value; what it sets):"
    ]
    for setting in declared_settings().values():
        if setting.flag is None:
            value = getattr(getattr(defaults, setting.section), setting.name)
            shown = yaml.safe_dump(to_plain(value), default_flow_style=True)
            shown = shown.strip().removesuffix("...").strip()
            lines.append(f"  {setting.key}: {shown}")
            lines.append(
                textwrap.fill(
                    setting.meta["help"],
                    width=79,
                    initial_indent=" " * 6,
                    subsequent_indent=" " * 6,
                )
            )
    lines.append(
        textwrap.fill(
            "A YAML file holds sections (data, run, model, pretrain, evaluation) "
            "of these names, or flag names at the top level; --print-config "
            "writes one.",
            width=79,
        )
    )
    return "\n".join(lines)


def parse(
    argv: Sequence[str] | None = None, p: argparse.ArgumentParser | None = None
) -> ParsedCommandLine:
    """Parses the command line into the configuration, each value checked.

    Args:
        argv: The arguments; ``sys.argv[1:]`` when ``None``.
        p: The parser whose ``error`` reports usage errors (:func:`parser`).

    Raises:
        SystemExit: After ``--help``, and on a usage error (argparse's
            convention), with the message.

    Examples:
        >>> parse(["--epochs", "3"]).config.pretrain.epochs
        3
    """
    p = p or parser()
    args = p.parse_args(argv)
    given = given_flags(args)
    control = {name: given.pop(name) for name in _CONTROL_FLAGS if name in given}
    try:
        file_values = load_yaml(control["config"]) if "config" in control else {}
        name = str(control.get("preset", file_values.get("preset", "default")))
        config = replace(preset(name), preset=name)
        config = apply(config, file_values, "configuration file")
        flags = {key: value for key, value in given.items() if value is not True}
        switches = {key: True for key, value in given.items() if value is True}
        config = apply(config, flags, "command line", text=True)
        config = apply(config, switches, "command line")
    except (ValueError, OSError) as error:
        p.error(str(error))
    return ParsedCommandLine(
        config, bool(control.get("print_config")), bool(control.get("debug"))
    )


def config_yaml(config: BenchmarkConfig) -> str:
    """The configuration as the YAML that ``--config`` reads back.

    Examples:
        >>> print(config_yaml(preset("smoke")).splitlines()[0])
        preset: smoke
    """
    return yaml.safe_dump(to_dict(config), sort_keys=False)
