from collections.abc import Callable
from pathlib import Path

import pytest

from lightly_byel.data.label_csv import LabelCSV


@pytest.fixture
def photos(tmp_path: Path, picture: Callable[..., Path]) -> Path:
    for name in ("a.jpg", "b.png", "c.jpg", "d.jpg"):
        picture(tmp_path / "photos" / name, size=(60, 40))
    return tmp_path


@pytest.mark.parametrize(
    ("header", "labels"),
    [
        ("path,label", ["Angry", "4", " happy ", "Neutral"]),
        ("Image,Emotion", ["ANGER", "sad", "Happiness", "neutral"]),
        ("filename,expression", ["0", "SADNESS", "3", "NEUTRAL"]),
        ("File,Class", ["angry", "sadness", "happy", "neutral"]),
        (" PATH , Label ,notes", ["0,x", "4,y", "3,z", "neutral,"]),
    ],
)
def test_paths_and_labels_in_any_usual_spelling(
    photos: Path, text_file: Callable[..., Path], header: str, labels: list[str]
) -> None:
    paths = ["photos/a.jpg", "photos/b.png", "photos/c.jpg", "photos/d.jpg"]
    rows = zip(paths, labels, strict=True)
    text = header + "\n" + "".join(f"{path},{label}\n" for path, label in rows)
    table = text_file(photos / "labels.csv", text, newline="\r\n", bom=True)
    dataset = LabelCSV(table)
    assert dataset.samples == [
        (str(photos / "photos" / "a.jpg"), 0),
        (str(photos / "photos" / "b.png"), 4),
        (str(photos / "photos" / "c.jpg"), 3),
    ]
    assert dataset.skipped == {"neutral": 1} and dataset.subjects is None


def test_subjects_boxes_and_absolute_paths(
    photos: Path, text_file: Callable[..., Path]
) -> None:
    absolute = photos / "photos" / "d.jpg"
    text = (
        "image,Expression,Subject,Left,TOP,right,bottom\n"
        "photos/a.jpg,surprised, p7 ,10,5,30,35\n"
        f"{absolute},contempt,p8,0,0,60,40\n"
        f"{absolute},fearful,,0,0,60,40\n"
        "photos/b.png,1,p7,20.5,10,40.5,30\n"
    )
    dataset = LabelCSV(text_file(photos / "faces.csv", text))
    assert dataset.csv_file == str(photos / "faces.csv")
    assert dataset.samples == [
        (str(photos / "photos" / "a.jpg"), 5),
        (str(absolute), 2),
        (str(photos / "photos" / "b.png"), 1),
    ]
    assert dataset.subjects == ["p7", None, "p7"]
    assert dataset.boxes == [
        (5.0, 5.0, 35.0, 35.0),
        (0.0, -10.0, 60.0, 50.0),
        (20.5, 10.0, 40.5, 30.0),
    ]
    assert dataset.skipped == {"contempt": 1}
    assert dataset[1][0].size == (60, 60) and dataset[2][0].size == (20, 20)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image,path,label\n", r"line 1: expected exactly one path column"),
        ("path\n", r"line 1: expected exactly one label column .* found none"),
        ("path,label,left\n", r"a face box needs all the columns"),
        (
            "path,label\nphotos/a.jpg,joy\n",
            r"line 2: expected an image path and a label",
        ),
        (
            "path,label\nphotos/a.jpg,6\n",
            r"line 2: expected .* got 'photos/a.jpg' and '6'",
        ),
        ("path,label\n,angry\n", r"line 2: expected an image path"),
        ("path,label\nphotos/a.jpg,\u00b2\n", r"line 2: .* got 'photos/a.jpg' and"),
        ("path,label\nphotos/a.jpg,angry\nphotos/b.png,\n", r"line 3: expected"),
        (
            "path,label,left,top,right,bottom\nphotos/a.jpg,sad,0,0,nan,5\n",
            r"line 2: expected a face box",
        ),
        (
            "path,label,left,top,right,bottom\nphotos/a.jpg,sad,0,0,5\n",
            r"line 2: expected a face box",
        ),
        (
            "path,label,left,top,right,bottom\nphotos/a.jpg,sad,9,0,2,5\n",
            r"line 2: expected a face box",
        ),
    ],
)
def test_a_malformed_file_names_the_line(
    photos: Path, text_file: Callable[..., Path], text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as error:
        LabelCSV(text_file(photos / "labels.csv", text))
    assert "labels.csv" in str(error.value)


def test_a_missing_file_is_named(photos: Path, text_file: Callable[..., Path]) -> None:
    with pytest.raises(FileNotFoundError, match=r"labels\.csv' is not a file"):
        LabelCSV(photos / "labels.csv")
    table = text_file(
        photos / "labels.csv", "path,label\nphotos/gone.jpg,sad\nphotos/a.jpg,sad\n"
    )
    with pytest.warns(UserWarning, match="gone.jpg"):
        dataset = LabelCSV(table)
    assert dataset.missing_files == [str(photos / "photos" / "gone.jpg")]
