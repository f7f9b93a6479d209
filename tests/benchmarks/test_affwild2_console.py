"""What `benchmarks/affwild2.py` prints to a file: readable lines, no library noise."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

AFFWILD2 = Path(__file__).resolve().parents[2] / "benchmarks" / "affwild2.py"

NOISE = (
    "LeafSpec",  # a DeprecationWarning raised inside Lightning
    "litlogger",  # Lightning's tip, once per fit
    "GPU available",  # Lightning's hardware lines, once per fit
    "Total params",  # the model summary
    "it/s",  # the progress bar
    "\r",  # its carriage returns
    "v_num",
    "Seed set to",
    "weights_only",
)


def test_a_redirected_run_prints_one_line_per_epoch_and_no_library_noise(
    tmp_path: Path, smoke: Callable[..., list[str]]
) -> None:
    # Run as a user would, its output going to a pipe, not a terminal, and with
    # Python's default warning filters (not pytest's).
    argv = smoke(tmp_path / "run", "--methods", "byel,supervised")
    done = subprocess.run(
        [sys.executable, str(AFFWILD2), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout + done.stderr
    for noise in NOISE:
        assert noise not in printed, noise
    lines = printed.splitlines()
    # The smoke preset pretrains one epoch and fine-tunes one: a line each.
    assert any(
        line.startswith("byel") and ": epoch 1/1, " in line and "train_loss" in line
        for line in lines
    ), printed[:3000]
    assert sum(": epoch 1/1, " in line for line in lines) >= 4
    assert len(lines) < 150, len(lines)
    assert "Results, plots and checkpoints:" in printed
