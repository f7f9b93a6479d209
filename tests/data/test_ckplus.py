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
            picture(folder / f"{subject}_{sequence}_{frame:08d}.png", mode, (64, 48))
        labels = tmp_path / "Emotion" / subject / sequence
        labels.mkdir(parents=True)
        if code is not None:
            text = f"   {code:.7e}\n"
            text_file(labels / f"{subject}_{sequence}_{frames:08d}_emotion.txt", text)
    stray(tmp_path / "Emotion" / "S005")
    stray(tmp_path / "cohn-kanade-images" / "S005" / "001")
    return tmp_path


def names(dataset: CKPlus) -> list[str]:
    return [os.path.basename(path) for path, _ in dataset.samples]


def test_each_labelled_sequence_gives_its_peak_frame(ck: Path) -> None:
    dataset = CKPlus(ck)
    assert names(dataset) == [
        "S005_001_00000011.png",
        "S010_002_00000014.png",
        "S052_004_00000006.png",
    ]
    # 3 disgust, 7 surprise, 5 happy; 2 contempt is left out.
    assert dataset.targets == [1, 5, 3]
    assert dataset.subjects == ["S005", "S010", "S052"]
    assert dataset.skipped == {"contempt": 1}
    assert dataset[0][0].mode == "RGB"


def test_several_frames_up_to_the_peak(ck: Path) -> None:
    dataset = CKPlus(ck, frames_per_sequence=3)
    assert names(dataset)[:3] == [
        "S005_001_00000009.png",
        "S005_001_00000010.png",
        "S005_001_00000011.png",
    ]
    assert (
        len(dataset) == 9
        and dataset.subjects == ["S005"] * 3 + ["S010"] * 3 + ["S052"] * 3
    )
    assert dataset.skipped == {"contempt": 3}
    with pytest.raises(ValueError, match="frames_per_sequence must be at least 1"):
        CKPlus(ck, frames_per_sequence=0)


def test_a_peak_frame_missing_on_disk_is_counted(ck: Path) -> None:
    (ck / "cohn-kanade-images/S052/004/S052_004_00000006.png").unlink()
    with pytest.warns(UserWarning, match="S052_004_00000006.png"):
        dataset = CKPlus(ck)
    assert dataset.skipped == {"contempt": 1, "missing_file": 1}
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
