"""Figures of a benchmark run: macro F1, confusion matrices, loss curves.

Macro F1 is plotted per method, and per evaluation set when a run has several.

matplotlib is optional. The figures are drawn with its object API (``Figure``),
without pyplot, so no GUI backend or global state is involved; every function raises
``ImportError`` with an explanation when matplotlib is missing. PNGs are written
atomically.
"""

import csv
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.reporting.records import RunRecord, group_runs
from lightly_byel.utils.atomic_files import write_atomic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FONT_SIZE = 11
DPI = 120


def _new_figure(width: float, height: float) -> "Figure":
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plots need matplotlib (pip install matplotlib); the results files do not"
        ) from error
    return Figure(figsize=(width, height), layout="constrained")


def _save(figure: "Figure", path: Path) -> None:
    write_atomic(path, lambda file: figure.savefig(file, format="png", dpi=DPI))


def plot_macro_f1(
    runs: Sequence[RunRecord], path: Path, titles: Mapping[str, str]
) -> None:
    """Plots the eval macro F1 of each method beside its holdout one, per protocol.

    Each method shows its seeds as grey dots, their mean as a bar-less marker with
    the mean bootstrap 95% interval as error bar, and the mean as a number. Left of
    it, a hollow diamond marks the mean macro F1 on the held-out synthetic images
    (in-domain), joined to the eval mean by a line: its length is the domain gap.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there are no runs.
    """
    groups = group_runs(runs, list(titles))
    if not groups:
        raise ValueError("no runs to plot")
    widest = max(len(methods) for methods in groups.values())
    figure = _new_figure(1.2 + 1.3 * widest * len(groups), 4.6)
    panels = figure.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    top = max(
        max(run.macro_f1_ci95[1], run.macro_f1, run.holdout_macro_f1 or 0.0)
        for run in runs
    )
    for axes, (protocol, methods) in zip(panels, groups.items(), strict=True):
        for x, method_runs in enumerate(methods.values()):
            _method_scores(axes, x, method_runs)
        axes.set_xticks(range(len(methods)), list(methods), fontsize=FONT_SIZE)
        axes.set_xlim(-0.6, len(methods) - 0.4)
        axes.set_title(titles.get(protocol, protocol), fontsize=FONT_SIZE + 1)
        axes.grid(axis="y", alpha=0.3)
        axes.tick_params(labelsize=FONT_SIZE)
    panels[0].set_ylim(0.0, min(1.0, top * 1.15 + 0.02))
    title = "Expression macro F1 (ABAW metric), trained on synthetic labels only"
    _finish_macro_f1(figure, panels, title, path)


def _method_scores(axes: Any, x: int, method_runs: Sequence[RunRecord]) -> None:
    """Draws one method's seeds, mean with interval, and holdout mean at ``x``."""
    scores = [run.macro_f1 for run in method_runs]
    mean = statistics.fmean(scores)
    low = statistics.fmean(run.macro_f1_ci95[0] for run in method_runs)
    high = statistics.fmean(run.macro_f1_ci95[1] for run in method_runs)
    # Spread the seeds sideways so that equal scores stay visible.
    offsets = np.linspace(-0.12, 0.12, len(scores)) if len(scores) > 1 else [0]
    axes.scatter(
        x + np.asarray(offsets) + 0.18,
        scores,
        s=22,
        color="0.45",
        zorder=3,
        label="seeds" if x == 0 else None,
    )
    axes.errorbar(
        [x],
        [mean],
        yerr=[[max(mean - low, 0.0)], [max(high - mean, 0.0)]],
        fmt="o",
        markersize=9,
        capsize=7,
        elinewidth=2,
        color=f"C{x}",
        zorder=4,
        label="mean, bootstrap 95% interval" if x == 0 else None,
    )
    holdout = [run.holdout_macro_f1 for run in method_runs]
    if all(score is not None for score in holdout):
        in_domain = statistics.fmean(score or 0.0 for score in holdout)
        axes.plot([x - 0.3, x], [in_domain, mean], color=f"C{x}", lw=1, alpha=0.5)
        axes.scatter(
            [x - 0.3],
            [in_domain],
            s=60,
            marker="D",
            facecolors="none",
            edgecolors=f"C{x}",
            zorder=4,
            label="holdout (in-domain) mean" if x == 0 else None,
        )
    axes.annotate(
        f"{mean:.3f}",
        (x, high),
        xytext=(0, 6),
        textcoords="offset points",
        ha="center",
        fontsize=FONT_SIZE,
    )


def _finish_macro_f1(figure: "Figure", panels: Any, title: str, path: Path) -> None:
    """Labels the macro F1 axis, puts the legend below the panels, and saves."""
    panels[0].set_ylabel("macro F1", fontsize=FONT_SIZE)
    # Below the panels, where no method's markers are.
    handles, labels = panels[0].get_legend_handles_labels()
    figure.legend(
        handles, labels, loc="outside lower center", ncols=3, fontsize=FONT_SIZE - 1
    )
    figure.suptitle(title, fontsize=FONT_SIZE + 2)
    _save(figure, path)


def plot_eval_sets(
    runs: Sequence[RunRecord],
    main_set: str,
    path: Path,
    titles: Mapping[str, str],
) -> None:
    """Plots each method's macro F1 on every evaluation set side by side.

    One panel per protocol; per method a group of bars, one per evaluation set
    (the main one first, then the others in order), at the mean over seeds with
    the seeds' standard deviation as error bar. Each set keeps its colour in every
    panel.

    Args:
        runs: The records, with ``other_eval_sets``.
        main_set: The main evaluation set's name, for the legend.
        path: The PNG to write.
        titles: The heading of each protocol, in reporting order.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there are no runs.
    """
    groups = group_runs(runs, list(titles))
    if not groups:
        raise ValueError("no runs to plot")
    others: dict[str, None] = {}
    for run in runs:
        others.update(dict.fromkeys(run.other_eval_sets))
    sets = [main_set, *others]
    widest = max(len(methods) for methods in groups.values())
    width = 0.8 / len(sets)
    figure = _new_figure(1.5 + 0.5 * len(sets) * widest * len(groups), 4.6)
    panels = figure.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    for axes, (protocol, methods) in zip(panels, groups.items(), strict=True):
        for x, method_runs in enumerate(methods.values()):
            for k, name in enumerate(sets):
                scores = [
                    run.macro_f1 if k == 0 else run.other_eval_sets[name].macro_f1
                    for run in method_runs
                    if k == 0 or name in run.other_eval_sets
                ]
                if not scores:
                    continue
                spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
                axes.bar(
                    x - 0.4 + width * (k + 0.5),
                    statistics.fmean(scores),
                    width,
                    yerr=spread,
                    capsize=3,
                    color=f"C{k}",
                    label=name if x == 0 else None,
                )
        axes.set_xticks(range(len(methods)), list(methods), fontsize=FONT_SIZE)
        axes.set_title(titles.get(protocol, protocol), fontsize=FONT_SIZE + 1)
        axes.grid(axis="y", alpha=0.3)
        axes.tick_params(labelsize=FONT_SIZE)
    panels[0].set_ylim(0.0, 1.0)
    title = "Macro F1 on each evaluation set (mean ± std over seeds)"
    _finish_macro_f1(figure, panels, title, path)


def plot_confusion_matrices(
    runs: Sequence[RunRecord],
    class_names: Sequence[str],
    path: Path,
    titles: Mapping[str, str],
    protocols: Sequence[str] | None = None,
) -> None:
    """Plots a row-normalised confusion matrix per method, a row of them per protocol.

    Each matrix pools the seeds' counts and divides every row by its total, so a
    cell is the share of a true class predicted as a class (the diagonal is each
    class's recall). Cells are annotated in percent.

    Args:
        runs: The records.
        class_names: Class names in label order.
        path: The PNG to write.
        titles: The heading of each protocol, in reporting order.
        protocols: Protocols to show, each a row; all present ones if ``None``.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there is nothing to plot or a matrix has the wrong size.
    """
    groups = group_runs(runs, list(titles))
    if protocols is not None:
        groups = {p: groups[p] for p in protocols if p in groups}
    if not groups:
        raise ValueError("no runs to plot")
    columns = max(len(methods) for methods in groups.values())
    size = 1.2 + 0.42 * len(class_names)
    figure = _new_figure(0.6 + size * columns, 0.5 + size * len(groups))
    grid = figure.subplots(len(groups), columns, squeeze=False)
    image = None
    for row, (protocol, methods) in zip(grid, groups.items(), strict=True):
        for axes, (method, method_runs) in zip(row, methods.items(), strict=False):
            counts = np.sum([run.confusion_matrix for run in method_runs], axis=0)
            if counts.shape != (len(class_names), len(class_names)):
                raise ValueError(
                    f"{method} ({protocol}): confusion matrix of shape {counts.shape} "
                    f"for {len(class_names)} classes"
                )
            totals = counts.sum(axis=1, keepdims=True)
            shares = np.divide(
                counts, totals, out=np.full(counts.shape, np.nan), where=totals > 0
            )
            image = _draw_matrix(axes, shares, class_names)
            mean_f1 = statistics.fmean(run.macro_f1 for run in method_runs)
            seeds = len(method_runs)
            axes.set_title(
                f"{method}, {titles.get(protocol, protocol).split(' (')[0]}\n"
                f"macro F1 {mean_f1:.3f} ({seeds} seed{'s' if seeds > 1 else ''})",
                fontsize=FONT_SIZE,
            )
        for axes in row[len(methods) :]:
            axes.set_axis_off()
    if image is not None:
        figure.colorbar(image, ax=grid, shrink=0.8, label="share of the true class")
    figure.suptitle(
        "Confusion matrices on the eval split (% of each true class, seeds pooled)",
        fontsize=FONT_SIZE + 2,
    )
    _save(figure, path)


def _draw_matrix(axes: "Axes", shares: np.ndarray, class_names: Sequence[str]) -> Any:
    image = axes.imshow(shares, vmin=0.0, vmax=1.0, cmap="Blues")
    ticks = range(len(class_names))
    names = [name.capitalize() for name in class_names]
    axes.set_xticks(ticks, names, rotation=45, ha="right", fontsize=FONT_SIZE - 2)
    axes.set_yticks(ticks, names, fontsize=FONT_SIZE - 2)
    axes.set_xlabel("predicted", fontsize=FONT_SIZE - 1)
    axes.set_ylabel("true", fontsize=FONT_SIZE - 1)
    for (row, column), share in np.ndenumerate(shares):
        if not np.isnan(share):
            axes.text(
                column,
                row,
                f"{100 * share:.0f}",
                ha="center",
                va="center",
                fontsize=FONT_SIZE - 3,
                color="white" if share > 0.55 else "black",
            )
    return image


MONITORED = {
    "knn_holdout_macro_f1": "k-NN holdout macro F1",
    "embedding_spread": "embedding spread (std x sqrt(dim))",
}
"""The monitor's columns (:mod:`harness.evaluation.monitoring`), by label."""


def _read_column(
    rows: Sequence[Mapping[str, str]], column: str
) -> tuple[list[float], list[float]]:
    """Steps and values of one column; a resumed fit's repeated step: the last."""
    points = {float(row["step"]): float(row[column]) for row in rows if row.get(column)}
    steps = sorted(points)
    return steps, [points[step] for step in steps]


def _read_losses(path: Path) -> tuple[list[float], list[float]]:
    """Steps and training losses of a Lightning CSVLogger ``metrics.csv``.

    A resumed fit logs again the steps after its checkpoint; the last value of a
    step counts.
    """
    rows = _read_rows(path)
    columns = rows[0].keys() if rows else []
    column = next((c for c in ("train_loss", "train_loss_step") if c in columns), None)
    if column is None:
        raise ValueError(f"{path}: no train_loss column")
    return _read_column(rows, column)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _plot_monitor(axes: Any, path: Path) -> None:
    """The monitor's values of a log on a second axis, 0 to 1, where logged."""
    rows = _read_rows(path)
    logged = [c for c in MONITORED if rows and c in rows[0]]
    if not logged:
        return
    twin = axes.twinx()
    for column, style in zip(logged, ("o-", "s--"), strict=False):
        steps, values = _read_column(rows, column)
        twin.plot(
            steps,
            values,
            style,
            color="black",
            markersize=3,
            linewidth=1,
            label=MONITORED[column],
        )
    twin.set_ylim(0.0, max(1.0, *(twin.get_ylim()[1:])))
    twin.set_ylabel("monitor (black)", fontsize=FONT_SIZE)
    twin.tick_params(labelsize=FONT_SIZE - 1)
    twin.legend(fontsize=FONT_SIZE - 2, loc="upper right")


def plot_training_curves(csv_logs: Mapping[str, Path], path: Path) -> None:
    """Plots the training loss against the step, one panel per method.

    Losses of different methods are on different scales, so each method has its
    own panel: the logged values, faint, and their running mean. Where the
    pretraining monitor logged, its k-NN holdout macro F1 and embedding spread
    are drawn in black on a second axis.

    Args:
        csv_logs: ``metrics.csv`` of a Lightning ``CSVLogger`` per method name, with
            a ``train_loss`` (or ``train_loss_step``) column.
        path: The PNG to write.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there are no logs or a log has no training loss.
    """
    if not csv_logs:
        raise ValueError("no logs to plot")
    curves = {name: _read_losses(log) for name, log in csv_logs.items()}
    # Two by two reads better than three and one.
    columns = 2 if len(curves) == 4 else min(len(curves), 3)
    rows = -(-len(curves) // columns)
    figure = _new_figure(4.6 * columns, 3.4 * rows)
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, (axes, (name, (steps, losses))) in enumerate(
        zip(grid.flat, curves.items(), strict=False)
    ):
        axes.plot(steps, losses, color=f"C{index}", alpha=0.3, linewidth=1)
        window = max(1, len(losses) // 25)
        if len(losses) >= window:
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            axes.plot(steps[window - 1 :], smooth, color=f"C{index}", linewidth=2)
        axes.set_title(name, fontsize=FONT_SIZE + 1)
        axes.set_xlabel("training step", fontsize=FONT_SIZE)
        axes.set_ylabel("training loss", fontsize=FONT_SIZE)
        axes.tick_params(labelsize=FONT_SIZE - 1)
        axes.grid(alpha=0.3)
        _plot_monitor(axes, csv_logs[name])
    for axes in list(grid.flat)[len(curves) :]:
        axes.set_axis_off()
    figure.suptitle(
        "Training loss (faint: logged values, bold: running mean; black: the "
        "pretraining monitor)",
        fontsize=FONT_SIZE + 2,
    )
    _save(figure, path)
