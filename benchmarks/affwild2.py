"""BYEL against BYOL, SimCLR and supervised training, from synthetic to real faces.

Pretrains each method on the synthetic training split (BYEL and supervised training
use its labels, BYOL and SimCLR do not), then evaluates every encoder with a linear
probe on frozen features and with fine-tuning (Dropout + Linear), both trained on
synthetic labels only, and scores them on the evaluation ("real") split: macro F1
over the six classes (the ABAW metric), accuracy, per-class F1, confusion matrix.

Run from the repository root::

    python benchmarks/affwild2.py                    # embedded synthetic faces
    python benchmarks/affwild2.py --preset smoke     # the same pipeline, tiny
    python benchmarks/affwild2.py --preset paper --data-root /data/lsd
    python benchmarks/affwild2.py --help

Outputs go to ``--output`` (default ``runs/affwild2/<timestamp>``): results.json,
results.md, plots, Lightning logs and checkpoints, and the resolved config.yaml.
"""

from collections.abc import Sequence

from harness.config import resolve
from harness.run import run_benchmark


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark from the command line; returns the exit status."""
    config = resolve(argv)
    output = run_benchmark(config)
    print()
    print((output / "results.md").read_text(encoding="utf-8"))
    print(f"Results, plots and checkpoints: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
