import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from lightly_byel.data.affwild2 import EXPR_HEADER, AffWild2Expr, read_expr_annotation
from lightly_byel.data.classes import LSD_CLASSES

HEADER = ",".join(EXPR_HEADER)


def frames(
    root: Path, video: str, numbers: Sequence[int], name: str = "{:05d}.jpg"
) -> None:
    folder = root / "cropped_aligned" / video
    folder.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        Image.new("RGB", (4, 4), (number, 0, 0)).save(folder / name.format(number))


def annotate(
    folder: Path, video: str, values: Sequence[int | str], newline: str = "\n"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{video}.txt"
    text = newline.join([HEADER, *map(str, values)]) + newline
    path.write_bytes(text.encode("utf-8"))
    return path


def relative(dataset: AffWild2Expr) -> list[str]:
    return [
        os.path.relpath(path, dataset.frames_root).replace(os.sep, "/")
        for path, _ in dataset.samples
    ]


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, Path]:
    """A small Aff-Wild2 copy with everything that goes wrong in real ones."""
    root, annotations = tmp_path / "aff_wild2", tmp_path / "Train_Set"
    # video1: every value once; frame 6 (fear) has no face, frame 9 is beyond the
    # annotation and ignored.
    frames(root, "video1", [1, 2, 3, 4, 5, 7, 8, 9])
    annotate(annotations, "video1", [0, 1, 2, 3, 4, 5, 6, 7])
    # video2 is annotated in a file from Windows with BOM, CRLF and blank lines.
    frames(root, "video2", [1, 2, 3])
    path = annotations / "video2.txt"
    path.write_bytes(("\ufeff" + HEADER + "\r\n6\r\n-1\r\n1\r\n\r\n\r\n").encode())
    # video10 sorts after video2; video3 has no frames folder at all.
    frames(root, "video10", [1, 2])
    annotate(annotations, "video10", [5, 5])
    annotate(annotations, "video3", [1, 2, 3])
    (annotations / "README.md").write_text("stray")
    (annotations / ".DS_Store").write_bytes(b"\0")
    (annotations / "._video1.txt").write_bytes(b"\0\5\0")
    return root, annotations


def test_release_with_gaps(release: tuple[Path, Path]) -> None:
    root, annotations = release
    with pytest.warns(
        UserWarning,
        match=r"no frames folder in .* for 1 annotated video \('video3'\); left out",
    ):
        dataset = AffWild2Expr(root, annotations)

    assert dataset.frames_root == os.path.join(root, "cropped_aligned")
    assert dataset.annotations_dir == annotations
    assert dataset.classes == list(LSD_CLASSES)
    assert dataset.videos == ["video1", "video2", "video10"]
    assert dataset.missing_videos == ["video3"]
    assert relative(dataset) == [
        "video1/00002.jpg",
        "video1/00003.jpg",
        "video1/00004.jpg",
        "video1/00005.jpg",
        "video1/00007.jpg",
        "video2/00001.jpg",
        "video2/00003.jpg",
        "video10/00001.jpg",
        "video10/00002.jpg",
    ]
    assert dataset.targets == [0, 1, 2, 3, 5, 5, 0, 4, 4]
    assert dataset.skipped == {
        "neutral": 1,
        "other": 1,
        "unannotated": 1,
        "missing_frame": 1,
    }
    assert dataset.class_counts() == {
        "ANGER": 2,
        "DISGUST": 1,
        "FEAR": 1,
        "HAPPINESS": 1,
        "SADNESS": 2,
        "SURPRISE": 2,
    }
    picture, label = dataset[4]
    assert (picture.mode, picture.size, label) == ("RGB", (4, 4), 5)
    assert picture.getpixel((0, 0))[0] in range(5, 10)  # frame 7, JPEG-blurred
    assert repr(dataset) == (
        f"AffWild2Expr(frames_root={dataset.frames_root!r}, videos=3, samples=9, "
        "ANGER=2, DISGUST=1, FEAR=1, HAPPINESS=1, SADNESS=2, SURPRISE=2)"
    )


def test_cropped_aligned_itself_can_be_passed(release: tuple[Path, Path]) -> None:
    root, annotations = release
    with pytest.warns(UserWarning, match="video3"):
        dataset = AffWild2Expr(
            root / "cropped_aligned", annotations, transform=lambda im: im.size
        )
    assert dataset.frames_root == os.fspath(root / "cropped_aligned")
    assert len(dataset) == 9
    assert dataset[0] == ((4, 4), 0)


def test_frame_names_of_other_widths_and_extensions(tmp_path: Path) -> None:
    frames(tmp_path, "v", [1], "{}.png")
    frames(tmp_path, "v", [2], "{:05d}.JPG")
    frames(tmp_path, "v", [3, 4], "{:03d}.jpeg")
    # Two files of frame 4: the choice does not depend on the listing order.
    frames(tmp_path, "v", [4], "{:05d}.jpg")
    frames(tmp_path, "v", [5], "face_{}.jpg")
    (tmp_path / "cropped_aligned" / "v" / "00005.txt").write_text("not a frame")
    annotate(tmp_path / "ann", "v", [1, 2, 3, 4, 5])
    dataset = AffWild2Expr(tmp_path, tmp_path / "ann")
    assert relative(dataset) == ["v/1.png", "v/00002.JPG", "v/003.jpeg", "v/00004.jpg"]
    assert dataset.skipped["missing_frame"] == 1


def test_corrupt_frame_is_replaced_by_the_next_readable_one(tmp_path: Path) -> None:
    frames(tmp_path, "v", [1, 2, 3])
    path = tmp_path / "cropped_aligned" / "v" / "00002.jpg"
    Image.effect_noise((64, 64), 60).save(path)
    path.write_bytes(path.read_bytes()[:300])  # truncated: the header passes
    (tmp_path / "cropped_aligned" / "v" / "00003.jpg").write_bytes(b"")
    annotate(tmp_path / "ann", "v", [1, 2, 3, 4])
    frames(tmp_path, "v", [4])
    with pytest.warns(UserWarning, match=r"left out 1 non-image file .*00003"):
        dataset = AffWild2Expr(tmp_path, tmp_path / "ann")
    assert dataset.targets == [0, 1, 3]
    with pytest.warns(UserWarning, match=r"replaced 1 unreadable image file .*00002"):
        assert dataset[1][1] == 3
    assert [os.path.basename(p) for p in dataset.bad_files] == ["00002.jpg"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_read_expr_annotation_line_endings(tmp_path: Path, newline: str) -> None:
    path = annotate(tmp_path, "v", [3, -1, 0, 7, 6, "", ""], newline)
    assert read_expr_annotation(path) == [3, -1, 0, 7, 6]


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_read_expr_annotation_with_a_byte_order_mark(
    tmp_path: Path, encoding: str, newline: str
) -> None:
    path = tmp_path / "video7.txt"
    text = newline.join([HEADER, "3", "-1", "0", "7", "6", "", ""])
    # Python's "utf-16"/"utf-32" write a mark; the -le/-be codecs need one added.
    marked = text if encoding in ("utf-8-sig", "utf-16", "utf-32") else "\ufeff" + text
    path.write_bytes(marked.encode(encoding))
    assert read_expr_annotation(path) == [3, -1, 0, 7, 6]


def test_utf16_annotation_reads_in_the_dataset(tmp_path: Path) -> None:
    frames(tmp_path, "v", [1, 2])
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "v.txt").write_bytes(f"{HEADER}\r\n2\r\n5\r\n".encode("utf-16"))
    assert AffWild2Expr(tmp_path, tmp_path / "ann").targets == [1, 4]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (f"{HEADER}\n1\n".encode("utf-16-le"), "NUL bytes, like UTF-16"),
        (f"{HEADER}\n1\n".encode("utf-32-be"), "NUL bytes, like UTF-16"),
        (f"{HEADER}\n1\n# caf\u00e9\n".encode("cp1252"), "cannot be read as UTF-8"),
        (b"\xff\xfe" + b"\x00\xd8", "cannot be read as UTF-16-LE"),
    ],
)
def test_undecodable_annotation_names_the_file_and_the_encodings(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "video7.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as error:
        read_expr_annotation(path)
    assert str(path) in str(error.value)
    assert "expected UTF-8 (with or without a byte-order mark)" in str(error.value)
    assert not isinstance(error.value, UnicodeDecodeError)


def test_read_expr_annotation_tolerates_header_case_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    header = " neutral, Anger,DISGUST ,Fear,Happiness,Sadness,Surprise,Other"
    path.write_text(f"{header}\n 4 \n")
    assert read_expr_annotation(path) == [4]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise",
        "Anger,Disgust,Fear,Happiness,Sadness,Surprise,Neutral,Other",
        "valence,arousal",
        "1",
    ],
)
def test_wrong_header_names_file_and_line(tmp_path: Path, header: str) -> None:
    path = tmp_path / "video7.txt"
    path.write_text(f"{header}\n1\n2\n")
    with pytest.raises(ValueError, match=r"video7\.txt, line 1: expected the header"):
        read_expr_annotation(path)


def test_empty_file_is_a_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "video7.txt"
    path.write_text("\n\n")
    with pytest.raises(ValueError, match=r"line 1: .* got an empty file"):
        read_expr_annotation(path)


@pytest.mark.parametrize("bad", ["8", "-2", "1.0", "happy", "", "1,2", "03", "1_0"])
def test_bad_value_names_file_and_line(tmp_path: Path, bad: str) -> None:
    path = annotate(tmp_path, "video7", [1, 2, bad, 3])
    message = f"video7.txt, line 4: expected an integer from -1 to 7, got {bad!r}."
    with pytest.raises(ValueError, match=re.escape(message)):
        read_expr_annotation(path)


def test_bad_annotation_file_fails_the_dataset(tmp_path: Path) -> None:
    frames(tmp_path, "v", [1])
    annotate(tmp_path / "ann", "v", [1, 9])
    with pytest.raises(ValueError, match=r"v\.txt, line 3"):
        AffWild2Expr(tmp_path, tmp_path / "ann")


def test_only_skipped_frames_is_an_error_with_the_counts(tmp_path: Path) -> None:
    frames(tmp_path, "v", [1, 2, 3])
    annotate(tmp_path / "ann", "v", [0, 7, -1, 2])
    with pytest.raises(ValueError, match=r"no frame of the six classes") as error:
        AffWild2Expr(tmp_path, tmp_path / "ann")
    assert "{'neutral': 1, 'other': 1, 'unannotated': 1, 'missing_frame': 1}" in str(
        error.value
    )


def test_no_video_folder_is_an_error_without_a_warning(tmp_path: Path) -> None:
    frames(tmp_path, "elsewhere", [1])
    annotate(tmp_path / "ann", "v1", [1])
    annotate(tmp_path / "ann", "v2", [1])
    with pytest.raises(ValueError, match="2 of the 2 videos annotated in"):
        AffWild2Expr(tmp_path, tmp_path / "ann")


def test_many_missing_videos_are_summarised_in_one_warning(tmp_path: Path) -> None:
    frames(tmp_path, "present", [1])
    annotate(tmp_path / "ann", "present", [1])
    for index in range(8):
        annotate(tmp_path / "ann", f"gone{index}", [1])
    with pytest.warns(UserWarning) as caught:
        dataset = AffWild2Expr(tmp_path, tmp_path / "ann")
    assert len(caught) == 1
    assert "8 annotated videos ('gone0', " in str(caught[0].message)
    assert " and 3 more" in str(caught[0].message)
    assert len(dataset.missing_videos) == 8


def test_folders_that_are_missing_or_empty_are_clear_errors(tmp_path: Path) -> None:
    frames(tmp_path, "v", [1])
    (tmp_path / "ann").mkdir()
    with pytest.raises(FileNotFoundError, match=r"frames folder '.*nowhere'"):
        AffWild2Expr(tmp_path / "nowhere", tmp_path / "ann")
    with pytest.raises(FileNotFoundError, match=r"annotations folder '.*nowhere'"):
        AffWild2Expr(tmp_path, tmp_path / "nowhere")
    (tmp_path / "ann" / "notes.md").write_text("x")
    with pytest.raises(ValueError, match=r"'.*ann' holds no <video>\.txt file"):
        AffWild2Expr(tmp_path, tmp_path / "ann")
    with pytest.raises(NotADirectoryError, match=r"'.*notes\.md' is not a folder"):
        AffWild2Expr(tmp_path, tmp_path / "ann" / "notes.md")
