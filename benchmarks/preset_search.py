r"""Which encoder, input size and schedule learn the most per second on this machine.

For every combination of ``--backbones``, ``--sizes`` and ``--epochs`` it runs the
benchmark itself (``benchmarks/affwild2.py``'s code) with the supervised method and
the ``random-init`` control, evaluated by a linear probe, and tabulates the
pretraining seconds against the macro F1 on the held-out synthetic people (in-domain)
and on the eval split. Supervised training on the synthetic labels is the fixed,
method-independent check of what an encoder can learn in a budget; no
self-supervised method takes part in the choice. The random-init row of the same
encoder shows what its random features give without any training.

Run from the repository root, e.g.::

    python benchmarks/preset_search.py --backbones resnet18,resnet10-w32 \
        --sizes 48,64 --epochs 10,20

Any other flag goes to ``benchmarks/affwild2.py`` (``--preset``, ``--lr``,
``--batch-size-per-device``, ...). Each combination keeps its own results folder
under ``--output`` (default ``benchmarks/results/preset_search``), so an interrupted
search continues where it stopped; ``preset_search.json`` and ``preset_search.md``
collect the table.
"""

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config.declared import (
    add_flags,
    declared_fields,
    flags_from,
    script_parser,
    setting,
)
from harness.reporting.results import read_results_json
from harness.runs.command_line import resolve
from harness.runs.run import run_benchmark
from harness.scripts.results import write_report

from lightly_byel.models.backbones import build_backbone

DEFAULT_OUTPUT = Path("benchmarks") / "results" / "preset_search"
METHODS = ("supervised", "random-init")


@dataclass(frozen=True)
class SearchFlags:
    """The search's own flags; the others go to the benchmark."""

    backbones: tuple[str, ...] = setting(
        ("resnet18", "resnet10-w32"), "backbones to try", flag="backbones"
    )
    sizes: tuple[int, ...] = setting(
        (48,), "input sizes to try, in pixels", flag="sizes", minimum=16
    )
    epochs: tuple[int, ...] = setting(
        (20,), "pretraining epochs to try", flag="epochs", minimum=1
    )
    output: Path = setting(DEFAULT_OUTPUT, "results folder", flag="output")


def parse_args(
    argv: Sequence[str] | None,
) -> tuple[SearchFlags, list[str]]:
    """The search's own flags, and the rest for the benchmark."""
    p = script_parser(__file__, __doc__)
    add_flags(p, declared_fields(SearchFlags))
    args, rest = p.parse_known_args(argv)
    return flags_from(SearchFlags, args, p), rest


def search_cell(
    backbone: str, size: int, epochs: int, output: Path, benchmark_argv: list[str]
) -> dict[str, Any]:
    """Runs (or reads back) one combination; returns its row of the table.

    The row names its results file and the software and hardware it ran on.
    """
    # The benchmark flags are part of the name, so that searches with other
    # flags (a learning rate, a batch size) keep their own folders.
    name = "-".join([backbone, f"{size}px", f"{epochs}ep", *benchmark_argv])
    folder = output / re.sub(r"[^A-Za-z0-9.=_-]+", "-", name.replace("--", ""))
    argv = [
        *benchmark_argv,
        "--backbone",
        backbone,
        "--input-size",
        str(size),
        "--epochs",
        str(epochs),
        "--methods",
        ",".join(METHODS),
        "--protocols",
        "linear",
        "--seeds",
        "0",
        "--output",
        str(folder),
    ]
    # Started, continued after an interruption, or read back when finished.
    config = resolve([*argv, "--resume"])
    started = time.perf_counter()
    run_benchmark(config)
    seconds = time.perf_counter() - started
    results = read_results_json(folder / "results.json")
    runs = {run["method"]: run for run in results["runs"]}
    encoder, _ = build_backbone(backbone)
    trained, control = runs["supervised"], runs["random-init"]
    return {
        "backbone": backbone,
        "input_size": size,
        "epochs": epochs,
        "parameters": sum(p.numel() for p in encoder.parameters()),
        "pretrain_seconds": trained["pretrain_seconds"],
        "pretrain_images_per_second": trained["pretrain_images_per_second"],
        "supervised_holdout_macro_f1": trained["holdout_macro_f1"],
        "supervised_eval_macro_f1": trained["macro_f1"],
        "random_init_holdout_macro_f1": control["holdout_macro_f1"],
        "random_init_eval_macro_f1": control["macro_f1"],
        "cell_seconds": seconds,
        "results": str(folder / "results.json"),
        "environment": results["environment"],
    }


def table(rows: Sequence[dict[str, Any]], benchmark_argv: Sequence[str]) -> str:
    """The rows as a Markdown table, best supervised holdout score first."""

    def score(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    def seconds(value: float | None) -> str:
        return "resumed" if value is None else f"{value:.0f}"

    flags = " ".join(benchmark_argv) or "none"
    lines = [
        f"Benchmark flags besides the preset's: `{flags}`.",
        "",
        "| backbone | size | epochs | parameters | pretraining s | images/s "
        "| supervised holdout | supervised eval | random-init holdout "
        "| random-init eval |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ranked = sorted(rows, key=lambda row: -(row["supervised_holdout_macro_f1"] or 0.0))
    for row in ranked:
        rate = row["pretrain_images_per_second"]
        lines.append(
            f"| {row['backbone']} | {row['input_size']} | {row['epochs']} "
            f"| {row['parameters'] / 1e6:.2f} M | {seconds(row['pretrain_seconds'])} "
            f"| {'n/a' if rate is None else f'{rate:.0f}'} "
            f"| {score(row['supervised_holdout_macro_f1'])} "
            f"| {score(row['supervised_eval_macro_f1'])} "
            f"| {score(row['random_init_holdout_macro_f1'])} "
            f"| {score(row['random_init_eval_macro_f1'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the search and writes its table; returns the exit status."""
    args, benchmark_argv = parse_args(argv)
    sizes, epochs = args.sizes, args.epochs
    rows: list[dict[str, Any]] = []
    for backbone in args.backbones:
        for size in sizes:
            for count in epochs:
                print(f"\n=== {backbone} at {size} px, {count} epochs ===", flush=True)
                rows.append(
                    search_cell(backbone, size, count, args.output, benchmark_argv)
                )
                report = {"rows": rows, "benchmark_flags": benchmark_argv}
                write_report(
                    args.output, "preset_search", report, table(rows, benchmark_argv)
                )
    print()
    print(table(rows, benchmark_argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
