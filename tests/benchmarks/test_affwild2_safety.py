"""``benchmarks/affwild2.py`` against hostile or mistaken inputs: planted
checkpoints, outputs onto the data, training splits that cannot be learned.

Nothing untrusted may run, no input may be overwritten, and nothing may be
trained on data that would make the reported scores wrong.
"""

import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lightly_byel.data import generate
from lightly_byel.utils.safe_load import safe_load

Smoke = Callable[..., list[str]]
Scores = Callable[[Path], list[dict[str, Any]]]


def faces(tmp_path: Path) -> Path:
    """A small data root of generated faces, with the generator's metadata."""
    data = tmp_path / "faces"
    generate(data, images_per_class=4, image_size=32, seed=0)
    return data


def listing(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_resume_never_runs_a_planted_checkpoint(
    affwild2: ModuleType,
    smoke: Smoke,
    scores: Scores,
    tmp_path: Path,
    plant: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "byel", "--epochs", "2")
    assert affwild2.main(argv) == 0
    before = scores(output)
    # As if the last unit had not finished, and someone had copied in checkpoints.
    (output / "units" / "byel-seed0.json").unlink()
    unit = output / "checkpoints" / "byel-seed0"
    planted = [
        unit / "pretrain" / "epoch-0003.ckpt",
        unit / "finetune" / "epoch-0002.ckpt",
    ]
    genuine = [
        unit / "pretrain" / "epoch-0002.ckpt",
        unit / "finetune" / "epoch-0001.ckpt",
    ]
    for path, real in zip(planted, genuine, strict=True):
        marker = plant(path, safe_load(real))
    capsys.readouterr()
    assert affwild2.main([*argv, "--resume"]) == 0
    assert not marker.exists()
    printed = capsys.readouterr().out
    for path in planted:
        assert f"checkpoint {str(path)!r} is refused" in printed
        assert path.with_name(path.name + ".untrusted").is_file()
    assert "weights_only" not in printed
    assert scores(output) == before


@pytest.mark.parametrize("where", ["train", "eval", "cache", "above"])
def test_results_are_never_written_into_the_data(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    generated_data_cache: Path,
    capsys: pytest.CaptureFixture[str],
    where: str,
) -> None:
    data = faces(tmp_path)
    train, evaluation = (
        data / "training_set_synthetic_images",
        data / "validation_set_real_images",
    )
    before = listing(data)
    outputs = {
        "train": (train / "runs", "lies inside --train-dir"),
        "eval": (evaluation, "is the same as --eval-dir"),
        "cache": (generated_data_cache / "runs", "lies inside data.cache_dir"),
        "above": (data, "holds --train-dir"),
    }
    output, message = outputs[where]
    argv = smoke(output, "--methods", "random-init", "--protocols", "linear")
    argv += ["--train-dir", str(train), "--eval-dir", str(evaluation)]
    assert affwild2.main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error
    assert listing(data) == before
    assert not (generated_data_cache / "runs").exists()


def test_an_empty_output_is_refused_and_nothing_is_written(
    affwild2: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An empty --output would have meant the current folder, whatever it holds.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    argv = ["--preset", "smoke", "--methods", "random-init", "--output", ""]
    assert affwild2.main(argv) == 2
    assert "--output must name a file or folder, got ''" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_a_training_split_without_a_class_is_refused_before_any_work(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    data = faces(tmp_path)
    fear = data / "training_set_synthetic_images" / "FEAR"
    shutil.rmtree(fear)
    if damage == "empty":
        fear.mkdir()
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "random-init", "--data-root", str(data))
    assert affwild2.main(argv) == 2
    error = capsys.readouterr().err
    assert "the training split" in error and "has no images of FEAR" in error
    assert not output.exists()


def test_a_holdout_that_cannot_keep_people_apart_is_refused(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = faces(tmp_path)
    anger = data / "training_set_synthetic_images" / "ANGER"
    stranger = anger / "added-later.jpg"
    shutil.copy(next(anger.iterdir()), stranger)
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "random-init", "--protocols", "linear")
    argv += ["--data-root", str(data)]
    assert affwild2.main(argv) == 2
    error = capsys.readouterr().err
    assert (
        "metadata.csv names the person of every generated image, but not of 1" in error
    )
    assert str(stranger) in error and "remove metadata.csv" in error
    assert not output.exists()
    # Without the table the holdout is random images, and the results say so.
    (data / "metadata.csv").unlink()
    assert affwild2.main(argv) == 0
    assert "class-stratified random images" in (output / "results.md").read_text()


def test_a_bad_seed_is_refused_before_the_output_folder_exists(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        affwild2.main(smoke(output, "--methods", "random-init", "--seeds", "-1"))
    assert exit_info.value.code == 2
    assert "--seeds must be at least 0, got -1" in capsys.readouterr().err
    assert not output.exists()
