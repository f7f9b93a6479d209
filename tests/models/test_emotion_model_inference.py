"""EmotionModel as HSEmotion users call it: numpy faces, predict_emotions, errors."""

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision.transforms.v2 import functional as F

from lightly_byel.data.images import load_rgb, to_rgb
from lightly_byel.models import image_inputs
from lightly_byel.models.backbones import build_backbone
from lightly_byel.models.emotion_model import EmotionModel, ModelInfo
from lightly_byel.utils.safe_load import DamagedFileError, UntrustedFileError


def _model(input_size: int = 24) -> EmotionModel:
    torch.manual_seed(0)
    encoder, num_ftrs = build_backbone("resnet10-w8")
    info = ModelInfo("resnet10-w8", num_ftrs, input_size, method="byel", seed=3)
    return EmotionModel(encoder, nn.Linear(num_ftrs, 6), info)


def _rgb(height: int = 40, width: int = 30, seed: int = 0) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


class _Pickled:
    """A Python object, as pickled by torch.save or pickle: never a model file."""

    def __init__(self) -> None:
        self.weights = [1.0, 2.0]


def test_a_numpy_rgb_face_predicts_what_its_pil_image_and_tensor_do(
    tmp_path: Path,
) -> None:
    model = _model()
    rgb = _rgb()
    Image.fromarray(rgb).save(tmp_path / "face.png")
    expected = model.predict(Image.fromarray(rgb)).probabilities
    for same in (
        rgb,
        torch.from_numpy(rgb).permute(2, 0, 1),
        tmp_path / "face.png",
        rgb.astype(np.float32) / 255,  # float arrays in [0, 1], as float tensors
        rgb.astype(np.float64) / 255,
    ):
        got = model.predict(same).probabilities  # type: ignore[arg-type]
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    # Mixed in a list, and as a batch array (N, H, W, C).
    mixed = model.predict([rgb, Image.fromarray(rgb), str(tmp_path / "face.png")])
    torch.testing.assert_close(mixed.probabilities, expected.expand(3, -1))
    batch = model.predict(np.stack([rgb, _rgb(seed=1)]))
    torch.testing.assert_close(
        batch.probabilities, model.predict([rgb, _rgb(seed=1)]).probabilities
    )
    torch.testing.assert_close(model.embed(rgb), model.embed(Image.fromarray(rgb)))


def test_bgr_arrays_with_the_flag_predict_what_rgb_does() -> None:
    model = _model()
    rgb = _rgb()
    expected = model.preprocess(rgb)
    bgr_view = rgb[:, :, ::-1]  # negative strides
    bgr = np.ascontiguousarray(bgr_view)  # as cv2.imread returns it
    alpha = np.full((40, 30, 1), 77, np.uint8)
    for image in (bgr, bgr_view):
        torch.testing.assert_close(model.preprocess(image, bgr=True), expected)
    # Transparent pixels on black, as the datasets read an RGBA file.
    rgba = np.concatenate([rgb, alpha], axis=2)
    on_black = model.preprocess(to_rgb(Image.fromarray(rgba, "RGBA")))
    assert not torch.allclose(on_black, expected)
    bgra = np.concatenate([bgr, alpha], axis=2)  # cv2.IMREAD_UNCHANGED
    torch.testing.assert_close(model.preprocess(bgra, bgr=True), on_black)
    torch.testing.assert_close(model.preprocess(rgba), on_black)
    torch.testing.assert_close(
        model.preprocess(Image.fromarray(rgba, "RGBA")), on_black
    )
    assert not torch.allclose(model.preprocess(bgr), expected)  # the flag matters
    assert torch.equal(
        model.predict(bgr, bgr=True).probabilities, model.predict(rgb).probabilities
    )
    torch.testing.assert_close(model.embed(bgr, bgr=True), model.embed(rgb))
    # PIL images and tensors are RGB whatever the flag says.
    for rgb_kind in (Image.fromarray(rgb), torch.from_numpy(rgb).permute(2, 0, 1)):
        torch.testing.assert_close(model.preprocess(rgb_kind, bgr=True), expected)


def test_grayscale_arrays_are_gray_images() -> None:
    model = _model()
    gray = _rgb()[:, :, 0]
    expected = model.preprocess(Image.fromarray(gray))  # a mode "L" image
    for image in (gray, gray[:, :, None], np.stack([gray] * 3, axis=2)):
        torch.testing.assert_close(model.preprocess(image), expected)
        torch.testing.assert_close(model.preprocess(image, bgr=True), expected)
    torch.testing.assert_close(
        model.preprocess(torch.from_numpy(gray).unsqueeze(0)), expected
    )


def test_arrays_are_read_as_numpy_makes_them_and_left_unchanged() -> None:
    model = _model()
    rgb = _rgb()
    expected = model.preprocess(rgb)
    read_only = rgb.copy()
    read_only.setflags(write=False)
    swapped = (rgb / 255).astype(">f4")  # big-endian, as some file readers give
    fortran = np.asfortranarray(rgb)
    for image in (read_only, swapped, fortran):
        torch.testing.assert_close(model.preprocess(image), expected, atol=1e-6, rtol=0)
    before = rgb.copy()
    model.predict(rgb, bgr=True)
    assert np.array_equal(rgb, before)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.zeros((3, 20, 20), np.uint8),
            r"got an image array of shape \(3, 20, 20\); expected \(H, W, 3\) \(RGB, "
            r"or BGR with bgr=True\).*array\.transpose\(1, 2, 0\)",
        ),
        (np.zeros((20, 20, 2), np.uint8), r"shape \(20, 20, 2\); expected \(H, W, 3\)"),
        (np.zeros(20, np.uint8), r"shape \(20,\); expected \(H, W, 3\)"),
        (np.zeros((1, 2, 8, 8, 3), np.uint8), r"shape \(1, 2, 8, 8, 3\); expected"),
        (
            np.zeros((20, 20, 3), np.int64),
            r"got an int64 image array; expected uint8, or floating point in "
            r"\[0, 1\] \(\.astype\(np\.uint8\) converts values in 0-255\)",
        ),
        (np.zeros((20, 20, 3), bool), r"got a bool image array; expected uint8"),
        (
            np.full((20, 20, 3), 255.0, np.float32),
            r"got a float32 image array with values from 255\.0 to 255\.0; expected "
            r"uint8, or floating point in \[0, 1\] \(divide by 255\)",
        ),
        (np.full((20, 20, 3), np.nan), r"got a float64 image array holding NaN"),
        (np.zeros((0, 20, 3), np.uint8), r"empty image array of shape \(0, 20, 3\)"),
        (
            [np.zeros((2, 20, 20, 3), np.uint8)],
            r"shape \(2, 20, 20, 3\) in a sequence; expected one image per item",
        ),
    ],
    ids=[
        "channels-first",
        "two-channels",
        "1d",
        "5d",
        "int64",
        "bool",
        "float-0-255",
        "nan",
        "empty",
        "batch-in-a-list",
    ],
)
def test_arrays_that_are_no_images_name_their_shape_or_dtype(
    array: object, message: str
) -> None:
    model = _model()
    for apply in (model.preprocess, model.predict, model.embed):
        with pytest.raises(ValueError, match=message):
            apply(array)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        model.predict_emotions(array)  # type: ignore[call-overload]


def test_predict_emotions_of_one_face(tmp_path: Path) -> None:
    model = _model()
    rgb = _rgb()
    name, probabilities = model.predict_emotions(rgb)
    assert name in model.info.classes
    assert isinstance(name, str)
    assert probabilities.shape == (6,) and probabilities.dtype == np.float32
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    prediction = model.predict(rgb)
    assert name == model.class_names(prediction.classes)[0]
    assert model.info.classes[int(probabilities.argmax())] == name
    np.testing.assert_allclose(probabilities, prediction.probabilities[0].numpy())

    logit_name, logits = model.predict_emotions(rgb, logits=True)
    assert logit_name == name and logits.shape == (6,)
    expected_logits = model(model.preprocess(rgb))[0].detach().numpy()
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-6, atol=1e-6)
    assert abs(float(logits.sum()) - 1) > 1e-3  # not probabilities
    np.testing.assert_allclose(
        torch.from_numpy(logits).softmax(dim=0).numpy(), probabilities, atol=1e-6
    )

    # Every kind of single face, a path given as str among them.
    Image.fromarray(rgb).save(tmp_path / "face.png")
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    for face in (str(tmp_path / "face.png"), tmp_path / "face.png"):
        assert model.predict_emotions(face)[0] == name
    assert model.predict_emotions(Image.fromarray(rgb))[0] == name
    assert model.predict_emotions(torch.from_numpy(rgb).permute(2, 0, 1))[0] == name
    same_name, same = model.predict_emotions(bgr, bgr=True)
    assert same_name == name
    np.testing.assert_array_equal(same, probabilities)


def test_predict_emotions_of_a_list_of_faces() -> None:
    model = _model()
    faces = [_rgb(seed=seed) for seed in range(3)]
    names, scores = model.predict_emotions(faces)
    assert isinstance(names, list) and len(names) == 3
    assert scores.shape == (3, 6) and scores.dtype == np.float32
    np.testing.assert_allclose(scores.sum(axis=1), np.ones(3), atol=1e-5)
    for face, name, row in zip(faces, names, scores, strict=True):
        one_name, one = model.predict_emotions(face)
        assert one_name == name
        np.testing.assert_allclose(row, one, atol=1e-6)
    assert names == model.class_names(torch.from_numpy(scores).argmax(dim=1))

    logit_names, logits = model.predict_emotions(faces, logits=True)
    assert logit_names == names and logits.shape == (3, 6)
    np.testing.assert_allclose(
        torch.from_numpy(logits).softmax(dim=1).numpy(), scores, atol=1e-6
    )
    single_names, single = model.predict_emotions(faces[:1])
    assert single_names == names[:1] and single.shape == (1, 6)

    with pytest.raises(ValueError, match=r"got a batch of shape \(3, 40, 30, 3\)"):
        model.predict_emotions(np.stack(faces))
    with pytest.raises(ValueError, match=r"got a batch of shape \(2, 3, 8, 8\)"):
        model.predict_emotions(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="no images"):
        model.predict_emotions([])


@pytest.mark.parametrize("keep", [0, 20, 200, 0.5, -200, -2])
def test_a_truncated_jpeg_is_named_with_what_went_wrong(
    tmp_path: Path, keep: float
) -> None:
    model = _model()
    Image.fromarray(_rgb(64, 64)).save(tmp_path / "whole.jpg", quality=90)
    whole = (tmp_path / "whole.jpg").read_bytes()
    end = int(len(whole) * keep) if isinstance(keep, float) else keep % len(whole)
    torn = tmp_path / "torn face.jpg"
    torn.write_bytes(whole[:end])
    for images in (torn, str(torn), [tmp_path / "whole.jpg", torn]):
        with pytest.raises(OSError) as error:
            model.predict(images)  # type: ignore[arg-type]
        message = str(error.value)
        assert f"image {str(torn)!r} cannot be read as an image: " in message
        assert not message.endswith(": ")  # says what went wrong
    with pytest.raises(OSError, match=re.escape(str(torn))):
        model.predict_emotions(torn)


def test_files_that_are_no_images_or_missing_are_named(tmp_path: Path) -> None:
    model = _model()
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(OSError, match=re.escape(f"{tmp_path / 'notes.jpg'}' cannot")):
        model.predict(tmp_path / "notes.jpg")
    missing = tmp_path / "gone" / "face.jpg"
    for apply in (model.predict, model.embed, model.predict_emotions):
        with pytest.raises(
            FileNotFoundError, match=re.escape(f"image {str(missing)!r} does not exist")
        ):
            apply(missing)


def _write_lightning_checkpoint(path: Path) -> None:
    weights = nn.Linear(4, 6).state_dict()
    torch.save({"state_dict": weights, "epoch": 3, "global_step": 12}, path)


@pytest.mark.parametrize(
    ("write", "error_type", "holds"),
    [
        (
            lambda path: path.write_text("model: byel\n"),
            DamagedFileError,
            " and is not a readable PyTorch file (damaged, truncated or of another "
            "kind: ",
        ),
        (
            lambda path: torch.save(nn.Linear(4, 6).state_dict(), path),
            ValueError,
            ": it holds a state dict of 2 tensors (build_backbone(name, "
            "pretrained=path)",
        ),
        (
            _write_lightning_checkpoint,
            ValueError,
            ": it holds a Lightning checkpoint ('state_dict'; build_backbone(",
        ),
        (
            lambda path: torch.save(_Pickled(), path),
            UntrustedFileError,
            # The test module's name depends on how pytest imports it.
            " and is refused: it holds pickled Python objects (",
        ),
        (
            lambda path: path.write_bytes(pickle.dumps(_Pickled())),
            DamagedFileError,
            " and is not a readable PyTorch file",
        ),
        (lambda path: torch.save([1, 2], path), ValueError, ": it holds a list"),
        (
            lambda path: torch.save({"format": "other", "weights": 1}, path),
            ValueError,
            ": it holds a file of format 'other'",
        ),
    ],
    ids=[
        "text",
        "state-dict",
        "lightning",
        "torch-pickled-object",
        "pickled-object",
        "list",
        "other-format",
    ],
)
def test_a_file_that_is_no_model_file_says_so(
    tmp_path: Path, write: Any, error_type: type[Exception], holds: str
) -> None:
    path = tmp_path / "model.pt"
    write(path)
    with pytest.raises(error_type) as error:
        EmotionModel.load(path)
    message = str(error.value)
    assert message.startswith(
        f"{str(path)!r} is not a lightly-byel emotion model file{holds}"
    )
    assert message.endswith(
        "; expected a file written by EmotionModel.save, as a benchmark run writes "
        "models/<method>-seed<k>-<protocol>.pt."
    )
    assert "weights_only" not in message
    assert message.count(str(path)) == 1
    if error_type is UntrustedFileError:
        assert "_Pickled), which could run code when loaded; expected" in message


def test_an_onnx_export_given_to_load_names_its_reader(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07\x12\x07pytorch")
    with pytest.raises(DamagedFileError) as error:
        EmotionModel.load(path)
    message = str(error.value)
    assert "is not a lightly-byel emotion model file" in message
    assert message.endswith(
        "(an ONNX export is read by lightly_byel.models.onnx_model.OnnxEmotionModel)."
    )
    assert "weights_only" not in message


def test_transparent_pixels_are_read_as_the_datasets_read_them(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (21, 17, 4), np.uint8)
    path = tmp_path / "face.png"
    Image.fromarray(rgba, "RGBA").save(path)
    read = F.pil_to_tensor(load_rgb(path))  # what the datasets and predict_batches see
    assert torch.equal(image_inputs.as_rgb(path), read)
    assert torch.equal(image_inputs.as_rgb(Image.open(path)), read)
    assert torch.equal(image_inputs.as_rgb(rgba), read)
    floats = image_inputs.as_rgb(rgba.astype(np.float32) / 255)
    torch.testing.assert_close(floats * 255, read.float(), atol=0.51, rtol=0)
