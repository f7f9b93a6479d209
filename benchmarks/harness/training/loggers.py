"""The training logs of a run: Lightning's CSV log, and TensorBoard on request.

The CSV log is always written: ``results.md`` and ``training_curves.png`` read it.
``--logger tensorboard`` adds a TensorBoard log of the same values beside it
(``tensorboard --logdir <output>/logs``), through Lightning's
``TensorBoardLogger`` (tensorboard or tensorboardX, the latter in the
``benchmarks`` extra).
"""

from pathlib import Path

from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from harness.config.settings import LoggerKind


def training_loggers(
    kind: LoggerKind, folder: Path, name: str, version: str
) -> list[Logger]:
    """The loggers of one fit, writing to ``folder/name/version``.

    Args:
        kind: ``csv``, or ``tensorboard`` for CSV and TensorBoard.
        folder: The logs folder.
        name: The unit (``byel-seed0``), or ``""`` for ``folder`` itself.
        version: The fit (``pretrain``, ``finetune``).

    Examples:
        >>> import tempfile
        >>> [type(log).__name__ for log in training_loggers(
        ...     "csv", Path(tempfile.mkdtemp()), "byel-seed0", "pretrain")]
        ['CSVLogger']
    """
    loggers: list[Logger] = [CSVLogger(folder, name=name, version=version)]
    if kind == "tensorboard":
        loggers.append(
            TensorBoardLogger(folder, name=name, version=version, sub_dir="tensorboard")
        )
    return loggers
