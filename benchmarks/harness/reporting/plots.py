"""Figures of a benchmark run: macro F1, confusion matrices, loss curves.

Macro F1 is plotted per method, and per evaluation set when a run has several.

Every figure takes a method's colour from :func:`method_colour`, which depends on
the method's name only, so a method keeps its colour across the figures of a run
whatever methods, seeds or order each figure shows. Legends sit outside the axes,
where they hide no data.

matplotlib is optional. The figures are drawn with its object API (``Figure``),
without pyplot, so no GUI backend or global state is involved. Each ``*_figure``
function returns its figure and the ``plot_*`` function of the same name writes it
as a PNG, atomically; all raise ``ImportError`` with an explanation when matplotlib
is missing.
"""

import colorsys
import csv
import re
import statistics
import zlib
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

METHOD_COLOURS = {
    "byel": "#1f77b4",
    "byol": "#ff7f0e",
    "simclr": "#2ca02c",
    "supervised": "#d62728",
    "byel-no-subtraction": "#9467bd",
    "byel-no-ce": "#8c564b",
    "byel-no-orth": "#e377c2",
    "random-init": "#bcbd22",
}
"""The colour of each method of :data:`~harness.methods.METHODS` (matplotlib's
``tab10``). Grey and black are left out: they mark seeds, legend keys and the
pretraining monitor."""

NEUTRAL = "0.3"
"""The colour of legend keys that stand for every method."""

HATCHES = ("", "//", "..", "xx", "\\\\", "oo")
"""Bar fills of the evaluation sets, the main one solid: colour is the method's."""


def method_colour(method: str) -> str:
    """The colour of a method in every figure, as a hex string.

    A method of :data:`METHOD_COLOURS` has its own; any other name gets a hue from
    a hash of the name, so it is the same in every figure and every run, and two
    names rarely look alike.

    Examples:
        >>> method_colour("byel")
        '#1f77b4'
        >>> method_colour("new-method") == method_colour("new-method")
        True
    """
    if method in METHOD_COLOURS:
        return METHOD_COLOURS[method]
    # crc32 rather than hash(): str hashes change between processes.
    hue = zlib.crc32(method.encode("utf-8")) / 2**32
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.7, 0.75)
    return "#" + "".join(f"{round(255 * part):02x}" for part in (red, green, blue))


def unit_method(unit: str) -> str:
    """The method of a unit name (``byel-seed0``); a name without a seed as it is.

    Examples:
        >>> unit_method("byel-no-ce-seed12"), unit_method("byol")
        ('byel-no-ce', 'byol')
    """
    match = re.fullmatch(r"(.+)-seed\d+", unit)
    return match.group(1) if match else unit


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
    """Writes :func:`macro_f1_figure` of the runs to ``path`` as a PNG.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there are no runs.
    """
    _save(macro_f1_figure(runs, titles), path)


def macro_f1_figure(runs: Sequence[RunRecord], titles: Mapping[str, str]) -> "Figure":
    """The eval macro F1 of each method beside its holdout one, per protocol.

    Each method shows its seeds as grey dots, their mean as a bar-less marker with
    the mean bootstrap 95% interval as error bar, and the mean as a number. Left of
    it, a hollow diamond marks the mean macro F1 on the held-out synthetic images
    (in-domain), joined to the eval mean by a line: its length is the domain gap.
    The marker, line and diamond have the method's colour (:func:`method_colour`).

    Args:
        runs: The records.
        titles: The heading of each protocol, in reporting order.

    Returns:
        The figure, one panel per protocol, the legend below the panels.

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
        for x, (method, method_runs) in enumerate(methods.items()):
            _method_scores(axes, x, method_colour(method), method_runs)
        axes.set_xticks(range(len(methods)), list(methods), fontsize=FONT_SIZE)
        axes.set_xlim(-0.6, len(methods) - 0.4)
        axes.set_title(titles.get(protocol, protocol), fontsize=FONT_SIZE + 1)
        axes.grid(axis="y", alpha=0.3)
        axes.tick_params(labelsize=FONT_SIZE)
    panels[0].set_ylim(0.0, min(1.0, top * 1.15 + 0.02))
    _macro_f1_keys(panels[0], any(run.holdout_macro_f1 is not None for run in runs))
    title = "Expression macro F1 (ABAW metric), trained on synthetic labels only"
    _finish_macro_f1(figure, panels, title)
    return figure


def _macro_f1_keys(axes: Any, holdout: bool) -> None:
    """Draws the legend's keys, in a neutral colour, as artists without data.

    The keys stand for every method: drawn in the first method's colour they
    would read as that method's.
    """
    nothing = [float("nan")]
    axes.scatter(nothing, nothing, s=22, color="0.45", label="seeds")
    axes.errorbar(
        nothing,
        nothing,
        yerr=[[0.0], [0.0]],
        fmt="o",
        markersize=9,
        capsize=7,
        elinewidth=2,
        color=NEUTRAL,
        label="mean, bootstrap 95% interval",
    )
    if holdout:
        axes.scatter(
            nothing,
            nothing,
            s=60,
            marker="D",
            facecolors="none",
            edgecolors=NEUTRAL,
            label="holdout (in-domain) mean",
        )


def _method_scores(
    axes: Any, x: int, colour: str, method_runs: Sequence[RunRecord]
) -> None:
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
    )
    axes.errorbar(
        [x],
        [mean],
        yerr=[[max(mean - low, 0.0)], [max(high - mean, 0.0)]],
        fmt="o",
        markersize=9,
        capsize=7,
        elinewidth=2,
        color=colour,
        zorder=4,
    )
    holdout = [run.holdout_macro_f1 for run in method_runs]
    if all(score is not None for score in holdout):
        in_domain = statistics.fmean(score or 0.0 for score in holdout)
        axes.plot([x - 0.3, x], [in_domain, mean], color=colour, lw=1, alpha=0.5)
        axes.scatter(
            [x - 0.3],
            [in_domain],
            s=60,
            marker="D",
            facecolors="none",
            edgecolors=colour,
            zorder=4,
        )
    axes.annotate(
        f"{mean:.3f}",
        (x, high),
        xytext=(0, 6),
        textcoords="offset points",
        ha="center",
        fontsize=FONT_SIZE,
    )


def _finish_macro_f1(
    figure: "Figure", panels: Any, title: str, handles: Sequence[Any] = ()
) -> None:
    """Labels the macro F1 axis and puts the legend below the panels.

    The legend has the labelled artists of the first panel, or ``handles``.
    """
    panels[0].set_ylabel("macro F1", fontsize=FONT_SIZE)
    if not handles:
        handles = panels[0].get_legend_handles_labels()[0]
    # Below the panels, where it hides no method's markers.
    figure.legend(
        handles=handles, loc="outside lower center", ncols=3, fontsize=FONT_SIZE - 1
    )
    figure.suptitle(title, fontsize=FONT_SIZE + 2)


def plot_eval_sets(
    runs: Sequence[RunRecord],
    main_set: str,
    path: Path,
    titles: Mapping[str, str],
) -> None:
    """Writes :func:`eval_sets_figure` of the runs to ``path`` as a PNG.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there are no runs.
    """
    _save(eval_sets_figure(runs, main_set, titles), path)


def eval_sets_figure(
    runs: Sequence[RunRecord], main_set: str, titles: Mapping[str, str]
) -> "Figure":
    """Each method's macro F1 on every evaluation set side by side.

    One panel per protocol; per method a group of bars, one per evaluation set
    (the main one first, then the others in order), at the mean over seeds with
    the seeds' standard deviation as error bar. The bars have the method's colour
    (:func:`method_colour`); each set keeps its fill (solid for the main one,
    hatched for the others) in every panel.

    Args:
        runs: The records, with ``other_eval_sets``.
        main_set: The main evaluation set's name, for the legend.
        titles: The heading of each protocol, in reporting order.

    Returns:
        The figure, one panel per protocol, the legend below the panels.

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
    # Importable once _new_figure has found matplotlib.
    from matplotlib.patches import Patch

    panels = figure.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    for axes, (protocol, methods) in zip(panels, groups.items(), strict=True):
        for x, (method, method_runs) in enumerate(methods.items()):
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
                    color=method_colour(method),
                    hatch=HATCHES[k % len(HATCHES)],
                    edgecolor="white",
                )
        axes.set_xticks(range(len(methods)), list(methods), fontsize=FONT_SIZE)
        axes.set_title(titles.get(protocol, protocol), fontsize=FONT_SIZE + 1)
        axes.grid(axis="y", alpha=0.3)
        axes.tick_params(labelsize=FONT_SIZE)
    panels[0].set_ylim(0.0, 1.0)
    # A set's key is its fill in a neutral colour: colour means the method.
    keys = [
        Patch(
            facecolor=NEUTRAL,
            edgecolor="white",
            hatch=HATCHES[k % len(HATCHES)],
            label=name,
        )
        for k, name in enumerate(sets)
    ]
    title = "Macro F1 on each evaluation set (mean ± std over seeds)"
    _finish_macro_f1(figure, panels, title, keys)
    return figure


def plot_confusion_matrices(
    runs: Sequence[RunRecord],
    class_names: Sequence[str],
    path: Path,
    titles: Mapping[str, str],
    protocols: Sequence[str] | None = None,
) -> None:
    """Writes :func:`confusion_figure` of the runs to ``path`` as a PNG.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there is nothing to plot or a matrix has the wrong size.
    """
    _save(confusion_figure(runs, class_names, titles, protocols), path)


def confusion_figure(
    runs: Sequence[RunRecord],
    class_names: Sequence[str],
    titles: Mapping[str, str],
    protocols: Sequence[str] | None = None,
) -> "Figure":
    """A row-normalised confusion matrix per method, a row of them per protocol.

    Each matrix pools the seeds' counts and divides every row by its total, so a
    cell is the share of a true class predicted as a class (the diagonal is each
    class's recall). Cells are annotated in percent. The cells' colour is the
    share; each matrix's title has its method's colour (:func:`method_colour`).

    Args:
        runs: The records.
        class_names: Class names in label order.
        titles: The heading of each protocol, in reporting order.
        protocols: Protocols to show, each a row; all present ones if ``None``.

    Returns:
        The figure.

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
                color=method_colour(method),
            )
        for axes in row[len(methods) :]:
            axes.set_axis_off()
    if image is not None:
        figure.colorbar(image, ax=grid, shrink=0.8, label="share of the true class")
    figure.suptitle(
        "Confusion matrices on the eval split (% of each true class, seeds pooled)",
        fontsize=FONT_SIZE + 2,
    )
    return figure


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


def plot_training_curves(csv_logs: Mapping[str, Path], path: Path) -> None:
    """Writes :func:`training_curves_figure` of the logs to ``path`` as a PNG.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If there are no logs or a log has no training loss.
    """
    _save(training_curves_figure(csv_logs), path)


def training_curves_figure(csv_logs: Mapping[str, Path]) -> "Figure":
    """The training loss against the step, one panel per unit.

    Losses of different methods are on different scales, so each unit has its
    own panel, titled with its name: the logged values, faint, and their running
    mean, in the method's colour (:func:`method_colour`; the seeds of a method
    share it). Where the pretraining monitor logged, its k-NN holdout macro F1 and
    embedding spread are drawn in black on a second axis, with their legend below
    the panels.

    Args:
        csv_logs: ``metrics.csv`` of a Lightning ``CSVLogger`` per unit
            (``byel-seed0``) or method name, with a ``train_loss`` (or
            ``train_loss_step``) column.

    Returns:
        The figure.

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
    for axes, (name, (steps, losses)) in zip(grid.flat, curves.items(), strict=False):
        colour = method_colour(unit_method(name))
        axes.plot(steps, losses, color=colour, alpha=0.3, linewidth=1)
        window = max(1, len(losses) // 25)
        if len(losses) >= window:
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            axes.plot(steps[window - 1 :], smooth, color=colour, linewidth=2)
        axes.set_title(name, fontsize=FONT_SIZE + 1)
        axes.set_xlabel("training step", fontsize=FONT_SIZE)
        axes.set_ylabel("training loss", fontsize=FONT_SIZE)
        axes.tick_params(labelsize=FONT_SIZE - 1)
        axes.grid(alpha=0.3)
        _plot_monitor(axes, csv_logs[name])
    for axes in list(grid.flat)[len(curves) :]:
        axes.set_axis_off()
    # One legend for all panels, below them: inside a panel it hid the monitor's
    # curves where they come near 1.
    keys: dict[str, Any] = {}
    for axes in figure.axes:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            keys.setdefault(label, handle)
    if keys:
        figure.legend(
            handles=list(keys.values()),
            loc="outside lower center",
            ncols=len(keys),
            fontsize=FONT_SIZE - 1,
        )
    figure.suptitle(
        "Training loss (faint: logged values, bold: running mean; black: the "
        "pretraining monitor)",
        fontsize=FONT_SIZE + 2,
    )
    return figure
