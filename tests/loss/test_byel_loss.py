from __future__ import annotations

import copy
import math
from typing import Any

import pytest
import torch
from torch import Tensor

from lightly_byel.loss.byel_loss import BYELLoss, BYELLossComponents
from lightly_byel.models.modules.heads import BYELPredictionHead, EmotionClassifier

DIM = 16
CLASSES = 6
BATCH = 10


def reference_objective(
    p1: Tensor,
    p2: Tensor,
    t1: Tensor,
    t2: Tensor,
    labels: Tensor | None,
    weight: Tensor,
    bn_gamma: Tensor,
    bn_beta: Tensor,
    classification_weight: float = 1.0,
    orthonormality_weight: float = 1.0,
    subtract: bool = True,
    bn_eps: float = 1e-5,
) -> Tensor:
    """The BYEL objective written out from the equations, in plain tensor algebra."""

    def cosine(a: Tensor, b: Tensor) -> Tensor:
        return (a * b).sum(1) / ((a * a).sum(1).sqrt() * (b * b).sum(1).sqrt())

    def batch_norm_train(z: Tensor) -> Tensor:
        mean = z.mean(0)
        biased_var = ((z - mean) ** 2).mean(0)
        return (z - mean) / (biased_var + bn_eps).sqrt() * bn_gamma + bn_beta

    def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
        peak = logits.max(1, keepdim=True).values
        log_sum_exp = peak.squeeze(1) + (logits - peak).exp().sum(1).log()
        picked = logits[torch.arange(len(y)), y]
        return (log_sum_exp - picked).mean()

    t1, t2 = t1.detach(), t2.detach()
    q1, q2 = p1, p2
    ce = torch.zeros((), dtype=torch.float64)
    if labels is not None:
        if subtract:
            e = torch.stack([weight[:, int(c)] for c in labels])
            q1 = p1 - (p1 * p1).sum(1, keepdim=True).sqrt() * e
            q2 = p2 - (p2 * p2).sum(1, keepdim=True).sqrt() * e
        ce = cross_entropy(batch_norm_train(p1 @ weight), labels) + cross_entropy(
            batch_norm_train(p2 @ weight), labels
        )
    byol = (2 - 2 * cosine(q1, t2)).mean() + (2 - 2 * cosine(q2, t1)).mean()
    identity = torch.eye(weight.shape[1], dtype=torch.float64)
    orth = (identity - weight.T @ weight).abs().sum()
    return byol + classification_weight * ce + orthonormality_weight * orth


def make_inputs(
    seed: int = 0,
) -> tuple[list[Tensor], list[Tensor], Tensor, EmotionClassifier]:
    generator = torch.Generator().manual_seed(seed)
    predictions = [
        torch.randn(
            BATCH, DIM, generator=generator, dtype=torch.float64
        ).requires_grad_()
        for _ in range(2)
    ]
    targets = [
        torch.randn(
            BATCH, DIM, generator=generator, dtype=torch.float64
        ).requires_grad_()
        for _ in range(2)
    ]
    labels = torch.randint(0, CLASSES, (BATCH,), generator=generator)
    classifier = EmotionClassifier(DIM, CLASSES).double()
    with torch.no_grad():
        # Away from the orthogonal init so that every term and gradient is non-trivial.
        classifier.weight.copy_(
            torch.randn(DIM, CLASSES, generator=generator, dtype=torch.float64) * 0.5
        )
        classifier.batch_norm.weight.copy_(
            1 + 0.1 * torch.randn(CLASSES, generator=generator, dtype=torch.float64)
        )
        classifier.batch_norm.bias.copy_(
            0.1 * torch.randn(CLASSES, generator=generator, dtype=torch.float64)
        )
    return predictions, targets, labels, classifier


def reference_for(
    predictions: list[Tensor],
    targets: list[Tensor],
    labels: Tensor | None,
    classifier: EmotionClassifier,
    **kwargs: Any,
) -> Tensor:
    (p1, p2), (t1, t2) = predictions, targets
    return reference_objective(
        p1,
        p2,
        t1,
        t2,
        labels,
        classifier.weight,
        classifier.batch_norm.weight,
        classifier.batch_norm.bias,
        **kwargs,
    )


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"subtract": False},
        {"classification_weight": 0.5, "orthonormality_weight": 2.0},
        {"classification_weight": 0.0},
        {"orthonormality_weight": 0.0},
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_float64_reference(config: dict[str, float | bool], seed: int) -> None:
    predictions, targets, labels, classifier = make_inputs(seed)
    loss = BYELLoss(**config)(predictions, targets, labels, classifier)  # type: ignore[arg-type]
    expected = reference_for(predictions, targets, labels, classifier, **config)
    assert loss.dtype == torch.float64
    assert loss.shape == ()
    torch.testing.assert_close(loss, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("config", [{}, {"subtract": False}])
def test_gradients_match_float64_reference(config: dict[str, bool]) -> None:
    predictions, targets, labels, classifier = make_inputs(2)
    leaves = [*predictions, classifier.weight, *classifier.batch_norm.parameters()]
    loss = BYELLoss(**config)(predictions, targets, labels, classifier)
    grads = torch.autograd.grad(loss, leaves)
    expected = reference_for(predictions, targets, labels, classifier, **config)
    expected_grads = torch.autograd.grad(expected, leaves)
    assert len(grads) == len(expected_grads)
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-10)


def test_unlabeled_batch_is_byol_plus_orthonormality() -> None:
    predictions, targets, _, classifier = make_inputs(3)
    criterion = BYELLoss()
    terms = criterion.forward_components(predictions, targets, None, classifier)
    expected = reference_for(predictions, targets, None, classifier)
    torch.testing.assert_close(terms.total, expected, rtol=1e-10, atol=1e-10)
    assert terms.classification.item() == 0.0
    grad_weight = torch.autograd.grad(terms.total, classifier.weight)[0]
    grad_orth = torch.autograd.grad(
        classifier.orthonormality_loss(), classifier.weight
    )[0]
    torch.testing.assert_close(grad_weight, grad_orth)


def test_terms_add_up_and_forward_returns_total() -> None:
    predictions, targets, labels, classifier = make_inputs(4)
    criterion = BYELLoss(classification_weight=0.3, orthonormality_weight=0.7)
    terms = criterion.forward_components(predictions, targets, labels, classifier)
    assert isinstance(terms, BYELLossComponents)
    torch.testing.assert_close(
        terms.total,
        terms.byol + 0.3 * terms.classification + 0.7 * terms.orthonormality,
    )
    torch.testing.assert_close(
        criterion(predictions, targets, labels, classifier), terms.total
    )
    assert 0.0 <= terms.byol.item() <= 8.0
    assert terms.classification.item() > 0.0
    assert terms.orthonormality.item() > 0.0


def test_symmetric_in_the_views() -> None:
    predictions, targets, labels, classifier = make_inputs(5)
    criterion = BYELLoss()
    forward = criterion(predictions, targets, labels, classifier)
    swapped = criterion(predictions[::-1], targets[::-1], labels, classifier)
    torch.testing.assert_close(forward, swapped, rtol=1e-12, atol=1e-12)


def test_byol_term_is_zero_when_predictions_hit_shifted_targets() -> None:
    # The online network is asked to predict "target + ||p|| * emotion vector":
    # when p - ||p|| e points along the other view's target, the BYOL term is 0.
    predictions, _, labels, classifier = make_inputs(6)
    p = predictions[0].detach()
    e = classifier.emotion_vectors(labels).detach()
    t = 2.5 * (p - p.norm(dim=1, keepdim=True) * e)
    terms = BYELLoss().forward_components([p, p], [t, t], labels, classifier)
    assert terms.byol.abs().item() < 1e-12
    plain = BYELLoss(subtract=False)
    unsubtracted = plain.forward_components([p, p], [t, t], labels, classifier)
    assert unsubtracted.byol.item() > 0.1


def test_no_gradient_reaches_targets() -> None:
    predictions, targets, labels, classifier = make_inputs(7)
    BYELLoss()(predictions, targets, labels, classifier).backward()
    assert all(target.grad is None for target in targets)
    assert all(prediction.grad is not None for prediction in predictions)


def test_subtraction_sends_gradient_to_emotion_vectors() -> None:
    # With cross-entropy and orthonormality off, W still learns through the
    # emotion vector subtraction, and only the columns of the labels present.
    predictions, targets, _, classifier = make_inputs(8)
    labels = torch.tensor([0, 2] * (BATCH // 2))
    criterion = BYELLoss(classification_weight=0.0, orthonormality_weight=0.0)
    criterion(predictions, targets, labels, classifier).backward()
    grad = classifier.weight.grad
    assert grad is not None
    assert grad[:, [0, 2]].abs().sum() > 0
    assert grad[:, [1, 3, 4, 5]].abs().sum() == 0
    without = BYELLoss(
        classification_weight=0.0, orthonormality_weight=0.0, subtract=False
    )
    classifier.weight.grad = None
    without(predictions, targets, labels, classifier).backward()
    assert classifier.weight.grad is None


def test_gradient_flows_through_prediction_head() -> None:
    torch.manual_seed(0)
    head = BYELPredictionHead(input_dim=8, hidden_dim=32, output_dim=DIM)
    projections = [torch.randn(BATCH, 8), torch.randn(BATCH, 8)]
    predictions = [head(z) for z in projections]
    targets = [torch.randn(BATCH, DIM), torch.randn(BATCH, DIM)]
    labels = torch.randint(0, CLASSES, (BATCH,))
    BYELLoss()(predictions, targets, labels, head.classifier).backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, name


def test_half_precision_predictions_give_float32_loss() -> None:
    predictions, targets, labels, classifier = make_inputs(9)
    classifier = classifier.float()
    half = [p.detach().to(torch.bfloat16) for p in predictions]
    half_targets = [t.detach().to(torch.bfloat16) for t in targets]
    loss = BYELLoss()(half, half_targets, labels, classifier)
    assert loss.dtype == torch.float32
    assert math.isfinite(loss.item())


@pytest.mark.parametrize("config", [{}, {"subtract": False}])
def test_float64_predictions_with_a_float32_classifier(config: dict[str, bool]) -> None:
    predictions, targets, labels, classifier = make_inputs(13)
    expected = BYELLoss(**config)(predictions, targets, labels, classifier)
    single = copy.deepcopy(classifier).float()
    loss = BYELLoss(**config)(predictions, targets, labels, single)
    assert loss.dtype == torch.float64
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)
    loss.backward()
    assert single.weight.grad is not None and single.weight.grad.dtype == torch.float32
    assert all(
        p.grad is not None and p.grad.dtype == torch.float64 for p in predictions
    )


def test_a_labelled_batch_of_one_needs_the_classifier_in_eval_mode() -> None:
    predictions, targets, labels, classifier = make_inputs(14)
    one = [p[:1] for p in predictions], [t[:1] for t in targets]
    criterion = BYELLoss()
    with pytest.raises(ValueError, match="at least 2 samples per batch in training"):
        criterion(*one, labels[:1], classifier)
    # Without the cross-entropy the classifier's batch norm does not run.
    assert criterion(*one, None, classifier).isfinite()
    assert BYELLoss(classification_weight=0)(*one, labels[:1], classifier).isfinite()
    assert criterion(*one, labels[:1], classifier.eval()).isfinite()


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.tensor([0, 1, 2, 3, 4, 5, 6, 0, 1, 2]), r"\[0, 6\).*from 0 to 6"),
        (torch.tensor([0, 1, 2, 3, 4, 5, -1, 0, 1, 2]), r"\[0, 6\).*from -1 to 5"),
        (torch.zeros(BATCH), "integer tensor.*float32"),
        (torch.zeros(BATCH, dtype=torch.bool), "integer tensor.*bool"),
        (torch.zeros(BATCH + 1, dtype=torch.long), r"\(10,\).*got \(11,\)"),
        (torch.zeros(BATCH, 1, dtype=torch.long), r"\(10,\).*got \(10, 1\)"),
        ([0] * BATCH, "tensor of class indices.*list"),
    ],
)
def test_bad_labels_raise(labels: Tensor, message: str) -> None:
    predictions, targets, _, classifier = make_inputs()
    with pytest.raises(ValueError, match=message):
        BYELLoss()(predictions, targets, labels, classifier)


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
)
@pytest.mark.parametrize("config", [{}, {"subtract": False}])
def test_any_integer_label_dtype_gives_the_int64_loss(
    dtype: torch.dtype, config: dict[str, bool]
) -> None:
    predictions, targets, labels, classifier = make_inputs(12)
    criterion = BYELLoss(**config)
    expected = criterion(predictions, targets, labels, classifier)
    expected_grads = torch.autograd.grad(expected, [*predictions, classifier.weight])
    loss = criterion(predictions, targets, labels.to(dtype), classifier)
    grads = torch.autograd.grad(loss, [*predictions, classifier.weight])
    assert torch.equal(loss, expected)
    assert len(grads) == len(expected_grads)
    for grad, expected_grad in zip(grads, expected_grads):
        assert torch.equal(grad, expected_grad)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int32])
def test_out_of_range_labels_of_small_dtypes_raise(dtype: torch.dtype) -> None:
    predictions, targets, labels, classifier = make_inputs()
    labels = labels.clone()
    labels[3] = CLASSES
    with pytest.raises(ValueError, match=r"\[0, 6\).*to 6"):
        BYELLoss()(predictions, targets, labels.to(dtype), classifier)


def test_labels_on_another_device_raise() -> None:
    predictions, targets, labels, classifier = make_inputs()
    with pytest.raises(ValueError, match="device cpu, got labels on meta"):
        BYELLoss()(predictions, targets, labels.to("meta"), classifier)


def test_bad_views_raise() -> None:
    predictions, targets, labels, classifier = make_inputs()
    criterion = BYELLoss()
    with pytest.raises(ValueError, match="exactly two views: predictions has 3"):
        criterion([*predictions, predictions[0]], targets, labels, classifier)
    with pytest.raises(ValueError, match="exactly two views: targets has 1"):
        criterion(predictions, targets[:1], labels, classifier)
    with pytest.raises(ValueError, match=r"sequence of the two views.*one tensor"):
        criterion(predictions[0], targets, labels, classifier)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"same shape.*targets"):
        criterion(predictions, [targets[0], targets[1][:, :8]], labels, classifier)
    with pytest.raises(ValueError, match="same shape"):
        criterion(predictions, [t[:5] for t in targets], labels, classifier)
    with pytest.raises(ValueError, match="same shape"):
        flat = [p[:, 0] for p in predictions]
        criterion(flat, [t[:, 0] for t in targets], labels, classifier)
    with pytest.raises(ValueError, match="dimension 16 but the classifier takes 32"):
        criterion(predictions, targets, labels, EmotionClassifier(32).double())
    with pytest.raises(ValueError, match="empty batch"):
        empty = [torch.zeros(0, DIM)] * 2
        criterion(empty, empty, None, classifier)
    with pytest.raises(ValueError, match="must hold tensors"):
        criterion([1.0, 2.0], targets, labels, classifier)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classification_weight": -1.0}, "classification_weight.*-1.0"),
        ({"orthonormality_weight": float("nan")}, "orthonormality_weight.*nan"),
        ({"classification_weight": True}, "classification_weight.*True"),
        ({"orthonormality_weight": "1"}, "orthonormality_weight.*'1'"),
        ({"subtract": 1}, "subtract must be a bool, got 1"),
    ],
)
def test_bad_configuration_raises(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BYELLoss(**kwargs)  # type: ignore[arg-type]


@pytest.mark.cuda
def test_cuda_matches_cpu() -> None:
    predictions, targets, labels, classifier = make_inputs(10)
    cpu = BYELLoss()(predictions, targets, labels, classifier)
    cuda = BYELLoss()(
        [p.cuda() for p in predictions],
        [t.cuda() for t in targets],
        labels.cuda(),
        classifier.cuda(),
    )
    assert cuda.device.type == "cuda"
    torch.testing.assert_close(cuda.cpu(), cpu, rtol=1e-9, atol=1e-9)


@pytest.mark.cuda
def test_cuda_bad_label_raises_before_any_kernel_assert() -> None:
    predictions, targets, labels, classifier = make_inputs(11)
    labels = labels.clone()
    labels[0] = CLASSES
    with pytest.raises(ValueError, match=r"from .* to 6"):
        BYELLoss()(
            [p.cuda() for p in predictions],
            [t.cuda() for t in targets],
            labels.cuda(),
            classifier.cuda(),
        )


@pytest.mark.cuda
def test_cuda_labels_on_cpu_raise() -> None:
    predictions, targets, labels, classifier = make_inputs(12)
    with pytest.raises(ValueError, match="device cuda:0, got labels on cpu"):
        BYELLoss()(
            [p.cuda() for p in predictions],
            [t.cuda() for t in targets],
            labels,
            classifier.cuda(),
        )
