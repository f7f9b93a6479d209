import csv
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import pytest
import torch
from PIL import Image

from lightly_byel.cli.main import main as lightly_byel_command
from lightly_byel.data import LSD_CLASSES

Command = Callable[[Sequence[str]], int]
"""``lightly-byel predict`` on its flags (the ``predict`` fixture)."""

HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def _lines(path: Path) -> list[str]:
    """The lines of a submission file, which ends with a line break."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return text.splitlines()


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
    smoke_run: Path, predict: Command, tmp_path: Path
) -> None:
    results = json.loads((smoke_run / "results.json").read_text())
    eval_dir = results["data"]["eval"]
    for run in results["runs"]:
        output, summary = tmp_path / "p.csv", tmp_path / "p.json"
        argv = ["--model", str(smoke_run / run["model"]), "--images", eval_dir]
        argv += ["--format", "lsd", "--output", str(output), "--summary", str(summary)]
        assert predict([*argv, "--workers", "1", "--batch-size", "7"]) == 0
        scores = json.loads(summary.read_text())["raw"]
        assert scores["macro_f1"] == pytest.approx(run["macro_f1"], abs=1e-12)
        assert scores["accuracy"] == pytest.approx(run["accuracy"], abs=1e-12)
        rows = _rows(output)
        assert rows[0] == ["image", "expression", "label"]
        assert len(rows) == 1 + results["data"]["eval_images"]


def test_a_flat_folder_gives_the_submission_format_and_skips_broken_files(
    smoke_run: Path,
    predict: Command,
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
    assert predict([*argv, "--probabilities", "--workers", "2"]) == 0

    rows = _rows(output)
    assert rows[0] == ["image", "expression", *(f"p_{c}" for c in LSD_CLASSES)]
    assert [row[0] for row in rows[1:]] == ["1.jpg", "2.jpg", "10.jpg"]
    for row in rows[1:]:
        assert 0 <= int(row[1]) < 6
        probabilities = [float(p) for p in row[2:]]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
        assert int(row[1]) == probabilities.index(max(probabilities))
    streams = capsys.readouterr()
    errors = streams.err
    # What was predicted and what was skipped are counted apart, never as one.
    assert "images predicted: 3\n" in streams.out
    assert "images skipped (unreadable): 1\n" in streams.out
    assert "images skipped (not an image file): 1\n" in streams.out
    assert "\r3 images predicted in " in errors and ", 1 unreadable\n" in errors
    assert "\r4 images" not in errors
    assert errors.count("skipped (unreadable): 3.jpg") == 1
    assert errors.count("skipped (not an image file): notes.txt") == 1
    assert errors.count("skipped (a link to a missing file): gone.jpg") == 1


def test_bad_model_or_folder_is_named_and_nothing_is_written(
    smoke_run: Path,
    predict: Command,
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
        assert predict([*argv, "--output", str(output)]) == 2
        assert message in capsys.readouterr().err
    assert not output.exists()


def test_aff_wild2_frames_are_smoothed_within_each_video(
    smoke_run: Path,
    predict: Command,
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
    submission = tmp_path / "submission"
    model = smoke_run / "models" / "supervised-seed0-finetune.pt"
    argv = ["--model", str(model), "--images", str(tmp_path / "frames")]
    argv += ["--format", "affwild2-expr", "--annotations", str(annotations)]
    argv += ["--output", str(output), "--summary", str(summary), "--smooth", "3"]
    assert predict([*argv, "--submission-dir", str(submission)]) == 0
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
    content = json.loads(summary.read_text())
    assert set(content) == {"raw", "smoothed over 3 frames", "images", "submission"}
    assert content["images"] == {
        "predicted": 7,
        "skipped": {"unreadable": 0, "left out: neutral": 1},
    }
    # The neutral frame 5 of v1 has a face but no prediction.
    expressions = [str(int(row[1]) + 1) for row in rows[1:]]
    assert _lines(submission / "v1.txt") == [HEADER, *expressions[:4], "-1"]
    assert _lines(submission / "v2.txt") == [HEADER, *expressions[4:]]
    assert content["submission"]["filled"] == {
        "no frame file": 0,
        "unreadable": 0,
        "not predicted": 1,
    }


@pytest.mark.parametrize(
    "option", [["--smooth", "5"], ["--submission-dir", "sub"]], ids=lambda o: o[0]
)
def test_smoothing_and_submissions_need_video_frames(
    predict: Command,
    tmp_path: Path,
    option: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--model", "m.pt", "--images", str(tmp_path), *option]
    for form in ("flat", "lsd"):
        with pytest.raises(SystemExit):
            predict([*argv, "--format", form, "--output", str(tmp_path / "o.csv")])
        assert f"{option[0]} needs --format video or affwild2-expr" in (
            capsys.readouterr().err
        )


def test_the_onnx_export_predicts_what_the_model_file_does(
    smoke_run: Path, predict: Command, tmp_path: Path
) -> None:
    pytest.importorskip("onnxruntime")
    from lightly_byel.models.emotion_model import EmotionModel
    from lightly_byel.models.onnx_model import OnnxEmotionModel

    model_file = smoke_run / "models" / "byel-seed0-finetune.pt"
    exported = tmp_path / "model.onnx"
    argv = ["export", "--model", str(model_file), "--output", str(exported)]
    assert lightly_byel_command(argv) == 0
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
        assert predict([*argv, "--output", str(outputs[name])]) == 0
    assert _rows(outputs["onnx"]) == _rows(outputs["pt"])


def test_without_onnx_the_extra_to_install_is_named(
    smoke_run: Path,
    predict: Command,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("onnx", "onnxscript", "onnxruntime"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    model_file = smoke_run / "models" / "byel-seed0-linear.pt"
    argv = ["export", "--model", str(model_file)]
    assert lightly_byel_command([*argv, "--output", str(tmp_path / "m.onnx")]) == 2
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
    predict: Command,
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
        (
            [*images, "--output", str(tmp_path / "p.csv"), "--summary", str(model)],
            "--summary",
        ),
        (
            ["export", "--model", str(model), "--output", str(model)],
            "is the same as --model",
        ),
    ]:
        command = lightly_byel_command if argv[0] == "export" else predict
        assert command(argv) == 2, argv
        error = capsys.readouterr().err
        assert message in error, (argv, error)
    # An empty path is refused as the flag is read (a usage error, status 2).
    with pytest.raises(SystemExit) as stopped:
        predict([*images, "--output", ""])
    assert stopped.value.code == 2
    assert "--output: must name a file or folder, got ''" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in [*faces, model]} == before
    assert not (tmp_path / "p.csv").exists()
    assert sorted(p.name for p in (tmp_path / "faces").iterdir()) == [
        "0.jpg",
        "1.jpg",
        "2.jpg",
    ]


def test_an_unwritable_output_folder_fails_before_predicting(
    smoke_run: Path,
    predict: Command,
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
    assert predict(argv) == 2
    streams = capsys.readouterr()
    assert "the folder of --summary" in streams.err
    assert "cannot be written" in streams.err
    assert "images predicted" not in streams.err  # nothing was predicted
    assert not (tmp_path / "p.csv").exists()


def test_a_planted_model_file_is_refused_and_never_run(
    predict: Command,
    tmp_path: Path,
    plant: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _faces(tmp_path / "faces")
    model = tmp_path / "shared.pt"
    marker = plant(model, {"format": "lightly-byel emotion model", "version": 1})
    for argv in (
        ["predict", "--images", str(tmp_path / "faces")],
        ["export"],
    ):
        output = tmp_path / ("m.onnx" if argv[0] == "export" else "p.csv")
        argv += ["--model", str(model), "--output", str(output)]
        assert lightly_byel_command(argv) == 2
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
    smoke_run: Path, predict: Command, tmp_path: Path, description: str, message: str
) -> None:
    onnx = pytest.importorskip("onnx")
    from lightly_byel.models.onnx_model import INFO_KEY, OnnxEmotionModel

    exported = tmp_path / "model.onnx"
    model_file = smoke_run / "models" / "byel-seed0-linear.pt"
    argv = ["export", "--model", str(model_file), "--output", str(exported)]
    assert lightly_byel_command(argv) == 0
    graph = onnx.load(str(exported))
    onnx.helper.set_model_props(graph, {INFO_KEY: description})
    onnx.save(graph, str(exported))
    with pytest.raises(ValueError) as error:
        OnnxEmotionModel(exported)
    assert str(error.value).startswith(f"{str(exported)!r}")
    assert message in str(error.value)


def _unlabelled_videos(root: Path) -> Path:
    """Unlabelled Aff-Wild2 frames below ``root/cropped_aligned``; returns ``root``.

    v1 has frames 1-3 and 5-6 (no face in frame 4), an unreadable frame 7, a text
    file and an image not named by a number; v2 has frames 1-2; a file lies beside
    the video folders.
    """
    frames = root / "cropped_aligned"
    for video, numbers in (("v1", [1, 2, 3, 5, 6]), ("v2", [1, 2])):
        (frames / video).mkdir(parents=True)
        for number in numbers:
            shade = (number * 40, 200 - number * 30, 90 if video == "v1" else 10)
            image = Image.new("RGB", (32, 32), shade)
            image.save(frames / video / f"{number:05d}.jpg")
    (frames / "v1" / "00007.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (frames / "v1" / "notes.txt").write_text("not an image")
    Image.new("RGB", (32, 32)).save(frames / "v1" / "cover.jpg")
    (frames / "readme.txt").write_text("not a video")
    return root


def _video_command(smoke_run: Path, images: Path, output: Path) -> list[str]:
    model = smoke_run / "models" / "byel-seed0-finetune.pt"
    argv = ["--model", str(model), "--images", str(images), "--format", "video"]
    return [*argv, "--output", str(output), "--workers", "0", "--probabilities"]


def _expected_file(rows: list[list[str]], video: str, length: int) -> list[str]:
    """A submission file from the CSV: expression + 1, or -1 where no row is."""
    values = ["-1"] * length
    for row in rows[1:]:
        folder, name = row[0].split("/")[-2:]
        if folder == video and int(name[:-4]) <= length:
            values[int(name[:-4]) - 1] = str(int(row[1]) + 1)
    return [HEADER, *values]


def test_unlabelled_video_folders_give_per_video_submission_files(
    smoke_run: Path,
    predict: Command,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    images = _unlabelled_videos(tmp_path / "aff-wild2")
    output, summary = tmp_path / "p.csv", tmp_path / "s.json"
    submission = tmp_path / "sub"
    argv = _video_command(smoke_run, images, output)
    argv += ["--summary", str(summary), "--submission-dir", str(submission)]
    assert predict(argv) == 0

    rows = _rows(output)
    assert [row[0] for row in rows[1:]] == [
        *(f"cropped_aligned/v1/0000{n}.jpg" for n in (1, 2, 3, 5, 6)),
        "cropped_aligned/v2/00001.jpg",
        "cropped_aligned/v2/00002.jpg",
    ]
    errors = capsys.readouterr().err
    for line in (
        "skipped (unreadable): cropped_aligned/v1/00007.jpg",
        "skipped (not an image file): cropped_aligned/v1/notes.txt",
        "skipped (not a frame number): cropped_aligned/v1/cover.jpg",
        "skipped (not in a video folder): cropped_aligned/readme.txt",
    ):
        assert errors.count(line) == 1, (line, errors)
    # v1 runs to its highest frame number on disk, 7 (unreadable).
    v1 = _lines(submission / "v1.txt")
    assert v1 == _expected_file(rows, "v1", 7)
    assert v1[4] == "-1" and v1[7] == "-1"  # frames 4 and 7
    assert set(v1[1:]) - {"-1"} <= {"1", "2", "3", "4", "5", "6"}
    assert _lines(submission / "v2.txt") == _expected_file(rows, "v2", 2)
    assert sorted(path.name for path in submission.iterdir()) == ["v1.txt", "v2.txt"]

    content = json.loads(summary.read_text())
    assert content["images"] == {
        "predicted": 7,
        "skipped": {
            "unreadable": 1,
            "not in a video folder": 1,
            "not an image file": 1,
            "not a frame number": 1,
        },
    }
    assert content["submission"] == {
        "folder": str(submission),
        "no_face_value": -1,
        "videos": 2,
        "frames": 9,
        "predicted": 7,
        "filled": {"no frame file": 1, "unreadable": 1, "not predicted": 0},
        "outside": 0,
        "videos_without_frames": [],
        "other_files": [],
    }


def test_smoothing_video_frames_follows_their_numbers_across_gaps(
    smoke_run: Path, predict: Command, tmp_path: Path
) -> None:
    images = _unlabelled_videos(tmp_path / "aff-wild2")
    raw_csv, smooth_csv = tmp_path / "raw.csv", tmp_path / "smooth.csv"
    assert predict(_video_command(smoke_run, images, raw_csv)) == 0
    argv = _video_command(smoke_run, images, smooth_csv)
    argv += ["--smooth", "3", "--submission-dir", str(tmp_path / "sub")]
    assert predict(argv) == 0

    def probabilities(rows: list[list[str]]) -> dict[tuple[str, int], list[float]]:
        return {
            (row[0].split("/")[1], int(row[0][-9:-4])): [float(p) for p in row[2:]]
            for row in rows[1:]
        }

    raw = probabilities(_rows(raw_csv))
    smoothed_rows = _rows(smooth_csv)
    smoothed = probabilities(smoothed_rows)
    assert list(smoothed) == list(raw)
    for (video, number), got in smoothed.items():
        # Frames number-1 .. number+1 of the same video: frame 4 is missing, so
        # frames 3 and 5 are each averaged with one neighbour only, not each other.
        window = [
            raw[video, n] for n in (number - 1, number, number + 1) if (video, n) in raw
        ]
        expected = [sum(column) / len(window) for column in zip(*window, strict=True)]
        assert got == pytest.approx(expected, abs=2e-6), (video, number)
    assert smoothed["v1", 5] == pytest.approx(
        [(a + b) / 2 for a, b in zip(raw["v1", 5], raw["v1", 6], strict=True)], abs=2e-6
    )
    for video, length in (("v1", 7), ("v2", 2)):
        assert _lines(tmp_path / "sub" / f"{video}.txt") == _expected_file(
            smoothed_rows, video, length
        )


def test_annotation_files_choose_the_videos_and_set_their_lengths(
    smoke_run: Path,
    predict: Command,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    images = _unlabelled_videos(tmp_path / "aff-wild2")
    annotations = tmp_path / "Test_Set"
    annotations.mkdir()
    # v2 is not in this set; v3 is, but no face was found in any of its frames.
    for video, length in (("v1", 9), ("v3", 3)):
        (annotations / f"{video}.txt").write_text(HEADER + "\n" + "-1\n" * length)
    before = {path: path.read_bytes() for path in annotations.iterdir()}
    output, summary = tmp_path / "p.csv", tmp_path / "s.json"
    submission = tmp_path / "sub"
    argv = _video_command(smoke_run, images, output)
    argv += ["--annotations", str(annotations), "--summary", str(summary)]
    assert predict([*argv, "--submission-dir", str(submission)]) == 0

    rows = _rows(output)
    assert [row[0].split("/")[1] for row in rows[1:]] == ["v1"] * 5
    errors = capsys.readouterr().err
    assert "skipped (a video without an annotation file): cropped_aligned/v2" in errors
    assert "warning: no frames of 1 annotated video ('v3')" in errors
    assert _lines(submission / "v1.txt") == _expected_file(rows, "v1", 9)
    assert _lines(submission / "v3.txt") == [HEADER, "-1", "-1", "-1"]
    assert sorted(path.name for path in submission.iterdir()) == ["v1.txt", "v3.txt"]
    counts = json.loads(summary.read_text())["submission"]
    assert (counts["videos"], counts["frames"], counts["predicted"]) == (2, 12, 5)
    # v1: frame 4, 8 and 9 have no file, 7 is unreadable; v3: all three.
    assert counts["filled"] == {"no frame file": 6, "unreadable": 1, "not predicted": 0}
    assert counts["videos_without_frames"] == ["v3"]
    assert {path: path.read_bytes() for path in annotations.iterdir()} == before


def test_a_submission_folder_on_an_input_is_refused(
    smoke_run: Path,
    predict: Command,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    images = _unlabelled_videos(tmp_path / "data" / "aff-wild2")
    annotations = tmp_path / "Test_Set"
    annotations.mkdir()
    (annotations / "v1.txt").write_text(HEADER + "\n-1\n")
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    argv = _video_command(smoke_run, images, tmp_path / "out" / "p.csv")
    argv += ["--annotations", str(annotations)]
    for folder, message in [
        (annotations, "--submission-dir '{}' is the same as --annotations"),
        (
            images / "cropped_aligned" / "sub",
            "--submission-dir '{}' lies inside --images",
        ),
        (tmp_path / "data", "--submission-dir '{}' holds --images"),
    ]:
        assert predict([*argv, "--submission-dir", str(folder)]) == 2
        assert message.format(folder) in capsys.readouterr().err
    after = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert after == before


def test_faces_cut_by_their_boxes_are_predicted_one_row_each(
    smoke_run: Path, predict: Command, tmp_path: Path
) -> None:
    from lightly_byel.data.images import crop_region, load_rgb
    from lightly_byel.models.emotion_model import EmotionModel

    root = tmp_path / "AffectNet"
    (root / "Manually_Annotated_Images" / "1").mkdir(parents=True)
    photo = Image.new("RGB", (80, 60), (30, 30, 30))
    photo.paste((200, 160, 120), (2, 2, 38, 38))
    photo.paste((90, 140, 220), (44, 12, 68, 38))
    photo.save(root / "Manually_Annotated_Images" / "1" / "p.png")
    (root / "validation.csv").write_text(
        '1/p.png,0,0,40,40,"1;2",1,0.5,0.1\n'
        '1/p.png,40,10,30,30,"1;2",6,-0.5,0.4\n'
        '1/p.png,0,0,80,60,"1;2",0,0.0,0.0\n'
    )
    model_file = smoke_run / "models" / "supervised-seed0-finetune.pt"
    output, summary = tmp_path / "affectnet.csv", tmp_path / "affectnet.json"
    argv = ["--model", str(model_file), "--images", str(root), "--format", "affectnet"]
    argv += ["--output", str(output), "--summary", str(summary), "--probabilities"]
    assert predict(argv) == 0

    rows = _rows(output)
    assert rows[0][:7] == [
        "image",
        "expression",
        "label",
        "left",
        "top",
        "right",
        "bottom",
    ]
    assert [row[:7] for row in rows[1:]] == [
        ["Manually_Annotated_Images/1/p.png", rows[1][1], "3", "0", "0", "40", "40"],
        ["Manually_Annotated_Images/1/p.png", rows[2][1], "0", "40", "10", "70", "40"],
    ]
    model = EmotionModel.load(model_file)
    image = load_rgb(root / "Manually_Annotated_Images" / "1" / "p.png")
    for row, box in zip(rows[1:], [(0, 0, 40, 40), (40, 10, 70, 40)], strict=True):
        expected = model.predict(crop_region(image, box)).probabilities[0]
        assert [float(p) for p in row[7:]] == pytest.approx(expected.tolist(), abs=1e-5)
    content = json.loads(summary.read_text())
    assert content["images"]["skipped"]["left out: neutral"] == 1


def test_faces_stored_in_fer2013_csv_are_predicted(
    smoke_run: Path, predict: Command, tmp_path: Path
) -> None:
    from lightly_byel.models.emotion_model import EmotionModel

    faces = [[(7 * i + 31 * row) % 256 for i in range(48 * 48)] for row in range(3)]
    lines = ["emotion,pixels,Usage"]
    for row, (code, usage) in enumerate(
        [(3, "PrivateTest"), (5, "Training"), (0, "PrivateTest")]
    ):
        lines.append(f"{code},{' '.join(map(str, faces[row]))},{usage}")
    table = tmp_path / "fer2013.csv"
    table.write_text("\n".join(lines) + "\n")
    model_file = smoke_run / "models" / "supervised-seed0-finetune.pt"
    output = tmp_path / "fer.csv"
    argv = ["--model", str(model_file), "--images", str(table), "--format", "fer2013"]
    assert predict([*argv, "--output", str(output), "--probabilities"]) == 0

    rows = _rows(output)
    assert [(row[0], row[2]) for row in rows[1:]] == [
        ("fer2013.csv#fer0000000", "3"),
        ("fer2013.csv#fer0000002", "0"),
    ]
    model = EmotionModel.load(model_file)
    for row, pixels in zip(rows[1:], [faces[0], faces[2]], strict=True):
        face = Image.new("L", (48, 48))
        face.putdata(pixels)
        expected = model.predict(face.convert("RGB")).probabilities[0]
        assert [float(p) for p in row[3:]] == pytest.approx(expected.tolist(), abs=1e-5)


def test_crop_faces_predicts_every_face_of_a_photo(
    smoke_run: Path, predict: Command, tmp_path: Path
) -> None:
    from lightly_byel.data.images import crop_region, load_rgb
    from lightly_byel.models.emotion_model import EmotionModel

    data = json.loads((smoke_run / "results.json").read_text())["data"]
    faces = sorted(Path(data["eval"]).glob("*/*.jpg"))[:2]
    photos = tmp_path / "photos"
    photos.mkdir()
    group = Image.new("RGB", (320, 240), (128, 128, 128))
    group.paste(Image.open(faces[0]).resize((100, 100)), (20, 30))
    group.paste(Image.open(faces[1]).resize((120, 120)), (180, 60))
    group.save(photos / "group.png")
    Image.new("RGB", (200, 150), (40, 90, 30)).save(photos / "lawn.png")
    model_file = smoke_run / "models" / "supervised-seed0-finetune.pt"
    output, summary = tmp_path / "faces.csv", tmp_path / "faces.json"
    argv = ["--model", str(model_file), "--images", str(photos), "--crop-faces"]
    argv += ["--output", str(output), "--summary", str(summary), "--probabilities"]
    assert predict(argv) == 0

    rows = _rows(output)
    assert rows[0][:6] == ["image", "expression", "left", "top", "right", "bottom"]
    assert [row[0] for row in rows[1:]] == ["group.png", "group.png"]
    boxes = [tuple(float(value) for value in row[2:6]) for row in rows[1:]]
    for (left, top, right, bottom), (x, y, side) in zip(
        boxes, [(20, 30, 100), (180, 60, 120)], strict=True
    ):
        assert abs(left - x) < 15 and abs(top - y) < 15
        assert abs((right - left) - side) < 20
        assert right - left == pytest.approx(bottom - top)
    model = EmotionModel.load(model_file)
    photo = load_rgb(photos / "group.png")
    for row, box in zip(rows[1:], boxes, strict=True):
        expected = model.predict(crop_region(photo, box)).probabilities[0]
        assert [float(p) for p in row[6:]] == pytest.approx(expected.tolist(), abs=1e-5)
    images = json.loads(summary.read_text())["images"]
    assert images == {"predicted": 2, "skipped": {"unreadable": 0, "no face found": 1}}
