from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from lightly_byel.models.backbones import build_backbone
from lightly_byel.models.emotion_model import EmotionModel, ModelInfo


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
    with pytest.raises(ValueError, match="not a readable model file"):
        EmotionModel.load(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="Lightning checkpoint is not one"):
        EmotionModel.load(tmp_path / "checkpoint.pt")
    model = _model()
    with pytest.raises(ValueError, match=r"shape \(3, H, W\)"):
        model.preprocess(torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match="no images"):
        model.preprocess([])
    with pytest.raises(ValueError, match="head maps 4 features"):
        EmotionModel(nn.Identity(), nn.Linear(4, 6), model.info)
