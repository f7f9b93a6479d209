import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lightly_byel.data.ckplus import CKPlus

# (subject, sequence, code or None for an unlabelled sequence, frames)
SEQUENCES = [
    ("S005", "001", 3, 11),
    ("S010", "002", 7, 14),
    ("S010", "004", None, 20),
    ("S011", "001", 2, 9),
    ("S052", "004", 5, 6),
    ("S055", "005", 1, 4),
    ("S071", "002", 4, 5),
    ("S074", "001", 6, 7),
    ("S080", "001", 0, 3),
]


@pytest.fixture
def ck(
    tmp_path: Path,
    picture: Callable[..., Path],
    text_file: Callable[..., Path],
    stray: Callable[[Path], None],
) -> Path:
    """CK+ unpacked as released: cohn-kanade-images and Emotion side by side."""
    for subject, sequence, code, frames in SEQUENCES:
        folder = tmp_path / "cohn-kanade-images" / subject / sequence
        for frame in range(1, frames + 1):
            # S005 is grey, the others colour, as in the release.
            mode = "L" if subject == "S005" else "RGB"
            picture(folder / f"{subject}_{sequence}_{frame:08d}.png", mode, (8, 6))
        labels = tmp_path / "Emotion" / subject / sequence
        labels.mkdir(parents=True)
        if code is not None:
            text = f"   {code:.7e}\n"
            text_file(labels / f"{subject}_{sequence}_{frames:08d}_emotion.txt", text)
    stray(tmp_path / "Emotion" / "S005")
    stray(tmp_path / "Emotion" / "S005" / "001")
    stray(tmp_path / "cohn-kanade-images" / "S005" / "001")
    # What macOS archivers add: resource forks named like the label files.
    label = Path("S005", "001", "S005_001_00000011_emotion.txt")
    for fork in (
        tmp_path / "__MACOSX" / "Emotion" / label.parent / f"._{label.name}",
        tmp_path / "Emotion" / "__MACOSX" / "S005" / label.name,
        tmp_path / "Emotion" / label.parent / f"._{label.name}",
    ):
        text_file(fork, "fork")
    return tmp_path


def names(dataset: CKPlus) -> list[str]:
    return [os.path.basename(path) for path, _ in dataset.samples]


def test_each_labelled_sequence_gives_its_peak_frame(ck: Path) -> None:
    dataset = CKPlus(ck)
    assert dataset.emotion_dir == str(ck / "Emotion")
    assert dataset.images == str(ck / "cohn-kanade-images")
    assert dataset.samples[0] == (
        str(ck / "cohn-kanade-images/S005/001/S005_001_00000011.png"),
        1,
    )
    assert names(dataset) == [
        "S005_001_00000011.png",
        "S010_002_00000014.png",
        "S052_004_00000006.png",
        "S055_005_00000004.png",
        "S071_002_00000005.png",
        "S074_001_00000007.png",
    ]
    # 3 disgust, 7 surprise, 5 happy, 1 anger, 4 fear, 6 sadness.
    assert dataset.targets == [1, 5, 3, 0, 2, 4]
    assert dataset.subjects == ["S005", "S010", "S052", "S055", "S071", "S074"]
    assert dataset.skipped == {"contempt": 1, "neutral": 1}
    assert dataset.boxes is None and dataset.missing_files == []
    image, label = dataset[0]
    assert (image.mode, image.size, label) == ("RGB", (8, 6), 1)


def test_several_frames_up_to_the_peak(ck: Path) -> None:
    dataset = CKPlus(ck, frames_per_sequence=3)
    assert names(dataset)[:3] == [
        "S005_001_00000009.png",
        "S005_001_00000010.png",
        "S005_001_00000011.png",
    ]
    assert len(dataset) == 18 and dataset.targets[:4] == [1, 1, 1, 5]
    assert dataset.subjects == [
        subject
        for subject in ("S005", "S010", "S052", "S055", "S071", "S074")
        for _ in range(3)
    ]
    assert dataset.skipped == {"contempt": 3, "neutral": 3}
    # A sequence shorter than asked for gives all its frames, none made up.
    longer = CKPlus(ck, frames_per_sequence=5)
    assert names(longer)[15:19] == [f"S055_005_{n:08d}.png" for n in (1, 2, 3, 4)]
    assert len(longer) == 29 and longer.skipped == {"contempt": 5, "neutral": 3}
    with pytest.raises(ValueError, match="frames_per_sequence must be at least 1"):
        CKPlus(ck, frames_per_sequence=0)


def test_the_folders_of_the_two_archives(ck: Path) -> None:
    (ck / "Emotion_labels").mkdir()
    (ck / "Emotion").rename(ck / "Emotion_labels" / "Emotion")
    (ck / "extended-cohn-kanade-images").mkdir()
    (ck / "cohn-kanade-images").rename(
        ck / "extended-cohn-kanade-images" / "cohn-kanade-images"
    )
    dataset = CKPlus(ck)
    assert dataset.emotion_dir == str(ck / "Emotion_labels" / "Emotion")
    assert dataset.targets == [1, 5, 3, 0, 2, 4]


def test_a_peak_frame_missing_on_disk_is_counted(ck: Path) -> None:
    (ck / "cohn-kanade-images/S052/004/S052_004_00000006.png").unlink()
    with pytest.warns(UserWarning, match="S052_004_00000006.png"):
        dataset = CKPlus(ck)
    assert dataset.targets == [1, 5, 0, 2, 4]
    assert dataset.skipped == {"contempt": 1, "missing_file": 1, "neutral": 1}
    assert dataset.missing_files == [
        str(ck / "cohn-kanade-images/S052/004/S052_004_00000006.png")
    ]


def test_a_damaged_label_file_is_named(
    ck: Path, text_file: Callable[..., Path]
) -> None:
    label = ck / "Emotion/S010/002/S010_002_00000014_emotion.txt"
    text_file(label, "   9.0000000e+00\n")
    with pytest.raises(
        ValueError, match=r"S010_002_00000014_emotion.txt: expected a code"
    ):
        CKPlus(ck)
    text_file(label, "3\n4\n")
    with pytest.raises(ValueError, match="expected one emotion code, got 2 lines"):
        CKPlus(ck)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "Emotion").mkdir()
    with pytest.raises(FileNotFoundError, match="CK\\+ image folder not found"):
        CKPlus(tmp_path)
