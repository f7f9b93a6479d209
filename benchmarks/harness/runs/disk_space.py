"""The disk space a run will take, estimated before it starts, and refused early.

A run writes, per unit, the newest two epoch checkpoints of its pretraining and of
its fine-tuning and one model file per protocol, and it decodes the splits into
uint8 caches once. A disk that fills up hours in loses the hours; so before any
data is generated or any model trained, :func:`check_disk_space` compares what the
run will write with the free space of every disk it writes to.

The checkpoint sizes come from the modules themselves, built as the run builds
them: a pretraining checkpoint holds the module's weights and buffers and the
optimizer's state (two moments per weight for Adam, one momentum for SGD and
LARS); a fine-tuning checkpoint holds the encoder and head, Adam's two moments and
the copy of the best epoch's weights.
"""

import errno
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from harness.config.settings import BenchmarkConfig
from harness.data.splits import Splits, cache_root
from harness.methods import METHODS
from harness.pipelines.cache.pipeline import cache_size
from harness.pipelines.cache.uint8_cache import cache_folder, footprint_bytes
from lightly_byel.data import LSD_CLASSES
from lightly_byel.utils.output_paths import nearest_existing

KEPT_CHECKPOINTS = 3
"""Checkpoints of one fit on disk at once: the newest two, and one being written."""

MARGIN_BYTES = 64 * 2**20
"""Free space left on top of the estimate, for logs, reports and the file system."""


@dataclass(frozen=True)
class DiskNeed:
    """Bytes that a run will write into one folder.

    Attributes:
        what: What the bytes are, for the error (``"checkpoints and models"``).
        folder: Where they go; need not exist yet.
        bytes: How many.
    """

    what: str
    folder: Path
    bytes: int


def state_bytes(module: nn.Module) -> int:
    """The bytes of a module's weights and buffers as ``torch.save`` stores them.

    Examples:
        >>> state_bytes(nn.Linear(10, 2))  # 22 float32 numbers
        88
    """
    return sum(
        value.numel() * value.element_size() for value in module.state_dict().values()
    )


def trainable_bytes(module: nn.Module) -> int:
    """The bytes of a module's trainable weights (what an optimizer keeps state of)."""
    return sum(
        p.numel() * p.element_size() for p in module.parameters() if p.requires_grad
    )


def checkpoint_bytes(config: BenchmarkConfig, method: str) -> tuple[int, int, int]:
    """Estimated bytes of one pretraining checkpoint, fine-tuning checkpoint and model.

    Args:
        config: The run's settings.
        method: A name of :data:`~harness.methods.METHODS`.

    Returns:
        The bytes of a pretraining checkpoint (0 for a method that does not
        pretrain), of a fine-tuning checkpoint and of a model file.
    """
    spec = METHODS[method]
    labels = list(range(len(LSD_CLASSES)))
    module = spec.build(config.model, config.pretrain, labels)
    encoder = state_bytes(module.backbone)
    head = (module.num_ftrs + 1) * len(LSD_CLASSES) * 4
    moments = 2 if config.pretrain.optimizer == "adamw" else 1
    pretrain = 0
    if spec.pretrains:
        pretrain = state_bytes(module) + moments * trainable_bytes(module)
    # Weights, Adam's two moments and the best epoch's copy of encoder and head.
    finetune = 4 * (encoder + head)
    return _stored(pretrain), _stored(finetune), _stored(encoder + head)


def _stored(raw: int) -> int:
    """The file size of ``raw`` bytes of tensors: names, records and alignment."""
    return 0 if raw == 0 else raw + raw // 20 + 2**16


def run_needs(config: BenchmarkConfig, output: Path, splits: Splits) -> list[DiskNeed]:
    """What the run will write: checkpoints and model files, and missing caches.

    Args:
        config: The run's settings.
        output: The results folder.
        splits: The run's data, whose uint8 caches the ``cache`` pipeline builds
            where they do not exist yet.
    """
    run = config.run
    total = 0
    for method in run.methods:
        pretrain, finetune, model = checkpoint_bytes(config, method)
        per_seed = KEPT_CHECKPOINTS * pretrain + len(run.protocols) * model
        if "finetune" in run.protocols:
            per_seed += KEPT_CHECKPOINTS * finetune
        total += per_seed * len(run.seeds)
    needs = [DiskNeed("checkpoints and model files", output, total)]
    if config.data.pipeline == "cache":
        size, caches = cache_size(config), cache_root(config.data) / "uint8"
        missing = sum(
            footprint_bytes(len(split), size)
            for split in (splits.train, splits.eval)
            if not (cache_folder(split, caches, size) / "cache.json").is_file()
        )
        if missing:
            needs.append(DiskNeed("uint8 image caches", caches, missing))
    return needs


def check_disk_space(needs: Iterable[DiskNeed]) -> None:
    """Refuses a run whose writes do not fit the free space of their disks.

    Needs of folders on one disk add up; each disk must have their sum plus
    :data:`MARGIN_BYTES` free.

    Raises:
        OSError: ``errno.ENOSPC``, naming the folder, what goes there, the bytes
            needed and the bytes free.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> check_disk_space([DiskNeed("results", folder / "run", 10)])
        >>> check_disk_space([DiskNeed("results", folder / "run", 2**50)])
        Traceback (most recent call last):
        ...
        OSError: [Errno 28] not enough free disk space in '.../run' for results
        (1125899.91 GB): ... GB are free; free some space or choose another folder.
    """
    disks: dict[int, list[DiskNeed]] = {}
    for need in needs:
        disks.setdefault(nearest_existing(need.folder).stat().st_dev, []).append(need)
    for on_disk in disks.values():
        needed = sum(need.bytes for need in on_disk)
        free = shutil.disk_usage(nearest_existing(on_disk[0].folder)).free
        if needed + MARGIN_BYTES > free:
            parts = " and ".join(
                f"'{need.folder}' for {need.what} ({_gigabytes(need.bytes)})"
                for need in on_disk
            )
            raise OSError(
                errno.ENOSPC,
                f"not enough free disk space in {parts}: {_gigabytes(free)} are "
                "free; free some space or choose another folder.",
            )


def _gigabytes(count: int) -> str:
    return f"{count / 1e9:.2f} GB"
