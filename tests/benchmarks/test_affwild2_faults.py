"""``benchmarks/affwild2.py`` under faults: kills, torn files, a second writer,
changed settings on resume, divergence, and settings that cannot work.

Every case is a smoke run with one method; nothing may be lost or mislabelled,
and every refusal names its cause.
"""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from harness.config.presets import preset
from harness.methods import BYEL
from harness.reporting.results import read_results_json
from harness.storage.lock import run_lock
from harness.training.checkpointed_fit import EpochCheckpoints

from lightly_byel.data import generate
from lightly_byel.models.backbones import build_backbone

Smoke = Callable[..., list[str]]
Scores = Callable[[Path], list[dict[str, Any]]]
TIMINGS = (
    "train_seconds",
    "images_per_second",
    "pretrain_seconds",
    "pretrain_images_per_second",
)
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "affwild2.py"


class Killed(Exception):
    """Stands for the end of the process at a chosen moment."""


@pytest.mark.parametrize("pipeline", ["files", "cache"])
def test_a_run_killed_mid_pretraining_resumes_to_the_numbers_of_a_clean_run(
    affwild2: ModuleType,
    smoke: Smoke,
    scores: Scores,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pipeline: str,
) -> None:
    argv = ["--methods", "byel", "--epochs", "3", "--pipeline", pipeline]
    assert affwild2.main(smoke(tmp_path / "clean", *argv)) == 0

    save = EpochCheckpoints.on_train_epoch_end

    def killed_after_epoch_two(
        self: EpochCheckpoints, trainer: Any, module: Any
    ) -> None:
        save(self, trainer, module)
        if self.folder.name == "pretrain" and trainer.current_epoch == 1:
            raise Killed

    monkeypatch.setattr(EpochCheckpoints, "on_train_epoch_end", killed_after_epoch_two)
    with pytest.raises(Killed):
        affwild2.main(smoke(tmp_path / "killed", *argv))
    # Not monkeypatch.undo(): that would also drop the test's cache folder.
    monkeypatch.setattr(EpochCheckpoints, "on_train_epoch_end", save)
    capsys.readouterr()

    assert affwild2.main(smoke(tmp_path / "killed", *argv, "--resume")) == 0
    printed = capsys.readouterr().out
    assert "byel-seed0, pretraining: continuing from" in printed
    assert "epoch-0002.ckpt" in printed
    assert scores(tmp_path / "killed") == scores(tmp_path / "clean")
    runs = read_results_json(tmp_path / "killed" / "results.json")["runs"]
    assert all(run["pretrain_seconds"] > 0 for run in runs)
    # The log of the resumed run holds every step once, the earlier attempt's too.
    clean, killed = (_losses(tmp_path / name) for name in ("clean", "killed"))
    steps = [step for step, _ in clean]
    assert steps == list(range(len(steps))) and len(steps) % 3 == 0  # 3 epochs
    assert killed == clean


def _losses(output: Path) -> list[tuple[int, str]]:
    """(step, train_loss) of every logged step of byel-seed0's pretraining."""
    log = output / "logs" / "byel-seed0" / "pretrain" / "metrics.csv"
    with log.open(newline="") as file:
        rows = list(csv.DictReader(file))
    return [(int(row["step"]), row["train_loss"]) for row in rows if row["train_loss"]]


def test_sigkill_at_any_moment_leaves_a_run_that_resumes(
    affwild2: ModuleType, smoke: Smoke, tmp_path: Path, generated_data_cache: Path
) -> None:
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "byel", "--epochs", "16", "--protocols", "linear")
    # Generate the data first, so that the kill falls into training.
    generate_once = smoke(tmp_path / "warm", "--methods", "random-init")
    assert affwild2.main([*generate_once, "--protocols", "linear"]) == 0
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *argv],
        env={**os.environ, "LIGHTLY_BYEL_CACHE": str(generated_data_cache)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = output / "checkpoints" / "byel-seed0" / "pretrain"
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob("epoch-*.ckpt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # somewhere in a later epoch, or while a checkpoint is written
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(checkpoints.glob("epoch-*.ckpt")), "no checkpoint before the kill"

    assert affwild2.main([*argv, "--resume"]) == 0
    runs = read_results_json(output / "results.json")["runs"]
    assert [(run["method"], run["protocol"]) for run in runs] == [("byel", "linear")]
    assert not list(checkpoints.glob(".*.tmp"))


def test_a_torn_checkpoint_is_reported_and_set_aside(
    affwild2: ModuleType,
    smoke: Smoke,
    scores: Scores,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "byel", "--epochs", "2", "--protocols", "linear")
    assert affwild2.main(argv) == 0
    before = scores(output)
    # As if killed during the last epoch's checkpoint, before the unit's results.
    (output / "units" / "byel-seed0.json").unlink()
    newest = output / "checkpoints" / "byel-seed0" / "pretrain" / "epoch-0002.ckpt"
    newest.write_bytes(newest.read_bytes()[:2048])
    capsys.readouterr()
    assert affwild2.main([*argv, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert f"checkpoint {str(newest)!r} is not a readable PyTorch file" in printed
    assert newest.with_name("epoch-0002.ckpt.corrupt").is_file()
    assert "continuing from" in printed and "epoch-0001.ckpt" in printed
    assert scores(output) == before


def test_a_torn_unit_file_is_set_aside_and_the_unit_run_again(
    affwild2: ModuleType,
    smoke: Smoke,
    scores: Scores,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "random-init", "--protocols", "linear")
    assert affwild2.main(argv) == 0
    before = scores(output)
    unit = output / "units" / "random-init-seed0.json"
    unit.write_text(unit.read_text()[:100])
    capsys.readouterr()
    assert affwild2.main([*argv, "--resume"]) == 0
    assert "is unreadable" in capsys.readouterr().out
    assert unit.with_name("random-init-seed0.json.corrupt").is_file()
    assert scores(output) == before


def test_resume_refuses_other_settings_data_or_protocols(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "faces"
    generate(data, images_per_class=8, image_size=32, seed=0)
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "random-init", "--data-root", str(data))
    assert affwild2.main([*argv, "--protocols", "linear"]) == 0
    results = (output / "results.json").read_bytes()
    capsys.readouterr()

    for extra, change in [
        (["--protocols", "linear", "--input-size", "24"], "model.input_size: 32 -> 24"),
        (["--protocols", "linear,finetune"], 'run.protocols: ["linear"] -> ["linear"'),
        (["--protocols", "linear", "--backbone", "resnet10-w8"], "model.backbone"),
    ]:
        assert affwild2.main([*argv, *extra, "--resume"]) == 2
        error = capsys.readouterr().err
        assert change in error and "use a new --output" in error, error
    # Changed images are other data, even under the same path.
    image = next((data / "training_set_synthetic_images" / "ANGER").iterdir())
    os.utime(image, ns=(0, image.stat().st_mtime_ns + 1_000_000_000))
    assert affwild2.main([*argv, "--protocols", "linear", "--resume"]) == 2
    assert "data.train:" in capsys.readouterr().err
    assert (output / "results.json").read_bytes() == results


def test_resume_may_add_methods_and_the_report_keeps_every_unit(
    affwild2: ModuleType, smoke: Smoke, tmp_path: Path
) -> None:
    output = tmp_path / "run"
    linear = ("--protocols", "linear")
    assert affwild2.main(smoke(output, "--methods", "random-init", *linear)) == 0
    more = smoke(output, "--methods", "random-init,supervised", *linear, "--resume")
    assert affwild2.main(more) == 0
    fewer = smoke(output, "--methods", "supervised", "--seeds", "0", *linear)
    assert affwild2.main([*fewer, "--resume"]) == 0
    runs = read_results_json(output / "results.json")["runs"]
    assert sorted(run["method"] for run in runs) == ["random-init", "supervised"]


def test_a_second_run_into_the_same_folder_is_refused(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "run"
    with run_lock(output):
        assert affwild2.main(smoke(output, "--methods", "random-init")) == 2
    error = capsys.readouterr().err
    assert f"in use by another run (process {os.getpid()} on" in error
    assert not (output / "results.json").exists()


def test_divergence_stops_the_unit_and_keeps_the_others(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    step = BYEL.training_step

    def diverging(self: BYEL, batch: Any, batch_idx: int) -> torch.Tensor:
        return step(self, batch, batch_idx) * math.nan

    monkeypatch.setattr(BYEL, "training_step", diverging)
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "byel,random-init", "--epochs", "3")
    assert affwild2.main([*argv, "--protocols", "linear"]) == 1
    streams = capsys.readouterr()
    assert "byel, seed 0 stopped: byel-seed0, pretraining: the training loss" in (
        streams.out
    )
    assert "Failed units: byel seed 0" in streams.err
    results = json.loads((output / "results.json").read_text())  # valid JSON
    assert [run["method"] for run in results["runs"]] == ["random-init"]
    failure = results["failed_units"][0]
    assert (failure["method"], failure["seed"]) == ("byel", 0)
    assert "not finite for 5 consecutive steps (up to step 5)" in failure["error"]
    assert "Units that failed" in (output / "results.md").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--devices", "999"], "asks for 999 devices, and this machine has"),
        (["--pretrained", "PRETRAINED"], "holds non-finite values"),
        (["--output", "FILE"], "is a file, not a folder"),
        (["--data-root", "MISSING"], "is not a folder"),
    ],
)
def test_settings_that_cannot_work_are_refused_before_any_data(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    backbone, _ = build_backbone(preset("smoke").model.backbone)
    state = {
        key: torch.full_like(value, math.nan) if value.is_floating_point() else value
        for key, value in backbone.state_dict().items()
    }
    torch.save(state, tmp_path / "nan.pt")
    (tmp_path / "file").write_text("")
    paths = {
        "PRETRAINED": str(tmp_path / "nan.pt"),
        "FILE": str(tmp_path / "file"),
        "MISSING": str(tmp_path / "missing"),
    }
    cache = tmp_path / "cache"
    argv = smoke(tmp_path / "run", "--methods", "byel")
    argv += [paths.get(value, value) for value in extra]
    monkeypatch.setenv("LIGHTLY_BYEL_CACHE", str(cache))
    assert affwild2.main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error
    assert not cache.exists()  # nothing generated


def test_missing_eval_classes_and_replaced_images_are_reported(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "faces"
    generate(data, images_per_class=8, image_size=32, seed=0)
    shutil.rmtree(data / "validation_set_real_images" / "SURPRISE")
    # Starts like a JPEG, so it is indexed, and fails when decoded.
    broken = sorted((data / "validation_set_real_images" / "FEAR").iterdir())[2]
    broken.write_bytes(broken.read_bytes()[:40])
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "random-init", "--data-root", str(data))
    assert affwild2.main([*argv, "--protocols", "linear"]) == 0
    assert "the evaluation split has no images of SURPRISE" in capsys.readouterr().out
    markdown = (output / "results.md").read_text()
    assert "The evaluation split has no images of SURPRISE" in markdown
    assert "averages the F1 of all 6 classes" in markdown
    replaced = "1 unreadable image files were replaced by the next readable sample"
    assert f"{replaced}:** {broken}" in markdown
    used = read_results_json(output / "results.json")["config"]["data_used"]
    assert used["replaced_files"] == [str(broken)]


def test_sigterm_stops_a_run_that_resumes_without_redoing_finished_units(
    affwild2: ModuleType, smoke: Smoke, tmp_path: Path, generated_data_cache: Path
) -> None:
    # What a scheduler sends before it pre-empts a job (SLURM: SIGTERM, then KILL).
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "random-init,byel", "--epochs", "8")
    argv += ["--protocols", "linear"]
    warm = smoke(tmp_path / "warm", "--methods", "random-init", "--protocols", "linear")
    assert affwild2.main(warm) == 0  # the data exists, so the signal hits training
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *argv],
        env={**os.environ, "LIGHTLY_BYEL_CACHE": str(generated_data_cache)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    finished = output / "units" / "random-init-seed0.json"
    checkpoints = output / "checkpoints" / "byel-seed0" / "pretrain"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        finished.is_file() and list(checkpoints.glob("epoch-*.ckpt"))
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) != 0  # stopped, not finished
    assert finished.is_file(), "the first unit did not finish before the signal"
    before = (finished.read_bytes(), finished.stat().st_mtime_ns)
    assert not (output / "units" / "byel-seed0.json").exists()

    assert affwild2.main([*argv, "--resume"]) == 0
    assert (finished.read_bytes(), finished.stat().st_mtime_ns) == before
    runs = read_results_json(output / "results.json")["runs"]
    assert [run["method"] for run in runs] == ["random-init", "byel"]
