"""The examples in examples/ train for a few steps on a tiny generated LSD tree."""

import math
import re
from pathlib import Path
from typing import Any

import pytest
import short_run
import torch
from torch import nn

from lightly_byel.data import LSD_CLASSES, generate
from lightly_byel.loss import BYELLoss

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def lsd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Generated faces, 3 per class: 18 images, two full batches of 8.
    generate(tmp_path / "datasets/lsd", images_per_class=3, image_size=32, workers=1)
    # The examples' datasets hold relative paths, which the checks here read too.
    monkeypatch.chdir(tmp_path)
    return tmp_path  # the working folder, with datasets/lsd in it


def check_model(model: nn.Module, dataloader: Any, criterion: BYELLoss) -> None:
    online = [*model.backbone.parameters(), *model.projection_head.parameters()]
    momentum = [
        *model.backbone_momentum.parameters(),
        *model.projection_head_momentum.parameters(),
    ]
    assert all(p.requires_grad for p in online)
    assert not any(p.requires_grad for p in momentum)
    # The momentum copies start equal to the online networks and are held at the
    # schedule's end value 1 in a one-epoch run: only optimizer steps separate them.
    assert any(
        not torch.equal(o, m)
        for o, m in zip(
            model.backbone.parameters(),
            model.backbone_momentum.parameters(),
            strict=True,
        )
    )

    # One more loss by hand, as the example computes it: the gradient reaches the
    # online networks and the emotion classifier, never the momentum copies.
    (x0, x1), labels = next(iter(dataloader))
    device = next(model.parameters()).device
    x0, x1, labels = x0.to(device), x1.to(device), labels.to(device)
    assert labels.min() >= 0 and labels.max() < 6
    model.zero_grad(set_to_none=True)
    p0, p1 = model(x0), model(x1)
    z0, z1 = model.forward_momentum(x0), model.forward_momentum(x1)
    assert p0.shape == z0.shape == (8, 256)
    assert not z0.requires_grad
    classifier = model.prediction_head.classifier
    loss = criterion([p0, p1], [z0, z1], labels, classifier)
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is None for p in momentum)
    assert all(p.grad is not None for p in online)
    assert classifier.weight.grad is not None


def test_pytorch_example(lsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = short_run.run(EXAMPLES / "pytorch/byel.py", lsd)
    out = capsys.readouterr().out
    (printed,) = re.findall(r"epoch: 00, loss: (\S+)", out)
    assert math.isfinite(float(printed))
    assert torch.isfinite(namespace["avg_loss"])
    assert tuple(namespace["dataset"].classes) == LSD_CLASSES
    check_model(namespace["model"], namespace["dataloader"], namespace["criterion"])


# One epoch of two batches is shorter than Lightning's logging interval.
@pytest.mark.filterwarnings("ignore:The number of training batches")
def test_lightning_example(lsd: Path) -> None:
    pytest.importorskip("pytorch_lightning")
    namespace = short_run.run(EXAMPLES / "pytorch_lightning/byel.py", lsd)
    trainer = namespace["trainer"]
    assert trainer.global_step >= 1
    assert torch.isfinite(trainer.callback_metrics["train_loss_ssl"])
    model = namespace["model"]
    check_model(model, namespace["dataloader"], model.criterion)


def test_a_changed_example_fails_instead_of_training_for_real(tmp_path: Path) -> None:
    example = tmp_path / "pytorch/byel.py"
    example.parent.mkdir()
    code = (EXAMPLES / "pytorch/byel.py").read_text()
    example.write_text(code.replace("epochs = 10", "epochs = 20"))
    with pytest.raises(ValueError, match="expected 'epochs = 10' once, found it 0"):
        short_run.run(example, tmp_path)
