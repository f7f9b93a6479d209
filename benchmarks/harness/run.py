"""Runs the benchmark: pretrain each method and seed, evaluate, report, resume.

Every method/seed pair is a *unit*. A unit pretrains an encoder (checkpointed every
epoch), evaluates it with each protocol and writes ``units/<method>-seed<k>.json``
atomically; the aggregate ``results.json``, ``results.md`` and the plots are
rewritten after every unit. With ``resume`` a finished unit is read back instead of
run, and an unfinished one continues from its last pretraining checkpoint.
"""

import json
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.utilities import rank_zero_only

from harness.config import BenchmarkConfig, to_dict
from harness.data import (
    Caches,
    DevicePreprocess,
    Splits,
    Transformed,
    build_caches,
    eval_transform,
    load_splits,
    loader,
)
from harness.evaluation.finetune import finetune
from harness.evaluation.linear_probe import linear_probe
from harness.evaluation.outcome import EvalOutcome
from harness.methods import METHODS, MethodSpec, PretrainMethod
from harness.progress import Progress
from harness.reporting import plots
from harness.reporting.results import (
    environment_info,
    results_markdown,
    write_results_json,
    write_text_atomic,
)
from lightly_byel import BYELBatchViewTransform, BYELViewTransform
from lightly_byel.data import LSD_CLASSES
from lightly_byel.data.uint8_cache import CachedSubset


class StepTimer(pl.Callback):
    """Times the optimizer steps a ``fit`` call runs (a resumed fit runs fewer)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.steps = 0

    def on_train_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        self._started = time.perf_counter()
        self._first_step = trainer.global_step

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds = time.perf_counter() - self._started
        self.steps = trainer.global_step - self._first_step


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


def run_benchmark(config: BenchmarkConfig) -> Path:
    """Runs every unit of the configuration and writes the results.

    Returns:
        The results folder.

    Raises:
        FileExistsError: If the folder holds results and ``resume`` is off.
        FileNotFoundError: If ``resume`` is on and the folder does not exist.
    """
    output = output_folder(config)
    units = output / "units"
    if config.run.resume and not output.is_dir():
        raise FileNotFoundError(
            f"--resume: results folder {str(output)!r} does not exist."
        )
    if not config.run.resume and units.is_dir() and any(units.iterdir()):
        raise FileExistsError(
            f"results folder {str(output)!r} holds results; pass --resume to continue "
            "that run or choose another --output."
        )
    # Under DDP every process runs this loop; only the first writes files.
    writer = getattr(rank_zero_only, "rank", 0) == 0
    if writer:
        units.mkdir(parents=True, exist_ok=True)
        write_text_atomic(
            output / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False)
        )

    hardware = trainer_settings(config)
    splits = load_splits(config)
    cached = config.data.pipeline == "cache"
    caches = build_caches(splits, config.data) if cached else None
    device = torch.cuda.get_device_name(0) if uses_gpu(config) else "cpu"
    environment = environment_info(device)
    runs: list[dict[str, Any]] = []
    # Seed by seed, so that the first seed compares every method early and the
    # estimate of the time left knows every method's cost after it.
    order = [
        (seed, method) for seed in config.run.seeds for method in config.run.methods
    ]
    progress = Progress([method for _, method in order])
    for seed, method in order:
        unit = units / f"{method}-seed{seed}.json"
        if config.run.resume and unit.is_file():
            print(f"{method}, seed {seed}: finished earlier, read from {unit}")
            runs.extend(json.loads(unit.read_text(encoding="utf-8"))["runs"])
            progress.skip(method)
        else:
            progress.start(method)
            unit_runs = run_unit(config, splits, method, seed, output, hardware, caches)
            progress.finish()
            if unit_runs is None:
                continue
            write_text_atomic(unit, json.dumps({"runs": unit_runs}, indent=2) + "\n")
            runs.extend(unit_runs)
        if writer:
            last_of_seed = method == config.run.methods[-1]
            report(output, runs, config, splits, environment, figures=last_of_seed)
            print(f"[{progress.status()}]", flush=True)
    return output


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
    seconds: float | None = None
    images = 0
    if spec.pretrains:
        print(f"\n== {name}: pretraining on {len(splits.train_indices)} images ==")
        seconds, images = pretrain(
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
        output / "logs" / name,
        hardware,
        caches,
    )
    return [
        {
            "method": method,
            "seed": seed,
            **record(outcome),
            "pretrain_seconds": seconds,
            "pretrain_images_per_second": images / seconds
            if images and seconds
            else None,
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
) -> tuple[float, int]:
    """Trains ``module`` for the configured epochs, from its last checkpoint on resume.

    Returns:
        The seconds the fit took and the training images it passed through, summed
        over the processes (fewer for a resumed fit).
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
    checkpoints = output / "checkpoints" / name
    last = checkpoints / "last.ckpt"
    resuming = config.run.resume and last.is_file()
    meter = StepTimer()
    trainer = pl.Trainer(
        max_epochs=config.pretrain.epochs,
        # A resumed fit logs beside the first one, which the logger would clear.
        logger=CSVLogger(
            output / "logs",
            name=name,
            version="pretrain-resumed" if resuming else "pretrain",
        ),
        callbacks=[
            ModelCheckpoint(dirpath=checkpoints, save_last=True, save_top_k=0),
            meter,
        ],
        sync_batchnorm=_distributed(hardware),
        log_every_n_steps=1,
        **hardware,
    )
    trainer.fit(
        module,
        pretrain_loader,
        ckpt_path=str(last) if resuming else None,
    )
    images = meter.steps * (pretrain_loader.batch_size or 1) * trainer.world_size
    return meter.seconds, images


def evaluate(
    config: BenchmarkConfig,
    splits: Splits,
    backbone: torch.nn.Module,
    num_ftrs: int,
    seed: int,
    log_dir: Path,
    hardware: dict[str, Any],
    caches: Caches | None = None,
) -> list[EvalOutcome]:
    """Runs the configured protocols on a pretrained backbone.

    With ``caches`` the loaders yield uint8 batches, and the backbone gets a
    :class:`~harness.data.DevicePreprocess` in front that resizes and normalises
    them on the device (and augments them while fine-tuning).
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
    if "linear" in config.run.protocols:
        encoder = backbone if caches is None else _preprocessed(backbone, size)
        outcomes.append(
            linear_probe(
                encoder,
                num_ftrs,
                loader(data.train(splits.train_indices), batch, workers, False),
                holdout,
                eval_loader,
                settings,
                {**hardware, "devices": 1, "num_nodes": 1, "strategy": "auto"},
                seed,
            )
        )
    if "finetune" in config.run.protocols:
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
                log_dir,
                train_labels=augmented.labels(),
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
    output: Path,
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
    resolved = {**to_dict(config), "data_used": splits.description}
    write_results_json(output / "results.json", runs, resolved, environment)
    write_text_atomic(
        output / "results.md",
        results_markdown(runs, list(LSD_CLASSES), settings_text(config, splits)),
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
        f"{evaluation.finetune_lr}; class imbalance: {evaluation.class_balance}"
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
