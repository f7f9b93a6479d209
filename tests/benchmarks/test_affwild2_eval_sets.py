"""A run with two evaluation sets scores both with the same models."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces import SPLITS, generate

# The class folders' names as a FER2013 image-folder copy spells them.
SYNONYMS = ("angry", "Disgusted", "FEARFUL", "happy", "sad", "surprised")


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated faces, and their real-looking split again as class folders."""
    root = tmp_path_factory.mktemp("faces")
    generate(root, images_per_class=12, image_size=32, seed=0)
    folders = root / "as-class-folders"
    for name, synonym in zip(LSD_CLASSES, SYNONYMS, strict=True):
        shutil.copytree(root / SPLITS[1] / name, folders / synonym)
    # Left out of six-class scoring, and counted.
    shutil.copytree(root / SPLITS[1] / "HAPPINESS", folders / "neutral")
    return root


def test_two_evaluation_sets_are_scored_side_by_side(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    faces: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "supervised", "--protocols", "linear")
    argv += ["--train-dir", str(faces / SPLITS[0])]
    argv += ["--eval-dir", str(faces / SPLITS[1])]
    argv += ["--eval-dir", str(faces / "as-class-folders")]
    argv += ["--eval-format", "lsd", "--eval-format", "class-folders"]
    assert affwild2.main(argv) == 0
    printed = capsys.readouterr().out
    assert "Evaluation set class-folders:as-class-folders: 72 faces; left out " in (
        printed
    )
    assert "{'neutral': 12}" in printed

    results = json.loads((output / "results.json").read_text())
    (run,) = results["runs"]
    other = run["other_eval_sets"]["class-folders:as-class-folders"]
    # The same images with the same labels, scored by the same model.
    assert other["images"] == 72
    assert other["macro_f1"] == run["macro_f1"]
    assert other["accuracy"] == run["accuracy"]
    assert other["per_class_f1"] == run["per_class_f1"]
    assert results["data"]["other_evals"]["class-folders:as-class-folders"] == {
        "path": str(faces / "as-class-folders"),
        "format": "class-folders",
        "images": 72,
        "left_out": {"neutral": 12},
    }
    table = (output / "results.md").read_text()
    assert "| macro F1 · class-folders:as-class-folders |" in table
    assert f"{run['macro_f1']:.4f}" in table.split("## ")[1]
    assert (output / "macro_f1_by_set.png").stat().st_size > 0


def test_one_format_per_evaluation_set_or_one_for_all(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = smoke(tmp_path / "run", "--train-dir", "a", "--eval-dir", "b,c")
    argv += ["--eval-format", "lsd,rafdb", "--eval-format", "kdef"]
    with pytest.raises(SystemExit) as exit_info:
        affwild2.main(argv)
    assert exit_info.value.code == 2
    assert "--eval-format names 3 formats for 2 --eval-dir" in capsys.readouterr().err


def test_repeated_flags_and_lists_name_the_evaluation_sets() -> None:
    from harness.runs.command_line import resolve

    sets = ["--eval-dir", "a", "--eval-dir", "b,c"]
    sets += ["--eval-format", "affwild2-expr,lsd,affwild2-expr"]
    sets += ["--eval-annotations", "x", "--eval-annotations", "y"]
    config = resolve(["--train-dir", "t", *sets])
    assert config.data.eval_dir == ("a", "b", "c")
    assert config.data.eval_annotations == ("x", "y")
    with pytest.raises(SystemExit):
        resolve(["--train-dir", "t", "--eval-dir", "a,a"])


def test_crop_faces_scores_the_faces_found_in_photos(
    affwild2: ModuleType,
    smoke: Callable[..., list[str]],
    faces: Path,
    tmp_path: Path,
) -> None:
    # Faces of a size a camera gives; 32-pixel faces blown up are too blurred.
    sharp = tmp_path / "sharp"
    generate(sharp, images_per_class=12, image_size=112, seed=0)
    photos = tmp_path / "photos"
    for name, synonym in zip(LSD_CLASSES, SYNONYMS, strict=True):
        (photos / synonym).mkdir(parents=True)
        for number, face in enumerate(sorted((sharp / SPLITS[1] / name).glob("*"))):
            photo = Image.new("RGB", (200, 160), (110, 120, 130))
            photo.paste(Image.open(face).resize((90, 90)), (10 + 8 * number, 30))
            photo.save(photos / synonym / f"{number}.png")
    Image.new("RGB", (200, 160), (60, 90, 30)).save(photos / "happy" / "lawn.png")
    output = tmp_path / "run"
    argv = smoke(output, "--methods", "supervised", "--protocols", "linear")
    argv += ["--train-dir", str(faces / SPLITS[0]), "--eval-dir", str(photos)]
    argv += ["--eval-format", "class-folders", "--crop-faces"]
    assert affwild2.main(argv) == 0

    data_used = json.loads((output / "results.json").read_text())["config"]["data_used"]
    left_out = data_used["eval_left_out"]
    # The lawn has no face; the detector may miss a rare generated face too.
    assert left_out["no_face_found"] >= 1
    assert data_used["eval_images"] + left_out["no_face_found"] == 73
    assert data_used["eval_images"] >= 70
