import math

import pytest
import torch
from harness.evaluation.monitoring import PretrainMonitor, collapsed
from torch import nn


def _batches(features: torch.Tensor, labels: torch.Tensor) -> list[tuple]:
    return [(features[i : i + 4], labels[i : i + 4]) for i in range(0, len(labels), 4)]


def _separable(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(count) % 6
    features = torch.eye(8)[labels] + 0.01 * torch.randn(count, 8)
    return features, labels


def test_separable_embeddings_score_well_and_are_spread() -> None:
    torch.manual_seed(0)
    bank, held = _separable(48), _separable(24)
    monitor = PretrainMonitor(
        lambda backbone: backbone, _batches(*bank), _batches(*held), 6, "unit"
    )
    scores = monitor.measure(nn.Identity(), torch.device("cpu"))
    assert scores["knn_holdout_macro_f1"] == 1.0
    assert scores["embedding_spread"] == pytest.approx(
        scores["embedding_std"] * math.sqrt(8)
    )
    assert not collapsed(scores["embedding_spread"])


def test_collapsed_embeddings_are_flagged() -> None:
    bank, held = _separable(24), _separable(12)

    class Constant(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ones_like(x)

    monitor = PretrainMonitor(
        lambda backbone: backbone, _batches(*bank), _batches(*held), 6, "unit"
    )
    scores = monitor.measure(Constant(), torch.device("cpu"))
    assert scores["embedding_std"] == pytest.approx(0.0, abs=1e-6)
    assert collapsed(scores["embedding_spread"])
    # Its state travels in checkpoints.
    monitor.last = scores
    restored = PretrainMonitor(lambda b: b, [], [], 6, "unit")
    restored.load_state_dict(monitor.state_dict())
    assert restored.last == scores
