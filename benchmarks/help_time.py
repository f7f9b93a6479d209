"""Wall time of ``--help``: the benchmark's and the installed command's.

Each command runs in a fresh process, as a user starts it, ``--repeats`` times in
turn, and its wall time from start to exit is measured; ``python -c "import torch"``
runs beside them as the reference of what a command that loaded torch first would
pay at least. The commands read their flags before they import torch, so their help
should take a fraction of that. The first round warms the file system's cache and is
not counted.

Run from the repository root::

    python benchmarks/help_time.py
    python benchmarks/help_time.py --repeats 20

It prints a table and writes ``benchmarks/results/help_time.json`` and
``help_time.md`` (see ``--output``).
"""

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.config.declared import parse_script_flags, setting
from harness.scripts.results import shown, write_report
from harness.scripts.spread import Spread

BENCHMARKS = Path(__file__).resolve().parent

INSTALLED = str(Path(sys.executable).with_name("lightly-byel"))
"""The command ``pip install`` put beside this Python."""

COMMANDS: dict[str, list[str]] = {
    "python benchmarks/affwild2.py --help": [
        sys.executable,
        str(BENCHMARKS / "affwild2.py"),
        "--help",
    ],
    "lightly-byel --help": [INSTALLED, "--help"],
    "lightly-byel predict --help": [INSTALLED, "predict", "--help"],
    "lightly-byel export --help": [INSTALLED, "export", "--help"],
    'python -c "import torch" (reference)': [sys.executable, "-c", "import torch"],
}
"""What is timed, by the name the table shows."""


@dataclass(frozen=True)
class HelpTimeFlags:
    """The command line."""

    repeats: int = setting(10, "timed runs of each command", flag="repeats", minimum=1)
    output: Path = setting(
        BENCHMARKS / "results", "folder of the results files", flag="output"
    )


def wall_time(command: list[str]) -> float:
    """Seconds from the start of ``command`` to its exit.

    Raises:
        RuntimeError: If the command fails, with the end of its error output.
    """
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed: {done.stderr[-2000:]}")
    return seconds


def measure(repeats: int) -> dict[str, list[float]]:
    """The wall times of every command, ``repeats`` each, taken in turn.

    Taking the commands in turn spreads the machine's changes in speed over all
    of them alike.
    """
    for command in COMMANDS.values():
        wall_time(command)  # the warm-up round
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name, command in COMMANDS.items():
            times[name].append(wall_time(command))
    return times


def table(times: dict[str, list[float]]) -> str:
    """The Markdown table: median, lowest and highest seconds of each command."""
    lines = [
        "| command | median s | min s | max s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, seconds in times.items():
        spread = Spread.of(seconds)
        lines.append(
            f"| `{name}` | {spread.median:.3f} | {spread.low:.3f} | {spread.high:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Times the commands, prints the table and writes it; returns 0."""
    args = parse_script_flags(HelpTimeFlags, __file__, __doc__, argv)
    times = measure(args.repeats)
    markdown = table(times)
    print(markdown, end="")
    payload = {
        "repeats": args.repeats,
        "python": sys.version.split()[0],
        "seconds": times,
        "median_seconds": {name: Spread.of(s).median for name, s in times.items()},
    }
    path = write_report(args.output, "help_time", payload, markdown)
    print(f"Results: {shown(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
