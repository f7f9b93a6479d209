"""``results.md``: per protocol, a table of scores and a table of per-class F1."""

import statistics
from collections.abc import Iterable, Mapping, Sequence

from harness.reporting.records import RunRecord, group_runs, mean_std

INTRO = (
    "Macro F1 (the ABAW metric), accuracy and per-class F1 on the eval split: mean ± "
    "standard deviation over seeds. The 95% interval is the bootstrap interval over "
    "eval images, averaged over seeds. *Holdout* is the macro F1 on the held-out "
    "synthetic images (in-domain, the split that selects the epoch); the difference "
    "to the eval split's is the domain gap. Training used synthetic labels only; the "
    "column *selection* says how the epoch was chosen."
)
HEADER = (
    "method",
    "macro F1",
    "95% interval",
    "holdout macro F1",
    "accuracy",
    "seeds",
    "selection",
)


def results_markdown(
    runs: Sequence[RunRecord],
    class_names: Sequence[str],
    titles: Mapping[str, str],
    context: str = "",
) -> str:
    """Summarises records as Markdown: per protocol, scores and per-class F1.

    Each method is one row. Scores are the mean ± standard deviation over seeds of
    the eval split's macro F1 and accuracy; the 95% interval is the mean over seeds
    of the bootstrap interval bounds (uncertainty from the eval sample, while the
    standard deviation is that from training seeds). Runs with further evaluation
    sets get a macro F1 column for each, after the main set's.

    Args:
        runs: The records.
        class_names: Classes for the per-class table, in label order.
        titles: The heading of each protocol, in reporting order.
        context: Paragraphs on the data and settings, placed after the intro.

    Returns:
        The Markdown text, ending in a newline.
    """
    if not runs:
        return "# Results\n\nNo runs yet.\n"
    lines = ["# Results", "", INTRO]
    if context:
        lines += ["", context]
    others = other_set_names(runs)
    header = [*HEADER[:2], *(f"macro F1 · {name}" for name in others), *HEADER[2:]]
    align = "lr" + "r" * len(others) + "rrrrl"
    for protocol, methods in group_runs(runs, list(titles)).items():
        title = titles.get(protocol, protocol)
        rows = [_scores(method, records, others) for method, records in methods.items()]
        lines += ["", f"## {title}", "", *_table(header, rows, align)]
        per_class = [
            [method, *(_class_f1(records, name) for name in class_names)]
            for method, records in methods.items()
        ]
        lines += ["", f"Per-class F1, {title}:", ""]
        lines += _table(
            ["method", *class_names], per_class, "l" + "r" * len(class_names)
        )
    return "\n".join(lines) + "\n"


def other_set_names(runs: Sequence[RunRecord]) -> list[str]:
    """The further evaluation sets any record was scored on, in order of appearance."""
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run.other_eval_sets))
    return list(names)


def _scores(method: str, runs: Sequence[RunRecord], others: Sequence[str]) -> list[str]:
    low = statistics.fmean(run.macro_f1_ci95[0] for run in runs)
    high = statistics.fmean(run.macro_f1_ci95[1] for run in runs)
    holdout = [run.holdout_macro_f1 for run in runs]
    return [
        method,
        mean_std([run.macro_f1 for run in runs], 4),
        *(_other_set_f1(runs, name) for name in others),
        f"[{low:.4f}, {high:.4f}]",
        "n/a" if None in holdout else mean_std(holdout, 4),  # type: ignore[arg-type]
        mean_std([run.accuracy for run in runs], 4),
        str(len(runs)),
        _selection_summary([run.selection for run in runs]),
    ]


def _other_set_f1(runs: Sequence[RunRecord], name: str) -> str:
    """Macro F1 on another evaluation set; ``n/a`` if a seed's model was not kept."""
    scores = [
        run.other_eval_sets[name].macro_f1 if name in run.other_eval_sets else None
        for run in runs
    ]
    if None in scores:
        return "n/a"
    return mean_std(scores, 4)  # type: ignore[arg-type]


def _class_f1(runs: Sequence[RunRecord], name: str) -> str:
    scores = [run.per_class_f1.get(name) for run in runs]
    if None in scores:
        raise ValueError(f"a {runs[0].method} run has no F1 for class {name!r}")
    return mean_std(scores, 3)  # type: ignore[arg-type]


def _selection_summary(selections: Sequence[str]) -> str:
    """Folds "holdout macro F1, epoch k" strings into one rule with its epochs."""
    rules: dict[str, list[str]] = {}
    for selection in selections:
        rule, _, epoch = selection.partition(", epoch ")
        epochs = rules.setdefault(rule if epoch else selection, [])
        if epoch:
            epochs.append(epoch)
    return "; ".join(
        f"{rule} (epochs {', '.join(epochs)})" if epochs else rule
        for rule, epochs in rules.items()
    )


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], align: str
) -> list[str]:
    """A Markdown table; ``align`` has an ``l`` or ``r`` per column."""
    rule = [":---" if side == "l" else "---:" for side in align]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(rule) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
