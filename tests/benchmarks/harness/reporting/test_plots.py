import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from harness.evaluation.other_sets import SetScores
from harness.methods import METHODS
from harness.reporting import plots
from harness.reporting.records import RunRecord
from harness.reporting.report import TITLES
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

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

SCORES = {
    "macro_f1": 0.4,
    "macro_f1_ci95": [0.3, 0.5],
    "accuracy": 0.5,
    "per_class_f1": {"ANGER": 0.3, "HAPPINESS": 0.5},
    "images": 10,
}

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


def write_log(path: Path, monitored: bool = True) -> Path:
    """A pretraining ``metrics.csv`` whose monitor nears 1, where a legend hid it."""
    path.parent.mkdir(parents=True)
    header = "epoch,step,train_loss,knn_holdout_macro_f1,embedding_spread"
    rows = [f"0,{step},{3 - step / 10},," for step in range(20)]
    if monitored:
        rows += [f"0,{step},,{0.8 + step / 100},0.97" for step in (9, 19)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def records(methods: Sequence[str]) -> list[RunRecord]:
    return [
        replace(run, method=method)
        for method in methods
        for run in RUNS
        if run.method == "byel"
    ]


def macro_f1_colours(figure: Figure) -> dict[str, str]:
    """The colour of each method's mean marker, by its tick label, in every panel."""
    colours: dict[str, str] = {}
    for axes in figure.axes:
        names = [label.get_text() for label in axes.get_xticklabels()]
        for container in axes.containers:
            line = container.lines[0]
            x = line.get_xdata()[0]
            if np.isnan(x):
                continue  # a legend key, without data
            colour = to_hex(line.get_color())
            assert colours.setdefault(names[round(x)], colour) == colour
    return colours


def curve_colours(figure: Figure) -> dict[str, str]:
    """The colour of each panel's loss curves, by the panel's title."""
    colours = {}
    for axes in figure.axes:
        if axes.get_title():
            lines = {to_hex(line.get_color()) for line in axes.get_lines()}
            assert len(lines) == 1
            colours[axes.get_title()] = lines.pop()
    return colours


def test_a_method_has_one_colour_in_every_figure(tmp_path: Path) -> None:
    # The curves show the methods in another order, by seed, and lack byel.
    macro_f1 = macro_f1_colours(
        plots.macro_f1_figure(records(["byel", "byol", "supervised"]), TITLES)
    )
    units = ["supervised-seed1", "byol-seed0", "byol-seed1", "random-init-seed0"]
    logs = {unit: write_log(tmp_path / unit / "metrics.csv") for unit in units}
    curves = curve_colours(plots.training_curves_figure(logs))
    assert macro_f1["supervised"] == curves["supervised-seed1"]
    assert macro_f1["byol"] == curves["byol-seed0"] == curves["byol-seed1"]
    assert len(set(macro_f1.values())) == 3
    assert curves["random-init-seed0"] not in macro_f1.values()
    # A figure of other methods, in another order, keeps them.
    again = macro_f1_colours(
        plots.macro_f1_figure(records(["random-init", "supervised", "byol"]), TITLES)
    )
    assert again["supervised"] == macro_f1["supervised"]
    assert again["byol"] == macro_f1["byol"]
    assert again["random-init"] == curves["random-init-seed0"]
    for method, colour in again.items():
        assert colour == to_hex(plots.method_colour(method))


def test_eval_sets_and_confusion_use_the_method_colours() -> None:
    runs = [
        replace(run, other_eval_sets={"real": SetScores(**SCORES)})
        for run in records(["supervised", "byel"])
    ]
    figure = plots.eval_sets_figure(runs, "main", TITLES)
    bars = {to_hex(bar.get_facecolor()) for bar in figure.axes[0].patches}
    assert bars == {plots.method_colour("supervised"), plots.method_colour("byel")}
    figure = plots.confusion_figure(runs, CLASSES, TITLES)
    for axes in figure.axes:
        method = axes.get_title().split(",")[0]
        if method in ("supervised", "byel"):
            assert to_hex(axes.title.get_color()) == plots.method_colour(method)


def test_every_method_has_its_own_colour() -> None:
    assert set(METHODS) <= set(plots.METHOD_COLOURS)
    known = set(plots.METHOD_COLOURS.values())
    assert len(known) == len(plots.METHOD_COLOURS)
    unknown = plots.method_colour("new-method")
    assert unknown == plots.method_colour("new-method")
    assert unknown not in known
    assert unknown != plots.method_colour("other-method")
    assert plots.unit_method("byel-no-ce-seed3") == "byel-no-ce"


def overlaps(one: Bbox, other: Bbox) -> bool:
    """Whether two boxes share more than an edge."""
    return (
        min(one.x1, other.x1) - max(one.x0, other.x0) > 0.5
        and min(one.y1, other.y1) - max(one.y0, other.y0) > 0.5
    )


@pytest.mark.parametrize("figure_name", ["macro_f1", "eval_sets", "curves"])
def test_legends_cover_no_axes(tmp_path: Path, figure_name: str) -> None:
    if figure_name == "curves":
        logs = {
            unit: write_log(tmp_path / unit / "metrics.csv", unit != "byol-seed0")
            for unit in ("supervised-seed0", "byol-seed0", "byel-seed0")
        }
        figure = plots.training_curves_figure(logs)
    elif figure_name == "eval_sets":
        runs = [
            replace(run, other_eval_sets={"real": SetScores(**SCORES)}) for run in RUNS
        ]
        figure = plots.eval_sets_figure(runs, "main", TITLES)
    else:
        figure = plots.macro_f1_figure(RUNS, TITLES)
    FigureCanvasAgg(figure).draw()
    legends = [*figure.legends, *(axes.get_legend() for axes in figure.axes)]
    legends = [legend for legend in legends if legend is not None]
    assert legends
    for legend in legends:
        box = legend.get_window_extent()
        for axes in figure.axes:
            assert not overlaps(box, axes.get_window_extent()), axes.get_title()
