"""Runs the benchmark: pretrain each method and seed, evaluate, report, resume.

Every method/seed pair is a *unit*. A unit pretrains an encoder and fine-tunes it
(both checkpointed atomically at every epoch, see :mod:`harness.checkpointed_fit`),
evaluates it with each protocol and writes ``units/<method>-seed<k>.json``
atomically; the aggregate ``results.json``, ``results.md`` and the plots are
rewritten after every unit. One process at a time writes to a results folder
(:mod:`harness.run_lock`). With ``resume`` the run's identity is checked first
(:mod:`harness.run_identity`): a finished unit is read back instead of run, and an
unfinished one continues from its newest readable checkpoint. A unit whose loss
stays non-finite is recorded as failed, and the others go on.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.utilities import rank_zero_only

from harness.atomic_files import write_text_atomic
from harness.checkpointed_fit import DivergenceError, FitRecord, checkpointed_fit
from harness.config import to_dict
from harness.data import (
    Caches,
    DevicePreprocess,
    Splits,
    Transformed,
    build_caches,
    eval_transform,
    load_splits,
    loader,
    missing_eval_classes,
)
from harness.evaluation.finetune import finetune
from harness.evaluation.linear_probe import linear_probe
from harness.evaluation.outcome import EvalOutcome
from harness.methods import METHODS, MethodSpec, PretrainMethod
from harness.preflight import preflight
from harness.progress import Progress
from harness.reporting import plots
from harness.reporting.results import (
    environment_info,
    results_markdown,
    write_results_json,
)
from harness.run_folder import RunFolder
from harness.run_identity import data_identity, settings_identity
from harness.run_lock import run_lock
from harness.settings import BenchmarkConfig
from lightly_byel import BYELBatchViewTransform, BYELViewTransform
from lightly_byel.data import LSD_CLASSES
from lightly_byel.data.uint8_cache import CachedSubset


def output_folder(config: BenchmarkConfig) -> Path:
    """The results folder: ``--output``, or a new ``runs/affwild2/<timestamp>``."""
    if config.run.output is not None:
        return Path(config.run.output)
    return Path("runs") / "affwild2" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def uses_gpu(config: BenchmarkConfig) -> bool:
    """Whether Lightning will train on a GPU with these settings."""
    return (
        config.run.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    )


def trainer_settings(config: BenchmarkConfig) -> dict[str, Any]:
    """Hardware settings shared by every Lightning Trainer of the run."""
    precision = config.run.precision or (
        "bf16-mixed" if uses_gpu(config) else "32-true"
    )
    devices: Any = config.run.devices
    if devices.isdigit():
        devices = int(devices)
    return {
        "accelerator": config.run.accelerator,
        "devices": devices,
        "num_nodes": config.run.num_nodes,
        "strategy": config.run.strategy,
        "precision": precision,
    }


@dataclass(frozen=True)
class RunSummary:
    """Where a run wrote its results and which units failed.

    Attributes:
        output: The results folder.
        failures: One record per unit that stopped with an error.
    """

    output: Path
    failures: list[dict[str, Any]]


def run_benchmark(config: BenchmarkConfig) -> RunSummary:
    """Runs every unit of the configuration and writes the results.

    Raises:
        FileExistsError: If the folder holds a run and ``resume`` is off.
        FileNotFoundError: If ``resume`` is on and the folder does not exist.
        ResumeRefusedError: If ``resume`` is on and the run in the folder was made
            with other settings, data or code.
        RunLockedError: If another process is writing to the folder.
        ValueError: If a setting cannot work on this machine (see
            :func:`~harness.preflight.preflight`).
    """
    output = output_folder(config)
    folder = RunFolder(output)
    if config.run.resume and not output.is_dir():
        raise FileNotFoundError(
            f"--resume: results folder {str(output)!r} does not exist."
        )
    # Under DDP every process runs this; only the first checks and writes files.
    writer = getattr(rank_zero_only, "rank", 0) == 0
    if not writer:
        return _run_units(config, folder, writer=False)
    preflight(config, output)
    with run_lock(output):
        if not config.run.resume and folder.holds_a_run():
            raise FileExistsError(
                f"results folder {str(output)!r} holds a run; pass --resume to "
                "continue it or choose another --output."
            )
        identity = settings_identity(config)
        if config.run.resume:
            folder.check_identity(identity, ("settings", "code"))
        write_text_atomic(
            output / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False)
        )
        return _run_units(config, folder, writer=True, identity=identity)


def _run_units(
    config: BenchmarkConfig,
    folder: RunFolder,
    writer: bool,
    identity: dict[str, Any] | None = None,
) -> RunSummary:
    """Loads the data, then runs or reads back every unit, seed by seed."""
    splits = load_splits(config)
    missing = missing_eval_classes(splits)
    if missing and writer:
        print(
            f"Warning: the evaluation split has no images of {', '.join(missing)}; "
            f"macro F1 still averages all {len(LSD_CLASSES)} classes, so each counts "
            "as 0."
        )
    if writer and identity is not None:
        data = data_identity(splits.train, splits.eval)
        if config.run.resume:
            folder.check_identity({"data": data}, ("data",))
        else:
            folder.record_identity({**identity, "data": data})
    hardware = trainer_settings(config)
    cached = config.data.pipeline == "cache"
    caches = build_caches(splits, config) if cached else None
    device = torch.cuda.get_device_name(0) if uses_gpu(config) else "cpu"
    environment = environment_info(device)
    # Seed by seed, so that the first seed compares every method early and the
    # estimate of the time left knows every method's cost after it.
    order = [
        (seed, method) for seed in config.run.seeds for method in config.run.methods
    ]
    names = [f"{method}-seed{seed}" for seed, method in order]
    progress = Progress([method for _, method in order])
    for (seed, method), name in zip(order, names, strict=True):
        finished = folder.read_unit(name) if config.run.resume and writer else None
        if finished is not None:
            print(f"{method}, seed {seed}: finished earlier, read from the run folder")
            progress.skip(method)
        else:
            progress.start(method)
            try:
                unit_runs = run_unit(
                    config, splits, method, seed, folder.root, hardware, caches
                )
            except DivergenceError as error:
                print(f"\n{method}, seed {seed} stopped: {error}", flush=True)
                if writer:
                    folder.write_failure(name, method, seed, str(error))
                unit_runs = None
            progress.finish()
            if unit_runs is not None and writer:
                folder.write_unit(name, unit_runs)
        if writer:
            last_of_seed = method == config.run.methods[-1]
            runs = folder.finished_runs(names)
            report(folder, runs, config, splits, environment, figures=last_of_seed)
            print(f"[{progress.status()}]", flush=True)
    return RunSummary(folder.root, folder.failures() if writer else [])


def run_unit(
    config: BenchmarkConfig,
    splits: Splits,
    method: str,
    seed: int,
    output: Path,
    hardware: dict[str, Any],
    caches: Caches | None = None,
) -> list[dict[str, Any]] | None:
    """Pretrains one method with one seed and evaluates it with every protocol.

    With ``caches`` (the cache pipeline) batches are gathered from the uint8
    caches and augmented on the training device. A method that does not pretrain
    (the ``random-init`` control) is evaluated as built.

    Returns:
        The results of every protocol; ``None`` in every DDP process but the
        first, which alone evaluates, on one device.
    """
    name = f"{method}-seed{seed}"
    pl.seed_everything(seed, workers=True)
    spec = METHODS[method]
    train_labels = [splits.train.targets[i] for i in splits.train_indices]
    # channels_last pays on GPUs (tensor cores) and is the default there.
    model = replace(
        config.model, channels_last=config.model.channels_last or uses_gpu(config)
    )
    module = spec.build(model, config.pretrain, train_labels)
    fit: FitRecord | None = None
    if spec.pretrains:
        print(f"\n== {name}: pretraining on {len(splits.train_indices)} images ==")
        fit = pretrain(
            config, splits, spec, module, name, seed, output, hardware, caches
        )
    else:
        print(f"\n== {name}: no pretraining, the encoder as initialised ==")
    if getattr(rank_zero_only, "rank", 0) != 0:
        return None

    outcomes = evaluate(
        config,
        splits,
        module.backbone,
        module.num_ftrs,
        seed,
        output,
        name,
        hardware,
        caches,
    )
    return [
        {
            "method": method,
            "seed": seed,
            **record(outcome),
            "pretrain_seconds": None if fit is None else fit.seconds,
            "pretrain_images_per_second": None
            if fit is None or not fit.seconds
            else fit.images / fit.seconds,
        }
        for outcome in outcomes
    ]


def pretrain(
    config: BenchmarkConfig,
    splits: Splits,
    spec: MethodSpec,
    module: PretrainMethod,
    name: str,
    seed: int,
    output: Path,
    hardware: dict[str, Any],
    caches: Caches | None,
) -> FitRecord:
    """Trains ``module`` for the configured epochs, from its newest checkpoint.

    Returns:
        The seconds and steps of the fit, over all its attempts.
    """
    pretrain_data: Transformed | CachedSubset
    if caches is None:
        pretrain_data = Transformed(
            splits.train, splits.train_indices, spec.views(config.model)
        )
    else:
        pretrain_data = CachedSubset(caches.train, splits.train_indices)
        module.batch_transform = spec.batch_views(config.model)
    pretrain_loader = loader(
        pretrain_data,
        config.pretrain.batch_size_per_device,
        config.data.num_workers,
        shuffle=True,
        drop_last=True,
        seed=seed,
    )
    return checkpointed_fit(
        module,
        pretrain_loader,
        None,
        config.pretrain.epochs,
        output / "checkpoints" / name / "pretrain",
        f"{name}, pretraining",
        {
            # A resumed fit appends to the same log.
            "logger": CSVLogger(output / "logs", name=name, version="pretrain"),
            "sync_batchnorm": _distributed(hardware) and uses_gpu(config),
            "log_every_n_steps": 1,
            **hardware,
        },
        writer=getattr(rank_zero_only, "rank", 0) == 0,
    )


def evaluate(
    config: BenchmarkConfig,
    splits: Splits,
    backbone: torch.nn.Module,
    num_ftrs: int,
    seed: int,
    output: Path,
    name: str,
    hardware: dict[str, Any],
    caches: Caches | None = None,
) -> list[EvalOutcome]:
    """Runs the configured protocols on a pretrained backbone.

    With ``caches`` the loaders yield uint8 batches, and the backbone gets a
    :class:`~harness.data.DevicePreprocess` in front that resizes and normalises
    them on the device (and augments them while fine-tuning). Fine-tuning is
    checkpointed in ``output/checkpoints/<name>/finetune``.
    """
    settings = config.evaluation
    size = config.model.input_size
    workers = config.data.num_workers
    batch = settings.batch_size_per_device
    data = _EvalData(splits, caches, eval_transform(size))
    eval_loader = loader(data.eval(), batch, workers, False)
    holdout = (
        loader(data.train(splits.holdout_indices), batch, workers, False)
        if splits.holdout_indices
        else None
    )
    outcomes = []
    protocols = config.run.protocols
    # LP-FT starts fine-tuning from the linear probe's classifier: the probe runs
    # then even when its scores are not asked for.
    from_probe = "finetune" in protocols and settings.finetune_head == "linear-probe"
    probe = None
    if "linear" in protocols or from_probe:
        encoder = backbone if caches is None else _preprocessed(backbone, size)
        probe = linear_probe(
            encoder,
            num_ftrs,
            loader(data.train(splits.train_indices), batch, workers, False),
            holdout,
            eval_loader,
            settings,
            {**hardware, "devices": 1, "num_nodes": 1, "strategy": "auto"},
            seed,
        )
        if "linear" in protocols:
            outcomes.append(probe)
    if "finetune" in protocols:
        augmented: Transformed | CachedSubset
        if caches is None:
            augmented = Transformed(
                splits.train,
                splits.train_indices,
                BYELViewTransform(input_size=size, min_scale=config.model.min_scale),
            )
            tuned = backbone
        else:
            augmented = CachedSubset(caches.train, splits.train_indices)
            augment = BYELBatchViewTransform(
                input_size=size, min_scale=config.model.min_scale
            )
            tuned = _preprocessed(backbone, size, augment)
        outcomes.append(
            finetune(
                tuned,
                num_ftrs,
                loader(
                    augmented,
                    batch,
                    workers,
                    shuffle=True,
                    drop_last=True,
                    balanced=settings.class_balance == "sampler",
                    seed=seed,
                ),
                holdout,
                eval_loader,
                settings,
                {**hardware, "devices": 1, "num_nodes": 1, "strategy": "auto"},
                seed,
                output / "logs" / name,
                train_labels=augmented.labels(),
                head=probe.head if from_probe and probe is not None else None,
                checkpoint_dir=output / "checkpoints" / name / "finetune",
                unit=f"{name}, fine-tuning",
            )
        )
    return outcomes


def record(outcome: EvalOutcome) -> dict[str, Any]:
    """The results.json fields of one evaluation."""
    metrics = outcome.metrics
    return {
        "protocol": outcome.protocol,
        "macro_f1": metrics["macro_f1"],
        "accuracy": metrics["accuracy"],
        "per_class_f1": metrics["per_class_f1"],
        "macro_f1_ci95": list(outcome.macro_f1_interval),
        "holdout_macro_f1": outcome.holdout_macro_f1,
        "confusion_matrix": metrics["confusion_matrix"],
        "selection": outcome.selection,
        "train_seconds": outcome.train_seconds,
        "images_per_second": outcome.images_per_second,
    }


def report(
    folder: RunFolder,
    runs: list[dict[str, Any]],
    config: BenchmarkConfig,
    splits: Splits,
    environment: dict[str, Any],
    figures: bool = True,
) -> None:
    """Writes results.json and results.md, and with ``figures`` the plots.

    The plots take seconds to draw, so the run draws them once a seed's methods
    are done rather than after every unit.
    """
    output, failures = folder.root, folder.failures()
    replaced = splits.train.replaced_files + splits.eval.replaced_files
    data_used = {**splits.description, "replaced_files": replaced}
    resolved = {**to_dict(config), "data_used": data_used}
    write_results_json(output / "results.json", runs, resolved, environment, failures)
    context = "\n\n".join(
        [settings_text(config, splits), *report_notes(splits, failures, replaced)]
    )
    write_text_atomic(
        output / "results.md", results_markdown(runs, list(LSD_CLASSES), context)
    )
    if not figures:
        return
    try:
        plots.plot_macro_f1(runs, output / "macro_f1.png")
        plots.plot_confusion_matrices(runs, list(LSD_CLASSES), output / "confusion.png")
        # logs/<method>-seed<k>/pretrain/metrics.csv, named by the unit.
        logs = {
            path.parent.parent.name: path
            for path in sorted((output / "logs").glob("*/pretrain/metrics.csv"))
        }
        if logs:
            plots.plot_training_curves(logs, output / "training_curves.png")
    except ImportError as error:
        print(f"No plots: {error}")


def report_notes(
    splits: Splits, failures: list[dict[str, Any]], replaced: list[str]
) -> list[str]:
    """Paragraphs on what the tables lack or hide.

    Eval classes without images, units that failed, and image files that could not
    be read and were replaced by the next readable one (in this process; DataLoader
    workers warn about theirs in the log).
    """
    notes = []
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


def settings_text(config: BenchmarkConfig, splits: Splits) -> str:
    """The data and settings behind the results: shared ones, then each method's."""
    data, model = splits.description, config.model
    pretrain, evaluation = config.pretrain, config.evaluation
    holdout = data.get("holdout", "class-stratified random images")
    shared = (
        f"backbone {model.backbone} at {model.input_size} px, {pretrain.epochs} "
        f"pretraining epochs of batch {pretrain.batch_size_per_device} per device, "
        f"{pretrain.optimizer} at learning rate {pretrain.lr} per 256 images "
        f"(cosine schedule, weight decay {pretrain.weight_decay}), the BYEL "
        f"augmentations with crops of at least {model.min_scale} of the image"
    )
    evaluations = (
        f"linear probe {evaluation.linear_epochs} epochs, fine-tuning "
        f"{evaluation.finetune_epochs} epochs at learning rate "
        f"{evaluation.finetune_lr} from a {evaluation.finetune_head} classifier; "
        f"class imbalance: {evaluation.class_balance}"
    )
    own = "; ".join(
        f"{method}: {METHODS[method].own_settings(pretrain)}"
        for method in config.run.methods
    )
    return (
        f"Data: {data['source']}; {data['train_images']} training images, "
        f"{data['holdout_images']} held out for selection ({holdout}), "
        f"{data['eval_images']} evaluation images. Preset {config.preset}.\n\n"
        f"Shared by every method: {shared}; {evaluations}.\n\n"
        f"Each method's own settings: {own}."
    )


class _EvalData:
    """The evaluation's datasets: image files with ``plain``, or the caches."""

    def __init__(self, splits: Splits, caches: Caches | None, plain: Any) -> None:
        self.splits, self.caches, self.plain = splits, caches, plain

    def train(self, indices: list[int]) -> Transformed | CachedSubset:
        if self.caches is None:
            return Transformed(self.splits.train, indices, self.plain)
        return CachedSubset(self.caches.train, indices)

    def eval(self) -> Transformed | CachedSubset:
        everything = range(len(self.splits.eval))
        if self.caches is None:
            return Transformed(self.splits.eval, everything, self.plain)
        return CachedSubset(self.caches.eval, everything)


def _preprocessed(
    backbone: torch.nn.Module, size: int, augment: torch.nn.Module | None = None
) -> torch.nn.Module:
    """The backbone behind a DevicePreprocess, for uint8 batches of the caches."""
    return torch.nn.Sequential(DevicePreprocess(size, augment), backbone)


def _distributed(hardware: dict[str, Any]) -> bool:
    devices = hardware["devices"]
    many = isinstance(devices, int) and devices > 1
    return many or hardware["num_nodes"] > 1 or "ddp" in str(hardware["strategy"])
