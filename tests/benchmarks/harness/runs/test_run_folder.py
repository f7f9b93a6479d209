import json
from dataclasses import replace
from pathlib import Path

import pytest
from harness.reporting.records import RunRecord
from harness.runs.folder import ResumeRefusedError, RunFolder

RUN_JSON = {
    "method": "byel",
    "seed": 0,
    "protocol": "linear",
    "macro_f1": 0.5,
    "accuracy": 0.5,
    "per_class_f1": {"ANGER": 0.5},
    "macro_f1_ci95": [0.4, 0.6],
    "holdout_macro_f1": 0.7,
    "confusion_matrix": [[1]],
    "selection": "fixed schedule, last epoch",
    "train_seconds": 1.0,
    "images_per_second": 10.0,
    "pretrain_seconds": 2.0,
    "pretrain_images_per_second": 5.0,
}
RUN = RunRecord(**RUN_JSON)  # type: ignore[arg-type]


def test_units_round_trip_and_a_torn_one_is_set_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = RunFolder(tmp_path)
    assert not folder.holds_a_run()
    folder.write_unit("byel-seed0", [RUN])
    assert folder.holds_a_run()
    assert folder.read_unit("byel-seed0") == [RUN]
    path = folder.unit_path("byel-seed0")
    path.write_text(path.read_text()[:50])
    assert folder.read_unit("byel-seed0") is None
    assert (tmp_path / "units" / "byel-seed0.json.corrupt").is_file()
    assert "set aside as byel-seed0.json.corrupt, the unit runs again" in (
        capsys.readouterr().out
    )
    path.write_text(json.dumps({"runs": [{**RUN_JSON, "macro_f1": "high"}]}))
    assert folder.read_unit("byel-seed0") is None


def test_finished_runs_include_units_of_earlier_invocations(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.write_unit("byol-seed0", [replace(RUN, method="byol")])
    folder.write_unit("byel-seed0", [RUN])
    runs = folder.finished_runs(["byel-seed0"])
    assert [run.method for run in runs] == ["byel", "byol"]


def test_failures_are_recorded_until_the_unit_finishes(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.write_failure("byel-seed0", "byel", 0, "the loss was not finite")
    assert folder.failures()[0]["error"] == "the loss was not finite"
    assert folder.finished_runs(["byel-seed0"]) == []
    folder.write_unit("byel-seed0", [RUN])
    assert folder.failures() == []


def test_an_identity_is_required_and_compared(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    with pytest.raises(ResumeRefusedError, match=r"holds no run\.json"):
        folder.check_identity({"settings": {}}, ("settings",))
    folder.record_identity({"settings": {"epochs": 1}, "data": {"train": "a"}})
    folder.check_identity({"settings": {"epochs": 1}}, ("settings",))
    changed = r"settings\.epochs: 1 -> 2.*new --output"
    with pytest.raises(ResumeRefusedError, match=changed):
        folder.check_identity({"settings": {"epochs": 2}}, ("settings",))
    with pytest.raises(ResumeRefusedError, match=r'data\.train: "a" -> "b"'):
        folder.check_identity({"data": {"train": "b"}}, ("data",))
