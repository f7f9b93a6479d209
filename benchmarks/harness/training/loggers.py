"""The training logs of a run: Lightning's CSV log, and TensorBoard on request.

The CSV log is always written: ``results.md`` and ``training_curves.png`` read it.
A resumed fit continues its unit's ``metrics.csv`` (:class:`ResumableCSVLogger`),
where Lightning's own CSV logger would delete the earlier attempts' rows.
``--logger tensorboard`` adds a TensorBoard log of the same values beside it
(``tensorboard --logdir <output>/logs``), through Lightning's
``TensorBoardLogger`` (tensorboard or tensorboardX, the latter in the
``benchmarks`` extra).
"""

import csv
import io
from pathlib import Path
from typing import IO

from lightning_fabric.loggers.logger import rank_zero_experiment
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter

from harness.config.settings import LoggerKind
from lightly_byel.utils.atomic_files import write_atomic


class ResumableCSVLogger(CSVLogger):
    """Lightning's ``CSVLogger``, continuing the ``metrics.csv`` of an earlier attempt.

    Lightning deletes an existing ``metrics.csv`` when a logger opens its folder,
    which on ``--resume`` would lose the epochs trained before the interruption.
    This one keeps them: the first rows it writes replace only the earlier rows
    from their step on (the steps a resumed fit trains again), so every step is
    logged once.
    """

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        """The writer of the log folder (created on first use)."""
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(log_dir=self.log_dir)
        return self._experiment  # type: ignore[return-value]  # set just above


class _ContinuingWriter(ExperimentWriter):
    """Writes ``metrics.csv`` after the rows that an earlier attempt left there."""

    def _check_log_dir_exists(self) -> None:
        # Called by the writer's constructor, where Lightning deletes the file.
        self._earlier = Path(self.metrics_file_path).is_file()

    def save(self) -> None:
        if self._earlier and self.metrics:
            self._earlier = False
            self._keep_rows_before(min(int(row["step"]) for row in self.metrics))
        super().save()

    def _keep_rows_before(self, step: int) -> None:
        """Rewrites the earlier file without its rows from ``step`` on."""
        path = Path(self.metrics_file_path)
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            # Lightning writes the columns sorted, and appends in that order.
            columns = sorted(reader.fieldnames or [])
            rows = [row for row in reader if float(row["step"]) < step]

        def write(file: IO[bytes]) -> None:
            text = io.TextIOWrapper(file, encoding="utf-8", newline="")
            table = csv.DictWriter(text, fieldnames=columns)
            table.writeheader()
            table.writerows(rows)
            text.flush()
            text.detach()

        write_atomic(path, write)
        # The columns of the file: rows are appended under its header.
        self.metrics_keys = columns


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
        ['ResumableCSVLogger']
    """
    loggers: list[Logger] = [ResumableCSVLogger(folder, name=name, version=version)]
    if kind == "tensorboard":
        loggers.append(
            TensorBoardLogger(folder, name=name, version=version, sub_dir="tensorboard")
        )
    return loggers
