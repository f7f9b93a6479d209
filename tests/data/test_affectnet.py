from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from lightly_byel.data.affectnet import AffectNet

HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
    "expression,valence,arousal\n"
)
# 68 points as x;y pairs in one field, as released.
LANDMARKS = ";".join(f"{30 + i % 20}.{i % 10}" for i in range(136))


def row(path: str, box: str, code: int) -> str:
    return f"{path},{box},{LANDMARKS},{code},0.25,-0.5\n"


def photo() -> NDArray[np.uint8]:
    """An 80x60 photo, every pixel different, a green 20x40 face at (30, 10)."""
    y, x = np.mgrid[0:60, 0:80]
    pixels = np.stack([x * 3, y * 4, np.full_like(x, 50)], axis=-1).astype(np.uint8)
    pixels[10:50, 30:50] = (0, 255, 0)
    return pixels


# (path, face_x,face_y,face_width,face_height, code): each of the eleven codes.
VALIDATION = [
    ("689/a.jpg", "30,10,20,40", 6),  # anger
    ("689/a.jpg", "0,0,80,60", 0),  # neutral
    ("12/c.png", "30,10,20,40", 1),  # happy
    ("12/c.png", "60,30,20,30", 2),  # sad, its square reaching past the right edge
    ("689/a.jpg", "10,10,30,30", 3),  # surprise
    ("689/a.jpg", "10,10,30,30", 4),  # fear
    ("12/c.png", "10,10,30,30", 5),  # disgust
    ("12/gone.jpg", "0,0,10,10", 1),  # listed, not on disk
    ("689/a.jpg", "0,0,80,60", 7),  # contempt
    ("689/a.jpg", "0,0,80,60", 8),  # none
    ("689/a.jpg", "0,0,80,60", 9),  # uncertain
    ("689/a.jpg", "0,0,80,60", 10),  # no face
]


@pytest.fixture
def affectnet(
    tmp_path: Path, text_file: Callable[..., Path], stray: Callable[[Path], None]
) -> Path:
    """AffectNet as released: the lists, and the photos by sub-folder."""
    images = tmp_path / "Manually_Annotated_Images"
    (images / "689").mkdir(parents=True)
    (images / "12").mkdir()
    dark = Image.new("RGB", (80, 60), (20, 20, 20))
    dark.paste((250, 10, 10), (30, 10, 50, 50))  # the face: red, 20x40
    dark.save(images / "689" / "a.jpg", quality=95)
    Image.fromarray(photo()).save(images / "12" / "c.png")
    stray(images / "689")
    lists = tmp_path / "Manually_Annotated_file_lists"
    # validation.csv comes without its header line; training.csv has one.
    validation = "".join(row(path, box, code) for path, box, code in VALIDATION)
    text_file(lists / "validation.csv", validation, newline="\r\n")
    training = (
        HEADER + row("12/c.png", "10,10,40,40", 1) + row("12/c.png", "0,0,8,8", 0)
    )
    text_file(lists / "training.csv", training, bom=True)
    return tmp_path


def test_the_validation_faces_are_cut_by_their_boxes(affectnet: Path) -> None:
    with pytest.warns(UserWarning, match=r"1 listed file \('.*12/gone\.jpg'\)"):
        dataset = AffectNet(affectnet)
    images = affectnet / "Manually_Annotated_Images"
    a, c = str(images / "689" / "a.jpg"), str(images / "12" / "c.png")
    assert dataset.list_file == str(
        affectnet / "Manually_Annotated_file_lists" / "validation.csv"
    )
    assert dataset.images == str(images) and dataset.box_scale == 1.0
    assert dataset.samples == [(a, 0), (c, 3), (c, 4), (a, 5), (a, 2), (c, 1)]
    # Each box made square on its longer side, around its centre.
    assert dataset.boxes == [
        (20.0, 10.0, 60.0, 50.0),
        (20.0, 10.0, 60.0, 50.0),
        (55.0, 30.0, 85.0, 60.0),
        (10.0, 10.0, 40.0, 40.0),
        (10.0, 10.0, 40.0, 40.0),
        (10.0, 10.0, 40.0, 40.0),
    ]
    assert dataset.subjects is None
    assert dataset.skipped == {
        "contempt": 1,
        "missing_file": 1,
        "neutral": 1,
        "no_face": 1,
        "none": 1,
        "uncertain": 1,
    }
    assert dataset.missing_files == [str(images / "12" / "gone.jpg")]
    # The PNG's crop is exactly the box: the green face between its cheeks, and
    # black where the square reaches past the photo.
    pixels = photo()
    face = np.asarray(dataset[1][0])
    assert face.shape == (40, 40, 3) and np.array_equal(face, pixels[10:50, 20:60])
    assert face[20, 10:30].tolist() == [[0, 255, 0]] * 20
    edge = np.asarray(dataset[2][0])
    assert edge.shape == (30, 30, 3)
    assert np.array_equal(edge[:, :25], pixels[30:60, 55:80])
    assert not edge[:, 25:].any()
    # The JPEG's red face fills the crop's middle, the dark photo its sides.
    red = np.asarray(dataset[0][0]).astype(int)
    assert red.shape == (40, 40, 3)
    assert np.abs(red[2:38, 12:28] - (250, 10, 10)).max() <= 16
    assert np.abs(red[:, :7] - 20).max() <= 16 and np.abs(red[:, 33:] - 20).max() <= 16


def test_the_training_list_with_its_header_and_a_wider_crop(affectnet: Path) -> None:
    dataset = AffectNet(affectnet, split="training", box_scale=1.5)
    assert dataset.targets == [3] and dataset.skipped == {"neutral": 1}
    # 40x40 at (10, 10), 1.5 times as wide around its centre (30, 30).
    assert dataset.boxes == [(0.0, 0.0, 60.0, 60.0)]
    assert np.array_equal(np.asarray(dataset[0][0]), photo()[0:60, 0:60])


def test_the_lists_beside_the_images_in_the_unpacked_archive(
    affectnet: Path,
) -> None:
    lists = affectnet / "Manually_Annotated_file_lists"
    (lists / "training.csv").rename(affectnet / "training.csv")
    archive = affectnet / "Manually_Annotated"
    archive.mkdir()
    (affectnet / "Manually_Annotated_Images").rename(
        archive / "Manually_Annotated_Images"
    )
    dataset = AffectNet(affectnet, split="training")
    assert dataset.list_file == str(affectnet / "training.csv")
    assert dataset.samples == [
        (str(archive / "Manually_Annotated_Images" / "12" / "c.png"), 3)
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (row("689/a.jpg", "30,10,20", 6), "line 2: expected 9 fields"),
        (row("689/a.jpg", "30,10,0,40", 6), "line 2: expected a face box"),
        (row("689/a.jpg", "30,10,x,40", 6), "line 2: expected a face box"),
        (row("689/a.jpg", "30,10,nan,40", 6), "line 2: expected a face box"),
        (row("689/a.jpg", "30,10,20,40", 11), r"line 2: expected a code \[0, 1"),
        (row("689/a.jpg", "30,10,20,40", -1), r"line 2: .* got '-1'"),
    ],
)
def test_a_malformed_row_names_the_file_and_line(
    affectnet: Path, text_file: Callable[..., Path], line: str, message: str
) -> None:
    good = row("689/a.jpg", "30,10,20,40", 6)
    listing = affectnet / "Manually_Annotated_file_lists" / "validation.csv"
    text_file(listing, good + line)
    with pytest.raises(ValueError, match=message) as error:
        AffectNet(affectnet)
    assert str(listing) in str(error.value)


def test_a_missing_list_split_or_scale_is_named(
    tmp_path: Path, affectnet: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="AffectNet list not found"):
        AffectNet(tmp_path / "Manually_Annotated_Images")
    with pytest.raises(ValueError, match="split must be 'training' or 'validation'"):
        AffectNet(affectnet, split="test")
    with pytest.raises(ValueError, match="box_scale must be positive, got 0"):
        AffectNet(affectnet, box_scale=0)
    (affectnet / "Manually_Annotated_Images").rename(affectnet / "images")
    with pytest.raises(FileNotFoundError, match="AffectNet images not found"):
        AffectNet(affectnet)
