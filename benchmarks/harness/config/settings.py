"""Every setting of a benchmark run, declared once: name, type, default, range, help.

Each section is a frozen dataclass. A field's annotation gives its type and, as a
``Literal``, its choices; :func:`~harness.config.declared.setting` adds its help, its
bounds and, for the settings that have one, its command-line flag. The command line
(:mod:`harness.runs.command_line`), YAML files (:mod:`harness.config.sources`) and
the checks (:mod:`harness.config.declared`) are all built from these declarations,
and ``python benchmarks/affwild2.py --help`` prints the help.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from harness.config.declared import setting
from lightly_byel.data.classes import LSD_CLASSES

Optimizer = Literal["lars", "sgd", "adamw"]
OptimizerImpl = Literal["auto", "for-loop", "foreach", "fused"]
ClassBalance = Literal["none", "sampler", "weighted_loss"]
FinetuneHead = Literal["random", "linear-probe"]
EvalFormat = Literal[
    "lsd",
    "affwild2-expr",
    "class-folders",
    "csv",
    "fer2013",
    "ferplus",
    "rafdb",
    "affectnet",
    "expw",
    "ckplus",
    "jaffe",
    "kdef",
]
Pipeline = Literal["files", "cache"]
LoggerKind = Literal["csv", "tensorboard"]
Accelerator = Literal["auto", "cpu", "gpu", "cuda"]
# The loss and the evaluations compute in float32 (or under autocast): pure
# low-precision weights ("bf16-true", "16-true") and float64 are not supported.
Precision = Literal["32-true", "bf16-mixed", "16-mixed"]

MAX_SEED = 2**32 - 1
"""The largest seed numpy's generators take (the data order and holdout draw)."""


@dataclass(frozen=True)
class DataSettings:
    """Where the images come from and how they reach the network.

    Without ``data_root``, ``train_dir`` and ``eval_dir`` the benchmark generates
    the embedded synthetic-face data once, into the cache folder.
    """

    data_root: str | None = setting(
        None,
        "LSD-layout folder holding training_set_synthetic_images and "
        "validation_set_real_images",
        flag="data_root",
    )
    train_dir: str | None = setting(
        None, "synthetic training split (LSD layout)", flag="train_dir"
    )
    eval_dir: tuple[str, ...] | None = setting(
        None,
        "evaluation sets, in the format of --eval-format: an LSD-layout split by "
        "default; repeat the flag (or separate by commas) to score several sets "
        "side by side, the first as the main one",
        flag="eval_dir",
    )
    eval_format: tuple[EvalFormat, ...] = setting(
        ("lsd",),
        "format of each --eval-dir, in order, or one for all",
        flag="eval_format",
        distinct=False,
    )
    eval_annotations: tuple[str, ...] | None = setting(
        None,
        "Aff-Wild2 EXPR annotation folder of each affwild2-expr evaluation set, in "
        "order",
        flag="eval_annotations",
    )
    crop_faces: bool = setting(
        False,
        "cut the largest face of every evaluation image with the face detector "
        "(raw photos; extra 'faces'); images without a face are left out and counted",
        flag="crop_faces",
    )
    synthetic_images_per_class: int = setting(
        200, "images per class of each generated split", minimum=1
    )
    synthetic_image_size: int = setting(
        48, "side of the generated images in pixels", minimum=16
    )
    synthetic_seed: int = setting(
        0, "seed of the generated data", minimum=0, maximum=MAX_SEED
    )
    cache_dir: str | None = setting(
        None,
        "where generated data and uint8 caches are kept; null for "
        "$LIGHTLY_BYEL_CACHE, else $XDG_CACHE_HOME/lightly_byel, else "
        "~/.cache/lightly_byel",
    )
    num_workers: int = setting(
        2, "DataLoader worker processes", flag="num_workers", minimum=0
    )
    pipeline: Pipeline = setting(
        "files",
        "files: decode and augment each image in DataLoader workers; cache: decode "
        "once into a uint8 cache and augment whole batches on the training device",
        flag="pipeline",
    )
    cache_size: int | None = setting(
        None,
        "side of the cached images in pixels (cache pipeline); null for the "
        "generated image size with the embedded data, else the input size",
        flag="cache_size",
        minimum=8,
    )


@dataclass(frozen=True)
class RunSettings:
    """What to run and on what hardware."""

    methods: tuple[str, ...] = setting(
        ("byel", "byol", "simclr", "supervised"),
        "method names of the registry, in run order",
        flag="methods",
    )
    seeds: tuple[int, ...] = setting(
        (0, 1),
        "one pretraining and evaluation per method and seed",
        flag="seeds",
        minimum=0,
        maximum=MAX_SEED,
    )
    protocols: tuple[str, ...] = setting(
        ("linear", "finetune"),
        "evaluation protocols of each encoder, in run order",
        flag="protocols",
    )
    accelerator: Accelerator = setting(
        "auto", "Lightning accelerator", flag="accelerator"
    )
    devices: str = setting(
        "auto",
        "Lightning devices: auto, a count, or comma-separated device indices",
        flag="devices",
    )
    num_nodes: int = setting(1, "machines for DDP", flag="num_nodes", minimum=1)
    strategy: str = setting(
        "auto", "Lightning strategy (auto, ddp, ...)", flag="strategy"
    )
    ddp_timeout_minutes: float = setting(
        720.0,
        "with --strategy ddp, how long a process waits for the others; the first "
        "evaluates each unit alone while the rest wait, so it must cover the "
        "longest evaluation (the paper preset's fine-tuning); torch's default is 30",
        flag="ddp_timeout_minutes",
        above=0.0,
        # A longer wait overflows the timedelta torch takes, late in the run.
        maximum=525_600.0,
    )
    logger: LoggerKind = setting(
        "csv",
        "training logs: csv (always written), or tensorboard for TensorBoard too",
        flag="logger",
    )
    precision: Precision | None = setting(
        None,
        "Lightning precision; null for bf16-mixed on a GPU and 32-true elsewhere",
        flag="precision",
    )
    output: str | None = setting(
        None, "results folder; null for runs/affwild2/<timestamp>", flag="output"
    )
    resume: bool = setting(
        False,
        "start or continue the run in --output: start it in a missing or empty "
        "folder, skip finished units, continue an unfinished one from its last "
        "checkpoint, do nothing on a finished run",
        flag="resume",
    )


@dataclass(frozen=True)
class ModelSettings:
    """The encoder and heads."""

    backbone: str = setting(
        "resnet18",
        "torchvision model name, timm:NAME, or a narrow ResNet for small faces "
        "(resnet10-wW, resnet18-wW)",
        flag="backbone",
    )
    pretrained: str | None = setting(
        None,
        "local backbone checkpoint to start from (nothing is downloaded)",
        flag="pretrained",
    )
    input_size: int = setting(
        64, "side of the square training images in pixels", flag="input_size", minimum=8
    )
    hidden_dim: int = setting(
        1024, "hidden dimension of the projection and prediction MLPs", minimum=1
    )
    output_dim: int = setting(
        256, "dimension of the projections and predictions", minimum=1
    )
    num_classes: int = setting(
        len(LSD_CLASSES),
        "number of expression classes; every data format has the six of LSD",
        # Another count fails only once labels meet the heads, late in the run.
        minimum=len(LSD_CLASSES),
        maximum=len(LSD_CLASSES),
    )
    channels_last: bool = setting(False, "train channels-last (always on on a GPU)")
    min_scale: float = setting(
        0.08,
        "smallest random crop of the augmentations, as a share of the image area "
        "(the published recipe: 0.08)",
        flag="min_scale",
        above=0.0,
        maximum=1.0,
    )
    compile: bool = setting(
        False,
        "torch.compile the backbones for pretraining (the saved weights and the "
        "evaluations use the plain modules)",
        flag="compile",
    )

    @property
    def encoder_start(self) -> str:
        """What every encoder starts from, in words, naming a checkpoint.

        Examples:
            >>> ModelSettings().encoder_start
            'random initial weights'
            >>> ModelSettings(pretrained="/ckpt/r18.pt").encoder_start
            "the --pretrained checkpoint '/ckpt/r18.pt'"
        """
        if self.pretrained is None:
            return "random initial weights"
        return f"the --pretrained checkpoint {self.pretrained!r}"


@dataclass(frozen=True)
class PretrainSettings:
    """Pretraining on the synthetic split."""

    epochs: int = setting(10, "pretraining epochs", flag="epochs", minimum=1)
    batch_size_per_device: int = setting(
        64,
        "batch size on each device, of pretraining and the evaluations",
        flag="batch_size_per_device",
        also=("evaluation.batch_size_per_device",),
        minimum=2,
    )
    optimizer: Optimizer = setting(
        "lars",
        "lars (SGD wrapped in LARS, the BYEL recipe), sgd (with momentum 0.9) or "
        "adamw (Adam with decoupled weight decay; 'adam' is read as adamw)",
        flag="optimizer",
        aliases={"adam": "adamw"},
    )
    lr: float = setting(
        0.2,
        "pretraining learning rate for a global batch of 256 (scaled linearly)",
        flag="lr",
        above=0.0,
    )
    weight_decay: float = setting(
        1.5e-6, "weight decay (not of biases and norms)", minimum=0.0
    )
    momentum_start: float = setting(
        0.99, "target-network momentum at the first step", minimum=0.0, maximum=1.0
    )
    momentum_end: float = setting(
        1.0,
        "target-network momentum at the last step (cosine schedule)",
        minimum=0.0,
        maximum=1.0,
    )
    warmup_epochs: int = setting(
        0, "linear learning-rate warm-up before the cosine decay", minimum=0
    )
    temperature: float = setting(0.1, "NT-Xent temperature (SimCLR)", above=0.0)
    monitor_images: int = setting(
        512,
        "training images in the bank of the online k-NN monitor, and holdout images "
        "it scores, after every epoch (0: no monitoring)",
        flag="monitor_images",
        minimum=0,
    )
    optimizer_impl: OptimizerImpl = setting(
        "auto",
        "optimizer kernels: for-loop (one tensor at a time, Lightly's LARS), "
        "foreach (multi-tensor; LARS without host synchronisation), fused (SGD and "
        "AdamW), auto (fused on GPUs, foreach on CPUs)",
        flag="optimizer_impl",
    )

    def check_kernels(self) -> None:
        """Refuses kernels that the optimizer does not have: there is no fused LARS.

        Raises:
            ValueError: For ``optimizer_impl: fused`` with ``optimizer: lars``.

        Examples:
            >>> fused_lars = PretrainSettings(optimizer="lars", optimizer_impl="fused")
            >>> fused_lars.check_kernels()
            Traceback (most recent call last):
            ...
            ValueError: --optimizer-impl fused is not available for LARS; ...
        """
        if self.optimizer_impl == "fused" and self.optimizer == "lars":
            raise ValueError(
                "--optimizer-impl fused is not available for LARS; use foreach (no "
                "host synchronisation) or for-loop (Lightly's LARS)."
            )

    def check_schedule(self) -> None:
        """Refuses a warm-up as long as the pretraining: the decay would never start.

        Raises:
            ValueError: For ``warmup_epochs`` of at least ``epochs`` (a warm-up of
                0 is none).

        Examples:
            >>> PretrainSettings(epochs=5, warmup_epochs=10).check_schedule()
            Traceback (most recent call last):
            ...
            ValueError: pretrain.warmup_epochs is 10, ... --epochs (5); ...
        """
        if self.warmup_epochs and self.warmup_epochs >= self.epochs:
            raise ValueError(
                f"pretrain.warmup_epochs is {self.warmup_epochs}, not less than "
                f"--epochs ({self.epochs}); the learning rate would only warm up. "
                "Set a shorter warm-up in the --config file, or more epochs."
            )


@dataclass(frozen=True)
class EvalSettings:
    """Linear probe and fine-tuning, both trained on synthetic labels only."""

    linear_epochs: int = setting(
        10,
        "epochs of the linear probe on frozen features",
        flag="linear_epochs",
        minimum=1,
    )
    linear_lr: float = setting(
        1e-3, "learning rate of the linear probe (Adam)", above=0.0
    )
    finetune_epochs: int = setting(
        5,
        "epochs of fine-tuning (encoder + Dropout + Linear)",
        flag="finetune_epochs",
        minimum=1,
    )
    finetune_lr: float = setting(
        1e-4, "learning rate of fine-tuning (Adam; the BYEL recipe: 1e-4)", above=0.0
    )
    finetune_head: FinetuneHead = setting(
        "random",
        "the classifier fine-tuning starts from: random (the BYEL recipe) or "
        "linear-probe, the linear probe's classifier (LP-FT, Kumar et al. 2022, "
        "https://arxiv.org/abs/2202.10054)",
    )
    dropout: float = setting(
        0.3, "dropout before the fine-tuning classifier", minimum=0.0, below=1.0
    )
    batch_size_per_device: int = setting(
        128, "batch size of the evaluations on each device", minimum=2
    )
    class_balance: ClassBalance = setting(
        "weighted_loss",
        "class imbalance of the training labels: none, a class-balanced sampler "
        "or a weighted_loss",
        flag="class_balance",
    )
    holdout_fraction: float = setting(
        0.1,
        "share of the training split held out to select the epoch; 0 trains on "
        "all of it for a fixed schedule (last epoch)",
        minimum=0.0,
        below=1.0,
    )
    bootstrap_samples: int = setting(
        1000, "resamples of the eval split for the 95% interval", minimum=1
    )


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything one benchmark run needs: a preset's name and the five sections."""

    preset: str = "default"
    data: DataSettings = field(default_factory=DataSettings)
    run: RunSettings = field(default_factory=RunSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    pretrain: PretrainSettings = field(default_factory=PretrainSettings)
    evaluation: EvalSettings = field(default_factory=EvalSettings)


SECTIONS: dict[str, type[Any]] = {
    "data": DataSettings,
    "run": RunSettings,
    "model": ModelSettings,
    "pretrain": PretrainSettings,
    "evaluation": EvalSettings,
}
"""The sections of :class:`BenchmarkConfig`, by field name."""
