"""Runs the benchmark: pretrain each method and seed, evaluate, report, resume.

Every method/seed pair is a *unit*. A unit pretrains an encoder and fine-tunes it
(both checkpointed atomically at every epoch, see
:mod:`harness.training.checkpointed_fit`), evaluates it with each protocol and
writes ``units/<method>-seed<k>.json`` atomically; the aggregate ``results.json``,
``results.md`` and the plots are rewritten after every unit. One process at a time
writes to a results folder (:mod:`harness.storage.lock`). With ``resume`` the run's
identity is checked first (:mod:`harness.runs.identity`): a finished unit is read
back instead of run, and an unfinished one continues from its newest readable
checkpoint. A unit whose loss stays non-finite is recorded as failed, and the others
go on.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import LearningRateMonitor
from pytorch_lightning.strategies import DDPStrategy
from pytorch_lightning.utilities import rank_zero_only

from harness.config.settings import BenchmarkConfig
from harness.config.sources import to_dict
from harness.data.splits import Splits, load_splits, missing_eval_classes
from harness.evaluation.context import EvalContext
from harness.evaluation.monitoring import pretrain_monitor
from harness.evaluation.other_sets import score_other_sets
from harness.evaluation.outcome import EvalOutcome
from harness.evaluation.protocols import PROTOCOLS
from harness.methods import METHODS
from harness.pipelines.base import DataPipeline
from harness.pipelines.registry import make_pipeline
from harness.reporting.records import RunRecord
from harness.reporting.report import write_report
from harness.reporting.results import environment_info
from harness.runs.disk_space import check_disk_space, run_needs
from harness.runs.folder import RunFolder
from harness.runs.identity import data_identity, settings_identity
from harness.runs.preflight import preflight
from harness.runs.progress import Progress
from harness.storage.lock import run_lock
from harness.training.checkpointed_fit import (
    DivergenceError,
    FitRecord,
    checkpointed_fit,
)
from harness.training.console import quiet_third_party
from harness.training.loggers import training_loggers
from lightly_byel.data import LSD_CLASSES
from lightly_byel.models.emotion_model import EmotionModel, ModelInfo
from lightly_byel.utils.atomic_files import write_text_atomic


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


def pretraining_strategy(config: BenchmarkConfig) -> Any:
    """The strategy of a pretraining Trainer, a new one for each.

    Lightning binds a strategy object to its Trainer. For DDP it carries the run's
    timeout, since the other processes wait while the first evaluates a unit alone.
    """
    if config.run.strategy != "ddp":
        return config.run.strategy
    return DDPStrategy(timeout=timedelta(minutes=config.run.ddp_timeout_minutes))


@dataclass(frozen=True)
class RunSummary:
    """Where a run wrote its results and which units failed.

    Attributes:
        output: The results folder.
        failures: One record per unit that stopped with an error.
        writer: Whether this process wrote the results (under DDP only the first
            does, and the others may end before it has).
    """

    output: Path
    failures: list[dict[str, Any]]
    writer: bool = True


def run_benchmark(config: BenchmarkConfig) -> RunSummary:
    """Runs every unit of the configuration and writes the results.

    With ``resume`` one command serves every start of a job: in a missing or empty
    folder it starts the run, in an interrupted one it continues (finished units
    are read back, an unfinished one continues from its last checkpoint), and on a
    finished run it returns at once, leaving the results as they are.

    Raises:
        FileExistsError: If the folder holds a run and ``resume`` is off.
        ResumeRefusedError: If ``resume`` is on and the run in the folder was made
            with other settings, data or code.
        RunLockedError: If another process is writing to the folder.
        ValueError: If a setting cannot work on this machine (see
            :func:`~harness.runs.preflight.preflight`), or the data cannot be trained
            on (see :func:`~harness.data.splits.load_splits`).
        OSError: If the disk cannot hold what the run will write (see
            :func:`~harness.runs.disk_space.check_disk_space`).
    """
    # Before the first seed is set: Lightning announces that too.
    quiet_third_party()
    output = output_folder(config)
    folder = RunFolder(output)
    if config.run.resume and not folder.holds_a_run():
        print(f"--resume: no run in {output} yet; starting it.")
        config = replace(config, run=replace(config.run, resume=False))
    # Under DDP every process runs this; only the first checks and writes files.
    writer = getattr(rank_zero_only, "rank", 0) == 0
    if not writer:
        return _run_units(config, folder, load_splits(config), writer=False)
    preflight(config, output)
    # Indexing the data (generating the embedded faces) before any file of the run
    # is written: a split that cannot be learned is refused with nothing to undo,
    # and the disk is checked for what the run will write.
    splits = load_splits(config)
    check_disk_space(run_needs(config, output, splits))
    with run_lock(output):
        if not config.run.resume and folder.holds_a_run():
            raise FileExistsError(
                f"results folder {str(output)!r} holds a run; pass --resume to "
                "continue it or choose another --output."
            )
        identity = settings_identity(config)
        if config.run.resume:
            folder.check_identity(identity, ("settings", "code"))
            if _finished(config, folder):
                # A finished run over other data is still refused.
                data = data_identity(splits.train, splits.eval, splits.other_evals)
                folder.check_identity({"data": data}, ("data",))
                print(f"--resume: every unit in {output} is finished; nothing to do.")
                return RunSummary(output, [])
        write_text_atomic(
            output / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False)
        )
        return _run_units(config, folder, splits, writer=True, identity=identity)


def _run_units(
    config: BenchmarkConfig,
    folder: RunFolder,
    splits: Splits,
    writer: bool,
    identity: dict[str, Any] | None = None,
) -> RunSummary:
    """Runs or reads back every unit, seed by seed."""
    missing = missing_eval_classes(splits)
    if missing and writer:
        print(
            f"Warning: the evaluation split has no images of {', '.join(missing)}; "
            f"macro F1 still averages all {len(LSD_CLASSES)} classes, so each counts "
            "as 0."
        )
    if writer and identity is not None:
        data = data_identity(splits.train, splits.eval, splits.other_evals)
        if config.run.resume:
            folder.check_identity({"data": data}, ("data",))
        else:
            folder.record_identity({**identity, "data": data})
    hardware = trainer_settings(config)
    pipeline = make_pipeline(splits, config)
    device = torch.cuda.get_device_name(0) if uses_gpu(config) else "cpu"
    environment = environment_info(device)
    # Seed by seed, so that the first seed compares every method early and the
    # estimate of the time left knows every method's cost after it.
    order = units(config)
    names = [f"{method}-seed{seed}" for seed, method in order]
    # Decided once, before any unit runs, by every process alike: the others start
    # while the first waits in its first fit, so all read the same unit files and
    # skip the same units (only the first sets unreadable ones aside).
    earlier = {
        name: folder.read_unit(name, set_aside=writer) if config.run.resume else None
        for name in names
    }
    progress = Progress([method for _, method in order])
    for (seed, method), name in zip(order, names, strict=True):
        finished = earlier[name]
        if finished is not None:
            print(f"{method}, seed {seed}: finished earlier, read from the run folder")
            progress.skip(method)
        else:
            progress.start(method)
            try:
                records = run_unit(
                    config, pipeline, method, seed, folder.root, hardware
                )
            except DivergenceError as error:
                print(f"\n{method}, seed {seed} stopped: {error}", flush=True)
                if writer:
                    folder.write_failure(name, method, seed, str(error))
                records = None
            progress.finish()
            if records is not None and writer:
                folder.write_unit(name, records)
        if writer:
            write_report(
                folder.root,
                folder.finished_runs(names),
                config,
                splits,
                environment,
                folder.failures(),
                figures=method == config.run.methods[-1],
            )
            print(f"[{progress.status()}]", flush=True)
    return RunSummary(folder.root, folder.failures() if writer else [], writer)


def run_unit(
    config: BenchmarkConfig,
    pipeline: DataPipeline,
    method: str,
    seed: int,
    output: Path,
    hardware: dict[str, Any],
) -> list[RunRecord] | None:
    """Pretrains one method with one seed and evaluates it with every protocol.

    A method that does not pretrain (the ``random-init`` control) is evaluated as
    built.

    Returns:
        The records of every protocol; ``None`` in every DDP process but the
        first, which alone evaluates, on one device.
    """
    name = f"{method}-seed{seed}"
    pl.seed_everything(seed, workers=True)
    spec = METHODS[method]
    splits = pipeline.splits
    train_labels = [splits.train.targets[i] for i in splits.train_indices]
    # channels_last pays on GPUs (tensor cores) and is the default there.
    model = replace(
        config.model, channels_last=config.model.channels_last or uses_gpu(config)
    )
    module = spec.build(model, config.pretrain, train_labels)
    fit: FitRecord | None = None
    monitored: dict[str, float] = {}
    writer = getattr(rank_zero_only, "rank", 0) == 0
    start = config.model.encoder_start
    if spec.pretrains:
        print(
            f"\n== {name}: pretraining on {len(splits.train_indices)} images, "
            f"from {start} =="
        )
        fit, monitored = _pretrain(
            config, pipeline, (method, seed), module, output, hardware
        )
    else:
        print(f"\n== {name}: no pretraining, evaluated as it starts: {start} ==")
    if not writer:
        return None
    context = EvalContext(
        config, pipeline, module.backbone, module.num_ftrs, seed, name, output, hardware
    )
    outcomes: dict[str, EvalOutcome] = {}
    for protocol in config.run.protocols:
        outcomes[protocol] = PROTOCOLS[protocol].evaluate(context, outcomes)
    about = ModelInfo(
        backbone=config.model.backbone,
        num_ftrs=module.num_ftrs,
        input_size=config.model.input_size,
        method=method,
        seed=seed,
        data=splits.data_record(),
        pretrained=config.model.pretrained,
    )
    return [
        RunRecord.of(
            method,
            seed,
            outcome,
            None if fit is None else fit.seconds,
            0 if fit is None else fit.images,
            model=_save_model(output, name, outcome, about),
            monitored=monitored,
            other_eval_sets=score_other_sets(context, outcome),
        )
        for outcome in outcomes.values()
    ]


def _pretrain(
    config: BenchmarkConfig,
    pipeline: DataPipeline,
    unit: tuple[str, int],
    module: pl.LightningModule,
    output: Path,
    hardware: dict[str, Any],
) -> tuple[FitRecord, dict[str, float]]:
    """Pretrains one unit's module, with the monitor and the learning-rate log.

    Args:
        config: The run's settings.
        pipeline: The run's data.
        unit: The method and the seed.
        module: The method's LightningModule.
        output: The run's results folder.
        hardware: The Trainer's hardware settings.

    Returns:
        What the fit took, and the monitor's last values (none without one).
    """
    method, seed = unit
    name = f"{method}-seed{seed}"
    monitor = pretrain_monitor(pipeline, config, seed, name)
    callbacks: list[pl.Callback] = [LearningRateMonitor(logging_interval="step")]
    if monitor is not None:
        callbacks.append(monitor)
    fit = checkpointed_fit(
        module,
        pipeline.pretraining_data(METHODS[method], seed),
        None,
        config.pretrain.epochs,
        output / "checkpoints" / name / "pretrain",
        f"{name}, pretraining",
        {
            # A resumed fit appends to the same log.
            "logger": training_loggers(
                config.run.logger, output / "logs", name, "pretrain"
            ),
            "sync_batchnorm": _distributed(hardware) and uses_gpu(config),
            "log_every_n_steps": 1,
            **hardware,
            "strategy": pretraining_strategy(config),
        },
        callbacks=callbacks,
        writer=getattr(rank_zero_only, "rank", 0) == 0,
    )
    return fit, {} if monitor is None else dict(monitor.last)


def _finished(config: BenchmarkConfig, folder: RunFolder) -> bool:
    """Whether every unit has its results and the report was written.

    A unit that stopped with an error is not finished: resuming runs it again.
    """
    return (folder.root / "results.json").is_file() and all(
        folder.read_unit(f"{method}-seed{seed}") is not None
        for seed, method in units(config)
    )


def units(config: BenchmarkConfig) -> list[tuple[int, str]]:
    """The run's units ``(seed, method)``, seed by seed, in the order they run."""
    run = config.run
    return [(seed, method) for seed in run.seeds for method in run.methods]


def _distributed(hardware: dict[str, Any]) -> bool:
    count = hardware["devices"]
    many = isinstance(count, int) and count > 1
    return many or hardware["num_nodes"] > 1 or "ddp" in str(hardware["strategy"])


def _save_model(
    output: Path, unit: str, outcome: EvalOutcome, info: ModelInfo
) -> str | None:
    """Saves one evaluated unit's model as ``models/<unit>-<protocol>.pt``.

    Args:
        output: The run's results folder.
        unit: The unit's name (``byel-seed0``).
        outcome: The evaluation, with the encoder and the head it scored with.
        info: The model's description but for the protocol, which ``outcome``
            gives.

    Returns:
        The file's path relative to ``output``, or ``None`` where the protocol
        kept no encoder and head.
    """
    if outcome.encoder is None or outcome.head is None:
        return None
    relative = f"models/{unit}-{outcome.protocol}.pt"
    described = replace(info, protocol=outcome.protocol)
    EmotionModel(outcome.encoder, outcome.head, described).save(output / relative)
    return relative
