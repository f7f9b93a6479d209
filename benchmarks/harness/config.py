"""The benchmark's configuration: presets, a YAML file and command-line flags.

Later sources win: the preset's values, then the YAML file (``--config``), then the
flags. A YAML file holds sections named like :class:`BenchmarkConfig`'s fields
(``data``, ``run``, ``model``, ``pretrain``, ``evaluation``) with their fields, and
may also set any flag at the top level under its name (``epochs: 3``,
``methods: [byel, byol]``). The resolved configuration is written next to the
results in the sectioned form, and can be passed back with ``--config``.
"""

import argparse
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from harness.settings import EvalSettings, ModelSettings, PretrainSettings

EvalFormat = Literal["lsd", "affwild2-expr"]
Protocol = Literal["linear", "finetune"]
Pipeline = Literal["files", "cache"]
PRESETS = ("default", "smoke", "paper")


@dataclass(frozen=True)
class DataSettings:
    """Where the images come from.

    Without ``data_root``, ``train_dir`` and ``eval_dir`` the benchmark generates
    the embedded synthetic-face data once, into the user cache folder.

    Attributes:
        data_root: An LSD-layout folder holding ``training_set_synthetic_images`` and
            ``validation_set_real_images``.
        train_dir: The synthetic training split (LSD layout), instead of data_root.
        eval_dir: The evaluation split: an LSD-layout split, or Aff-Wild2 frames
            with ``eval_format="affwild2-expr"``.
        eval_format: ``lsd`` or ``affwild2-expr``.
        eval_annotations: The Aff-Wild2 EXPR annotation folder
            (``affwild2-expr`` only).
        synthetic_images_per_class: Images per class of each generated split.
        synthetic_image_size: Side of the generated images in pixels.
        synthetic_seed: Seed of the generated data.
        cache_dir: Where generated data is kept; ``None`` for the user cache
            folder (``$LIGHTLY_BYEL_CACHE``, else ``$XDG_CACHE_HOME/lightly_byel``,
            else ``~/.cache/lightly_byel``).
        num_workers: DataLoader worker processes.
        pipeline: How training images reach the network. ``files``: decoded and
            augmented per sample in the DataLoader workers (PIL, torchvision).
            ``cache``: decoded once into a uint8 array (kept in the cache folder),
            then gathered a batch at a time and augmented on the training device
            with per-sample parameters (:class:`~lightly_byel.BYELBatchTransform`),
            so the CPU does almost no work per image.
        cache_size: Side of the cached images in pixels (``cache`` only); ``None``
            for the size of the first training image.
    """

    data_root: str | None = None
    train_dir: str | None = None
    eval_dir: str | None = None
    eval_format: EvalFormat = "lsd"
    eval_annotations: str | None = None
    synthetic_images_per_class: int = 200
    synthetic_image_size: int = 48
    synthetic_seed: int = 0
    cache_dir: str | None = None
    num_workers: int = 2
    pipeline: Pipeline = "files"
    cache_size: int | None = None


@dataclass(frozen=True)
class RunSettings:
    """What to run and on what hardware.

    Attributes:
        methods: Method names of the registry, in run order.
        seeds: One pretraining and evaluation per method and seed.
        protocols: Evaluations of each encoder: ``linear`` and/or ``finetune``.
        accelerator: Lightning accelerator (``auto``, ``cpu``, ``gpu``).
        devices: Lightning devices (``auto``, a count, or a list as text).
        num_nodes: Machines for DDP.
        strategy: Lightning strategy (``auto``, ``ddp``, ...).
        precision: Lightning precision; ``None`` picks ``bf16-mixed`` on a GPU and
            ``32-true`` elsewhere.
        output: Results folder; ``None`` for ``runs/affwild2/<timestamp>``.
        resume: Continue the run in ``output``: skip finished method/seed units
            and restart an unfinished one from its last checkpoint.
    """

    methods: tuple[str, ...] = ("byel", "byol", "simclr", "supervised")
    seeds: tuple[int, ...] = (0, 1)
    protocols: tuple[Protocol, ...] = ("linear", "finetune")
    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str | None = None
    output: str | None = None
    resume: bool = False


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything one benchmark run needs."""

    preset: str = "default"
    data: DataSettings = field(default_factory=DataSettings)
    run: RunSettings = field(default_factory=RunSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    pretrain: PretrainSettings = field(default_factory=PretrainSettings)
    evaluation: EvalSettings = field(default_factory=EvalSettings)


_SECTIONS = ("data", "run", "model", "pretrain", "evaluation")

# Each flag sets one field; "batch_size_per_device" sets both training loops.
FLAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "data_root": (("data", "data_root"),),
    "train_dir": (("data", "train_dir"),),
    "eval_dir": (("data", "eval_dir"),),
    "eval_format": (("data", "eval_format"),),
    "eval_annotations": (("data", "eval_annotations"),),
    "num_workers": (("data", "num_workers"),),
    "pipeline": (("data", "pipeline"),),
    "cache_size": (("data", "cache_size"),),
    "methods": (("run", "methods"),),
    "seeds": (("run", "seeds"),),
    "protocols": (("run", "protocols"),),
    "accelerator": (("run", "accelerator"),),
    "devices": (("run", "devices"),),
    "num_nodes": (("run", "num_nodes"),),
    "strategy": (("run", "strategy"),),
    "precision": (("run", "precision"),),
    "output": (("run", "output"),),
    "resume": (("run", "resume"),),
    "backbone": (("model", "backbone"),),
    "pretrained": (("model", "pretrained"),),
    "input_size": (("model", "input_size"),),
    "min_scale": (("model", "min_scale"),),
    "epochs": (("pretrain", "epochs"),),
    "optimizer": (("pretrain", "optimizer"),),
    "lr": (("pretrain", "lr"),),
    "optimizer_impl": (("pretrain", "optimizer_impl"),),
    "compile": (("model", "compile"),),
    "batch_size_per_device": (
        ("pretrain", "batch_size_per_device"),
        ("evaluation", "batch_size_per_device"),
    ),
    "linear_epochs": (("evaluation", "linear_epochs"),),
    "finetune_epochs": (("evaluation", "finetune_epochs"),),
    "class_balance": (("evaluation", "class_balance"),),
}


def preset(name: str) -> BenchmarkConfig:
    """Returns a preset configuration.

    - ``default``: the embedded synthetic data on a CPU in minutes, with the
      no-pretraining control: a narrow ResNet-10 (``resnet10-w16``) at 48 px on
      64 px faces, crops of at least half the face, Adam at 1e-3 with batch 32,
      8 epochs, two seeds; the uint8 cache pipeline without worker processes,
      channels-last. Chosen with ``benchmarks/preset_search.py``
      (``docs/benchmarks.md``).
    - ``smoke``: the same pipeline on a tiny configuration, for tests and CI.
    - ``paper``: the published BYEL recipe for real LSD data on GPUs: ResNet-50 from
      scratch at 128 px, batch 256, 100 epochs, LARS lr 0.2, weight decay 1.5e-6,
      momentum 0.99; fine-tuning with Adam lr 1e-4 for 100 epochs; the uint8
      cache pipeline with augmentation on the GPU.

    Raises:
        ValueError: If the preset is unknown.

    Examples:
        >>> preset("paper").model.backbone, preset("paper").pretrain.epochs
        ('resnet50', 100)
    """
    if name == "default":
        return BenchmarkConfig(
            preset=name,
            # Decoded once into a uint8 cache and augmented a batch at a time in
            # the training process: on a small CPU, worker processes decoding and
            # augmenting image by image take cores from the training step.
            data=DataSettings(pipeline="cache", num_workers=0, synthetic_image_size=64),
            run=RunSettings(methods=(*RunSettings().methods, "random-init")),
            model=ModelSettings(
                # Of the encoders tried, the one that learned the most per CPU
                # second in this budget (docs/benchmarks.md).
                backbone="resnet10-w16",
                input_size=48,
                hidden_dim=512,
                out_dim=128,
                min_scale=0.5,
                # oneDNN's convolutions are faster channels-last on CPUs too.
                channels_last=True,
            ),
            # LARS's trust ratio (1e-3) makes steps too small for a few hundred
            # steps; Adam at its usual 1e-3 (0.008 x 32 / 256) learns in that
            # budget, and batch 32 gives it twice the steps of batch 64.
            pretrain=PretrainSettings(
                epochs=8, batch_size_per_device=32, optimizer="adam", lr=0.008
            ),
            # The published fine-tuning rate (1e-4) barely moves a new classifier
            # in three epochs; Adam's usual 1e-3, as in pretraining, does.
            evaluation=EvalSettings(
                linear_epochs=30,
                finetune_epochs=3,
                finetune_lr=1e-3,
                batch_size_per_device=64,
            ),
        )
    if name == "smoke":
        return BenchmarkConfig(
            preset=name,
            data=DataSettings(
                synthetic_images_per_class=12, synthetic_image_size=32, num_workers=0
            ),
            run=RunSettings(seeds=(0,)),
            model=ModelSettings(input_size=32, hidden_dim=64, out_dim=32),
            pretrain=PretrainSettings(epochs=1, batch_size_per_device=16),
            evaluation=EvalSettings(
                linear_epochs=5,
                finetune_epochs=1,
                batch_size_per_device=16,
                bootstrap_samples=200,
                # One of its four people: a tenth would hold out nobody.
                holdout_fraction=0.25,
            ),
        )
    if name == "paper":
        return BenchmarkConfig(
            preset=name,
            data=DataSettings(pipeline="cache", num_workers=8),
            run=RunSettings(seeds=(0,)),
            model=ModelSettings(
                backbone="resnet50",
                input_size=128,
                hidden_dim=4096,
                out_dim=256,
                channels_last=True,
            ),
            pretrain=PretrainSettings(
                epochs=100,
                batch_size_per_device=256,
                optimizer="lars",
                lr=0.2,
                weight_decay=1.5e-6,
                momentum_start=0.99,
                momentum_end=0.99,
            ),
            evaluation=EvalSettings(
                linear_epochs=100,
                finetune_epochs=100,
                finetune_lr=1e-4,
                batch_size_per_device=256,
            ),
        )
    raise ValueError(f"unknown preset {name!r}; expected one of {PRESETS}.")


def apply(
    config: BenchmarkConfig, values: Mapping[str, Any], source: str
) -> BenchmarkConfig:
    """Returns ``config`` with ``values`` applied: sections and/or flag names.

    Args:
        config: The configuration to start from.
        values: ``{"model": {"backbone": ...}, "epochs": 3, ...}``; flag names may
            use dashes or underscores.
        source: Where the values come from, for error messages.

    Raises:
        ValueError: On an unknown key or a value of the wrong type.
    """
    for key, value in values.items():
        name = key.replace("-", "_")
        if name == "preset":
            continue
        if name in _SECTIONS:
            if not isinstance(value, Mapping):
                raise ValueError(
                    f"{source}: section {key!r} must be a mapping of fields, got "
                    f"{value!r}."
                )
            for field_name, field_value in value.items():
                config = _set(config, name, str(field_name), field_value, source)
        elif name in FLAGS:
            for section, field_name in FLAGS[name]:
                config = _set(config, section, field_name, value, source)
        else:
            raise ValueError(
                f"{source}: unknown setting {key!r}; expected a section "
                f"({', '.join(_SECTIONS)}) or a flag name ({', '.join(sorted(FLAGS))})."
            )
    return config


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a configuration file.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not YAML or not a mapping.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"configuration file {str(file)!r} does not exist.")
    try:
        values = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(
            f"configuration file {str(file)!r} is not YAML: {error}"
        ) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(
            f"configuration file {str(file)!r} must hold a mapping, got "
            f"{type(values).__name__}."
        )
    return values


def to_dict(config: BenchmarkConfig) -> dict[str, Any]:
    """The configuration as plain data (lists for tuples), for YAML and JSON."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value

    return plain(dataclasses.asdict(config))  # type: ignore[no-any-return]


def from_dict(values: Mapping[str, Any]) -> BenchmarkConfig:
    """Rebuilds a configuration written by :func:`to_dict`."""
    name = str(values.get("preset", "default"))
    return replace(apply(preset(name), values, "configuration"), preset=name)


def parser() -> argparse.ArgumentParser:
    """The command line of ``benchmarks/affwild2.py``."""
    p = argparse.ArgumentParser(
        prog="python benchmarks/affwild2.py",
        description=(
            "BYEL against BYOL, SimCLR and supervised training, from synthetic to "
            "real faces. Without data flags it generates and uses the embedded "
            "synthetic-face data."
        ),
    )
    p.add_argument("--preset", choices=PRESETS, help="base configuration (default)")
    p.add_argument("--config", help="YAML file of settings (sections or flag names)")
    data = p.add_argument_group("data")
    data.add_argument("--data-root", help="LSD-layout folder with both splits")
    data.add_argument("--train-dir", help="synthetic training split (LSD layout)")
    data.add_argument("--eval-dir", help="evaluation split (LSD layout or frames)")
    data.add_argument("--eval-format", choices=("lsd", "affwild2-expr"))
    data.add_argument("--eval-annotations", help="Aff-Wild2 EXPR annotation folder")
    data.add_argument("--num-workers", type=int_at_least(0))
    data.add_argument(
        "--pipeline",
        choices=("files", "cache"),
        help="per-sample decoding in workers, or a uint8 cache augmented on device",
    )
    data.add_argument("--cache-size", type=int_at_least(8), help="cached image side")
    run = p.add_argument_group("run")
    run.add_argument("--methods", type=_names, help="comma-separated method names")
    run.add_argument("--seeds", type=_ints, help="comma-separated seeds")
    run.add_argument("--protocols", type=_names, help="linear,finetune")
    run.add_argument("--accelerator")
    run.add_argument("--devices")
    run.add_argument("--num-nodes", type=int_at_least(1))
    run.add_argument("--strategy")
    run.add_argument("--precision")
    run.add_argument("--output", help="results folder (runs/affwild2/<timestamp>)")
    run.add_argument(
        "--resume",
        action="store_const",
        const=True,
        help="continue the run in --output",
    )
    model = p.add_argument_group("model and training")
    model.add_argument("--backbone", help="torchvision name or timm:NAME")
    model.add_argument("--pretrained", help="local backbone checkpoint to start from")
    model.add_argument("--input-size", type=int_at_least(8))
    model.add_argument(
        "--min-scale", type=float, help="smallest crop of the augmentations (0-1]"
    )
    model.add_argument("--epochs", type=int_at_least(1), help="pretraining epochs")
    model.add_argument("--optimizer", choices=("lars", "sgd", "adam"))
    model.add_argument("--lr", type=float, help="pretraining lr at batch 256")
    model.add_argument(
        "--optimizer-impl",
        choices=("auto", "for-loop", "foreach", "fused"),
        help="optimizer kernels (auto: fused on GPUs, foreach LARS)",
    )
    model.add_argument(
        "--compile",
        action="store_const",
        const=True,
        help="torch.compile the backbones for pretraining",
    )
    model.add_argument("--batch-size-per-device", type=int_at_least(2))
    model.add_argument("--linear-epochs", type=int_at_least(1))
    model.add_argument("--finetune-epochs", type=int_at_least(1))
    model.add_argument("--class-balance", choices=("none", "sampler", "weighted_loss"))
    return p


def resolve(argv: Sequence[str] | None = None) -> BenchmarkConfig:
    """Parses the command line into the resolved configuration.

    Raises:
        SystemExit: On a usage error (argparse's convention), with the message.
    """
    p = parser()
    args = p.parse_args(argv)
    given = {key: value for key, value in vars(args).items() if value is not None}
    try:
        file_values = load_yaml(given.pop("config")) if "config" in given else {}
        name = str(given.pop("preset", file_values.get("preset", "default")))
        config = replace(preset(name), preset=name)
        config = apply(config, file_values, "configuration file")
        config = apply(config, given, "command line")
        check(config)
    except (ValueError, FileNotFoundError) as error:
        p.error(str(error))
    return config


def check(config: BenchmarkConfig) -> None:
    """Checks what no single setting can: data flags that belong together, names.

    Raises:
        ValueError: Naming the setting and what was expected.
    """
    from harness.methods import METHODS

    unknown = [name for name in config.run.methods if name not in METHODS]
    if unknown or not config.run.methods:
        raise ValueError(
            f"unknown methods {unknown}; expected names from {sorted(METHODS)}."
        )
    bad_protocols = [p for p in config.run.protocols if p not in ("linear", "finetune")]
    if bad_protocols or not config.run.protocols:
        raise ValueError(
            f"unknown protocols {bad_protocols}; expected linear and/or finetune."
        )
    data = config.data
    if data.data_root is not None and (data.train_dir or data.eval_dir):
        raise ValueError("give --data-root or --train-dir/--eval-dir, not both.")
    if (data.train_dir is None) != (data.eval_dir is None):
        raise ValueError("--train-dir and --eval-dir go together.")
    if data.eval_format == "affwild2-expr":
        if data.eval_dir is None or data.eval_annotations is None:
            raise ValueError(
                "--eval-format affwild2-expr needs --eval-dir (the frames folder) "
                "and --eval-annotations (the EXPR annotation folder)."
            )
    elif data.eval_annotations is not None:
        raise ValueError("--eval-annotations needs --eval-format affwild2-expr.")
    if data.pipeline not in ("files", "cache"):
        raise ValueError(
            f"data.pipeline must be 'files' or 'cache', got {data.pipeline!r}."
        )
    if data.cache_size is not None and (
        isinstance(data.cache_size, bool)
        or not isinstance(data.cache_size, int)
        or data.cache_size < 1
    ):
        raise ValueError(
            "data.cache_size must be a positive whole number or null, got "
            f"{data.cache_size!r}."
        )
    pretrain = config.pretrain
    if pretrain.optimizer_impl not in ("auto", "for-loop", "foreach", "fused"):
        raise ValueError(
            "pretrain.optimizer_impl must be 'auto', 'for-loop', 'foreach' or "
            f"'fused', got {pretrain.optimizer_impl!r}."
        )
    if pretrain.optimizer_impl == "fused" and pretrain.optimizer == "lars":
        raise ValueError(
            "--optimizer-impl fused is not available for LARS; use foreach (no "
            "host synchronisation) or for-loop (Lightly's LARS)."
        )
    if not 0 <= config.evaluation.holdout_fraction < 1:
        raise ValueError(
            "evaluation.holdout_fraction must lie in [0, 1), got "
            f"{config.evaluation.holdout_fraction}."
        )


def _set(
    config: BenchmarkConfig, section: str, name: str, value: Any, source: str
) -> BenchmarkConfig:
    settings = getattr(config, section)
    known = {f.name: f for f in fields(settings)}
    if name not in known:
        raise ValueError(
            f"{source}: {section} has no setting {name!r}; expected one of "
            f"{sorted(known)}."
        )
    default = getattr(settings, name)
    if isinstance(default, tuple):
        value = tuple(value) if isinstance(value, list | tuple) else (value,)
    elif isinstance(default, bool) and not isinstance(value, bool):
        raise ValueError(f"{source}: {section}.{name} must be true or false.")
    elif isinstance(default, int | float) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"{source}: {section}.{name} must be a number, got {value!r}."
            )
        if isinstance(default, int) and value != int(value):
            raise ValueError(
                f"{source}: {section}.{name} must be a whole number, got {value!r}."
            )
        value = type(default)(value)
    return replace(config, **{section: replace(settings, **{name: value})})


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``.

    Examples:
        >>> int_at_least(1)("3")
        3
    """

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
