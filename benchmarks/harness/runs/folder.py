"""The files of one run's folder: its identity, its finished and failed units.

A run folder holds ``run.json`` (the run's identity, see
:mod:`harness.runs.identity`), ``units/<method>-seed<k>.json`` for every finished
unit, ``units/<method>-seed<k>.failed.json`` for a unit that stopped with an error,
and the checkpoints, logs and reports. Every file is written atomically. A unit
file that cannot be read back is set aside as ``*.corrupt`` and the unit is run
again, so nothing is lost and nothing unreadable is reported.
"""

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.reporting.records import RunRecord
from harness.runs.identity import IDENTITY_FILE, differences, read_identity
from lightly_byel.utils.atomic_files import write_text_atomic


class ResumeRefusedError(ValueError):
    """A resumed run's settings, data or code differ from the run in its folder."""


class RunFolder:
    """One results folder and the state of its units.

    Args:
        root: The folder (``--output``).
        report: Where messages about set-aside files go.
    """

    def __init__(self, root: Path, report: Callable[[str], None] = print) -> None:
        self.root = root
        self.units = root / "units"
        self.report = report

    def holds_a_run(self) -> bool:
        """Whether a run has started here: an identity, units or checkpoints."""
        checkpoints = self.root / "checkpoints"
        return (
            (self.root / IDENTITY_FILE).is_file()
            or (self.units.is_dir() and any(self.units.iterdir()))
            or (checkpoints.is_dir() and any(checkpoints.iterdir()))
        )

    def check_identity(self, current: dict[str, Any], parts: Sequence[str]) -> None:
        """Compares ``parts`` of the recorded identity with ``current``'s.

        Raises:
            ResumeRefusedError: Listing what changed, if anything did, or if the
                folder holds a run without a recorded identity.
        """
        recorded = read_identity(self.root)
        if recorded is None:
            raise ResumeRefusedError(
                f"--resume: {self.root} holds no {IDENTITY_FILE}, so its settings "
                "cannot be checked; choose a new --output."
            )
        changed = differences(
            {part: recorded.get(part) for part in parts},
            {part: current.get(part) for part in parts},
        )
        if changed:
            raise ResumeRefusedError(
                f"--resume: the run in {self.root} was made with other settings, "
                f"data or code: {'; '.join(changed)}. Its results would be labelled "
                "with settings they were not made with; use a new --output (adding "
                "--methods or --seeds is allowed)."
            )

    def record_identity(self, identity: dict[str, Any]) -> None:
        """Writes ``run.json``."""
        write_text_atomic(
            self.root / IDENTITY_FILE, json.dumps(identity, indent=2) + "\n"
        )

    def unit_path(self, name: str, suffix: str = ".json") -> Path:
        """The file of a unit (``byel-seed0``)."""
        return self.units / f"{name}{suffix}"

    def read_unit(self, name: str, set_aside: bool = True) -> list[RunRecord] | None:
        """The records of a finished unit; ``None`` if it has not finished.

        A unit file that does not read back as valid runs counts as unfinished;
        with ``set_aside`` (the writing process) it is renamed ``<file>.corrupt``
        and reported.
        """
        path = self.unit_path(name)
        if not path.is_file():
            return None
        try:
            runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
            records = [RunRecord.from_json(run, str(path)) for run in runs]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            if not set_aside:
                return None
            aside = path.with_name(f"{path.name}.corrupt")
            path.replace(aside)
            self.report(
                f"{path} is unreadable ({type(error).__name__}: {error}); set aside "
                f"as {aside.name}, the unit runs again."
            )
            return None
        return records

    def write_unit(self, name: str, records: list[RunRecord]) -> None:
        """Records a finished unit, and forgets an earlier failure of it."""
        runs = [record.to_json() for record in records]
        write_text_atomic(
            self.unit_path(name), json.dumps({"runs": runs}, indent=2) + "\n"
        )
        self.unit_path(name, ".failed.json").unlink(missing_ok=True)

    def write_failure(self, name: str, method: str, seed: int, error: str) -> None:
        """Records a unit that stopped with an error."""
        failure = {
            "method": method,
            "seed": seed,
            "error": error,
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        write_text_atomic(
            self.unit_path(name, ".failed.json"), json.dumps(failure, indent=2) + "\n"
        )

    def failures(self) -> list[dict[str, Any]]:
        """The units that stopped with an error and have not finished since."""
        found = []
        for path in sorted(self.units.glob("*.failed.json")):
            try:
                found.append(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, UnicodeDecodeError):
                found.append({"method": path.name, "seed": None, "error": "unreadable"})
        return found

    def finished_runs(self, order: Sequence[str]) -> list[RunRecord]:
        """The records of every finished unit here: ``order``'s first, then others.

        Units of earlier invocations (other methods or seeds of the same run) are
        included, so the report never loses what a run has finished.
        """
        names = list(order)
        names += sorted(
            path.name.removesuffix(".json")
            for path in self.units.glob("*.json")
            if not path.name.endswith(".failed.json")
            and path.name.removesuffix(".json") not in names
        )
        records: list[RunRecord] = []
        for name in names:
            records.extend(self.read_unit(name) or [])
        return records
