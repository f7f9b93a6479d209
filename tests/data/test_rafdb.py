import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lightly_byel.data.rafdb import RAFDB

LIST = (
    "train_00001.jpg 5\n"
    "train_00002.jpg 7\n"
    "train_00003.jpg 3\n"
    "test_0001.jpg 1\n"
    "test_0002.jpg 4\n"
    "test_0003.jpg 7\n"
    "test_0004.jpg 6\n"
    "test_0005.jpg 2\n"
)


@pytest.fixture
def raf(
    tmp_path: Path,
    picture: Callable[..., Path],
    text_file: Callable[..., Path],
    stray: Callable[[Path], None],
) -> Path:
    """RAF-DB's basic set as released, unpacked below ``RAF-DB/basic``."""
    basic = tmp_path / "RAF-DB" / "basic"
    # The release spells it "patition"; Windows line endings as copies have them.
    text_file(basic / "EmoLabel" / "list_patition_label.txt", LIST, newline="\r\n")
    for line in LIST.splitlines():
        name = line.split()[0]
        stem = name.removesuffix(".jpg")
        picture(basic / "Image" / "original" / name, size=(120, 90))
        if stem != "test_0004":  # listed, but its aligned face is missing
            picture(
                basic / "Image" / "aligned" / f"{stem}_aligned.jpg", size=(100, 100)
            )
    stray(basic / "Image" / "aligned")
    return basic


def names(dataset: RAFDB) -> list[str]:
    return [os.path.basename(path) for path, _ in dataset.samples]


def test_the_test_faces_are_read_with_their_codes_mapped(raf: Path) -> None:
    with pytest.warns(UserWarning, match="1 listed file .*test_0004_aligned.jpg"):
        dataset = RAFDB(raf.parent)  # the folder above basic works too
    assert names(dataset) == [
        "test_0001_aligned.jpg",
        "test_0002_aligned.jpg",
        "test_0005_aligned.jpg",
    ]
    # 1 surprise, 4 happiness, 2 fear.
    assert dataset.targets == [5, 3, 2]
    assert dataset.skipped == {"missing_file": 1, "neutral": 1}
    assert dataset.missing_files == [str(raf / "Image/aligned/test_0004_aligned.jpg")]
    assert dataset.list_file == str(raf / "EmoLabel" / "list_patition_label.txt")
    assert dataset.subjects is None and dataset.boxes is None
    assert dataset[0][0].size == (100, 100)


def test_the_training_split_both_and_the_original_photos(raf: Path) -> None:
    train = RAFDB(raf, split="train")
    assert names(train) == ["train_00001_aligned.jpg", "train_00003_aligned.jpg"]
    # 5 sadness, 3 disgust.
    assert train.targets == [4, 1] and train.skipped == {"neutral": 1}
    with pytest.warns(UserWarning, match="test_0004_aligned.jpg"):
        both = RAFDB(raf, split=None)
    assert both.targets == [4, 1, 5, 3, 2]
    assert both.skipped == {"missing_file": 1, "neutral": 2}
    original = RAFDB(raf, aligned=False)
    assert names(original) == [
        "test_0001.jpg",
        "test_0002.jpg",
        "test_0004.jpg",
        "test_0005.jpg",
    ]
    assert original.targets == [5, 3, 0, 2] and original[0][0].size == (120, 90)


def test_the_correct_spelling_of_the_list_is_read_too(raf: Path) -> None:
    (raf / "EmoLabel" / "list_patition_label.txt").rename(
        raf / "EmoLabel" / "list_partition_label.txt"
    )
    assert RAFDB(raf, split="train").targets == [4, 1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("test_0009.jpg", r"line 9: expected '<image> <code>'"),
        ("test_0009.jpg 4 x", r"line 9: expected '<image> <code>'"),
        (
            "test_0009.jpg 8",
            r"line 9: expected a code \[1, 2, 3, 4, 5, 6, 7\], got '8'",
        ),
        ("test_0009.jpg 0", r"got '0'"),
        ("test_0009.jpg x", r"got 'x'"),
    ],
)
def test_a_malformed_line_names_the_file_and_line(
    raf: Path, text_file: Callable[..., Path], line: str, message: str
) -> None:
    text_file(raf / "EmoLabel" / "list_patition_label.txt", LIST + line + "\n")
    with pytest.raises(ValueError, match=message) as error:
        RAFDB(raf)
    assert "list_patition_label.txt" in str(error.value)


def test_a_missing_layout_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"RAF-DB label list not found .*patition"
    ):
        RAFDB(tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        RAFDB(tmp_path, split="validation")
