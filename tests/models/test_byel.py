import pytest
import torch
from torch import Tensor, nn

from lightly_byel import BYEL, BYELLossComponents


def tiny_backbone() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
    )


def tiny_model(**kwargs: float | bool) -> BYEL:
    torch.manual_seed(0)
    return BYEL(tiny_backbone(), num_ftrs=8, hidden_dim=32, out_dim=16, **kwargs)  # type: ignore[arg-type]


def batch(seed: int = 0) -> tuple[list[Tensor], Tensor]:
    generator = torch.Generator().manual_seed(seed)
    views = [torch.rand(16, 3, 12, 12, generator=generator) for _ in range(2)]
    labels = torch.randint(0, 6, (16,), generator=generator)
    return views, labels


def test_forward_shapes() -> None:
    model = tiny_model()
    views, _ = batch()
    assert model(views[0]).shape == (16, 16)
    assert model.forward_momentum(views[0]).shape == (16, 16)
    assert not model.forward_momentum(views[0]).requires_grad


def test_constructor_runs_nothing_through_the_backbone() -> None:
    class Exploding(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            raise AssertionError("the constructor must not run the backbone")

    BYEL(Exploding(), num_ftrs=8, hidden_dim=16, out_dim=8)


@pytest.mark.parametrize("labelled", [True, False])
def test_training_decreases_the_loss(labelled: bool) -> None:
    model = tiny_model()
    # A small step: the L1 orthonormality term has a non-zero subgradient at its
    # minimum, so large plain-SGD steps make it oscillate.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    views, labels = batch()
    losses = []
    for _ in range(25):
        model.update_momentum(0.99)
        loss = model.loss(views, labels if labelled else None)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-3:]) < 0.7 * sum(losses[:3])


def test_momentum_networks_get_no_gradient_and_follow_update() -> None:
    model = tiny_model()
    momentum_parameters = [
        *model.backbone_momentum.parameters(),
        *model.projection_head_momentum.parameters(),
    ]
    assert all(not p.requires_grad for p in momentum_parameters)
    views, labels = batch()
    model.loss(views, labels).backward()
    assert all(p.grad is None for p in momentum_parameters)
    assert all(p.grad is not None for p in model.backbone.parameters())
    assert model.classifier.weight.grad is not None

    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    before = [p.clone() for p in model.backbone_momentum.parameters()]
    model.update_momentum(1.0)
    for old, new in zip(before, model.backbone_momentum.parameters(), strict=True):
        torch.testing.assert_close(old, new)
    model.update_momentum(0.75)
    online = list(model.backbone.parameters())
    for old, new, o in zip(
        before, model.backbone_momentum.parameters(), online, strict=True
    ):
        torch.testing.assert_close(new, 0.75 * old + 0.25 * o)
    model.update_momentum(0.0)
    for new, o in zip(model.backbone_momentum.parameters(), online, strict=True):
        torch.testing.assert_close(new, o)


def test_loss_components_use_the_configured_loss() -> None:
    model = tiny_model(classification_weight=0.0, subtract=False)
    views, labels = batch()
    terms = model.loss_components(views, labels)
    assert isinstance(terms, BYELLossComponents)
    assert terms.classification.item() == 0.0
    torch.testing.assert_close(terms.total, terms.byol + terms.orthonormality)


def test_bad_input_raises() -> None:
    model = tiny_model()
    views, labels = batch()
    with pytest.raises(ValueError, match="exactly two views, got 3"):
        model.loss([*views, views[0]], labels)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 6\)"):
        model.loss(views, labels + 6)
    with pytest.raises(ValueError, match=r"momentum m must lie in \[0, 1\], got 1.5"):
        model.update_momentum(1.5)
    with pytest.raises(ValueError, match="classification_weight"):
        tiny_model(classification_weight=-1.0)


@pytest.mark.cuda
def test_cuda_training_step_under_bf16_autocast() -> None:
    model = tiny_model().cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    views, labels = batch()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = model.loss([v.cuda() for v in views], labels.cuda())
    assert loss.dtype == torch.float32
    loss.backward()
    optimizer.step()
    model.update_momentum(0.99)
    assert torch.isfinite(loss)
