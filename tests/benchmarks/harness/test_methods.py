import copy
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from harness.methods import (
    BYEL,
    METHODS,
    MomentumMethod,
    PretrainMethod,
    Supervised,
)
from harness.settings import ModelSettings, PretrainSettings
from lightly.utils.lars import LARS
from torch import Tensor
from torch.utils.data import DataLoader

MODEL = ModelSettings(backbone="resnet18", input_size=32, hidden_dim=32, out_dim=16)
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
    }
    assert {name for name, spec in METHODS.items() if not spec.uses_labels} == {
        "byol",
        "simclr",
    }


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_trains_two_steps(name: str) -> None:
    spec = METHODS[name]
    module = spec.model(MODEL, PRETRAIN)
    assert isinstance(module, PretrainMethod)
    two_views = name != "supervised"
    views = spec.transform(MODEL)(torch.rand(3, 40, 40))
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
    [("lars", LARS), ("sgd", torch.optim.SGD), ("adam", torch.optim.AdamW)],
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
