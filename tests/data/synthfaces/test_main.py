import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces.__main__ import main
from lightly_byel.data.synthfaces.generate import DATASET_FILE, SPLITS

SMALL = ["--images-per-class", "1", "--image-size", "24", "--workers", "1"]


def test_writes_a_data_set_and_a_preview(tmp_path: Path) -> None:
    preview = tmp_path / "sheet.png"
    assert (
        main(["--output", str(tmp_path / "d"), *SMALL, "--preview", str(preview)]) == 0
    )
    assert (
        json.loads((tmp_path / "d" / DATASET_FILE).read_text())["parameters"]["seed"]
        == 0
    )
    with Image.open(preview) as sheet:
        assert sheet.height > 12 * 24


def test_eval_counts(tmp_path: Path) -> None:
    args = [
        "--output",
        str(tmp_path),
        *SMALL,
        "--eval-counts",
        "0,0,0,2,0,1",
        "--quiet",
    ]
    assert main(args) == 0
    assert len(list((tmp_path / SPLITS[1] / "HAPPINESS").iterdir())) == 2
    lsd = tmp_path / "lsd"
    more = ["--images-per-class", "10", "--eval-counts", "lsd", "--quiet"]
    assert main(["--output", str(lsd), *SMALL, *more]) == 0
    counts = [len(list((lsd / SPLITS[1] / n).iterdir())) for n in LSD_CLASSES]
    # The real validation balance: happiness most, disgust fewest, 60 in all.
    assert sum(counts) == 60
    assert counts[3] == max(counts) > counts[1] == min(counts)


def test_refuses_an_existing_data_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--output", str(tmp_path), *SMALL, "--quiet"]) == 0
    assert main(["--output", str(tmp_path), *SMALL, "--quiet"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["--output", str(tmp_path), *SMALL, "--quiet", "--overwrite"]) == 0


@pytest.mark.parametrize(
    "bad",
    [
        ["--images-per-class", "0"],
        ["--image-size", "-3"],
        ["--image-size", "8"],
        ["--workers", "x"],
        ["--eval-counts", "1,2,3"],
        ["--train-counts", "0,0,0,0,0,0"],
        ["--framing", "tight"],
    ],
)
def test_bad_values_exit_with_usage(
    tmp_path: Path, bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--output", str(tmp_path), *bad])
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_bad_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--output", "unused", *SMALL, "--seed", "-1"])
    assert exit_info.value.code == 2
    assert "--seed: must be at least 0, got -1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--image-size", "64.0"),
        ("--image-size", "64.5"),
        ("--image-size", "True"),
        ("--images-per-class", "2.0"),
        ("--train-counts", "1,1,1.5,1,1,1"),
    ],
)
def test_non_whole_numbers_are_usage_errors(
    tmp_path: Path, flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["--output", str(output), *SMALL, flag, value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert flag in error and repr(value) in error and "whole number" in error
    assert not output.exists()


def test_module_command_line_reports_a_float_size_without_a_traceback(
    tmp_path: Path,
) -> None:
    output = tmp_path / "out"
    command = [sys.executable, "-m", "lightly_byel.data.synthfaces"]
    bad = ["--output", str(output), "--image-size", "64.5", "--quiet"]
    finished = subprocess.run(
        [*command, *bad], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 2
    assert "--image-size" in finished.stderr and "'64.5'" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert not output.exists()


def test_framing(tmp_path: Path) -> None:
    preview = tmp_path / "sheet.png"
    args = ["--output", str(tmp_path / "d"), *SMALL, "--quiet", "--framing", "loose"]
    assert main([*args, "--preview", str(preview)]) == 0
    description = json.loads((tmp_path / "d" / DATASET_FILE).read_text())
    assert description["parameters"]["framing"] == "loose"
    assert preview.is_file()
