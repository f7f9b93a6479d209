from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from lightly_byel.data.affectnet import AffectNet

HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
    "expression,valence,arousal\n"
)
LANDMARKS = '"10.5;20.1;' + ";".join(["33.3"] * 134) + '"'


def row(path: str, box: str, code: int) -> str:
    return f"{path},{box},{LANDMARKS},{code},0.25,-0.5\n"


@pytest.fixture
def affectnet(tmp_path: Path, text_file: Callable[..., Path]) -> Path:
    """AffectNet as released: the lists, and the photos by sub-folder."""
    images = tmp_path / "Manually_Annotated" / "Manually_Annotated_Images"
    for name in ("689/a.jpg", "689/b.png", "12/c.JPG"):
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        photo = Image.new("RGB", (80, 60), (20, 20, 20))
        photo.paste((250, 10, 10), (30, 10, 50, 50))  # the face: red, 20x40
        photo.save(images / name)
    lists = tmp_path / "Manually_Annotated_file_lists"
    # validation.csv comes without its header line; training.csv has one.
    validation = "".join(
        row(path, box, code)
        for path, box, code in [
            ("689/a.jpg", "30,10,20,40", 6),
            ("689/b.png", "0,0,80,60", 0),
            ("12/c.JPG", "30,10,20,40", 3),
            ("12/gone.jpg", "0,0,10,10", 1),
            ("689/a.jpg", "0,0,80,60", 7),
            ("689/a.jpg", "0,0,80,60", 8),
            ("689/a.jpg", "0,0,80,60", 9),
            ("689/a.jpg", "0,0,80,60", 10),
        ]
    )
    text_file(lists / "validation.csv", validation)
    text_file(lists / "training.csv", HEADER + row("689/b.png", "10,10,40,40", 1))
    return tmp_path


def test_the_validation_faces_are_cut_by_their_boxes(affectnet: Path) -> None:
    with pytest.warns(UserWarning, match="1 listed file .*gone.jpg"):
        dataset = AffectNet(affectnet)
    images = affectnet / "Manually_Annotated" / "Manually_Annotated_Images"
    assert dataset.samples == [
        (str(images / "689/a.jpg"), 0),
        (str(images / "12/c.JPG"), 5),
    ]
    # 20x40 at (30, 10): squared on its longer side around its centre.
    assert dataset.boxes == [(20.0, 10.0, 60.0, 50.0)] * 2
    assert dataset.skipped == {
        "contempt": 1,
        "missing_file": 1,
        "neutral": 1,
        "no_face": 1,
        "none": 1,
        "uncertain": 1,
    }
    face = dataset[0][0]
    assert face.size == (40, 40)
    # The red face in the middle, the dark photo beside it (JPEG: near).
    assert face.getpixel((20, 20)) == pytest.approx((250, 10, 10), abs=8)
    assert face.getpixel((2, 20)) == pytest.approx((20, 20, 20), abs=8)


def test_the_training_list_with_its_header_and_a_wider_crop(affectnet: Path) -> None:
    dataset = AffectNet(affectnet, split="training", box_scale=1.5)
    assert dataset.targets == [3]
    assert dataset.boxes == [(0.0, 0.0, 60.0, 60.0)]
    assert dataset[0][0].size == (60, 60)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (row("689/a.jpg", "30,10,20", 6), "line 1: expected 9 fields"),
        (row("689/a.jpg", "30,10,0,40", 6), "line 1: expected a face box"),
        (row("689/a.jpg", "30,10,20,40", 11), r"line 1: expected a code \[0, 1"),
    ],
)
def test_a_malformed_row_names_the_file_and_line(
    affectnet: Path, text_file: Callable[..., Path], line: str, message: str
) -> None:
    text_file(affectnet / "Manually_Annotated_file_lists" / "validation.csv", line)
    with pytest.raises(ValueError, match=message) as error:
        AffectNet(affectnet)
    assert "validation.csv" in str(error.value)


def test_a_missing_list_or_split_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="AffectNet list not found"):
        AffectNet(tmp_path)
    with pytest.raises(ValueError, match="split must be 'training' or 'validation'"):
        AffectNet(tmp_path, split="test")
