import sys
from pathlib import Path

import pytest
from harness.reporting import plots
from harness.reporting.records import RunRecord
from harness.reporting.report import TITLES

CLASSES = ["ANGER", "HAPPINESS"]
RUNS = [
    RunRecord(
        method=method,
        seed=seed,
        protocol=protocol,
        macro_f1=0.3 + 0.1 * seed,
        accuracy=0.5,
        per_class_f1={"ANGER": 0.3, "HAPPINESS": 0.4},
        macro_f1_ci95=[0.2 + 0.1 * seed, 0.4 + 0.1 * seed],
        # byol has no holdout split: the plot leaves out its in-domain marker.
        holdout_macro_f1=0.8 + 0.05 * seed if method == "byel" else None,
        confusion_matrix=[[3, 1], [2, 4 + seed]],
        selection="fixed schedule, last epoch",
        train_seconds=1.0,
        images_per_second=1.0,
        pretrain_seconds=None,
        pretrain_images_per_second=None,
    )
    for method in ("byel", "byol")
    for seed in (0, 1)
    for protocol in ("linear", "finetune")
]

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 1000


def test_macro_f1_and_confusion_plots(tmp_path: Path) -> None:
    plots.plot_macro_f1(RUNS, tmp_path / "macro_f1.png", TITLES)
    plots.plot_confusion_matrices(RUNS, CLASSES, tmp_path / "confusion.png", TITLES)
    plots.plot_confusion_matrices(
        RUNS, CLASSES, tmp_path / "linear.png", TITLES, protocols=["linear"]
    )
    assert all(map(is_png, tmp_path.iterdir()))
    assert len(list(tmp_path.iterdir())) == 3


def test_training_curves(tmp_path: Path) -> None:
    logs = {}
    for method in ("byel", "byol"):
        log = tmp_path / method / "metrics.csv"
        log.parent.mkdir()
        rows = [f"0,{step},{3 - step / 10}," for step in range(20)] + ["0,19,,0.5"]
        log.write_text("epoch,step,train_loss,holdout_macro_f1\n" + "\n".join(rows))
        logs[method] = log
    plots.plot_training_curves(logs, tmp_path / "curves.png")
    assert is_png(tmp_path / "curves.png")
    (tmp_path / "bad.csv").write_text("epoch,step,val\n0,1,2\n")
    with pytest.raises(ValueError, match="no train_loss"):
        plots.plot_training_curves({"x": tmp_path / "bad.csv"}, tmp_path / "no.png")


def test_nothing_to_plot(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no runs"):
        plots.plot_macro_f1([], tmp_path / "empty.png", TITLES)
    with pytest.raises(ValueError, match="no runs"):
        plots.plot_confusion_matrices(
            RUNS, CLASSES, tmp_path / "x.png", TITLES, ["other"]
        )


def test_missing_matplotlib_raises_import_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="need matplotlib"):
        plots.plot_macro_f1(RUNS, tmp_path / "macro_f1.png", TITLES)
    assert not (tmp_path / "macro_f1.png").exists()
