from __future__ import annotations

import pytest
import torch
from lightly.models.modules.heads import BYOLPredictionHead, ProjectionHead
from torch import Tensor, nn

from lightly_byel.models.modules.heads import BYELPredictionHead, EmotionClassifier


class TestEmotionClassifier:
    def test_weight_is_orthogonal_parameter(self) -> None:
        classifier = EmotionClassifier(input_dim=32, num_classes=6)
        assert isinstance(classifier.weight, nn.Parameter)
        assert classifier.weight.shape == (32, 6)
        gram = classifier.weight.T @ classifier.weight
        torch.testing.assert_close(gram, torch.eye(6), atol=1e-5, rtol=0)
        assert classifier.orthonormality_loss().item() < 1e-4

    def test_default_has_six_classes(self) -> None:
        assert EmotionClassifier(256).num_classes == 6

    def test_forward_is_batch_norm_of_projection(self) -> None:
        torch.manual_seed(0)
        classifier = EmotionClassifier(input_dim=8, num_classes=4)
        x = torch.randn(12, 8)
        z = x @ classifier.weight.detach()
        expected = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5)
        torch.testing.assert_close(classifier(x), expected, atol=1e-5, rtol=1e-5)
        classifier.eval()
        # In eval mode the running statistics (one update from the call above) apply.
        bn = classifier.batch_norm
        assert bn.running_mean is not None and bn.running_var is not None
        expected_eval = (z - bn.running_mean) / torch.sqrt(bn.running_var + 1e-5)
        torch.testing.assert_close(classifier(x), expected_eval, atol=1e-5, rtol=1e-5)

    def test_emotion_vectors_are_weight_columns(self) -> None:
        classifier = EmotionClassifier(input_dim=8, num_classes=6)
        labels = torch.tensor([5, 0, 0, 3])
        vectors = classifier.emotion_vectors(labels)
        assert vectors.shape == (4, 8)
        for row, label in zip(vectors, labels.tolist()):
            torch.testing.assert_close(row, classifier.weight[:, label])

    def test_orthonormality_loss_is_sum_of_absolute_deviations(self) -> None:
        classifier = EmotionClassifier(input_dim=5, num_classes=3)
        weight = torch.arange(15, dtype=torch.float32).reshape(5, 3) / 10
        with torch.no_grad():
            classifier.weight.copy_(weight)
        expected = sum(
            abs(float(i == j) - float(weight[:, i] @ weight[:, j]))
            for i in range(3)
            for j in range(3)
        )
        assert classifier.orthonormality_loss().item() == pytest.approx(expected)
        classifier.orthonormality_loss().backward()
        assert classifier.weight.grad is not None

    @staticmethod
    def running_statistics(classifier: EmotionClassifier) -> dict[str, Tensor]:
        return {
            name: buffer.clone()
            for name, buffer in classifier.batch_norm.named_buffers()
        }

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
    @pytest.mark.parametrize("momentum", [0.1, None])
    def test_non_finite_batch_leaves_running_statistics_unchanged(
        self, bad: float, momentum: float | None
    ) -> None:
        torch.manual_seed(0)
        classifier = EmotionClassifier(input_dim=8, num_classes=4)
        classifier.batch_norm.momentum = momentum
        classifier(torch.randn(12, 8))
        after_finite = self.running_statistics(classifier)
        poisoned = torch.randn(12, 8)
        poisoned[3, 5] = bad
        logits = classifier(poisoned)
        assert not logits.isfinite().all()
        after_poisoned = self.running_statistics(classifier)
        assert after_poisoned.keys() == after_finite.keys()
        for name, buffer in after_finite.items():
            assert torch.equal(after_poisoned[name], buffer), name
        # The next finite batch updates the statistics as if the bad one never came.
        x = torch.randn(12, 8)
        classifier(x)
        reference = EmotionClassifier(input_dim=8, num_classes=4)
        reference.load_state_dict(classifier.state_dict())
        reference.batch_norm.load_state_dict(
            {name: buffer for name, buffer in after_finite.items()}, strict=False
        )
        reference.batch_norm.momentum = momentum
        reference(x)
        for name, buffer in self.running_statistics(reference).items():
            assert torch.equal(classifier.batch_norm.get_buffer(name), buffer), name

    def test_training_matches_plain_batch_norm(self) -> None:
        torch.manual_seed(0)
        classifier = EmotionClassifier(input_dim=8, num_classes=4)
        plain = nn.BatchNorm1d(4)
        optimizer = torch.optim.SGD(classifier.parameters(), lr=0.1)
        for _ in range(5):
            x = torch.randn(16, 8)
            z = x @ classifier.weight.detach()
            expected = plain(z)
            logits = classifier(x)
            torch.testing.assert_close(logits.detach(), expected, rtol=0, atol=0)
            optimizer.zero_grad()
            logits.square().mean().backward()
            assert classifier.weight.grad is not None
            optimizer.step()
            # Copied, not loaded: torch < 1.11 resets num_batches_tracked when a
            # state dict without it is loaded.
            with torch.no_grad():
                plain.weight.copy_(classifier.batch_norm.weight)
                plain.bias.copy_(classifier.batch_norm.bias)
        for name, buffer in plain.named_buffers():
            assert torch.equal(classifier.batch_norm.get_buffer(name), buffer), name
        count = classifier.batch_norm.num_batches_tracked
        assert count is not None and int(count) == 5

    def test_eval_mode_leaves_running_statistics_alone(self) -> None:
        classifier = EmotionClassifier(input_dim=8, num_classes=4)
        classifier(torch.randn(12, 8))
        before = self.running_statistics(classifier)
        classifier.eval()
        classifier(torch.full((3, 8), float("nan")))
        for name, buffer in before.items():
            assert torch.equal(classifier.batch_norm.get_buffer(name), buffer), name

    def test_a_training_batch_of_one_raises_and_an_eval_one_is_classified(
        self,
    ) -> None:
        classifier = EmotionClassifier(input_dim=8, num_classes=4)
        message = (
            r"at least 2 samples per batch in training mode: its BatchNorm1d .* "
            r"got a batch of 1 \(call \.eval\(\)"
        )
        with pytest.raises(ValueError, match=message):
            classifier(torch.randn(1, 8))
        count = classifier.batch_norm.num_batches_tracked
        assert count is not None and int(count) == 0
        assert classifier(torch.randn(2, 8)).shape == (2, 4)
        assert classifier.eval()(torch.randn(1, 8)).shape == (1, 4)

    @pytest.mark.parametrize(
        ("input_dim", "num_classes", "message"),
        [
            (0, 6, "input_dim must be a positive integer, got 0"),
            (8.0, 6, "input_dim must be a positive integer, got 8.0"),
            (8, -1, "num_classes must be a positive integer, got -1"),
            (4, 6, r"num_classes \(6\) must not exceed input_dim \(4\)"),
        ],
    )
    def test_bad_dimensions_raise(
        self, input_dim: int, num_classes: int, message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            EmotionClassifier(input_dim, num_classes)

    @pytest.mark.cuda
    def test_cuda(self) -> None:
        classifier = EmotionClassifier(16).cuda()
        x = torch.randn(4, 16, device="cuda")
        assert classifier(x).device.type == "cuda"
        assert classifier.orthonormality_loss().device.type == "cuda"

    @pytest.mark.cuda
    def test_cuda_non_finite_guard_never_synchronises(self) -> None:
        classifier = EmotionClassifier(16).cuda()
        classifier(torch.randn(4, 16, device="cuda"))
        before = self.running_statistics(classifier)
        poisoned = torch.full((4, 16), float("nan"), device="cuda")
        torch.cuda.set_sync_debug_mode("error")
        try:
            classifier(poisoned)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        for name, buffer in before.items():
            assert torch.equal(classifier.batch_norm.get_buffer(name), buffer), name


class TestBYELPredictionHead:
    def test_is_lightly_byol_prediction_head(self) -> None:
        head = BYELPredictionHead()
        assert isinstance(head, BYOLPredictionHead)
        assert isinstance(head, ProjectionHead)

    def test_same_blocks_as_byol_prediction_head(self) -> None:
        ours = BYELPredictionHead(input_dim=32, hidden_dim=64, output_dim=16)
        theirs = BYOLPredictionHead(input_dim=32, hidden_dim=64, output_dim=16)
        assert [type(m) for m in ours.layers] == [type(m) for m in theirs.layers]
        assert [p.shape for p in ours.layers.parameters()] == [
            p.shape for p in theirs.layers.parameters()
        ]

    def test_defaults_follow_the_paper(self) -> None:
        head = BYELPredictionHead()
        first, last = head.layers[0], head.layers[-1]
        assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
        assert (first.in_features, first.out_features) == (256, 4096)
        assert (last.in_features, last.out_features) == (4096, 256)
        assert head.classifier.weight.shape == (256, 6)

    def test_forward_returns_predictions_and_classifier_takes_them(self) -> None:
        head = BYELPredictionHead(
            input_dim=32, hidden_dim=64, output_dim=16, num_classes=4
        )
        predictions = head(torch.randn(8, 32))
        assert predictions.shape == (8, 16)
        assert head.classifier(predictions).shape == (8, 4)

    def test_classifier_parameters_belong_to_the_head(self) -> None:
        head = BYELPredictionHead(input_dim=8, hidden_dim=16, output_dim=8)
        names = {name for name, _ in head.named_parameters()}
        assert "classifier.weight" in names

    def test_bad_classifier_dimensions_raise(self) -> None:
        with pytest.raises(ValueError, match="must not exceed input_dim"):
            BYELPredictionHead(output_dim=4, num_classes=6)
