"""The command line of ``benchmarks/affwild2.py``: flags, then the resolved config.

The flags come from the settings' declarations (:mod:`harness.config.settings`, one
flag per declared flag, through :func:`harness.config.declared.add_flags`); the
values are resolved as :mod:`harness.config.sources` describes (a preset, a YAML
file, the flags) and checked. :func:`check` adds what no single setting can check:
the names of methods and protocols (their registries) and settings that belong
together. This module sits at the top of the harness, beside the run it starts, so
that the settings below it need not know the registries.
"""

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from harness.config.declared import FlagParser, add_flags, given_flags
from harness.config.presets import PRESETS, preset
from harness.config.quoted import quoted
from harness.config.settings import SECTIONS, BenchmarkConfig
from harness.config.sources import apply, declared_settings, load_yaml
from harness.data.eval_sets import eval_sets
from harness.evaluation.protocols import PROTOCOLS
from harness.methods import METHODS


def parser() -> argparse.ArgumentParser:
    """The command line of ``benchmarks/affwild2.py``, one flag per declared flag.

    Every flag takes text that :func:`~harness.config.declared.check_value` parses
    and checks; flags of a ``Literal`` setting list their choices, flags of a
    boolean setting take no value; the help shows the ``default`` preset's values.
    """
    p = FlagParser(
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
    settings, defaults = declared_settings(), preset("default")
    for section in SECTIONS:
        add_flags(
            p.add_argument_group(section),
            [s for s in settings.values() if s.section == section],
            dataclasses.asdict(getattr(defaults, section)),
        )
    return p


def resolve(argv: Sequence[str] | None = None) -> BenchmarkConfig:
    """Parses the command line into the resolved, checked configuration.

    Raises:
        SystemExit: On a usage error (argparse's convention), with the message.
    """
    p = parser()
    args = p.parse_args(argv)
    given = given_flags(args)
    given.pop("debug", None)
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
