"""``lightly-byel``: the installed command, one subcommand per task.

Examples::

    lightly-byel predict --model M.pt --images faces/ --output predictions.csv
    lightly-byel export --model M.pt --output M.onnx
    lightly-byel predict --help
"""

import argparse
import sys
from collections.abc import Sequence

from lightly_byel import __version__
from lightly_byel.cli import export, predict
from lightly_byel.cli.parsers import HelpFormatter, described

COMMANDS = {"predict": predict, "export": export}
"""The subcommands, each a module with ``SUMMARY``, ``add_arguments`` and ``run``."""


def parser() -> argparse.ArgumentParser:
    """The parser of ``lightly-byel`` and of each of its commands.

    Examples:
        >>> parser().parse_args(["export", "--model", "m.pt", "--output", "m.onnx"])
        Namespace(command='export', model=PosixPath('m.pt'), ...)
    """
    p = argparse.ArgumentParser(
        prog="lightly-byel",
        description=described(sys.modules["lightly_byel.cli"].__doc__),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"lightly-byel {__version__}")
    commands = p.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    for name, module in COMMANDS.items():
        command = commands.add_parser(
            name,
            help=module.SUMMARY,
            description=described(module.__doc__),
            formatter_class=HelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run, parser=command)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``lightly-byel`` on ``argv`` (the process's arguments when ``None``).

    Returns:
        The exit status: 0 on success, 2 on a usage error or a bad input file.
    """
    args = parser().parse_args(argv)
    status: int = args.run(args, args.parser)
    return status
