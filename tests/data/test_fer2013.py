from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lightly_byel.data.fer2013 import FER2013, FERPlus

HEADER = (
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,"
    "unknown,NF"
)


def pixels(row: int) -> list[int]:
    return [(row * 37 + i * 11) % 256 for i in range(48 * 48)]


def fer_csv(rows: list[tuple[int, str]]) -> str:
    lines = ["emotion,pixels,Usage"]
    lines += [
        f"{code},{' '.join(map(str, pixels(row)))},{usage}"
        for row, (code, usage) in enumerate(rows)
    ]
    return "\n".join(lines) + "\n"


ROWS = [
    (0, "Training"),
    (3, "PrivateTest"),
    (6, "PrivateTest"),
    (5, "PublicTest"),
    (2, "PrivateTest"),
    (1, "PrivateTest"),
]


@pytest.fixture
def fer(tmp_path: Path, text_file: Callable[..., Path]) -> Path:
    """fer2013.csv as the Kaggle archive unpacks it, fer2013/fer2013.csv."""
    text_file(tmp_path / "fer2013" / "fer2013.csv", fer_csv(ROWS), newline="\r\n")
    return tmp_path


def test_the_test_rows_are_read_with_their_pixels(fer: Path) -> None:
    dataset = FER2013(fer)
    csv_file = str(fer / "fer2013" / "fer2013.csv")
    assert dataset.csv_file == csv_file
    assert [path for path, _ in dataset.samples] == [
        f"{csv_file}#fer0000001",
        f"{csv_file}#fer0000004",
        f"{csv_file}#fer0000005",
    ]
    assert dataset.targets == [3, 2, 1] and dataset.skipped == {"neutral": 1}
    image, label = dataset[1]
    assert image.mode == "RGB" and image.size == (48, 48) and label == 2
    grey = np.asarray(image)[..., 0]
    assert grey.ravel().tolist() == pixels(4)
    assert dataset.verify(decode=True) == []


def test_usage_chooses_the_rows(fer: Path) -> None:
    assert FER2013(fer, usage=None).targets == [0, 3, 5, 2, 1]
    assert FER2013(fer / "fer2013" / "fer2013.csv", usage="Training").targets == [0]
    assert FER2013(fer, usage=["PublicTest", "Training"]).targets == [0, 5]
    with pytest.raises(ValueError, match="usage must be among"):
        FER2013(fer, usage="Test")


def test_the_fingerprint_follows_the_file(
    fer: Path, text_file: Callable[..., Path]
) -> None:
    before = FER2013(fer).fingerprint()
    assert FER2013(fer).fingerprint() == before
    text_file(fer / "fer2013" / "fer2013.csv", fer_csv([(4, "PrivateTest"), *ROWS[1:]]))
    assert FER2013(fer).fingerprint() != before


@pytest.mark.parametrize(
    ("pixel_text", "message"),
    [
        (" ".join(["1"] * 2303), "line 3: expected 2304 pixel values"),
        (" ".join(["1"] * 2303 + ["x"]), "line 3: expected 2304 pixel values"),
        (" ".join(["1"] * 2303 + ["256"]), "from 0 to 255"),
    ],
)
def test_a_damaged_row_names_the_file_and_line(
    tmp_path: Path, text_file: Callable[..., Path], pixel_text: str, message: str
) -> None:
    table = fer_csv(ROWS[:1]) + f"3,{pixel_text},PrivateTest\n"
    text_file(tmp_path / "fer2013.csv", table)
    with pytest.raises(ValueError, match=message) as error:
        FER2013(tmp_path)
    assert "fer2013.csv" in str(error.value)


def test_an_unknown_code_and_a_missing_column_are_named(
    tmp_path: Path, text_file: Callable[..., Path]
) -> None:
    for code in ("7", "x", "\u00b2", ""):
        table = fer_csv(ROWS[:1]).replace("0,", f"{code},", 1)
        text_file(tmp_path / "fer2013.csv", table)
        with pytest.raises(
            ValueError, match=rf"line 2: expected an emotion code \[0, 1.*'{code}'"
        ) as error:
            FER2013(tmp_path, usage=None)
        assert str(tmp_path / "fer2013.csv") in str(error.value)
    text_file(tmp_path / "fer2013.csv", "label,pixels\n3,1 2\n")
    with pytest.raises(ValueError, match=r"line 1: expected the columns \['emotion'"):
        FER2013(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"nothing-here' does not exist"):
        FER2013(tmp_path / "nothing-here")
    (tmp_path / "fer2013.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"fer2013\.csv not found in"):
        FER2013(tmp_path)


def ferplus_csv(votes: list[tuple[str, str, str]]) -> str:
    return HEADER + "\n" + "".join(f"{u},{n},{v}\n" for u, n, v in votes)


def test_ferplus_takes_the_majority_of_the_votes(
    fer: Path, text_file: Callable[..., Path]
) -> None:
    # neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF
    votes = [
        ("Training", "fer0000000", "0,0,0,0,10,0,0,0,0,0"),  # anger
        ("PrivateTest", "fer0000001", "2,6,1,0,0,0,0,0,1,0"),  # happiness
        ("PrivateTest", "fer0000002", "0,0,0,0,4,4,2,0,0,0"),  # anger = disgust
        ("PrivateTest", "fer0000003", "0,0,0,0,0,0,0,0,2,8"),  # not a face
        ("PublicTest", "", "0,0,0,0,0,0,10,0,0,0"),  # no image name: not a face
        ("PrivateTest", "fer0000005", "1,0,0,0,0,0,0,7,2,0"),  # contempt
    ]
    text_file(fer / "fer2013new.csv", ferplus_csv(votes), newline="\r\n")
    (fer / "fer2013" / "fer2013.csv").rename(fer / "fer2013.csv")
    dataset = FERPlus(fer)
    assert dataset.labels_file == str(fer / "fer2013new.csv")
    assert dataset.csv_file == str(fer / "fer2013.csv")
    assert dataset.samples == [(f"{fer / 'fer2013.csv'}#fer0000001", 3)]
    # Row 3 is PublicTest in fer2013.csv: FER+ rows are chosen by their own Usage.
    assert dataset.skipped == {"contempt": 1, "no_face": 1, "tie": 1}
    assert np.asarray(dataset[0][0])[..., 0].ravel().tolist() == pixels(1)
    assert FERPlus(fer, usage="Training").targets == [0]
    every = FERPlus(fer / "fer2013.csv", usage=None)
    assert every.targets == [0, 3]
    assert every.skipped == {"contempt": 1, "no_face": 2, "tie": 1}


def test_ferplus_leaves_out_neutral_and_unknown_majorities(
    fer: Path, text_file: Callable[..., Path]
) -> None:
    votes = [
        ("PrivateTest", "fer0000000", "6,2,0,0,0,0,0,0,2,0"),  # neutral
        ("PrivateTest", "fer0000001", "0,0,1,0,0,0,0,0,9,0"),  # unknown
        ("PrivateTest", "fer0000002", "0,0,1,0,0,0,3,0,0,0"),  # fear
        ("PrivateTest", "fer0000003", "0,0,0,5,0,0,0,0,0,4"),  # sadness
        ("PrivateTest", "fer0000004", "0,0,6,0,0,0,0,0,0,0"),  # surprise
        ("PrivateTest", "fer0000005", "0,0,0,0,0,9,0,0,1,0"),  # disgust
    ]
    text_file(fer / "fer2013new.csv", ferplus_csv(votes), newline="\r\n", bom=True)
    dataset = FERPlus(fer)
    assert dataset.csv_file == str(fer / "fer2013" / "fer2013.csv")
    assert [path[-10:] for path, _ in dataset.samples] == [
        "fer0000002",
        "fer0000003",
        "fer0000004",
        "fer0000005",
    ]
    assert dataset.targets == [2, 4, 5, 1]
    assert dataset.skipped == {"neutral": 1, "unknown": 1}
    assert np.asarray(dataset[3][0])[..., 0].ravel().tolist() == pixels(5)


def test_ferplus_refuses_files_that_do_not_match(
    fer: Path, text_file: Callable[..., Path]
) -> None:
    text_file(
        fer / "fer2013new.csv",
        ferplus_csv([("Training", "fer0000000", "0," * 9 + "1")]),
    )
    with pytest.raises(ValueError, match=r"has 1 rows and .* 6; FER\+ labels"):
        FERPlus(fer)
    votes = [("PrivateTest", f"fer{i:07d}", "0,x,0,0,0,0,0,0,0,0") for i in range(6)]
    text_file(fer / "fer2013new.csv", ferplus_csv(votes))
    with pytest.raises(ValueError, match="line 2: expected vote counts"):
        FERPlus(fer)
