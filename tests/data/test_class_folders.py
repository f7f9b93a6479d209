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
        "angry": ["0.jpg", "10.jpg", "2.JPG"],
        "Disgusted": ["1.png"],
        "FEARFUL": ["3.jpeg"],
        "happy": ["4.jpg", "sub/5.jpg"],
        "sad": ["6.bmp"],
        "Surprised": ["7.webp"],
        "neutral": ["8.jpg", "9.jpg"],
        "contempt": ["11.jpg"],
    }
    modes = {"1.png": "L", "3.jpeg": "CMYK"}
    for folder, names in files.items():
        for name in names:
            picture(tmp_path / folder / name, modes.get(name, "RGB"))
        stray(tmp_path / folder)
        (tmp_path / folder / "notes.txt").write_text("not an image")
    stray(tmp_path)
    picture(tmp_path / "__MACOSX" / "angry" / "._0.jpg")
    picture(tmp_path / ".thumbnails" / "0.jpg")
    return tmp_path


def test_folders_are_matched_by_their_usual_names(tree: Path) -> None:
    dataset = ExpressionFolders(tree)
    relative = [os.path.relpath(path, tree) for path, _ in dataset.samples]
    assert relative == [
        "angry/0.jpg",
        "angry/2.JPG",
        "angry/10.jpg",
        "Disgusted/1.png",
        "FEARFUL/3.jpeg",
        "happy/4.jpg",
        "happy/sub/5.jpg",
        "sad/6.bmp",
        "Surprised/7.webp",
    ]
    assert dataset.targets == [0, 0, 0, 1, 2, 3, 3, 4, 5]
    assert dataset.skipped == {"contempt": 1, "neutral": 2}
    assert dataset.class_folders == {
        "ANGER": "angry",
        "DISGUST": "Disgusted",
        "FEAR": "FEARFUL",
        "HAPPINESS": "happy",
        "SADNESS": "sad",
        "SURPRISE": "Surprised",
        "contempt": "contempt",
        "neutral": "neutral",
    }
    assert dataset.subjects is None and dataset.boxes is None
    assert [dataset[i][0].mode for i in (3, 4)] == ["RGB", "RGB"]


def test_the_classes_may_be_named_otherwise_and_some_missing(
    tmp_path: Path, picture: Callable[..., Path]
) -> None:
    for folder in (" Afraid ", "HAPPINESS", "Neutral"):
        picture(tmp_path / folder / "0.png")
    dataset = ExpressionFolders(tmp_path)
    assert dataset.targets == [2, 3] and dataset.skipped == {"neutral": 1}
    assert dataset.class_folders == {
        "FEAR": " Afraid ",
        "HAPPINESS": "HAPPINESS",
        "neutral": "Neutral",
    }


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
        ValueError, match=r"'Happiness' and 'happy' .* both match class HAPPINESS"
    ):
        ExpressionFolders(tree)
    (tree / "Happiness").rmdir()
    (tree / "Contempt").mkdir()
    with pytest.raises(ValueError, match=r"'Contempt' and 'contempt' .* contempt"):
        ExpressionFolders(tree)


def test_a_missing_or_empty_tree_is_refused(
    tmp_path: Path, picture: Callable[..., Path]
) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ExpressionFolders(tmp_path / "none")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        ExpressionFolders(picture(tmp_path / "angry.jpg"))
    picture(tmp_path / "neutral" / "0.jpg")
    with pytest.raises(ValueError, match=r"no face .*left out \{'neutral': 1\}"):
        ExpressionFolders(tmp_path)
