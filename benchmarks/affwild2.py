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

import signal
import sys
from collections.abc import Sequence

from harness.config.flags import PROG, parse


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark from the command line; returns the exit status.

    Returns:
        0 when every unit finished, 1 when some stopped with an error (they are
        listed in results.md), 2 on a usage error, which is printed as one line,
        and 143 (128 + SIGTERM) when a SIGTERM stopped training.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    # --help and mistakes in the flags answer at once: torch and Lightning, which
    # take seconds to import, load only once the flags are read.
    parsed = parse(arguments)
    from harness.runs.command_line import checked
    from harness.runs.run import run_benchmark
    from harness.storage.lock import RunLockedError
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    parsed = checked(parsed)
    try:
        summary = run_benchmark(parsed.config)
    except SIGTERMException:
        # Lightning stops a fit on SIGTERM with a SystemExit of status 0; a run
        # that stopped early must not look finished to a scheduler or a script.
        print(
            f"{PROG}: stopped by SIGTERM; finished units and the last epoch "
            "checkpoint are kept, --resume continues.",
            file=sys.stderr,
        )
        return 128 + signal.SIGTERM
    # Mistakes a user can fix from the message alone: a setting, a path, a folder
    # in use, a refused resume. They are one line; --debug shows the traceback.
    except (ValueError, OSError, RunLockedError) as error:
        if parsed.debug:
            raise
        print(f"{PROG}: error: {error} (--debug shows the traceback)", file=sys.stderr)
        return 2
    if not summary.writer:
        return 0
    print()
    print((summary.output / "results.md").read_text(encoding="utf-8"))
    print(f"Results, plots and checkpoints: {summary.output}")
    if summary.failures:
        names = ", ".join(f"{f['method']} seed {f['seed']}" for f in summary.failures)
        print(f"Failed units: {names} (see results.md).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
