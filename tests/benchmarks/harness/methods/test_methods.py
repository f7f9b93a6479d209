import copy
from dataclasses import replace
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from harness.config.settings import ModelSettings, PretrainSettings
from harness.methods import (
    BYEL,
    METHODS,
    MomentumMethod,
    PretrainMethod,
    Supervised,
)
from harness.methods.base import make_optimizer
from harness.pipelines.cache.pipeline import training_augmentation
from harness.pipelines.files import training_transform
from lightly.utils import lars as lightly_lars
from torch import Tensor, nn
from torch.utils.data import DataLoader

from lightly_byel.utils import LARS

MODEL = ModelSettings(backbone="resnet18", input_size=32, hidden_dim=32, output_dim=16)
PRETRAIN = PretrainSettings(epochs=1, batch_size_per_device=4, lr=0.1)
BATCH = 4


def _loader(two_views: bool) -> DataLoader[tuple[object, Tensor]]:
    generator = torch.Generator().manual_seed(0)
    samples: list[tuple[object, Tensor]] = []
    for i in range(2 * BATCH):
        image = torch.randn(3, 32, 32, generator=generator)
        views = [image, image.flip(-1)] if two_views else image
        samples.append((views, torch.tensor(i % MODEL.num_classes)))
    return DataLoader(samples, batch_size=BATCH)  # type: ignore[arg-type]


def _fit(module: PretrainMethod, two_views: bool = True) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, _loader(two_views))
    return trainer


def test_registry_holds_the_methods_and_ablations() -> None:
    assert set(METHODS) == {
        "byel",
        "byol",
        "simclr",
        "supervised",
        "byel-no-subtraction",
        "byel-no-ce",
        "byel-no-orth",
        "random-init",
    }
    assert {name for name, spec in METHODS.items() if not spec.uses_labels} == {
        "byol",
        "simclr",
        "random-init",
    }
    assert [name for name, spec in METHODS.items() if not spec.pretrains] == [
        "random-init"
    ]


TRAINED = sorted(name for name, spec in METHODS.items() if spec.pretrains)


@pytest.mark.parametrize("name", TRAINED)
def test_every_method_trains_two_steps(name: str) -> None:
    spec = METHODS[name]
    module = spec.model(MODEL, PRETRAIN)
    assert isinstance(module, PretrainMethod)
    two_views = name != "supervised"
    views = training_transform(spec, MODEL)(torch.rand(3, 40, 40))
    if two_views:
        assert [tuple(v.shape) for v in views] == [(3, 32, 32)] * 2
    else:
        assert isinstance(views, Tensor) and views.shape == (3, 32, 32)

    trainer = _fit(module, two_views)

    assert trainer.global_step == 2
    assert torch.isfinite(trainer.callback_metrics["train_loss"])
    if name.startswith("byel"):
        assert {"train_byol", "train_ce", "train_orth"} <= set(trainer.callback_metrics)
    assert module(torch.randn(2, 3, 32, 32)).shape == (2, module.num_ftrs)


def test_the_random_init_control_is_the_shared_encoder_never_trained() -> None:
    spec = METHODS["random-init"]
    torch.manual_seed(0)
    control = spec.build(MODEL, PRETRAIN)
    torch.manual_seed(0)
    supervised = METHODS["supervised"].build(MODEL, PRETRAIN)
    # The same encoder with the same initial weights as a trained method starts from.
    control_weights = control.backbone.state_dict()
    for name, tensor in supervised.backbone.state_dict().items():
        assert torch.equal(control_weights[name], tensor), name
    with pytest.raises(RuntimeError, match="never trained"):
        control.training_step((torch.randn(2, 3, 32, 32), torch.zeros(2)), 0)
    with pytest.raises(ValueError, match="never trained"):
        training_transform(spec, MODEL)
    with pytest.raises(ValueError, match="never trained"):
        training_augmentation(spec, MODEL)


@pytest.mark.parametrize(
    ("name", "subtract", "classification_weight", "orthonormality_weight"),
    [
        ("byel", True, 1.0, 1.0),
        ("byel-no-subtraction", False, 1.0, 1.0),
        ("byel-no-ce", True, 0.0, 1.0),
        ("byel-no-orth", True, 1.0, 0.0),
    ],
)
def test_byel_ablations_reach_the_loss(
    name: str,
    subtract: bool,
    classification_weight: float,
    orthonormality_weight: float,
) -> None:
    module = METHODS[name].model(MODEL, PRETRAIN)
    assert isinstance(module, BYEL)
    assert module.criterion.subtract is subtract
    assert module.criterion.classification_weight == classification_weight
    assert module.criterion.orthonormality_weight == orthonormality_weight
    assert module.hparams["subtract"] is subtract


@pytest.mark.parametrize("name", ["byol", "byel"])
def test_momentum_networks_follow_without_gradients(name: str) -> None:
    module = METHODS[name].model(MODEL, PRETRAIN)
    assert isinstance(module, MomentumMethod)
    target = module.backbone_momentum
    before = copy.deepcopy(target.state_dict())
    online_before = copy.deepcopy(module.backbone.state_dict())
    _fit(module)
    changed = [
        key
        for key, value in target.state_dict().items()
        if value.is_floating_point() and not torch.equal(value, before[key])
    ]
    assert "conv1.weight" in changed
    assert all(not p.requires_grad and p.grad is None for p in target.parameters())
    assert not torch.equal(target.conv1.weight, module.backbone.conv1.weight)
    assert not torch.equal(module.backbone.conv1.weight, online_before["conv1.weight"])


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [("lars", LARS), ("sgd", torch.optim.SGD), ("adamw", torch.optim.AdamW)],
)
def test_optimizer_choice_lr_scaling_and_weight_decay(
    optimizer: str, expected: type[torch.optim.Optimizer]
) -> None:
    pretrain = PretrainSettings(
        batch_size_per_device=64, optimizer=optimizer, lr=0.2, weight_decay=1e-4
    )
    module = METHODS["supervised"].model(MODEL, pretrain)
    trainer = _fit(module, two_views=False)

    (opt,) = trainer.optimizers
    assert type(opt) is expected
    decay, no_decay = opt.param_groups
    assert decay["initial_lr"] == pytest.approx(0.2 * 64 / 256)
    assert decay["weight_decay"] == 1e-4
    assert no_decay["weight_decay"] == 0.0
    norm_or_bias = {
        id(param)
        for layer in module.modules()
        for name, param in layer.named_parameters(recurse=False)
        if isinstance(layer, torch.nn.BatchNorm2d) or name == "bias"
    }
    assert {id(p) for p in no_decay["params"]} == norm_or_bias
    assert len(decay["params"]) + len(no_decay["params"]) == len(
        list(module.parameters())
    )
    assert trainer.lr_scheduler_configs[0].interval == "step"


def test_momentum_copies_are_not_optimised() -> None:
    module = METHODS["byol"].model(MODEL, PRETRAIN)
    trainer = _fit(module)
    optimised = {
        id(p) for group in trainer.optimizers[0].param_groups for p in group["params"]
    }
    assert not optimised & {id(p) for p in module.backbone_momentum.parameters()}
    assert {id(p) for p in module.backbone.parameters()} <= optimised


def test_checkpoint_reloads_an_ablation_and_its_backbone(tmp_path: Path) -> None:
    module = METHODS["byel-no-ce"].model(MODEL, PRETRAIN)
    trainer = _fit(module)
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)

    reloaded = BYEL.load_from_checkpoint(path)
    assert reloaded.criterion.classification_weight == 0.0
    assert reloaded.model_settings == MODEL
    assert reloaded.pretrain_settings == PRETRAIN
    images = torch.randn(2, 3, 32, 32)
    module.eval()
    reloaded.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(images), module(images))

    from_checkpoint = METHODS["byol"].model(
        ModelSettings(**{**vars(MODEL), "pretrained": str(path)}), PRETRAIN
    )
    with torch.no_grad():
        torch.testing.assert_close(from_checkpoint.eval()(images), module(images))


def test_supervised_class_weights() -> None:
    labels = [0, 0, 0, 1, 2, 3, 4, 5]
    module = METHODS["supervised"].build(MODEL, PRETRAIN, labels)
    assert isinstance(module, Supervised)
    assert module.class_weights is not None
    torch.testing.assert_close(
        module.class_weights, torch.tensor([8 / 18, *[8 / 6] * 5])
    )
    assert module.hparams["class_weights"] == module.class_weights.tolist()
    assert METHODS["supervised"].build(MODEL, PRETRAIN).class_weights is None
    with pytest.raises(ValueError, match="class_weights must hold 6"):
        Supervised(MODEL, PRETRAIN, class_weights=torch.ones(3))


def test_channels_last_backbone() -> None:
    model = ModelSettings(**{**vars(MODEL), "channels_last": True})
    module = METHODS["simclr"].model(model, PRETRAIN)
    assert module.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert module(torch.randn(2, 3, 32, 32)).shape == (2, 512)


def test_channels_last_gives_the_same_features() -> None:
    images = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    plain = METHODS["byol"].model(MODEL, PRETRAIN).eval()
    torch.manual_seed(0)
    model = ModelSettings(**{**vars(MODEL), "channels_last": True})
    fast = METHODS["byol"].model(model, PRETRAIN).eval()
    with torch.no_grad():
        torch.testing.assert_close(fast(images), plain(images), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(
            fast.forward_momentum(images),
            plain.forward_momentum(images),
            rtol=1e-4,
            atol=1e-4,
        )


def test_bf16_autocast_step_matches_fp32_on_cpu() -> None:
    torch.manual_seed(0)
    module = METHODS["byel"].model(MODEL, PRETRAIN)
    views, labels = next(iter(_loader(two_views=True)))

    def loss(autocast: bool) -> Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            predictions = [module.forward_online(view) for view in views]
            targets = [module.forward_momentum(view) for view in views]
            total: Tensor = module.criterion(
                predictions, targets, labels, module.prediction_head.classifier
            )
        return total

    exact, low = loss(False), loss(True)
    assert low.dtype == torch.float32 and torch.isfinite(low)
    assert abs(low.item() - exact.item()) < 0.05 * abs(exact.item())
    low.backward()
    grads = [p.grad for p in module.backbone.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", ["byol", "byel"])
def test_targets_move_by_the_scheduled_momentum_after_each_step(name: str) -> None:
    # A constant momentum of 0.75: after each of the 2 steps the target is
    # 0.75 * target + 0.25 * online, as Lightly's update_momentum computes it.
    settings = replace(PRETRAIN, momentum_start=0.75, momentum_end=0.75, lr=0.0)
    module = METHODS[name].model(MODEL, settings)
    assert isinstance(module, MomentumMethod)
    online = module.projection_head.layers[0].weight.detach().clone()
    target = module.projection_head_momentum.layers[0].weight
    with torch.no_grad():
        target.add_(1.0)  # apart from the online weights, which lr 0 keeps
    expected = 0.75**2 * target.detach().clone() + (1 - 0.75**2) * online
    _fit(module)
    torch.testing.assert_close(target, expected)


@pytest.mark.parametrize("optimizer", ["lars", "sgd", "adamw"])
def test_optimizer_implementations_take_the_same_steps(optimizer: str) -> None:
    def train(impl: str) -> tuple[type[torch.optim.Optimizer], list[Tensor]]:
        torch.manual_seed(0)
        model = _small_model()
        groups = [
            {"params": [model[0].weight, model[3].weight]},
            {"params": [model[0].bias, *model[2].parameters()], "weight_decay": 0.0},
        ]
        settings = PretrainSettings(
            optimizer=optimizer,  # type: ignore[arg-type]
            optimizer_impl=impl,  # type: ignore[arg-type]
            weight_decay=0.01,
        )
        opt = make_optimizer(settings, groups, lr=0.1)
        data = torch.randn(8, 5, generator=torch.Generator().manual_seed(1))
        for _ in range(3):
            opt.zero_grad()
            model(data).pow(2).mean().backward()
            opt.step()
        return type(opt), [p.detach().clone() for p in model.parameters()]

    implementations = ["for-loop", "foreach", "auto"]
    if optimizer != "lars":
        implementations.append("fused")
    results = {impl: train(impl) for impl in implementations}
    reference_type, reference = results["for-loop"]
    if optimizer == "lars":
        assert reference_type is lightly_lars.LARS
        assert results["foreach"][0] is LARS and results["auto"][0] is LARS
    for impl, (_, params) in results.items():
        for got, expected in zip(params, reference, strict=True):
            torch.testing.assert_close(got, expected, msg=impl)
        assert not torch.equal(params[0], train_untouched()[0]), impl


def train_untouched() -> list[Tensor]:
    torch.manual_seed(0)
    return [p.detach().clone() for p in _small_model().parameters()]


def _small_model() -> nn.Sequential:
    # No bias right before the batch norm: its gradient would be rounding noise,
    # which Adam scales up differently in each implementation.
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_fused_lars_and_unknown_implementations_are_refused() -> None:
    params = [{"params": [nn.Parameter(torch.zeros(2))]}]
    with pytest.raises(ValueError, match="not available for LARS"):
        make_optimizer(PretrainSettings(optimizer_impl="fused"), params, 0.1)
    with pytest.raises(ValueError, match="optimizer_impl must be"):
        make_optimizer(
            PretrainSettings(optimizer_impl="magic"),  # type: ignore[arg-type]
            params,
            0.1,
        )


def test_compile_wraps_the_backbones_outside_the_module_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled: list[nn.Module] = []

    def fake_compile(module: nn.Module) -> nn.Module:
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    model = ModelSettings(**{**vars(MODEL), "compile": True})
    module = METHODS["byol"].model(model, PRETRAIN)
    keys = set(module.state_dict())
    _fit(module)
    assert compiled == [module.backbone, module.backbone_momentum]
    assert set(module.state_dict()) == keys  # nothing compiled is saved


def test_compiled_backbone_computes_the_same_features() -> None:
    torch.manual_seed(0)
    plain = METHODS["simclr"].model(MODEL, PRETRAIN).eval()
    model = ModelSettings(**{**vars(MODEL), "compile": True})
    fast = METHODS["simclr"].model(model, PRETRAIN).eval()
    fast.load_state_dict(plain.state_dict())
    images = torch.randn(2, 3, 32, 32)
    original = torch.compile

    def eager_compile(module: nn.Module) -> object:
        # The graph capture and functionalisation of torch.compile, without
        # generating C++ (the inductor backend), which takes minutes on CPU.
        return original(module, backend="aot_eager")

    with pytest.MonkeyPatch.context() as patch, torch.no_grad():
        patch.setattr(torch, "compile", eager_compile)
        torch.testing.assert_close(fast(images), plain(images))
