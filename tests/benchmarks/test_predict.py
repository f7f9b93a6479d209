import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch
from PIL import Image

from lightly_byel.data import LSD_CLASSES


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory, affwild2: ModuleType) -> Path:
    output = tmp_path_factory.mktemp("predict") / "run"
    argv = ["--preset", "smoke", "--output", str(output), "--num-workers", "0"]
    # The files pipeline: predict.py's loading mirrors its DataLoader workers.
    argv += ["--methods", "byel,supervised", "--pipeline", "files"]
    with pytest.MonkeyPatch.context() as patch:
        # The session's generated data, as the autouse fixture gives each test.
        cache = tmp_path_factory.getbasetemp() / "cache"
        patch.setenv("LIGHTLY_BYEL_CACHE", str(cache))
        assert affwild2.main(argv) == 0
    return output


def test_every_unit_saves_a_model_and_results_name_the_data(smoke_run: Path) -> None:
    results = json.loads((smoke_run / "results.json").read_text())
    assert {run["model"] for run in results["runs"]} == {
        f"models/{method}-seed0-{protocol}.pt"
        for method in ("byel", "supervised")
        for protocol in ("linear", "finetune")
    }
    for run in results["runs"]:
        assert (smoke_run / run["model"]).is_file()
    data = results["data"]
    assert Path(data["eval"]).is_dir() and Path(data["train"]).is_dir()
    assert data["eval_format"] == "lsd" and data["generator"] == "2.0.0"
    assert data["eval_images"] == 72 and data["train_images"] > 0


def test_predict_on_the_eval_split_reproduces_every_score(
    smoke_run: Path, predict: ModuleType, tmp_path: Path
) -> None:
    results = json.loads((smoke_run / "results.json").read_text())
    eval_dir = results["data"]["eval"]
    for run in results["runs"]:
        output, summary = tmp_path / "p.csv", tmp_path / "p.json"
        argv = ["--model", str(smoke_run / run["model"]), "--images", eval_dir]
        argv += ["--format", "lsd", "--output", str(output), "--summary", str(summary)]
        assert predict.main([*argv, "--workers", "1", "--batch-size", "7"]) == 0
        scores = json.loads(summary.read_text())["raw"]
        assert scores["macro_f1"] == pytest.approx(run["macro_f1"], abs=1e-12)
        assert scores["accuracy"] == pytest.approx(run["accuracy"], abs=1e-12)
        rows = _rows(output)
        assert rows[0] == ["image", "expression", "label"]
        assert len(rows) == 1 + results["data"]["eval_images"]


def test_a_flat_folder_gives_the_submission_format_and_skips_broken_files(
    smoke_run: Path,
    predict: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "test_images"
    folder.mkdir()
    for number in (10, 2, 1):
        Image.new("RGB", (40, 40), (number * 20, 90, 30)).save(folder / f"{number}.jpg")
    (folder / "3.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (folder / "notes.txt").write_text("not an image")
    (folder / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    output = tmp_path / "predictions.csv"
    model = smoke_run / "models" / "byel-seed0-finetune.pt"
    argv = ["--model", str(model), "--images", str(folder), "--output", str(output)]
    assert predict.main([*argv, "--probabilities", "--workers", "2"]) == 0

    rows = _rows(output)
    assert rows[0] == ["image", "expression", *(f"p_{c}" for c in LSD_CLASSES)]
    assert [row[0] for row in rows[1:]] == ["1.jpg", "2.jpg", "10.jpg"]
    for row in rows[1:]:
        assert 0 <= int(row[1]) < 6
        probabilities = [float(p) for p in row[2:]]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
        assert int(row[1]) == probabilities.index(max(probabilities))
    errors = capsys.readouterr().err
    assert errors.count("skipped (unreadable): 3.jpg") == 1
    assert errors.count("skipped (not an image file): notes.txt") == 1
    assert errors.count("skipped (a link to a missing file): gone.jpg") == 1


def test_bad_model_or_folder_is_named_and_nothing_is_written(
    smoke_run: Path,
    predict: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "out.csv"
    empty = tmp_path / "empty"
    empty.mkdir()
    checkpoint = next((smoke_run / "checkpoints").rglob("*.ckpt"))
    model = smoke_run / "models" / "byel-seed0-linear.pt"
    for argv, message in [
        (["--model", str(checkpoint), "--images", str(empty)], "is not a"),
        (["--model", str(tmp_path / "x.pt"), "--images", str(empty)], "not exist"),
        (["--model", str(model), "--images", str(tmp_path / "none")], "not a folder"),
        (["--model", str(model), "--images", str(empty)], "no images"),
    ]:
        assert predict.main([*argv, "--output", str(output)]) == 2
        assert message in capsys.readouterr().err
    assert not output.exists()


def test_aff_wild2_frames_are_smoothed_within_each_video(
    smoke_run: Path,
    predict: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    frames = tmp_path / "frames" / "cropped_aligned"
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    header = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n"
    for video, labels in (("v1", [1, 1, 4, 4, 0]), ("v2", [5, 5, 6])):
        (frames / video).mkdir(parents=True)
        for number in range(1, len(labels) + 1):
            shade = (number * 40, 80, 120)
            Image.new("RGB", (32, 32), shade).save(frames / video / f"{number:05d}.jpg")
        (annotations / f"{video}.txt").write_text(
            header + "".join(f"{label}\n" for label in labels)
        )
    output, summary = tmp_path / "aff.csv", tmp_path / "aff.json"
    model = smoke_run / "models" / "supervised-seed0-finetune.pt"
    argv = ["--model", str(model), "--images", str(tmp_path / "frames")]
    argv += ["--format", "affwild2-expr", "--annotations", str(annotations)]
    argv += ["--output", str(output), "--summary", str(summary), "--smooth", "3"]
    assert predict.main(argv) == 0
    printed = capsys.readouterr().out
    assert "raw: macro F1" in printed and "smoothed over 3 frames: macro F1" in printed
    rows = _rows(output)
    # The neutral frame is not an LSD class and is skipped, as in the harness.
    assert [row[0] for row in rows[1:]] == [
        "cropped_aligned/v1/00001.jpg",
        "cropped_aligned/v1/00002.jpg",
        "cropped_aligned/v1/00003.jpg",
        "cropped_aligned/v1/00004.jpg",
        "cropped_aligned/v2/00001.jpg",
        "cropped_aligned/v2/00002.jpg",
        "cropped_aligned/v2/00003.jpg",
    ]
    assert [int(row[2]) for row in rows[1:]] == [0, 0, 3, 3, 4, 4, 5]
    assert set(json.loads(summary.read_text())) == {"raw", "smoothed over 3 frames"}


def test_smoothing_needs_video_frames(predict: ModuleType, tmp_path: Path) -> None:
    argv = ["--model", "m.pt", "--images", str(tmp_path), "--smooth", "5"]
    with pytest.raises(SystemExit):
        predict.main([*argv, "--output", str(tmp_path / "o.csv")])


def test_the_onnx_export_predicts_what_the_model_file_does(
    smoke_run: Path, predict: ModuleType, tmp_path: Path
) -> None:
    pytest.importorskip("onnxruntime")
    from lightly_byel.models.emotion_model import EmotionModel
    from lightly_byel.models.onnx_model import OnnxEmotionModel

    model_file = smoke_run / "models" / "byel-seed0-finetune.pt"
    exported = tmp_path / "model.onnx"
    argv = ["--model", str(model_file), "--export", "onnx", "--output", str(exported)]
    assert predict.main(argv) == 0
    model, onnx = EmotionModel.load(model_file), OnnxEmotionModel(exported)
    assert onnx.info == model.info
    for batch in (1, 5):  # the batch dimension is dynamic
        x = torch.randn(batch, 3, model.info.input_size, model.info.input_size)
        torch.testing.assert_close(onnx(x), model(x), rtol=0, atol=1e-4)

    eval_dir = json.loads((smoke_run / "results.json").read_text())["data"]["eval"]
    outputs = {}
    for name, path in (("pt", model_file), ("onnx", exported)):
        outputs[name] = tmp_path / f"{name}.csv"
        argv = ["--model", str(path), "--images", eval_dir, "--format", "lsd"]
        assert predict.main([*argv, "--output", str(outputs[name])]) == 0
    assert _rows(outputs["onnx"]) == _rows(outputs["pt"])


def test_without_onnx_the_extra_to_install_is_named(
    smoke_run: Path,
    predict: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("onnx", "onnxscript", "onnxruntime"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    model_file = smoke_run / "models" / "byel-seed0-linear.pt"
    argv = ["--model", str(model_file), "--export", "onnx"]
    assert predict.main([*argv, "--output", str(tmp_path / "m.onnx")]) == 2
    assert "pip install '.[onnx]'" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def _faces(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = [folder / f"{number}.jpg" for number in range(3)]
    for number, path in enumerate(paths):
        Image.new("RGB", (40, 40), (number * 60, 90, 30)).save(path)
    return paths


def test_outputs_onto_inputs_are_refused_before_any_work(
    smoke_run: Path,
    predict: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    faces = _faces(tmp_path / "faces")
    model = tmp_path / "model.pt"
    model.write_bytes((smoke_run / "models" / "byel-seed0-linear.pt").read_bytes())
    before = {path: path.read_bytes() for path in [*faces, model]}
    link = tmp_path / "link-to-faces"
    link.symlink_to(tmp_path / "faces")
    images = ["--model", str(model), "--images", str(tmp_path / "faces")]
    for argv, message in [
        ([*images, "--output", str(faces[1])], "lies inside --images"),
        ([*images, "--output", str(tmp_path / "faces" / "p.csv")], "lies inside"),
        ([*images, "--output", str(link / "p.csv")], "lies inside --images"),
        ([*images, "--output", str(model)], "is the same as --model"),
        ([*images, "--output", ""], "--output must name a file or folder, got ''"),
        (
            [*images, "--output", str(tmp_path / "p.csv"), "--summary", str(model)],
            "--summary",
        ),
        (
            ["--model", str(model), "--export", "onnx", "--output", str(model)],
            "is the same as --model",
        ),
    ]:
        assert predict.main(argv) == 2, argv
        error = capsys.readouterr().err
        assert message in error, (argv, error)
    assert {path: path.read_bytes() for path in [*faces, model]} == before
    assert not (tmp_path / "p.csv").exists()
    assert sorted(p.name for p in (tmp_path / "faces").iterdir()) == [
        "0.jpg",
        "1.jpg",
        "2.jpg",
    ]


def test_an_unwritable_output_folder_fails_before_predicting(
    smoke_run: Path,
    predict: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _faces(tmp_path / "faces")
    (tmp_path / "file").write_text("")
    model = smoke_run / "models" / "byel-seed0-linear.pt"
    argv = ["--model", str(model), "--images", str(tmp_path / "faces")]
    argv += ["--output", str(tmp_path / "p.csv")]
    # A folder below a file can never be made: the summary cannot be written.
    argv += ["--summary", str(tmp_path / "file" / "sub" / "scores.json")]
    assert predict.main(argv) == 2
    streams = capsys.readouterr()
    assert "the folder of --summary" in streams.err
    assert "cannot be written" in streams.err
    assert "images in" not in streams.err  # nothing was predicted
    assert not (tmp_path / "p.csv").exists()


def test_a_planted_model_file_is_refused_and_never_run(
    predict: ModuleType,
    tmp_path: Path,
    plant: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _faces(tmp_path / "faces")
    model = tmp_path / "shared.pt"
    marker = plant(model, {"format": "lightly-byel emotion model", "version": 1})
    for extra in (
        ["--images", str(tmp_path / "faces"), "--output", str(tmp_path / "p.csv")],
        ["--export", "onnx", "--output", str(tmp_path / "m.onnx")],
    ):
        assert predict.main(["--model", str(model), *extra]) == 2
        error = capsys.readouterr().err
        assert "is refused: it holds pickled Python objects" in error
        assert "weights_only" not in error
    assert not marker.exists()
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("{not json", "has an unreadable model description"),
        ('{"backbone": "resnet10-w8", "num_ftrs": 64}', "lacks ['input_size']"),
        ('["a list"]', "must be a mapping, got list"),
    ],
)
def test_an_onnx_file_with_a_broken_description_is_named(
    smoke_run: Path, predict: ModuleType, tmp_path: Path, description: str, message: str
) -> None:
    onnx = pytest.importorskip("onnx")
    from lightly_byel.models.onnx_model import INFO_KEY, OnnxEmotionModel

    exported = tmp_path / "model.onnx"
    model_file = smoke_run / "models" / "byel-seed0-linear.pt"
    argv = ["--model", str(model_file), "--export", "onnx", "--output", str(exported)]
    assert predict.main(argv) == 0
    graph = onnx.load(str(exported))
    onnx.helper.set_model_props(graph, {INFO_KEY: description})
    onnx.save(graph, str(exported))
    with pytest.raises(ValueError) as error:
        OnnxEmotionModel(exported)
    assert str(error.value).startswith(f"{str(exported)!r}")
    assert message in str(error.value)
