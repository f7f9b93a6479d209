from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lightly_byel.data.expw import ExpW

# image_name face_id top left right bottom confidence label: top before left.
LABELS = (
    "angry_actor_104.jpg 0 10 5 45 50 63.3912 0\n"
    "angry_actor_104.jpg 1 20 60 90 60 40.5807 5\n"
    "happy_people_2.jpg 0 0 0 50 50 80.0 6\n"
    "happy_people_2.jpg 1 4 30 44 24 27.25 3\n"
    "happy_people_2.jpg 2 30 2 46 48 12.0 1\n"
    "lost_photo_9.jpg 0 0 0 10 10 12.5 3\n"
    "afraid_girl_7.jpg 0 2 4 34 38 99.1 2\n"
    "sad_woman_1.jpg 0 2 4 34 38 99.1 4\n"
)


@pytest.fixture
def expw(
    tmp_path: Path, text_file: Callable[..., Path], stray: Callable[[Path], None]
) -> Path:
    """ExpW as released: label/label.lst and the photos in image/origin."""
    origin = tmp_path / "image" / "origin"
    origin.mkdir(parents=True)
    photo = Image.new("RGB", (100, 80), (0, 0, 255))
    photo.paste((255, 0, 0), (5, 10, 45, 50))  # the first face: red, 40x40
    photo.paste((0, 255, 0), (60, 20, 90, 60))  # the second face: green, 30x40
    photo.save(origin / "angry_actor_104.jpg", quality=95)
    for name in ("happy_people_2.jpg", "afraid_girl_7.jpg", "sad_woman_1.jpg"):
        Image.new("RGB", (50, 50), (90, 90, 90)).save(origin / name)
    stray(origin)
    text_file(tmp_path / "label" / "label.lst", LABELS)
    return tmp_path


def test_every_face_of_a_photo_is_a_sample(expw: Path) -> None:
    with pytest.warns(UserWarning, match=r"1 listed file \('.*lost_photo_9\.jpg'\)"):
        dataset = ExpW(expw)
    origin = expw / "image" / "origin"
    angry = str(origin / "angry_actor_104.jpg")
    happy = str(origin / "happy_people_2.jpg")
    assert dataset.list_file == str(expw / "label" / "label.lst")
    assert dataset.images == str(origin)
    assert dataset.samples == [
        (angry, 0),
        (angry, 5),
        (happy, 3),
        (happy, 1),
        (str(origin / "afraid_girl_7.jpg"), 2),
        (str(origin / "sad_woman_1.jpg"), 4),
    ]
    # (left, top, right, bottom) from "top left right bottom", then squared.
    assert dataset.boxes == [
        (5.0, 10.0, 45.0, 50.0),
        (55.0, 20.0, 95.0, 60.0),
        (27.0, 4.0, 47.0, 24.0),
        (2.0, 17.0, 46.0, 61.0),
        (1.0, 2.0, 37.0, 38.0),
        (1.0, 2.0, 37.0, 38.0),
    ]
    assert dataset.skipped == {"missing_file": 1, "neutral": 1}
    assert dataset.missing_files == [str(origin / "lost_photo_9.jpg")]
    assert dataset.subjects is None
    first, second = (np.asarray(dataset[i][0]).astype(int) for i in (0, 1))
    assert first.shape == (40, 40, 3)
    assert np.abs(first[2:38, 2:38] - (255, 0, 0)).max() <= 16
    # The green face in the middle of its square, the blue photo either side.
    assert second.shape == (40, 40, 3)
    assert np.abs(second[2:38, 7:33] - (0, 255, 0)).max() <= 16
    assert np.abs(second[:, :3] - (0, 0, 255)).max() <= 16
    assert np.abs(second[:, 37:] - (0, 0, 255)).max() <= 16
    # The third face of a 50x50 photo reaches below it: black there.
    below = np.asarray(dataset[3][0])
    assert below.shape == (44, 44, 3)
    assert (below[:33] == 90).all() and not below[33:].any()


def test_a_wider_crop(expw: Path) -> None:
    with pytest.warns(UserWarning):
        dataset = ExpW(expw, box_scale=1.5)
    assert dataset.box_scale == 1.5
    assert dataset.boxes is not None
    assert dataset.boxes[:2] == [(-5.0, 0.0, 55.0, 60.0), (45.0, 10.0, 105.0, 70.0)]
    with pytest.raises(ValueError, match="box_scale must be positive, got -1"):
        ExpW(expw, box_scale=-1)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a.jpg 0 10 5 45 50 0", r"line 2: expected 'image_name face_id top"),
        ("a.jpg 0 10 50 45 50 1.0 0", "line 2: expected a face box 'top left"),
        ("a.jpg 0 60 5 45 50 1.0 0", "line 2: expected a face box 'top left"),
        ("a.jpg 0 10 5 45 x 1.0 0", "line 2: expected a face box 'top left"),
        ("a.jpg 0 10 5 45 50 1.0 7", r"line 2: expected a code \[0, 1, 2"),
        ("a.jpg 0 10 5 45 50 1.0 happy", r"line 2: .* got 'happy'"),
    ],
)
def test_a_malformed_line_names_the_file_and_line(
    expw: Path, text_file: Callable[..., Path], line: str, message: str
) -> None:
    first = LABELS.splitlines(keepends=True)[0]
    listing = text_file(expw / "label" / "label.lst", first + line + "\n")
    with pytest.raises(ValueError, match=message) as error:
        ExpW(expw)
    assert str(listing) in str(error.value)


def test_a_missing_list_or_photo_folder_is_named(expw: Path) -> None:
    (expw / "image" / "origin").rename(expw / "photos")
    (expw / "image").rmdir()
    with pytest.raises(FileNotFoundError, match="ExpW photo folder not found"):
        ExpW(expw)
    (expw / "label" / "label.lst").unlink()
    with pytest.raises(FileNotFoundError, match="ExpW label list not found"):
        ExpW(expw)
