import copy
from dataclasses import replace

import pytest
import torch
from harness.config.settings import ClassBalance, EvalSettings
from harness.evaluation.linear_probe import linear_probe
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from lightly_byel.data import LSD_CLASSES

SETTINGS = EvalSettings(linear_epochs=5, linear_lr=0.05, batch_size_per_device=32)
CPU = {"accelerator": "cpu"}


def separable(
    size: int, seed: int, imbalanced: bool = False
) -> DataLoader[tuple[Tensor, ...]]:
    """Images (2, 4) whose flattened pixels are Gaussian around a class mean."""
    means = 4 * torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(seed)
    if imbalanced:
        # Class 0 takes half of the samples, the others share the rest.
        labels = torch.cat(
            [torch.zeros(size // 2), torch.arange(size - size // 2) % 5 + 1]
        )
        labels = labels.long()
    else:
        labels = torch.arange(size) % 6
    images = means[labels] + torch.randn(size, 8, generator=generator)
    return DataLoader(TensorDataset(images.view(size, 2, 4), labels), batch_size=50)


@pytest.mark.parametrize("balance", ["none", "weighted_loss", "sampler"])
def test_probe_learns_a_separable_problem(balance: ClassBalance) -> None:
    outcome = linear_probe(
        nn.Flatten(),
        8,
        separable(300, 1, imbalanced=True),
        separable(60, 2),
        separable(120, 3),
        replace(SETTINGS, class_balance=balance),
        CPU,
        seed=0,
    )
    assert outcome.protocol == "linear"
    assert outcome.metrics["macro_f1"] > 0.8  # chance is about 1/6
    assert set(outcome.metrics["per_class_f1"]) == set(LSD_CLASSES)
    assert outcome.selection.startswith("holdout macro F1, epoch ")
    assert 1 <= int(outcome.selection.rsplit(" ", 1)[1]) <= SETTINGS.linear_epochs
    low, high = outcome.macro_f1_interval
    assert low <= outcome.metrics["macro_f1"] <= high
    assert outcome.y_true == separable(120, 3).dataset.tensors[1].tolist()
    assert len(outcome.y_pred) == 120
    assert outcome.train_seconds > 0 and outcome.images_per_second > 0
    assert outcome.holdout_macro_f1 is not None and outcome.holdout_macro_f1 > 0.8
    # The probe's classifier, on raw features, predicts what the probe predicted.
    assert outcome.head is not None
    images = separable(120, 3).dataset.tensors[0]
    assert outcome.head(images.flatten(1)).argmax(1).tolist() == outcome.y_pred


def test_probe_without_holdout_keeps_the_last_epoch_and_the_backbone() -> None:
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(8, 8), nn.BatchNorm1d(8))
    backbone.train()
    before = copy.deepcopy(backbone.state_dict())
    first = linear_probe(
        backbone, 8, separable(120, 1), None, separable(60, 3), SETTINGS, CPU, seed=0
    )
    again = linear_probe(
        backbone, 8, separable(120, 1), None, separable(60, 3), SETTINGS, CPU, seed=0
    )
    assert first.selection == "fixed schedule, last epoch"
    assert first.y_pred == again.y_pred
    assert backbone.training
    for name, tensor in backbone.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_probe_checks_the_feature_count() -> None:
    with pytest.raises(ValueError, match="num_ftrs is 16"):
        linear_probe(
            nn.Flatten(), 16, separable(12, 1), None, separable(12, 3), SETTINGS, CPU, 0
        )


def test_probe_keeps_the_epoch_best_on_the_holdout() -> None:
    # The eval split doubles as holdout here, only to make the choice observable:
    # training does not depend on the holdout, so a k-epoch schedule reproduces the
    # first k epochs, and the kept epoch must be the best of them.
    noisy = replace(SETTINGS, linear_lr=0.3, batch_size_per_device=8)
    train, held = separable(60, 1, imbalanced=True), separable(120, 3)
    by_epochs = [
        linear_probe(
            nn.Flatten(), 8, train, None, held, replace(noisy, linear_epochs=k), CPU, 0
        ).metrics["macro_f1"]
        for k in range(1, noisy.linear_epochs + 1)
    ]
    chosen = linear_probe(nn.Flatten(), 8, train, held, held, noisy, CPU, 0)
    best = max(by_epochs)
    assert chosen.selection == f"holdout macro F1, epoch {by_epochs.index(best) + 1}"
    assert chosen.metrics["macro_f1"] == best
