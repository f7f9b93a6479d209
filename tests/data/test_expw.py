from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from lightly_byel.data.expw import ExpW


@pytest.fixture
def expw(tmp_path: Path, text_file: Callable[..., Path]) -> Path:
    """ExpW as released: label/label.lst and the photos in image/origin."""
    origin = tmp_path / "image" / "origin"
    origin.mkdir(parents=True)
    photo = Image.new("RGB", (100, 80), (0, 0, 255))
    photo.paste((0, 255, 0), (60, 20, 90, 60))  # the second face: green
    photo.save(origin / "angry_actor_104.jpg")
    Image.new("RGB", (50, 50)).save(origin / "happy_people_2.jpg")
    # image_name face_id top left right bottom confidence label: top before left.
    lines = (
        "angry_actor_104.jpg 0 10 5 45 50 63.39 0\n"
        "angry_actor_104.jpg 1 20 60 90 60 40.58 5\n"
        "happy_people_2.jpg 0 0 0 50 50 80.0 6\n"
        "lost_photo_9.jpg 0 0 0 10 10 12.5 3\n"
    )
    text_file(tmp_path / "label" / "label.lst", lines)
    return tmp_path


def test_every_face_of_a_photo_is_a_sample(expw: Path) -> None:
    with pytest.warns(UserWarning, match="lost_photo_9.jpg"):
        dataset = ExpW(expw)
    photo = str(expw / "image" / "origin" / "angry_actor_104.jpg")
    assert dataset.samples == [(photo, 0), (photo, 5)]
    # (left 5, top 10, right 45, bottom 50) and (60, 20, 90, 60), squared.
    assert dataset.boxes == [(5.0, 10.0, 45.0, 50.0), (55.0, 20.0, 95.0, 60.0)]
    assert dataset.skipped == {"missing_file": 1, "neutral": 1}
    second = dataset[1][0]
    assert second.size == (40, 40)
    assert second.getpixel((20, 20)) == pytest.approx((0, 255, 0), abs=8)


def test_a_malformed_line_names_the_file_and_line(
    expw: Path, text_file: Callable[..., Path]
) -> None:
    text_file(expw / "label" / "label.lst", "a.jpg 0 10 5 45 50 0\n")
    with pytest.raises(ValueError, match=r"label\.lst, line 1: expected 'image_name"):
        ExpW(expw)
    text_file(expw / "label" / "label.lst", "a.jpg 0 10 50 45 50 1.0 0\n")
    with pytest.raises(ValueError, match="line 1: expected a face box 'top left"):
        ExpW(expw)
    text_file(expw / "label" / "label.lst", "a.jpg 0 10 5 45 50 1.0 7\n")
    with pytest.raises(ValueError, match=r"line 1: expected a code \[0, 1, 2"):
        ExpW(expw)
