import io
import pickle
import random
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lightly_byel.data import images
from lightly_byel.data.images import (
    LabeledImageFiles,
    count_and_names,
    is_image_name,
    is_readable,
    load_rgb,
    natural_key,
    to_rgb,
)

CLASSES = ["a", "b", "c"]


def noisy_jpeg_bytes(size: int = 48) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_good(path: Path, value: int) -> str:
    Image.new("L", (6, 4), value).save(path)
    return str(path)


def write_bad(path: Path, kind: str) -> str:
    contents = {
        "empty": b"",
        "random": random.Random(0).randbytes(300),
        "text": b"<html>not found</html>",
        # Cut inside the scan data: the header is whole, the pixels are not.
        "truncated": noisy_jpeg_bytes()[:1000],
    }
    path.write_bytes(contents[kind])
    return str(path)


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("RGB", (10, 20, 30), (10, 20, 30)),
        ("L", 77, (77, 77, 77)),
        ("1", 1, (255, 255, 255)),
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
        ("YCbCr", (255, 128, 128), (255, 255, 255)),
        # Alpha is composited on black, whatever colour lies under it.
        ("RGBA", (200, 100, 50, 0), (0, 0, 0)),
        ("RGBA", (200, 100, 50, 255), (200, 100, 50)),
        ("LA", (90, 255), (90, 90, 90)),
        # 16-bit grayscale is scaled, not clipped to white.
        ("I;16", 32768, (128, 128, 128)),
        ("I;16", 65535, (255, 255, 255)),
        ("I", 256 * 40, (40, 40, 40)),
    ],
)
def test_to_rgb_converts_every_mode(
    mode: str, value: int | tuple[int, ...], expected: tuple[int, int, int]
) -> None:
    source = Image.new(mode, (3, 2), value)
    converted = to_rgb(source)
    assert converted.mode == "RGB"
    assert converted.size == (3, 2)
    assert converted.getpixel((1, 1)) == expected


def test_to_rgb_applies_palette_transparency() -> None:
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([255, 0, 0, 0, 255, 0])
    palette_image.putpixel((1, 0), 1)
    palette_image.info["transparency"] = 0
    converted = to_rgb(palette_image)
    assert converted.getpixel((0, 0)) == (0, 0, 0)
    assert converted.getpixel((1, 0)) == (0, 255, 0)


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("gray.png", "L"),
        ("alpha.PNG", "RGBA"),
        ("palette.png", "P"),
        ("gray16.png", "I;16"),
        ("color.BMP", "RGB"),
        ("color.webp", "RGB"),
        ("cmyk.jpg", "CMYK"),
        ("gray.Jpeg", "L"),
    ],
)
def test_load_rgb_reads_files_of_every_format(
    tmp_path: Path, name: str, mode: str
) -> None:
    Image.new(mode, (5, 7)).save(tmp_path / name)
    image = load_rgb(tmp_path / name)
    assert (image.mode, image.size) == ("RGB", (5, 7))


def test_is_image_name() -> None:
    accepted = ["0.jpg", "1.JPG", "2.Jpeg", "3.png", "4.BMP", "5.webp", "a.b.jpg"]
    rejected = ["Thumbs.db", "desktop.ini", ".DS_Store", "._0.jpg", "0.gif", "jpg"]
    assert all(is_image_name(name) for name in accepted)
    assert not any(is_image_name(name) for name in rejected)


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["10.jpg", "2.jpg", "0012.jpg", "12.jpg", "1.jpg", "a.jpg", "1a.jpg"]
    assert sorted(names, key=natural_key) == [
        "1.jpg",
        "1a.jpg",
        "2.jpg",
        "10.jpg",
        "0012.jpg",
        "12.jpg",
        "a.jpg",
    ]


def test_count_and_names() -> None:
    assert count_and_names(["x"], "videos") == "1 video ('x')"
    assert count_and_names(list("abcdefg"), "files") == (
        "7 files ('a', 'b', 'c', 'd', 'e' and 2 more)"
    )


@pytest.mark.parametrize("kind", ["empty", "random", "text"])
def test_is_readable_rejects_non_images(tmp_path: Path, kind: str) -> None:
    path = write_bad(tmp_path / "0.jpg", kind)
    assert not is_readable(path)
    assert not is_readable(path, decode=True)


def test_only_decoding_finds_truncated_files(tmp_path: Path) -> None:
    path = write_bad(tmp_path / "0.jpg", "truncated")
    assert is_readable(path)
    assert not is_readable(path, decode=True)
    assert not is_readable(tmp_path / "missing.jpg")


def make_dataset(
    tmp_path: Path,
    kinds: list[str],
    transform: Callable[[Image.Image], Any] | None = None,
    check_headers: bool = False,
) -> LabeledImageFiles:
    """One sample a kind: "good" or a kind of bad file; labels cycle over CLASSES.

    The header check is off by default so that bad files reach the load-time path.
    """
    samples = []
    for index, kind in enumerate(kinds):
        path = tmp_path / f"{index}.png"
        if kind == "good":
            samples.append((write_good(path, index), index % len(CLASSES)))
        else:
            samples.append((write_bad(path, kind), index % len(CLASSES)))
    return LabeledImageFiles(samples, CLASSES, transform, check_headers)


def test_files_that_do_not_start_like_images_are_left_out_with_one_warning(
    tmp_path: Path,
) -> None:
    kinds = ["good", "empty", "random", "truncated", "good", "text", "good"]
    with pytest.warns(UserWarning) as caught:
        dataset = make_dataset(tmp_path, kinds, check_headers=True)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "left out 3 non-image files" in message
    for index in (1, 2, 5):
        assert f"{index}.png" in message
    assert "kept 4 of 7 samples" in message
    # The truncated JPEG starts like one: only loading or verify(decode=True) tells.
    kept = [Path(path).name for path, _ in dataset.samples]
    assert kept == ["0.png", "3.png", "4.png", "6.png"]
    assert dataset.targets == [0, 0, 1, 0]


def test_header_check_knows_every_image_format(tmp_path: Path) -> None:
    samples = []
    for index, extension in enumerate(("jpg", "png", "bmp", "webp")):
        path = tmp_path / f"{index}.{extension}"
        Image.new("RGB", (4, 4)).save(path)
        samples.append((str(path), 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(LabeledImageFiles(samples, CLASSES)) == 4


def test_no_file_starting_like_an_image_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="none of the 2 files is an image"):
        make_dataset(tmp_path, ["empty", "text"], check_headers=True)


def test_items_are_rgb_images_and_labels(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, ["good"] * 4)
    assert len(dataset) == 4
    assert dataset.targets == [0, 1, 2, 0]
    assert dataset.class_to_idx == {"a": 0, "b": 1, "c": 2}
    for index in range(4):
        image, label = dataset[index]
        assert image.mode == "RGB"
        assert image.getpixel((0, 0)) == (index, index, index)
        assert label == dataset.targets[index]
    assert dataset[-1][1] == 0
    assert dataset[np.int64(1)][1] == 1
    for index in (4, -5):
        with pytest.raises(IndexError, match=f"index {index} is out of range"):
            dataset[index]


def test_transform_is_applied_to_the_rgb_image(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, ["good"], transform=lambda im: (im.mode, im.size))
    assert dataset[0] == (("RGB", (6, 4)), 0)


def test_errors_of_the_transform_are_not_swallowed(tmp_path: Path) -> None:
    def broken(image: Image.Image) -> None:
        raise OSError("transform failed")

    dataset = make_dataset(tmp_path, ["good", "good"], transform=broken)
    with pytest.raises(OSError, match="transform failed"):
        dataset[0]
    assert dataset.bad_files == []


def test_unreadable_file_is_replaced_by_the_next_readable_one(
    tmp_path: Path,
) -> None:
    kinds = ["good", "empty", "random", "truncated", "good", "text"]
    dataset = make_dataset(tmp_path, kinds)

    with pytest.warns(UserWarning) as caught:
        image, label = dataset[1]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "replaced 3 unreadable image files" in message
    for index in (1, 2, 3):
        assert f"{index}.png" in message
    # Image and label both come from sample 4, the next readable one.
    assert (image.getpixel((0, 0)), label) == ((4, 4, 4), 1)
    assert dataset.bad_files == [dataset.samples[i][0] for i in (1, 2, 3)]

    # Deterministic, silent for files already replaced, and wrapping at the end.
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        assert dataset[2][0].getpixel((0, 0)) == (4, 4, 4)
    assert later == []
    with pytest.warns(UserWarning) as caught:
        assert dataset[5][0].getpixel((0, 0)) == (0, 0, 0)
    assert len(caught) == 1
    assert f"replaced 1 unreadable image file ({dataset.samples[5][0]!r}) by " in str(
        caught[0].message
    )
    assert len(dataset.bad_files) == 4


def test_every_replaced_file_is_listed_and_named_with_its_replacement(
    tmp_path: Path,
) -> None:
    kinds = ["good", *["empty"] * 7, "good", "random", "good", "truncated"]
    dataset = make_dataset(tmp_path, kinds)
    paths = [path for path, _ in dataset.samples]
    dropped_by_verify = paths[9]

    with pytest.warns(UserWarning) as caught:
        dataset[1]
    assert len(caught) == 1
    message = str(caught[0].message)
    # All seven are named, not just the first few, with the file used instead.
    assert "replaced 7 unreadable image files" in message and "more" not in message
    for path in paths[1:8]:
        assert repr(path) in message
    assert f"by the next readable sample {paths[8]!r}" in message

    with warnings.catch_warnings(record=True) as repeated:
        warnings.simplefilter("always")
        dataset[3]
        dataset[1]
    assert repeated == []
    with pytest.warns(UserWarning, match="replaced 1 unreadable image file") as caught:
        dataset[11]  # wraps around to the first file
    assert repr(paths[11]) in str(caught[0].message)
    assert repr(paths[0]) in str(caught[0].message)
    assert dataset.replaced_files == [*paths[1:8], paths[11]]

    # Files that verify() drops were never replaced by anything.
    with pytest.warns(UserWarning, match="dropped"):
        dataset.verify()
    assert dropped_by_verify in dataset.bad_files
    assert dataset.replaced_files == [*paths[1:8], paths[11]]


def test_replaced_files_start_empty_and_travel_with_the_dataset(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(tmp_path, ["good", "empty", "good"])
    assert dataset.replaced_files == []
    with pytest.warns(UserWarning):
        dataset[1]
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.replaced_files == dataset.replaced_files == [dataset.samples[1][0]]
    returned = copy.replaced_files
    returned.clear()
    assert copy.replaced_files == [dataset.samples[1][0]]


def test_known_bad_files_are_not_opened_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = make_dataset(tmp_path, ["empty", "good"])
    with pytest.warns(UserWarning, match="replaced 1 unreadable image file "):
        dataset[0]
    opened: list[str] = []

    def recording_load_rgb(path: str) -> Image.Image:
        opened.append(path)
        return load_rgb(path)

    monkeypatch.setattr(images, "load_rgb", recording_load_rgb)
    dataset[0]
    assert opened == [dataset.samples[1][0]]


def test_all_files_unreadable_is_an_error(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, ["empty", "random"])
    with pytest.raises(ValueError, match="none of the 2 files can be read"):
        dataset[0]


def test_verify_drops_unreadable_files_with_one_warning(tmp_path: Path) -> None:
    kinds = ["good", *["empty"] * 3, "good", *["random"] * 4, "truncated", "good"]
    dataset = make_dataset(tmp_path, kinds)
    paths = [path for path, _ in dataset.samples]

    with pytest.warns(UserWarning) as caught:
        dropped = dataset.verify()
    assert len(caught) == 1
    assert dropped == paths[1:4] + paths[5:9]
    message = str(caught[0].message)
    assert "dropped 7 unreadable image files" in message
    assert " and 2 more" in message
    assert "kept 4 of 11 samples" in message
    assert [path for path, _ in dataset.samples] == [paths[i] for i in (0, 4, 9, 10)]
    assert dataset.targets == [0, 1, 0, 1]
    assert dataset.bad_files == dropped

    # The header check passes the truncated file; decoding finds it.
    with pytest.warns(UserWarning, match="dropped 1 unreadable image file "):
        assert dataset.verify(decode=True) == [paths[9]]
    assert dataset.targets == [0, 1, 1]
    assert dataset.verify(decode=True) == []


def test_verify_drops_files_that_failed_to_load(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, ["good", "truncated", "good"])
    truncated = dataset.samples[1][0]
    with pytest.warns(UserWarning, match="replaced 1"):
        dataset[1]
    with pytest.warns(UserWarning, match="dropped 1"):
        assert dataset.verify() == [truncated]
    assert len(dataset) == 2


def test_verify_with_nothing_readable_is_an_error_and_keeps_the_samples(
    tmp_path: Path,
) -> None:
    dataset = make_dataset(tmp_path, ["empty", "text"])
    with pytest.raises(ValueError, match="none of the 2 files can be read"):
        dataset.verify()
    assert len(dataset) == 2


def test_class_counts_include_absent_classes(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, ["good"] * 4)
    assert dataset.class_counts() == {"a": 2, "b": 1, "c": 1}
    only_first = LabeledImageFiles(dataset.samples[:1], CLASSES)
    assert only_first.class_counts() == {"a": 1, "b": 0, "c": 0}


@pytest.mark.parametrize(
    ("samples", "match"),
    [([], "at least one sample"), ([("x.jpg", 3)], r"label 3 of 'x.jpg'")],
)
def test_bad_samples_are_rejected(samples: list[tuple[str, int]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LabeledImageFiles(samples, CLASSES)


def test_dataset_survives_pickling_for_worker_processes(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, ["empty", "good"])
    with pytest.warns(UserWarning):
        dataset[0]
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.bad_files == dataset.bad_files
    assert copy[0][1] == 1
