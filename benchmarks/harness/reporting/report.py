"""The files a run's records are reported in: results.json, results.md, the plots."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config.settings import BenchmarkConfig
from harness.config.sources import to_dict
from harness.data.splits import Splits, missing_eval_classes
from harness.evaluation.monitoring import collapsed
from harness.evaluation.protocols import PROTOCOLS
from harness.methods import METHODS
from harness.reporting import plots
from harness.reporting.markdown import other_set_names, results_markdown
from harness.reporting.records import RunRecord
from harness.reporting.results import write_results_json
from lightly_byel.data import LSD_CLASSES
from lightly_byel.utils.atomic_files import write_text_atomic

TITLES = {name: spec.title for name, spec in PROTOCOLS.items()}


def write_report(
    output: Path,
    runs: list[RunRecord],
    config: BenchmarkConfig,
    splits: Splits,
    environment: dict[str, Any],
    failures: list[dict[str, Any]],
    figures: bool = True,
) -> None:
    """Writes results.json and results.md, and with ``figures`` the plots.

    The plots take seconds to draw, so the run draws them once a seed's methods
    are done rather than after every unit.
    """
    replaced = [
        path
        for dataset in (splits.train, splits.eval, *splits.other_evals.values())
        for path in dataset.replaced_files
    ]
    data_used = {**splits.description, "replaced_files": replaced}
    resolved = {**to_dict(config), "data_used": data_used}
    write_results_json(
        output / "results.json",
        runs,
        resolved,
        environment,
        failures,
        data=splits.data_record(),
    )
    context = "\n\n".join(
        [
            settings_text(config, splits),
            *report_notes(splits, failures, replaced, runs),
        ]
    )
    markdown = results_markdown(runs, LSD_CLASSES, TITLES, context)
    write_text_atomic(output / "results.md", markdown)
    if not figures:
        return
    try:
        plots.plot_macro_f1(runs, output / "macro_f1.png", TITLES)
        if other_set_names(runs):
            plots.plot_eval_sets(
                runs, splits.eval_name, output / "macro_f1_by_set.png", TITLES
            )
        plots.plot_confusion_matrices(
            runs, LSD_CLASSES, output / "confusion.png", TITLES
        )
        # logs/<method>-seed<k>/pretrain/metrics.csv, named by the unit.
        logs = {
            path.parent.parent.name: path
            for path in sorted((output / "logs").glob("*/pretrain/metrics.csv"))
        }
        if logs:
            plots.plot_training_curves(logs, output / "training_curves.png")
    except ImportError as error:
        print(f"No plots: {error}")


def counted(count: int, noun: str) -> str:
    """A count with its noun, plural unless it is one.

    Examples:
        >>> counted(1, "pretraining epoch"), counted(10, "epoch")
        ('1 pretraining epoch', '10 epochs')
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def settings_text(config: BenchmarkConfig, splits: Splits) -> str:
    """The data and settings behind the results: shared ones, then each method's."""
    data, model = splits.description, config.model
    pretrain, evaluation = config.pretrain, config.evaluation
    holdout = data.get("holdout", "class-stratified random images")
    start = model.encoder_start
    shared = (
        f"backbone {model.backbone} at {model.input_size} px, "
        f"{counted(pretrain.epochs, 'pretraining epoch')} of batch "
        f"{pretrain.batch_size_per_device} per device, "
        f"{pretrain.optimizer} at learning rate {pretrain.lr} per 256 images "
        f"(cosine schedule, weight decay {pretrain.weight_decay}), the BYEL "
        f"augmentations with crops of at least {model.min_scale} of the image; "
        f"every encoder starts from {model.encoder_start}"
    )
    evaluations = (
        f"linear probe {counted(evaluation.linear_epochs, 'epoch')}, fine-tuning "
        f"{counted(evaluation.finetune_epochs, 'epoch')} at learning rate "
        f"{evaluation.finetune_lr} from a {evaluation.finetune_head} classifier; "
        f"class imbalance: {evaluation.class_balance}"
    )
    own = "; ".join(
        f"{method}: {METHODS[method].own_settings(pretrain)}"
        # The control is whatever the encoder starts from: say what that is.
        + ("" if METHODS[method].pretrains else f", evaluated as it starts: {start}")
        for method in config.run.methods
    )
    others = "".join(
        f" Also scored, with the same models: {name}, {about['images']} images "
        f"({about['path']})."
        for name, about in data.get("other_evals", {}).items()
    )
    return (
        f"Data: {data['source']}; {data['train_images']} training images, "
        f"{data['holdout_images']} held out for selection ({holdout}), "
        f"{data['eval_images']} evaluation images.{others} Preset {config.preset}."
        "\n\n"
        f"Shared by every method: {shared}; {evaluations}.\n\n"
        f"Each method's own settings: {own}."
    )


def report_notes(
    splits: Splits,
    failures: list[dict[str, Any]],
    replaced: list[str],
    runs: Sequence[RunRecord] = (),
) -> list[str]:
    """Paragraphs on what the tables lack or hide.

    Eval classes without images, units that failed, image files that could not
    be read and were replaced by the next readable one (in this process; DataLoader
    workers warn about theirs in the log), and units whose embeddings collapsed
    in pretraining.
    """
    notes = []
    collapsing = {
        f"{run.method}, seed {run.seed} (embedding spread {run.embedding_spread:.3f})"
        for run in runs
        if run.embedding_spread is not None and collapsed(run.embedding_spread)
    }
    if collapsing:
        notes.append(
            "**Collapsed in pretraining** (the embeddings of the held-out images "
            "nearly coincide; spread about 1 when healthy): "
            + ", ".join(sorted(collapsing))
        )
    missing = missing_eval_classes(splits)
    if missing:
        notes.append(
            f"**The evaluation split has no images of {', '.join(missing)}.** Macro "
            f"F1 still averages the F1 of all {len(LSD_CLASSES)} classes, as ABAW "
            "scores it, so each missing class counts as 0."
        )
    if failures:
        lines = [
            f"- {failure['method']}, seed {failure['seed']}: {failure['error']}"
            for failure in failures
        ]
        notes.append("**Units that failed, not in the tables:**\n\n" + "\n".join(lines))
    if replaced:
        notes.append(
            f"**{len(replaced)} unreadable image files were replaced by the next "
            "readable sample:** " + ", ".join(replaced)
        )
    return notes
