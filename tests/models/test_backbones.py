import sys
from pathlib import Path

import pytest
import torch
import torchvision

from lightly_byel.models.backbones import build_backbone


@pytest.mark.parametrize(
    ("name", "num_ftrs"),
    [
        ("resnet18", 512),
        ("mobilenet_v3_small", 1024),
        ("timm:resnet18", 512),
        ("resnet10-w32", 256),
        ("resnet18-w8", 64),
    ],
)
def test_build_backbone_returns_flat_features(name: str, num_ftrs: int) -> None:
    backbone, features = build_backbone(name, pretrained=None)
    assert features == num_ftrs
    assert backbone.eval()(torch.randn(2, 3, 32, 32)).shape == (2, num_ftrs)


def test_small_resnets_keep_the_face_larger_for_longer(tmp_path: Path) -> None:
    small, _ = build_backbone("resnet10-w32")
    imagenet, _ = build_backbone("resnet18")
    images = torch.randn(1, 3, 48, 48)
    # One stride less than ImageNet's stem: 24 px after the stem, not 12.
    assert small[:3](images).shape[-1] == 24
    stem = torch.nn.Sequential(
        imagenet.conv1, imagenet.bn1, imagenet.relu, imagenet.maxpool
    )
    assert stem(images).shape[-1] == 12
    assert sum(p.numel() for p in small.parameters()) < 0.15 * sum(
        p.numel() for p in imagenet.parameters()
    )
    # Checkpoints of the encoder load back through --pretrained.
    torch.save(small.state_dict(), tmp_path / "small.pt")
    loaded, _ = build_backbone("resnet10-w32", pretrained=str(tmp_path / "small.pt"))
    assert torch.equal(loaded.eval()(images), small.eval()(images))


@pytest.mark.parametrize("name", ["resnet34-w16", "resnet10-w0", "resnet10-wide"])
def test_other_small_resnet_names_are_not_small_resnets(name: str) -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone(name)


def test_build_backbone_drops_the_classifier() -> None:
    backbone, _ = build_backbone("resnet18", pretrained=None)
    assert isinstance(backbone.fc, torch.nn.Identity)
    assert not any(key.startswith("fc.") for key in backbone.state_dict())


@pytest.mark.parametrize("name", ["resnet1000", "timm:not_a_model"])
def test_unknown_backbone_raises(name: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        build_backbone(name, pretrained=None)


def test_the_unknown_backbone_error_lists_the_narrow_resnets() -> None:
    with pytest.raises(
        ValueError, match=r"'resnet10-wW' or 'resnet18-wW'.*resnet10-w16"
    ):
        build_backbone("resnet10w16")


@pytest.mark.parametrize("name", ["resnet18", "timm:resnet18", "resnet10-w16"])
def test_pretrained_true_is_refused_and_false_means_random_weights(name: str) -> None:
    # timm's and torchvision's habit, build_backbone(name, True), asks for a
    # download: refused with what to pass instead, never a TypeError.
    with pytest.raises(ValueError, match="nothing is downloaded: pass the path"):
        build_backbone(name, True)
    if not name.startswith("timm:"):
        backbone, num_ftrs = build_backbone(name, False)
        assert backbone(torch.randn(2, 3, 32, 32)).shape == (2, num_ftrs)


def test_unsupported_torchvision_family_raises() -> None:
    with pytest.raises(ValueError, match=r"supported families are .*resnet.*timm:"):
        build_backbone("vit_b_16", pretrained=None)


@pytest.mark.parametrize(
    "pretrained", ["imagenet", "IMAGENET1K_V1", "https://example.com/resnet18.pth"]
)
def test_download_requests_are_refused(pretrained: str) -> None:
    with pytest.raises(ValueError, match="nothing is downloaded"):
        build_backbone("resnet18", pretrained=pretrained)


def test_missing_checkpoint_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        build_backbone("resnet18", pretrained=str(tmp_path / "missing.pt"))


def _features(backbone: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return backbone.eval()(images)


def test_loading_a_state_dict_reproduces_the_features(tmp_path: Path) -> None:
    source, _ = build_backbone("resnet18", pretrained=None)
    path = tmp_path / "backbone.pt"
    torch.save(source.state_dict(), path)
    loaded, _ = build_backbone("resnet18", pretrained=str(path))
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(_features(loaded, images), _features(source, images))


def test_loads_full_torchvision_and_lightning_layouts(tmp_path: Path) -> None:
    full = torchvision.models.resnet18()
    torch.save({"model": full.state_dict()}, tmp_path / "full.pt")
    loaded, _ = build_backbone("resnet18", pretrained=str(tmp_path / "full.pt"))
    torch.testing.assert_close(loaded.conv1.weight, full.conv1.weight)

    lightning = {
        "state_dict": {
            **{f"backbone.{k}": v for k, v in full.state_dict().items()},
            "projection_head.weight": torch.zeros(1),
        }
    }
    torch.save(lightning, tmp_path / "lightning.ckpt")
    loaded, _ = build_backbone("resnet18", pretrained=str(tmp_path / "lightning.ckpt"))
    torch.testing.assert_close(loaded.conv1.weight, full.conv1.weight)


def test_mismatched_state_dict_raises(tmp_path: Path) -> None:
    source, _ = build_backbone("resnet18", pretrained=None)
    path = tmp_path / "resnet18.pt"
    torch.save(source.state_dict(), path)
    with pytest.raises(ValueError, match=r"does not match.*missing keys.*unexpected"):
        build_backbone("resnet34", pretrained=str(path))


def test_timm_models_without_timm_name_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ImportError, match=r"'timm:resnet18' needs timm: pip install"):
        build_backbone("timm:resnet18")
