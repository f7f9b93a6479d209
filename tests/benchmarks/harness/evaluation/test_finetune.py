import copy
import csv
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from harness.config.settings import EvalSettings
from harness.evaluation.finetune import FineTuneClassifier, finetune
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

SETTINGS = EvalSettings(finetune_epochs=2, finetune_lr=1e-2, bootstrap_samples=100)
TRAINER = {
    "accelerator": "cpu",
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "log_every_n_steps": 1,
}


def data(size: int, seed: int) -> DataLoader[tuple[Tensor, ...]]:
    means = 3 * torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(size) % 6
    images = means[labels] + torch.randn(
        size, 8, generator=torch.Generator().manual_seed(seed)
    )
    return DataLoader(TensorDataset(images.view(size, 2, 4), labels), batch_size=16)


def backbone() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.ReLU())


def test_finetune_selects_on_the_holdout_and_leaves_the_backbone(
    tmp_path: Path,
) -> None:
    encoder = backbone()
    before = copy.deepcopy(encoder.state_dict())
    outcome = finetune(
        encoder,
        16,
        data(96, 1),
        data(36, 2),
        data(48, 3),
        SETTINGS,
        TRAINER,
        0,
        tmp_path,
    )
    assert outcome.protocol == "finetune"
    assert outcome.selection in {
        "holdout macro F1, epoch 1",
        "holdout macro F1, epoch 2",
    }
    assert outcome.metrics["macro_f1"] > 0.5  # chance is about 1/6
    assert outcome.y_true == data(48, 3).dataset.tensors[1].tolist()
    assert outcome.images_per_second > 0
    for name, tensor in encoder.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    with (tmp_path / "finetune" / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert any(row.get("train_loss") for row in rows)
    assert sum(bool(row.get("holdout_macro_f1")) for row in rows) == 2


def test_finetune_without_holdout_keeps_the_last_epoch() -> None:
    settings = replace(SETTINGS, finetune_epochs=1, class_balance="weighted_loss")
    outcome = finetune(
        backbone(),
        16,
        data(48, 1),
        None,
        data(24, 3),
        settings,
        {**TRAINER, "logger": False},
        0,
    )
    assert outcome.selection == "fixed schedule, last epoch"
    assert len(outcome.y_pred) == 24


def test_classifier_shapes_and_weights() -> None:
    model = FineTuneClassifier(backbone(), 16, 6, class_weights=torch.ones(6))
    assert model(torch.randn(5, 2, 4)).shape == (5, 6)
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        FineTuneClassifier(backbone(), 16, 6, class_weights=torch.ones(3))


def test_finetune_starts_from_a_given_head() -> None:
    # With no step to take (learning rate 0), the given head is what predicts: a
    # head that always says class 4 gives that for every eval image.
    head = nn.Linear(16, 6)
    nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 5.0, 0.0]))
    settings = replace(SETTINGS, finetune_epochs=1, finetune_lr=0.0, dropout=0.0)
    run = {**TRAINER, "logger": False}
    outcome = finetune(
        backbone(), 16, data(48, 1), None, data(24, 3), settings, run, 0, head=head
    )
    assert set(outcome.y_pred) == {4}
    assert head.bias[4] == 5.0  # copied, not trained in place
    with pytest.raises(ValueError, match="expected 16 to 6"):
        finetune(
            backbone(),
            16,
            data(48, 1),
            None,
            data(24, 3),
            settings,
            run,
            0,
            head=nn.Linear(8, 6),
        )
