import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lightly_byel.data.expression_dataset import (
    Entry,
    ExpressionDataset,
    code_of,
    index_lines,
    locate,
)
from lightly_byel.data.expression_names import expression_label
from lightly_byel.data.face_framing import square_box
from lightly_byel.data.images import LabeledImageFiles, crop_region


def test_boxes_and_subjects_stay_with_their_samples(
    tmp_path: Path, picture: Callable[..., Path]
) -> None:
    good = picture(tmp_path / "good.png", size=(40, 40))
    other = picture(tmp_path / "other.png", size=(40, 40))
    (tmp_path / "html.jpg").write_text("<html>")  # left out by the header check
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])  # found only by decoding
    entries = [
        Entry(str(tmp_path / "html.jpg"), 0, "a", (0, 0, 5, 5)),
        Entry(str(good), 1, "b", (0, 0, 10, 10)),
        Entry(str(truncated), 2, "c", (0, 0, 20, 20)),
        Entry(str(good), 3, "d", None),
        Entry(str(other), "neutral", "e"),
    ]
    with pytest.warns(UserWarning, match=r"left out 1 non-image file .*html\.jpg"):
        dataset = ExpressionDataset(tmp_path, entries)
    assert dataset.samples == [(str(good), 1), (str(truncated), 2), (str(good), 3)]
    assert dataset.subjects == ["b", "c", "d"]
    assert dataset.boxes == [(0, 0, 10, 10), (0, 0, 20, 20), None]
    assert dataset.skipped == {"neutral": 1} and dataset.missing_files == []
    with pytest.warns(UserWarning, match="dropped 1 unreadable image file"):
        assert dataset.verify(decode=True) == [str(truncated)]
    assert dataset.samples == [(str(good), 1), (str(good), 3)]
    assert dataset.targets == [1, 3] and dataset.subjects == ["b", "d"]
    assert dataset.boxes == [(0, 0, 10, 10), None]
    assert dataset[0][0].size == (10, 10) and dataset[1][0].size == (40, 40)


def test_listed_files_not_on_disk_are_counted_named_and_warned_about(
    tmp_path: Path, picture: Callable[..., Path]
) -> None:
    face = str(picture(tmp_path / "face.png"))
    gone = [str(tmp_path / "gone1.jpg"), str(tmp_path / "sub" / "gone2.jpg")]
    entries = [
        Entry(gone[1], 4, "p"),
        Entry(face, 5),
        Entry(str(tmp_path / "gone3.jpg"), "contempt"),  # left out before the check
        Entry(gone[0], 0),
        Entry(face, "neutral"),
    ]
    with pytest.warns(UserWarning, match=r"2 listed files \('.*gone2.jpg', '.*gone1"):
        dataset = ExpressionDataset(tmp_path, entries)
    assert dataset.targets == [5]
    assert dataset.missing_files == gone[::-1]
    assert dataset.skipped == {"contempt": 1, "missing_file": 2, "neutral": 1}
    # Entry's defaults: no subject and no box anywhere, so neither is kept.
    assert dataset.subjects is None and dataset.boxes is None
    assert repr(dataset) == (
        f"ExpressionDataset(root={str(tmp_path)!r}, samples=1, ANGER=0, DISGUST=0, "
        "FEAR=0, HAPPINESS=0, SADNESS=0, SURPRISE=1)"
    )
    unchecked = ExpressionDataset(
        tmp_path, entries, check_headers=False, check_files=False
    )
    assert unchecked.targets == [4, 5, 0] and unchecked.missing_files == []
    assert unchecked.subjects == ["p", None, None]
    assert unchecked.skipped == {"contempt": 1, "neutral": 1}


def test_the_fingerprint_follows_the_boxes(
    tmp_path: Path, picture: Callable[..., Path]
) -> None:
    path = str(picture(tmp_path / "a.png", size=(3000, 20)))
    whole = LabeledImageFiles([(path, 0)], ["A"])
    boxed = LabeledImageFiles([(path, 0)], ["A"], boxes=[(0, 0, 4, 4)])
    moved = LabeledImageFiles([(path, 0)], ["A"], boxes=[(1, 0, 5, 4)])
    none = LabeledImageFiles([(path, 0)], ["A"], boxes=[None])
    prints = {d.fingerprint() for d in (whole, boxed, moved)}
    assert len(prints) == 3 and none.fingerprint() == whole.fingerprint()
    # Boxes equal to six digits that round to different crops.
    near = [
        LabeledImageFiles([(path, 0)], ["A"], boxes=[(x, 0, x + 10, 10)])
        for x in (1234.4951, 1234.5049)
    ]
    assert [round(box[0]) for d in near for box in d.boxes or []] == [1234, 1235]
    assert near[0].fingerprint() != near[1].fingerprint()
    assert boxed.fingerprint("salt") != boxed.fingerprint()
    with pytest.raises(ValueError, match="boxes has 2 entries for 1 samples"):
        LabeledImageFiles([(path, 0)], ["A"], boxes=[None, None])
    with pytest.raises(ValueError, match="subjects has 0 entries for 1 samples"):
        LabeledImageFiles([(path, 0)], ["A"], subjects=[])


def test_nothing_left_is_an_error_that_counts_what_was_left_out(tmp_path: Path) -> None:
    entries = [Entry("x.jpg", "neutral"), Entry(str(tmp_path / "gone.jpg"), 2)]
    with pytest.raises(
        ValueError,
        match=r"ExpressionDataset .*: no face of the six classes "
        r".*left out \{'missing_file': 1, 'neutral': 1\}",
    ):
        ExpressionDataset(tmp_path, entries)
    with pytest.raises(ValueError, match="left out none"):
        ExpressionDataset(tmp_path, [])


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("ANGER", 0),
        ("angry", 0),
        ("Angrer", 0),
        ("disgust", 1),
        ("Disgusted", 1),
        ("FEARFUL", 2),
        ("afraid", 2),
        ("Scared", 2),
        ("fear", 2),
        ("happy", 3),
        ("Happiness", 3),
        (" sad ", 4),
        ("SADNESS", 4),
        ("surprised", 5),
        ("Surprise", 5),
        ("Neutral", "neutral"),
        ("CONTEMPT", "contempt"),
        ("joy", None),
        ("", None),
    ],
)
def test_expression_names(name: str, label: int | str | None) -> None:
    assert expression_label(name) == label


def test_square_box() -> None:
    assert square_box((10, 20, 30, 60)) == (0.0, 20.0, 40.0, 60.0)
    assert square_box((10, 20, 50, 30)) == (10.0, 5.0, 50.0, 45.0)
    assert square_box((0, 0, 10, 20), scale=2.0) == (-15.0, -10.0, 25.0, 30.0)
    assert square_box((10, 20, 30, 60), 1.5, 0.1) == (-10.0, 16.0, 50.0, 76.0)
    assert square_box((10, 20, 30, 60), shift=-0.25) == (0.0, 10.0, 40.0, 50.0)
    with pytest.raises(ValueError, match="right > left"):
        square_box((5, 0, 5, 10))
    with pytest.raises(ValueError, match="bottom > top"):
        square_box((0, 10, 5, 2))
    with pytest.raises(ValueError, match="positive scale"):
        square_box((0, 0, 5, 10), scale=0)


@pytest.mark.parametrize(
    "box",
    [(math.nan, 0, 5, 10), (0, 0, math.inf, 10), (0, -math.inf, 5, 10)],
)
def test_a_box_that_is_not_finite_is_refused(
    box: tuple[float, float, float, float],
) -> None:
    with pytest.raises(ValueError, match="expected a finite box"):
        square_box(box)
    with pytest.raises(ValueError, match="expected a finite box"):
        square_box((0, 0, 5, 10), shift=math.nan)


def test_crop_region_pads_with_black_and_rounds_the_size() -> None:
    pixels = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    image = Image.fromarray(pixels)
    inside = crop_region(image, (2, 1, 5, 4))
    assert np.array_equal(np.asarray(inside), pixels[1:4, 2:5])
    # Left 6.4 rounds to 6, the size 3.6 to 4; the top row and right columns
    # fall outside the image and are black.
    outside = np.asarray(crop_region(image, (6.4, -1.2, 10.0, 2.4)))
    assert outside.shape == (4, 4, 3)
    assert np.array_equal(outside[1:, :2], pixels[0:3, 6:8])
    assert not outside[0].any() and not outside[:, 2:].any()
    assert crop_region(image, (3.2, 3.2, 3.3, 3.3)).size == (1, 1)
    grey = crop_region(Image.new("L", (4, 4), 200), (-1, -1, 3, 3))
    assert grey.mode == "L" and np.asarray(grey)[0].tolist() == [0, 0, 0, 0]
    assert np.asarray(grey)[1:, 1:].tolist() == [[200] * 3] * 3


def test_codes_index_lines_and_locate(
    tmp_path: Path, text_file: Callable[..., Path]
) -> None:
    codes: dict[int, int | str] = {3: 1, 7: "neutral"}
    assert code_of("3.0000000e+00", codes, "here") == 1
    assert code_of(" 7 ", codes, "here") == "neutral"
    for text, shown in (("7.5", "'7.5'"), ("x", "'x'"), ("4", "'4'"), ("", "''")):
        with pytest.raises(
            ValueError, match=rf"here: expected a code \[3, 7\], got {shown}"
        ):
            code_of(text, codes, "here")
    listing = text_file(
        tmp_path / "list.txt", "a.jpg 5\n\n b.jpg\t 7 \n", newline="\r\n", bom=True
    )
    assert list(index_lines(str(listing))) == [(1, ["a.jpg", "5"]), (3, ["b.jpg", "7"])]
    (tmp_path / "b").mkdir()
    assert locate(tmp_path, ["a", "b", "list.txt"], "x") == str(tmp_path / "b")
    assert locate(tmp_path, ["b/../list.txt"], "x") == str(listing)
    with pytest.raises(FileNotFoundError, match=r"the list not found in .*'c', 'd'"):
        locate(tmp_path, ["c", "d"], "the list")
    with pytest.raises(FileNotFoundError, match=r"the list: .*gone' does not exist"):
        locate(tmp_path / "gone", ["c"], "the list")
