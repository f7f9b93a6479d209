"""End to end: ``benchmarks/affwild2.py`` on the smoke preset, resume, config file."""

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import yaml
from harness.config.presets import preset
from harness.evaluation.context import EvalContext
from harness.evaluation.protocols import PROTOCOLS, ProtocolSpec
from harness.reporting.results import read_results_json
from harness.runs.command_line import resolve

from lightly_byel.data import LSD_CLASSES
from lightly_byel.models.backbones import build_backbone
from lightly_byel.models.emotion_model import EmotionModel


def test_smoke_run_writes_every_output(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "run"
    assert affwild2.main(smoke(output, "--methods", "byel,supervised")) == 0
    printed = capsys.readouterr().out
    assert "## Linear probe" in printed and "## Fine-tuning" in printed

    results = read_results_json(output / "results.json")
    runs = results["runs"]
    assert {(r["method"], r["protocol"]) for r in runs} == {
        (method, protocol)
        for method in ("byel", "supervised")
        for protocol in ("linear", "finetune")
    }
    for r in runs:
        assert 0.0 <= r["macro_f1"] <= 1.0
        assert r["macro_f1_ci95"][0] <= r["macro_f1_ci95"][1]
        assert set(r["per_class_f1"]) == set(LSD_CLASSES)
        assert r["train_seconds"] > 0 and r["images_per_second"] > 0
        assert r["pretrain_images_per_second"] > 0
        assert r["selection"]
    assert results["config"]["preset"] == "smoke"
    assert results["config"]["data_used"]["source"].startswith("embedded synthetic")
    assert "torch" in results["environment"]

    markdown = (output / "results.md").read_text()
    assert "| byel |" in markdown
    # The smoke preset pretrains and fine-tunes one epoch: counted in the singular.
    assert "1 pretraining epoch of batch 16" in markdown
    assert "linear probe 5 epochs, fine-tuning 1 epoch at" in markdown
    for name in ("macro_f1.png", "confusion.png", "training_curves.png"):
        assert (output / name).stat().st_size > 0
    unit = output / "checkpoints" / "byel-seed0"
    assert (unit / "pretrain" / "epoch-0001.ckpt").is_file()
    assert (unit / "finetune" / "epoch-0001.ckpt").is_file()
    assert (output / "logs" / "byel-seed0" / "pretrain" / "metrics.csv").is_file()

    # The resolved configuration runs again as a configuration file.
    config = yaml.safe_load((output / "config.yaml").read_text())
    assert config["run"]["methods"] == ["byel", "supervised"]
    assert resolve(["--config", str(output / "config.yaml")]).run.methods == (
        "byel",
        "supervised",
    )


def test_pretraining_is_monitored_and_the_monitor_changes_no_score(
    affwild2: ModuleType, smoke: Callable[..., list[str]], tmp_path: Path
) -> None:
    methods = ("--methods", "byel,random-init", "--protocols", "linear")
    watched, plain = tmp_path / "watched", tmp_path / "plain"
    assert affwild2.main(smoke(watched, *methods, "--logger", "tensorboard")) == 0
    assert affwild2.main(smoke(plain, *methods, "--monitor-images", "0")) == 0
    runs = {
        name: json.loads((folder / "results.json").read_text())["runs"]
        for name, folder in (("watched", watched), ("plain", plain))
    }
    byel, control = runs["watched"]
    assert 0.0 <= byel["knn_holdout_macro_f1"] <= 1.0
    assert byel["embedding_std"] > 0.0 and byel["embedding_spread"] > 0.0
    assert control["knn_holdout_macro_f1"] is None  # never pretrained
    assert runs["plain"][0]["knn_holdout_macro_f1"] is None
    # Measuring leaves training exactly as it would have been.
    for watched_run, plain_run in zip(runs["watched"], runs["plain"], strict=True):
        assert watched_run["macro_f1"] == plain_run["macro_f1"]
        assert watched_run["confusion_matrix"] == plain_run["confusion_matrix"]
    log = watched / "logs" / "byel-seed0" / "pretrain"
    header = (log / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"knn_holdout_macro_f1", "embedding_std", "embedding_spread"} <= set(header)
    assert any(column.startswith("lr-") for column in header)  # the learning rate
    assert list((log / "tensorboard").glob("events.out.tfevents.*"))


def test_random_init_control_and_in_domain_scores(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "control"
    assert affwild2.main(smoke(output, "--methods", "supervised,random-init")) == 0
    printed = capsys.readouterr().out
    # Progress as it goes: units done of the total and the time left.
    assert "[1/2 units done" in printed and "[2/2 units done" in printed
    assert "left]" in printed
    runs = read_results_json(output / "results.json")["runs"]
    control = [r for r in runs if r["method"] == "random-init"]
    assert {r["protocol"] for r in control} == {"linear", "finetune"}
    assert all(r["pretrain_seconds"] is None for r in control)
    assert not (output / "checkpoints" / "random-init-seed0" / "pretrain").exists()
    for r in runs:
        assert 0.0 <= r["holdout_macro_f1"] <= 1.0
    markdown = (output / "results.md").read_text()
    assert "| holdout macro F1 |" in markdown
    assert "random-init: no pretraining, evaluated as it starts: random initial" in (
        " ".join(markdown.split())
    )
    assert "every encoder starts from random initial weights" in markdown
    assert "people held out by identity" in markdown
    info = EmotionModel.load(output / "models" / "random-init-seed0-linear.pt").info
    assert info.pretrained is None


def test_a_pretrained_encoder_is_named_wherever_the_run_reports(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backbone, _ = build_backbone(preset("smoke").model.backbone)
    checkpoint = tmp_path / "encoder.pt"
    torch.save(backbone.state_dict(), checkpoint)
    output = tmp_path / "from-checkpoint"
    argv = smoke(output, "--methods", "byel,random-init", "--protocols", "linear")
    assert affwild2.main([*argv, "--pretrained", str(checkpoint)]) == 0
    named = f"the --pretrained checkpoint {str(checkpoint)!r}"
    printed = capsys.readouterr().out
    assert f"random-init-seed0: no pretraining, evaluated as it starts: {named}" in (
        printed
    )
    assert "byel-seed0: pretraining on " in printed and f"from {named}" in printed
    assert "random initial" not in printed
    markdown = " ".join((output / "results.md").read_text().split())
    assert f"every encoder starts from {named}" in markdown
    assert f"random-init: no pretraining, evaluated as it starts: {named}" in markdown
    for method in ("byel", "random-init"):
        model = output / "models" / f"{method}-seed0-linear.pt"
        assert EmotionModel.load(model).info.pretrained == str(checkpoint)


def test_cache_pipeline_runs_end_to_end(
    affwild2: ModuleType, smoke: Callable[..., list[str]], tmp_path: Path
) -> None:
    output = tmp_path / "cached"
    argv = smoke(output, "--methods", "byel,supervised", "--pipeline", "cache")
    assert affwild2.main(argv) == 0
    runs = read_results_json(output / "results.json")["runs"]
    assert {(r["method"], r["protocol"]) for r in runs} == {
        (method, protocol)
        for method in ("byel", "supervised")
        for protocol in ("linear", "finetune")
    }
    assert all(r["pretrain_images_per_second"] > 0 for r in runs)
    cache_folder = Path(os.environ["LIGHTLY_BYEL_CACHE"]) / "uint8"
    assert len(list(cache_folder.glob("uint8-32px-*/images.npy"))) == 2  # both splits
    config = yaml.safe_load((output / "config.yaml").read_text())
    assert config["data"]["pipeline"] == "cache"


def test_refuses_to_mix_runs_without_resume(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    units = tmp_path / "run" / "units"
    units.mkdir(parents=True)
    (units / "byel-seed0.json").write_text('{"runs": []}')
    assert affwild2.main(smoke(tmp_path / "run", "--methods", "byel")) == 2
    assert "holds a run; pass --resume" in capsys.readouterr().err
    # Checkpoints alone (a run killed in its first unit) are a run too.
    started = tmp_path / "started" / "checkpoints" / "byel-seed0" / "pretrain"
    started.mkdir(parents=True)
    assert affwild2.main(smoke(tmp_path / "started", "--methods", "byel")) == 2
    assert "holds a run; pass --resume" in capsys.readouterr().err


def test_resume_starts_a_new_run_and_leaves_a_finished_one_alone(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One command line for every start of a job: a requeued job repeats it.
    command = smoke(tmp_path / "job", "--methods", "supervised", "--resume")
    assert affwild2.main(command) == 0
    assert "no run in" in capsys.readouterr().out
    results = tmp_path / "job" / "results.json"
    before = (results.read_bytes(), results.stat().st_mtime_ns)
    assert affwild2.main(command) == 0
    assert "is finished; nothing to do" in capsys.readouterr().out
    assert (results.read_bytes(), results.stat().st_mtime_ns) == before


def test_resume_skips_finished_units_and_continues_from_the_checkpoint(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    output = tmp_path / "run"
    linear = PROTOCOLS["linear"]
    calls: list[str] = []

    def crash_on_byol(context: EvalContext, earlier: Any) -> Any:
        calls.append(context.unit)
        if context.unit == "byol-seed0" and calls.count("byol-seed0") == 1:
            raise KeyboardInterrupt  # killed after pretraining, before results
        return linear.evaluate(context, earlier)

    monkeypatch.setitem(PROTOCOLS, "linear", ProtocolSpec(linear.title, crash_on_byol))
    with pytest.raises(KeyboardInterrupt):
        affwild2.main(smoke(output, "--methods", "byel,byol"))
    finished = json.loads((output / "units" / "byel-seed0.json").read_text())
    assert not (output / "units" / "byol-seed0.json").exists()
    pretrained = output / "checkpoints" / "byol-seed0" / "pretrain" / "epoch-0001.ckpt"
    assert pretrained.is_file()

    assert affwild2.main(smoke(output, "--methods", "byel,byol", "--resume")) == 0
    assert calls == ["byel-seed0", "byol-seed0", "byol-seed0"]
    runs = read_results_json(output / "results.json")["runs"]
    assert [r for r in runs if r["method"] == "byel"] == finished["runs"]
    byol = [r for r in runs if r["method"] == "byol"]
    assert len(byol) == 2
    # Pretraining had finished: its time is the first attempt's, not zero.
    assert all(r["pretrain_seconds"] > 0 for r in byol)
    assert all(r["pretrain_images_per_second"] > 0 for r in byol)
