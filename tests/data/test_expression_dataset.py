from collections.abc import Callable
from pathlib import Path

import pytest

from lightly_byel.data.expression_dataset import Entry, ExpressionDataset, code_of
from lightly_byel.data.expression_names import expression_label
from lightly_byel.data.face_framing import square_box
from lightly_byel.data.images import LabeledImageFiles


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
    with pytest.warns(UserWarning, match="left out 1 non-image file"):
        dataset = ExpressionDataset(tmp_path, entries)
    assert dataset.targets == [1, 2, 3]
    assert dataset.subjects == ["b", "c", "d"]
    assert dataset.boxes == [(0, 0, 10, 10), (0, 0, 20, 20), None]
    assert dataset.skipped == {"neutral": 1}
    with pytest.warns(UserWarning, match="dropped 1 unreadable image file"):
        assert dataset.verify(decode=True) == [str(truncated)]
    assert dataset.targets == [1, 3] and dataset.subjects == ["b", "d"]
    assert dataset.boxes == [(0, 0, 10, 10), None]
    assert dataset[0][0].size == (10, 10) and dataset[1][0].size == (40, 40)


def test_the_fingerprint_follows_the_boxes(
    tmp_path: Path, picture: Callable[..., Path]
) -> None:
    path = str(picture(tmp_path / "a.png"))
    whole = LabeledImageFiles([(path, 0)], ["A"])
    boxed = LabeledImageFiles([(path, 0)], ["A"], boxes=[(0, 0, 4, 4)])
    moved = LabeledImageFiles([(path, 0)], ["A"], boxes=[(1, 0, 5, 4)])
    none = LabeledImageFiles([(path, 0)], ["A"], boxes=[None])
    prints = {d.fingerprint() for d in (whole, boxed, moved)}
    assert len(prints) == 3 and none.fingerprint() == whole.fingerprint()
    with pytest.raises(ValueError, match="boxes has 2 entries for 1 samples"):
        LabeledImageFiles([(path, 0)], ["A"], boxes=[None, None])


def test_nothing_left_is_an_error_that_counts_what_was_left_out(tmp_path: Path) -> None:
    entries = [Entry("x.jpg", "neutral"), Entry(str(tmp_path / "gone.jpg"), 2)]
    with pytest.raises(
        ValueError,
        match=r"no face of the six classes .*'missing_file': 1, 'neutral': 1",
    ):
        ExpressionDataset(tmp_path, entries)


def test_names_codes_and_boxes() -> None:
    assert [expression_label(n) for n in ("fearful", "Afraid", "SCARED", "Joy")] == [
        2,
        2,
        2,
        None,
    ]
    assert expression_label("Contempt") == "contempt"
    assert code_of("7", {7: "neutral"}, "here") == "neutral"
    with pytest.raises(ValueError, match=r"here: expected a code \[7\], got '7.5'"):
        code_of("7.5", {7: "neutral"}, "here")
    assert square_box((0, 0, 10, 20), scale=2.0) == (-15.0, -10.0, 25.0, 30.0)
    with pytest.raises(ValueError, match="right > left"):
        square_box((5, 0, 5, 10))
    with pytest.raises(ValueError, match="positive scale"):
        square_box((0, 0, 5, 10), scale=0)
