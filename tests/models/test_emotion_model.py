import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lightly_byel.models import emotion_model, image_inputs
from lightly_byel.models.backbones import build_backbone
from lightly_byel.models.emotion_model import EmotionModel, ModelInfo
from lightly_byel.utils.safe_load import UntrustedFileError


class _ArrayLike:
    """An array of another library (as CuPy's or JAX's): numpy converts it."""

    def __array__(self) -> np.ndarray[Any, Any]:
        return np.zeros((20, 20, 3), dtype=np.uint8)


def _model(input_size: int = 24) -> EmotionModel:
    torch.manual_seed(0)
    encoder, num_ftrs = build_backbone("resnet10-w8")
    info = ModelInfo("resnet10-w8", num_ftrs, input_size, method="byel", seed=3)
    return EmotionModel(encoder, nn.Linear(num_ftrs, 6), info)


def test_a_saved_model_loads_with_its_weights_and_description(tmp_path: Path) -> None:
    model = _model()
    model.save(tmp_path / "m.pt")
    loaded = EmotionModel.load(tmp_path / "m.pt")
    assert loaded.info == model.info
    x = torch.randn(2, 3, 24, 24)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left


def test_every_kind_of_image_gets_the_same_preprocessing(tmp_path: Path) -> None:
    model = _model()
    pixels = torch.randint(0, 256, (3, 40, 30), dtype=torch.uint8)
    image = Image.fromarray(pixels.permute(1, 2, 0).numpy())
    image.save(tmp_path / "face.png")
    gray = Image.fromarray(pixels[0].numpy())
    inputs = [
        model.preprocess(image),
        model.preprocess(tmp_path / "face.png"),
        model.preprocess(str(tmp_path / "face.png")),
        model.preprocess(pixels),
        model.preprocess(pixels.float() / 255),
        model.preprocess(pixels.unsqueeze(0)),
    ]
    for x in inputs:
        assert x.shape == (1, 3, 24, 24)
        torch.testing.assert_close(x, inputs[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(
        model.preprocess(gray), model.preprocess(pixels[:1]), rtol=0, atol=1e-6
    )
    prediction = model.predict([image, pixels])
    assert torch.equal(prediction.classes, prediction.probabilities.argmax(dim=1))
    assert prediction.classes[0] == prediction.classes[1]
    assert model.embed(image).shape == (1, model.info.num_ftrs)


def test_bad_files_and_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        EmotionModel.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable PyTorch file"):
        EmotionModel.load(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="model file: it holds a Lightning checkpoint"):
        EmotionModel.load(tmp_path / "checkpoint.pt")
    model = _model()
    with pytest.raises(ValueError, match=r"shape \(3, H, W\)"):
        model.preprocess(torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match="no images"):
        model.preprocess([])
    with pytest.raises(ValueError, match="head maps 4 features"):
        EmotionModel(nn.Identity(), nn.Linear(4, 6), model.info)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (
            torch.randint(0, 256, (3, 20, 20)),
            r"got an int64 image tensor; expected uint8, or floating point in \[0, 1\]",
        ),
        (
            torch.full((3, 20, 20), 255.0),
            r"got a float32 image tensor with values from 255.0 to 255.0; expected "
            r"uint8, or floating point in \[0, 1\] \(divide by 255\)",
        ),
        (torch.full((2, 3, 20, 20), 255.0), r"values from 255.0 to 255.0"),
        ([torch.zeros(3, 20, 20), torch.full((1, 9, 9), 2.0)], "from 2.0 to 2.0"),
        (
            torch.zeros(2, 3, 20, 20).index_fill(0, torch.tensor([1]), float("nan")),
            "float32 image tensor holding NaN",
        ),
        (
            torch.linspace(-2, 2, 400, dtype=torch.float64).view(1, 20, 20),
            r"float64 image tensor with values from -2.0 to 2.0; expected uint8, or "
            r"floating point in \[0, 1\]\.$",
        ),
    ],
    ids=["int64", "float-0-255", "batch-0-255", "in-a-list", "nan", "normalised"],
)
def test_image_tensors_out_of_range_raise(images: object, message: str) -> None:
    model = _model()
    for apply in (model.preprocess, model.predict, model.embed):
        with pytest.raises(ValueError, match=message):
            apply(images)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.zeros(3, 0, 0), r"empty image tensor of shape \(3, 0, 0\)"),
        (torch.zeros(0, 3, 20, 20), r"empty image tensor of shape \(0, 3, 20, 20\)"),
        (
            _ArrayLike(),
            r"PIL image, a file path, an image tensor or a numpy array.*got "
            r"_ArrayLike \(np\.asarray\(value\) converts it",
        ),
        ([_ArrayLike()], "got _ArrayLike"),
        (7, "got int"),
        ([Image.new("RGB", (9, 9)), None], "got NoneType"),
    ],
    ids=[
        "empty-image",
        "empty-batch",
        "array-like",
        "array-like-in-a-list",
        "int",
        "none",
    ],
)
def test_inputs_that_are_no_images_raise(images: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _model().predict(images)  # type: ignore[arg-type]


def test_unreadable_paths_are_named(tmp_path: Path) -> None:
    model = _model()
    with pytest.raises(
        IsADirectoryError, match=re.escape(f"{tmp_path}' is a directory")
    ):
        model.predict(tmp_path)
    with pytest.raises(
        FileNotFoundError, match=re.escape("missing.png' does not exist")
    ):
        model.predict(tmp_path / "missing.png")
    Image.new("RGB", (40, 40)).save(tmp_path / "face.jpg")
    whole = (tmp_path / "face.jpg").read_bytes()
    (tmp_path / "torn.jpg").write_bytes(whole[: len(whole) // 3])
    with pytest.raises(
        OSError, match=re.escape(f"{tmp_path / 'torn.jpg'}' cannot be read")
    ):
        model.predict([tmp_path / "face.jpg", tmp_path / "torn.jpg"])


def test_a_batch_tensor_is_checked_with_one_reduction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[tuple[int, ...]] = []
    for module in (emotion_model, image_inputs):
        monkeypatch.setattr(
            module, "check_image_range", lambda x: checked.append(tuple(x.shape))
        )
    model = _model()
    model.preprocess(torch.rand(5, 3, 20, 20))
    model.preprocess([torch.rand(3, 20, 20), torch.rand(1, 9, 9)])
    assert checked == [(5, 3, 20, 20), (3, 20, 20), (1, 9, 9)]


def test_a_planted_model_file_is_refused_and_never_run(
    tmp_path: Path, plant: Callable[..., Path]
) -> None:
    model = tmp_path / "shared.pt"
    marker = plant(model, {"format": emotion_model.FILE_FORMAT, "version": 1})
    with pytest.raises(UntrustedFileError, match="could run code") as error:
        EmotionModel.load(model)
    assert "weights_only" not in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"info": [1, 2]}, "must be a mapping, got list"),
        ({"info": {"backbone": "resnet10-w8"}}, "lacks ['input_size', 'num_ftrs']"),
        ({"info.extra": 1}, "unknown fields ['extra']"),
        ({"info.classes": 6}, "must be lists"),
        ({"encoder": None}, "the weights do not fit"),
        ({"head": "missing"}, "is not a whole model file"),
    ],
)
def test_a_model_file_with_a_broken_description_is_named(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    _model().save(tmp_path / "m.pt")
    content = torch.load(tmp_path / "m.pt", weights_only=True)
    for key, value in change.items():
        if key.startswith("info."):
            content["info"][key.removeprefix("info.")] = value
        elif value == "missing":
            del content[key]
        else:
            content[key] = value
    torch.save(content, tmp_path / "m.pt")
    with pytest.raises(ValueError) as error:
        EmotionModel.load(tmp_path / "m.pt")
    assert str(error.value).startswith(f"{str(tmp_path / 'm.pt')!r}")
    assert message in str(error.value)
