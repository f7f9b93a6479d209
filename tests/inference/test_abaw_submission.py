from collections.abc import Sequence
from pathlib import Path

import pytest

from lightly_byel.data import LSD_CLASSES
from lightly_byel.inference.abaw_submission import (
    NO_FACE,
    SubmissionWriter,
    expr_lengths,
    expr_values,
)
from lightly_byel.inference.image_sources import ImageSource

HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"


def _video(root: Path, video: str, on_disk: Sequence[int]) -> list[ImageSource]:
    """Touches the frame files of one video; returns them as sources, by number."""
    folder = root / video
    folder.mkdir(parents=True)
    sources = []
    for number in on_disk:
        path = folder / f"{number:05d}.jpg"
        path.touch()
        sources.append(
            ImageSource(str(path), f"{video}/{path.name}", None, video, number)
        )
    return sources


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return text.splitlines()


def test_lsd_classes_are_written_as_their_expr_values() -> None:
    assert expr_values(LSD_CLASSES) == [1, 2, 3, 4, 5, 6]
    # Names are matched without regard to case, in whatever order the model has.
    assert expr_values(["other", "Neutral", "SURPRISE"]) == [7, 0, 6]
    with pytest.raises(ValueError, match=r"classes \['contempt'\] are not ABAW"):
        expr_values(["ANGER", "contempt"])


def test_every_frame_up_to_the_last_on_disk_gets_a_line(tmp_path: Path) -> None:
    # Frame 4 has no file (no face was found); frame 2 cannot be read.
    sources = _video(tmp_path / "frames", "v1", [1, 2, 3, 5, 6])
    out = tmp_path / "submission"
    writer = SubmissionWriter(out, sources, LSD_CLASSES)
    for index, expression in ((0, 0), (2, 5), (3, 3), (4, 3)):
        writer.add(index, expression)
    counts = writer.finish()
    assert _lines(out / "v1.txt") == [HEADER, "1", "-1", "6", "-1", "4", "4"]
    assert (counts.videos, counts.frames, counts.predicted) == (1, 6, 4)
    assert counts.filled == {"no frame file": 1, "unreadable": 1, "not predicted": 0}
    assert counts.outside == 0 and counts.videos_without_frames == []
    assert NO_FACE == -1


def test_lengths_come_from_the_annotation_files(tmp_path: Path) -> None:
    annotations = tmp_path / "Test_Set"
    annotations.mkdir()
    # Template files: the values do not matter, their number does.
    for video, length in (("v1", 4), ("v2", 2), ("v3", 3)):
        (annotations / f"{video}.txt").write_text(HEADER + "\n" + "-1\n" * length)
    lengths = expr_lengths(annotations)
    assert lengths == {"v1": 4, "v2": 2, "v3": 3}
    frames = tmp_path / "frames"
    # v1 ends before its last frames (faceless); v2 has a frame beyond its length.
    sources = _video(frames, "v1", [1, 2]) + _video(frames, "v2", [1, 2, 3])
    out = tmp_path / "submission"
    writer = SubmissionWriter(out, sources, LSD_CLASSES, lengths)
    for index in range(len(sources)):
        writer.add(index, 5)
    counts = writer.finish()
    assert _lines(out / "v1.txt") == [HEADER, "6", "6", "-1", "-1"]
    assert _lines(out / "v2.txt") == [HEADER, "6", "6"]
    # An annotated video without frames still gets its file, all without a face.
    assert _lines(out / "v3.txt") == [HEADER, "-1", "-1", "-1"]
    assert counts.videos_without_frames == ["v3"]
    assert counts.outside == 1
    assert (counts.videos, counts.frames, counts.predicted) == (3, 9, 4)
    assert counts.filled == {"no frame file": 5, "unreadable": 0, "not predicted": 0}


def test_a_video_is_written_once_the_next_one_starts(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    sources = (
        _video(frames, "a", [1, 2])
        + _video(frames, "b", [1])
        + _video(frames, "c", [1, 2])
    )
    out = tmp_path / "submission"
    writer = SubmissionWriter(out, sources, LSD_CLASSES)
    writer.add(0, 1)
    writer.add(1, 2)
    assert not (out / "a.txt").exists()  # a later frame of a may still come
    # b's only frame was unreadable: the first prediction of c ends both.
    writer.add(3, 4)
    assert _lines(out / "a.txt") == [HEADER, "2", "3"]
    assert _lines(out / "b.txt") == [HEADER, "-1"]
    assert not (out / "c.txt").exists()
    counts = writer.finish()
    assert _lines(out / "c.txt") == [HEADER, "5", "-1"]
    assert counts.filled == {"no frame file": 0, "unreadable": 2, "not predicted": 0}


def test_frame_files_that_were_not_predicted_are_counted_apart(
    tmp_path: Path,
) -> None:
    # As with --format affwild2-expr: frame 2 is on disk but annotated neutral.
    sources = _video(tmp_path / "frames", "v1", [1, 2, 3])
    del sources[1]
    out = tmp_path / "submission"
    out.mkdir()
    (out / "old.txt").write_text("from another run\n")
    writer = SubmissionWriter(out, sources, LSD_CLASSES)
    writer.add(0, 0)
    writer.add(1, 1)
    counts = writer.finish()
    assert _lines(out / "v1.txt") == [HEADER, "1", "-1", "2"]
    assert counts.filled == {"no frame file": 0, "unreadable": 0, "not predicted": 1}
    assert counts.other_files == ["old.txt"]
    assert counts.as_dict()["filled"] == counts.filled


def test_sources_that_are_not_frames_of_videos_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "submission"
    flat = [ImageSource("a.jpg", "a.jpg")]
    with pytest.raises(ValueError, match=r"'a\.jpg' is not a numbered frame"):
        SubmissionWriter(out, flat, LSD_CLASSES)
    frames = tmp_path / "frames"
    split = _video(frames, "a", [1]) + _video(frames, "b", [1])
    split.append(
        ImageSource(str(frames / "a" / "00002.jpg"), "a/00002.jpg", None, "a", 2)
    )
    with pytest.raises(ValueError, match="frames of video 'a' are not together"):
        SubmissionWriter(out, split, LSD_CLASSES)
    with pytest.raises(ValueError, match="not ABAW EXPR expressions"):
        SubmissionWriter(out, split[:1], ["happy", "sad"])
    assert not out.exists()
