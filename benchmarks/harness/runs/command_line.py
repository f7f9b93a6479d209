"""The command line of ``benchmarks/affwild2.py``: flags, then the checked config.

:mod:`harness.config.flags` reads the flags into a configuration whose values are
each checked; :func:`check` adds what no single setting can check: the names of
methods and protocols (their registries) and settings that belong together. This
module sits at the top of the harness, beside the run it starts, so that the
settings below it need not know the registries.
"""

import sys
from collections.abc import Sequence
from pathlib import Path

from harness.config.flags import ParsedCommandLine, config_yaml, parse, parser
from harness.config.quoted import quoted
from harness.config.settings import BenchmarkConfig
from harness.data.eval_sets import eval_sets
from harness.evaluation.protocols import PROTOCOLS
from harness.methods import METHODS


def resolve(argv: Sequence[str] | None = None) -> BenchmarkConfig:
    """Parses the command line into the resolved, checked configuration.

    Raises:
        SystemExit: On a usage error (argparse's convention), with the message,
            and after ``--help`` or ``--print-config``.
    """
    return checked(parse(argv)).config


def checked(parsed: ParsedCommandLine) -> ParsedCommandLine:
    """The parsed command line after :func:`check`; ``--print-config`` ends here.

    Raises:
        SystemExit: On a usage error, with the message (status 2), and after
            printing the configuration for ``--print-config`` (status 0).
    """
    try:
        check(parsed.config)
    except (ValueError, OSError) as error:
        parser().error(str(error))
    if parsed.print_config:
        sys.stdout.write(config_yaml(parsed.config))
        raise SystemExit(0)
    return parsed


def check(config: BenchmarkConfig) -> None:
    """Checks what no single setting can: settings that belong together, names.

    Raises:
        ValueError: Naming the setting and what was expected.
    """
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
    config.pretrain.check_kernels()
    config.pretrain.check_schedule()
