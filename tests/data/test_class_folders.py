import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lightly_byel.data.class_folders import ExpressionFolders


@pytest.fixture
def tree(
    tmp_path: Path, picture: Callable[..., Path], stray: Callable[[Path], None]
) -> Path:
    """A FER-style image-folder copy: English names, odd case, extra classes."""
    files = {
        "angry": ["0.jpg", "10.jpg", "2.jpg"],
        "Disgusted": ["1.png"],
        "FEARFUL": ["3.jpg"],
        " happy ": ["4.jpg", "sub/5.jpg"],
        "sad": ["6.bmp"],
        "Surprised": ["7.webp"],
        "neutral": ["8.jpg", "9.jpg"],
        "Contempt": ["11.jpg"],
    }
    for folder, names in files.items():
        for name in names:
            picture(tmp_path / folder / name, "L" if name == "1.png" else "RGB")
        stray(tmp_path / folder)
    stray(tmp_path)
    picture(tmp_path / "__MACOSX" / "angry" / "._0.jpg")
    return tmp_path


def test_folders_are_matched_by_their_usual_names(tree: Path) -> None:
    dataset = ExpressionFolders(tree)
    relative = [os.path.relpath(path, tree) for path, _ in dataset.samples]
    assert relative == [
        "angry/0.jpg",
        "angry/2.jpg",
        "angry/10.jpg",
        "Disgusted/1.png",
        "FEARFUL/3.jpg",
        " happy /4.jpg",
        " happy /sub/5.jpg",
        "sad/6.bmp",
        "Surprised/7.webp",
    ]
    assert dataset.targets == [0, 0, 0, 1, 2, 3, 3, 4, 5]
    assert dataset.skipped == {"contempt": 1, "neutral": 2}
    assert dataset.class_folders["HAPPINESS"] == " happy "
    assert dataset.class_folders["neutral"] == "neutral"


def test_an_unknown_or_doubled_folder_is_named(
    tree: Path, picture: Callable[..., Path]
) -> None:
    picture(tree / "joyful" / "0.jpg")
    with pytest.raises(
        ValueError, match=r"folder 'joyful' in expression folder .* matches no class"
    ):
        ExpressionFolders(tree)
    (tree / "joyful" / "0.jpg").unlink()
    (tree / "joyful").rename(tree / "Happiness")
    with pytest.raises(
        ValueError, match=r"' happy ' and 'Happiness' .* both match class HAPPINESS"
    ):
        ExpressionFolders(tree)
