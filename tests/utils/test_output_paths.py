import os
from pathlib import Path

import pytest

from lightly_byel.utils.output_paths import check_outputs_apart, check_writable


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "train"
    folder.mkdir(parents=True)
    (folder / "0.jpg").write_bytes(b"image")
    return folder


def test_outputs_apart_from_inputs_pass(tmp_path: Path, data: Path) -> None:
    check_outputs_apart(
        {"--output": tmp_path / "runs" / "a", "--summary": tmp_path / "s.json"},
        {"--train-dir": data, "--model": data / "0.jpg", "--unset": None},
    )


@pytest.mark.parametrize(
    ("output", "relation"),
    [
        ("data/train/0.jpg", "is the same as --image"),
        ("data/train", "is the same as --train-dir"),
        ("data/train/results", "lies inside --train-dir"),
        ("data", "holds --train-dir"),
        ("link/0.jpg", "is the same as --image"),  # through a link to the folder
        ("hardlink.jpg", "is the same as --image"),
    ],
)
def test_outputs_onto_into_or_around_inputs_are_refused(
    tmp_path: Path, data: Path, output: str, relation: str
) -> None:
    (tmp_path / "link").symlink_to(data)
    os.link(data / "0.jpg", tmp_path / "hardlink.jpg")
    inputs = {"--train-dir": data, "--image": data / "0.jpg"}
    with pytest.raises(ValueError) as error:
        check_outputs_apart({"--output": tmp_path / output}, inputs)
    message = str(error.value)
    assert message.startswith(f"--output {str(tmp_path / output)!r} {relation}")
    assert "choose another path" in message


def test_two_outputs_onto_one_path_are_refused(tmp_path: Path) -> None:
    same = tmp_path / "out.csv"
    with pytest.raises(ValueError, match=r"--output .* is the same as --summary"):
        check_outputs_apart({"--output": same, "--summary": same}, {})


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_output_is_refused(empty: str) -> None:
    with pytest.raises(ValueError, match="--output must name a file or folder"):
        check_outputs_apart({"--output": empty}, {})


def test_an_output_that_cannot_be_a_folder_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        check_writable(file)
    with pytest.raises(PermissionError, match=r"--summary '.*below' cannot be written"):
        check_writable(file / "below", "--summary")
    check_writable(tmp_path / "new" / "run")
    assert not (tmp_path / "new").exists()  # checked, not made
