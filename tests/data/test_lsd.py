import os
import re
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from lightly_byel import BYELViewTransform
from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.lsd import LSDImageFolder


def image(path: Path, mode: str = "RGB", size: tuple[int, int] = (12, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size).save(path)
    return path


def stray(path: Path, contents: bytes = b"stray") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(contents)


def names(dataset: LSDImageFolder) -> list[str]:
    root = os.fspath(dataset.root)
    return [os.path.relpath(path, root) for path, _ in dataset.samples]


def test_odd_real_world_tree(tmp_path: Path) -> None:
    image(tmp_path / "ANGRER" / "10.jpg")
    image(tmp_path / "ANGRER" / "2.JPG", "L")
    image(tmp_path / "ANGRER" / "1.Jpeg", "CMYK")
    image(tmp_path / "disgust" / "0.png", "RGBA")
    image(tmp_path / "disgust" / "1.bmp", "P")
    image(tmp_path / " Happiness " / "7.webp")
    image(tmp_path / " Happiness " / "sub" / "3.PNG", "LA")
    image(tmp_path / "SURPRISE" / "0.jpeg")
    # What operating systems, archivers and editors leave behind.
    for folder in ("ANGRER", "disgust", " Happiness "):
        stray(tmp_path / folder / "Thumbs.db")
        stray(tmp_path / folder / ".DS_Store")
        stray(tmp_path / folder / "desktop.ini")
        stray(tmp_path / folder / "notes.txt")
        stray(tmp_path / folder / "._10.jpg")
        image(tmp_path / folder / ".thumbnails" / "0.jpg")
        image(tmp_path / folder / "__MACOSX" / "0.jpg")
    image(tmp_path / ".cache" / "0.jpg")
    image(tmp_path / "__MACOSX" / "ANGRER" / "._10.jpg")
    stray(tmp_path / "README.txt")
    stray(tmp_path / ".DS_Store")

    dataset = LSDImageFolder(tmp_path)

    assert dataset.root == tmp_path
    assert dataset.classes == list(LSD_CLASSES)
    assert dataset.class_to_idx == {name: i for i, name in enumerate(LSD_CLASSES)}
    assert dataset.class_folders == {
        "ANGER": "ANGRER",
        "DISGUST": "disgust",
        "HAPPINESS": " Happiness ",
        "SURPRISE": "SURPRISE",
    }
    assert names(dataset) == [
        os.path.join("ANGRER", "1.Jpeg"),
        os.path.join("ANGRER", "2.JPG"),
        os.path.join("ANGRER", "10.jpg"),
        os.path.join("disgust", "0.png"),
        os.path.join("disgust", "1.bmp"),
        os.path.join(" Happiness ", "7.webp"),
        os.path.join(" Happiness ", "sub", "3.PNG"),
        os.path.join("SURPRISE", "0.jpeg"),
    ]
    assert dataset.targets == [0, 0, 0, 1, 1, 3, 3, 5]
    assert [label for _, label in dataset.samples] == dataset.targets
    assert dataset.class_counts() == {
        "ANGER": 3,
        "DISGUST": 2,
        "FEAR": 0,
        "HAPPINESS": 2,
        "SADNESS": 0,
        "SURPRISE": 1,
    }
    for index in range(len(dataset)):
        picture, label = dataset[index]
        assert (picture.mode, picture.size) == ("RGB", (12, 10))
        assert label == dataset.targets[index]
    assert repr(dataset) == (
        f"LSDImageFolder(root={os.fspath(tmp_path)!r}, samples=8, ANGER=3, "
        "DISGUST=2, FEAR=0, HAPPINESS=2, SADNESS=0, SURPRISE=1)"
    )


def test_file_names_sort_in_natural_order(tmp_path: Path) -> None:
    for name in ["10.jpg", "2.jpg", "0.jpg", "100.jpg", "00012.jpg", "1.jpg"]:
        image(tmp_path / "FEAR" / name, size=(1, 1))
    assert [os.path.basename(p) for p, _ in LSDImageFolder(tmp_path).samples] == [
        "0.jpg",
        "1.jpg",
        "2.jpg",
        "10.jpg",
        "00012.jpg",
        "100.jpg",
    ]


@pytest.mark.parametrize(
    "folder", ["ANGER", "ANGRER", "ANGERE", "anger", "Anger", "angrer", " ANGER "]
)
def test_every_spelling_of_anger_is_label_zero(tmp_path: Path, folder: str) -> None:
    image(tmp_path / folder / "0.jpg", size=(1, 1))
    image(tmp_path / "sadness" / "0.jpg", size=(1, 1))
    dataset = LSDImageFolder(tmp_path)
    assert dataset.class_folders == {"ANGER": folder, "SADNESS": "sadness"}
    assert dataset.targets == [0, 4]


@pytest.mark.parametrize("folder", ["NEUTRAL", "ANGRY", "ANGE", "HAPPINESS2", "0"])
def test_unknown_class_folder_is_named_with_the_expected_classes(
    tmp_path: Path, folder: str
) -> None:
    image(tmp_path / "HAPPINESS" / "0.jpg", size=(1, 1))
    (tmp_path / folder).mkdir()
    expected = re.escape(str(list(LSD_CLASSES)))
    with pytest.raises(ValueError, match=rf"folder '{folder}' .* {expected}"):
        LSDImageFolder(tmp_path)


def test_release_root_instead_of_split_is_explained(tmp_path: Path) -> None:
    image(tmp_path / "training_set_synthetic_images" / "ANGER" / "0.jpg")
    with pytest.raises(
        ValueError,
        match=r"'training_set_synthetic_images' .* Pass a split folder",
    ):
        LSDImageFolder(tmp_path)


@pytest.mark.parametrize(
    ("first", "second", "name"),
    [
        ("ANGER", "ANGRER", "ANGER"),
        ("FEAR", "fear", "FEAR"),
        ("ANGERE", "angrer", "ANGER"),
    ],
)
def test_two_folders_of_one_class_are_both_named(
    tmp_path: Path, first: str, second: str, name: str
) -> None:
    for folder in (first, second):
        image(tmp_path / folder / "0.jpg", size=(1, 1))
    if len(os.listdir(tmp_path)) < 2:
        pytest.skip("the file system ignores case")
    with pytest.raises(ValueError, match=rf"both match class {name}\b") as error:
        LSDImageFolder(tmp_path)
    assert f"'{first}'" in str(error.value)
    assert f"'{second}'" in str(error.value)


@pytest.mark.parametrize("layout", ["no folders", "empty class folders", "only strays"])
def test_empty_split_is_an_error_naming_the_root(tmp_path: Path, layout: str) -> None:
    if layout != "no folders":
        for name in LSD_CLASSES:
            (tmp_path / name).mkdir()
    if layout == "only strays":
        stray(tmp_path / "ANGER" / "Thumbs.db")
        image(tmp_path / "ANGER" / ".hidden" / "0.jpg")
        image(tmp_path / "ANGER" / "0.gif")
    with pytest.raises(ValueError, match=rf"{re.escape(repr(str(tmp_path)))} holds no"):
        LSDImageFolder(tmp_path)


def test_missing_root_and_file_root_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"'.*missing' does not exist"):
        LSDImageFolder(tmp_path / "missing")
    stray(tmp_path / "file.zip")
    with pytest.raises(NotADirectoryError, match=r"'.*file\.zip' is not a folder"):
        LSDImageFolder(tmp_path / "file.zip")


def test_symlinked_class_folder_is_followed_and_link_loop_is_not(
    tmp_path: Path,
) -> None:
    split = tmp_path / "split"
    elsewhere = split / ".store" / "surprise"
    image(elsewhere / "0.jpg", size=(1, 1))
    (split / "SURPRISE").symlink_to(elsewhere)
    (elsewhere / "loop").symlink_to(elsewhere)
    dataset = LSDImageFolder(split)
    assert names(dataset) == [os.path.join("SURPRISE", "0.jpg")]


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("release/split", "the split folder itself"),
        ("release", "a folder above the split"),
        (".", "a folder above the split"),
        ("elsewhere", "a folder outside the split"),
        ("release/other_split/HAPPINESS", "a folder outside the split"),
        ("release/split/HAPPINESS", "the folder of class folder 'HAPPINESS'"),
        ("release/split/HAPPINESS/sub", "a folder inside class folder 'HAPPINESS'"),
    ],
)
def test_class_folder_resolving_onto_above_outside_or_into_others_is_refused(
    tmp_path: Path, target: str, problem: str
) -> None:
    split = tmp_path / "release" / "split"
    image(split / "HAPPINESS" / "0.jpg")
    image(split / "HAPPINESS" / "sub" / "1.jpg")
    image(tmp_path / "elsewhere" / "2.jpg")
    image(tmp_path / "release" / "other_split" / "HAPPINESS" / "3.jpg")
    (split / "ANGER").symlink_to(tmp_path / target)
    message = (
        f"class folder 'ANGER' in LSD split {str(split)!r} resolves to "
        f"{os.path.realpath(tmp_path / target)!r}, {problem}"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        LSDImageFolder(split)


def test_two_links_onto_one_folder_inside_the_split_are_refused(
    tmp_path: Path,
) -> None:
    store = tmp_path / ".store"
    image(store / "0.jpg")
    (tmp_path / "ANGER").symlink_to(store)
    (tmp_path / "FEAR").symlink_to(store)
    with pytest.raises(
        ValueError, match=r"'ANGER' .* the folder of class folder 'FEAR'"
    ):
        LSDImageFolder(tmp_path)


def test_corrupt_files_never_raise_and_verify_drops_them(tmp_path: Path) -> None:
    image(tmp_path / "ANGER" / "0.jpg")
    stray(tmp_path / "ANGER" / "1.jpg", bytes(range(64)))
    stray(tmp_path / "ANGER" / "2.jpg", b"")
    Image.effect_noise((64, 64), 60).save(tmp_path / "ANGER" / "3.jpg")
    whole = (tmp_path / "ANGER" / "3.jpg").read_bytes()
    image(tmp_path / "SADNESS" / "0.png", "L")
    # Cut inside the pixel data: only decoding finds it.
    (tmp_path / "SADNESS" / "1.jpg").write_bytes(whole[: len(whole) * 3 // 4])

    with pytest.warns(UserWarning, match=r"left out 2 non-image files") as caught:
        dataset = LSDImageFolder(tmp_path)
    assert len(caught) == 1
    assert "1.jpg" in str(caught[0].message) and "2.jpg" in str(caught[0].message)
    assert len(dataset) == 4
    # The truncated file passes the header check and is replaced when loaded.
    with pytest.warns(UserWarning, match=r"replaced 1 unreadable image file .*1\.jpg"):
        assert dataset[3][1] == 0
    with pytest.warns(UserWarning, match=r"dropped 1 unreadable image file .*1\.jpg"):
        dataset.verify()
    assert dataset.verify(decode=True) == []
    assert dataset.class_counts()["ANGER"] == 2
    assert dataset.class_counts()["SADNESS"] == 1
    assert [os.path.basename(path) for path in dataset.bad_files] == ["1.jpg"]


def test_a_link_to_a_missing_image_is_left_out_by_name(tmp_path: Path) -> None:
    image(tmp_path / "ANGER" / "0.jpg")
    (tmp_path / "ANGER" / "1.jpg").symlink_to(tmp_path / "deleted.jpg")
    with pytest.warns(UserWarning, match=r"left out 1 non-image file .*1\.jpg"):
        dataset = LSDImageFolder(tmp_path)
    assert [os.path.basename(path) for path, _ in dataset.samples] == ["0.jpg"]


def test_feeds_a_dataloader_with_the_byel_view_transform(tmp_path: Path) -> None:
    for index, name in enumerate(LSD_CLASSES):
        image(tmp_path / name / "0.jpg", size=(20 + index, 20))
    dataset = LSDImageFolder(tmp_path, transform=BYELViewTransform(input_size=16))
    views, labels = next(iter(DataLoader(dataset, batch_size=6)))
    assert views.shape == (6, 3, 16, 16)
    assert torch.equal(labels, torch.arange(6))
