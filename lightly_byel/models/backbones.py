"""Encoders by name: torchvision or timm models without their classifier.

Nothing here downloads weights: models start from random weights or from a local
checkpoint.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import Tensor, nn

from lightly_byel.models.small_resnet import parse_small_resnet, small_resnet
from lightly_byel.utils.safe_load import safe_load

# torchvision families whose classifier is the ``fc`` attribute.
_FC_FAMILIES = ("resnet", "resnext", "wide_resnet", "regnet")
# torchvision families whose classifier is the ``classifier`` Sequential.
_CLASSIFIER_FAMILIES = ("efficientnet", "mobilenet", "convnext")
_TIMM_PREFIX = "timm:"


def build_backbone(
    name: str, pretrained: str | bool | None = None
) -> tuple[nn.Module, int]:
    """Builds an encoder that maps images to flat features.

    Args:
        name: A torchvision classification model (families ``resnet``, ``resnext``,
            ``wide_resnet``, ``regnet``, ``efficientnet``, ``mobilenet``,
            ``convnext``), e.g. ``resnet50``; ``timm:NAME`` for any timm model; or
            a narrow ResNet for small faces, ``resnet10-wW`` or ``resnet18-wW``
            (see :mod:`lightly_byel.models.small_resnet`).
        pretrained: A local checkpoint to load into the encoder, or ``None`` for
            random weights. It may hold the encoder's state dict, a Lightning
            checkpoint (``"state_dict"``, whose ``backbone.`` entries are taken when
            present) or a dict with a ``"model"`` state dict. Keys of the removed
            classifier are ignored, so a full torchvision or timm state dict loads.
            ``False`` is ``None``; ``True`` (timm's and torchvision's habit) is
            refused, since nothing is downloaded.

    Returns:
        The encoder, mapping images ``(batch, 3, H, W)`` to features
        ``(batch, num_ftrs)``, and ``num_ftrs``.

    Raises:
        ValueError: If the model is unknown or its family unsupported, if
            ``pretrained`` is ``True`` or names weights to download instead of a
            local file, or if
            the checkpoint is unreadable, does not match the encoder or holds
            non-finite values.
        FileNotFoundError: If the ``pretrained`` file does not exist.
        ImportError: For a ``timm:NAME`` model without timm installed.

    Examples:
        >>> import torch
        >>> backbone, num_ftrs = build_backbone("resnet18")
        >>> num_ftrs, backbone(torch.randn(2, 3, 32, 32)).shape
        (512, torch.Size([2, 512]))
    """
    if pretrained is True:
        raise ValueError(
            f"pretrained=True would download weights for {name!r}, and nothing is "
            "downloaded: pass the path of a local checkpoint instead (for example "
            "the file the model's hub would download), or None for random weights."
        )
    backbone: nn.Module
    head_prefixes: tuple[str, ...]
    small = parse_small_resnet(name)
    if small is not None:
        depth, width = small
        backbone, num_ftrs, head_prefixes = small_resnet(depth, width), 8 * width, ()
    elif name.startswith(_TIMM_PREFIX):
        backbone, num_ftrs, head_prefixes = _timm_backbone(name[len(_TIMM_PREFIX) :])
    else:
        backbone, num_ftrs, head_prefixes = _torchvision_backbone(name)
    if isinstance(pretrained, str):
        state_dict = _read_state_dict(pretrained)
        _load_state_dict(backbone, state_dict, head_prefixes, pretrained)
    return backbone, num_ftrs


def _torchvision_backbone(name: str) -> tuple[nn.Module, int, tuple[str, ...]]:
    """Returns a torchvision model without its last linear layer."""
    families = _FC_FAMILIES + _CLASSIFIER_FAMILIES
    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(
            f"unknown backbone {name!r}: expected a torchvision classification model "
            f"of the families {', '.join(families)} (e.g. 'resnet50'), "
            "'timm:NAME' for a timm model, or a narrow ResNet for small faces, "
            "'resnet10-wW' or 'resnet18-wW' (e.g. 'resnet10-w16', 'resnet18-w32')."
        )
    if not name.startswith(families):
        raise ValueError(
            f"unsupported torchvision backbone {name!r}: supported families are "
            f"{', '.join(families)}; use 'timm:NAME' for other architectures."
        )
    model = torchvision.models.get_model(name, weights=None)
    if name.startswith(_FC_FAMILIES):
        num_ftrs = _in_features(model.get_submodule("fc"))
        model.fc = nn.Identity()
        return model, num_ftrs, ("fc.",)
    # Cut the classifier before its last linear layer and the dropout right before
    # it, keeping what precedes them (ConvNeXt's norm, MobileNetV3's hidden layer).
    layers = list(model.get_submodule("classifier").children())
    last = max(i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear))
    num_ftrs = _in_features(layers[last])
    cut = last - 1 if last > 0 and isinstance(layers[last - 1], nn.Dropout) else last
    model.classifier = nn.Sequential(*layers[:cut])
    return model, num_ftrs, tuple(f"classifier.{i}." for i in range(cut, len(layers)))


def _in_features(layer: nn.Module) -> int:
    """Returns the input dimension of a model's final linear classifier."""
    if not isinstance(layer, nn.Linear):
        raise ValueError(
            f"expected the classifier to end in nn.Linear, got {type(layer).__name__}."
        )
    return layer.in_features


def _timm_backbone(name: str) -> tuple[nn.Module, int, tuple[str, ...]]:
    """Returns a timm model created without a classifier."""
    # Imported here: timm is heavy, only some models need it, and the library
    # installs without it (it comes with the extra "benchmarks").
    try:
        import timm
    except ImportError:
        raise ImportError(
            f"backbone 'timm:{name}' needs timm: pip install timm (or the extra "
            "'benchmarks')."
        ) from None

    if not timm.is_model(name):
        raise ValueError(
            f"unknown timm model {name!r}; see timm.list_models() for the names."
        )
    model = timm.create_model(name, pretrained=False, num_classes=0)
    classifier = getattr(model, "pretrained_cfg", {}).get("classifier") or ()
    names = (classifier,) if isinstance(classifier, str) else tuple(classifier)
    # Models with a hidden layer before the classifier (MobileNetV3) output
    # head_hidden_size features, not num_features.
    num_features: Any = model.num_features
    num_ftrs = int(getattr(model, "head_hidden_size", None) or num_features)
    return model, num_ftrs, tuple(f"{n}." for n in names)


def _read_state_dict(pretrained: str) -> Mapping[str, Tensor]:
    """Reads a state dict from a local checkpoint in one of the accepted layouts."""
    path = Path(pretrained)
    if "://" in pretrained or (
        not path.exists() and path.suffix == "" and len(path.parts) == 1
    ):
        raise ValueError(
            f"pretrained={pretrained!r} is not a local file: nothing is downloaded, "
            "pass the path of a local checkpoint (e.g. weights saved with "
            "torch.save(model.state_dict(), 'resnet50.pt')) or None."
        )
    checkpoint: Any = safe_load(path, "pretrained checkpoint")
    if not isinstance(checkpoint, Mapping):
        raise ValueError(
            f"pretrained checkpoint {pretrained!r} holds a {type(checkpoint).__name__}"
            ", expected a state dict."
        )
    if "state_dict" in checkpoint:
        state_dict = checkpoint["state_dict"]
        backbone = {
            key.removeprefix("backbone."): value
            for key, value in state_dict.items()
            if key.startswith("backbone.")
        }
        return backbone or state_dict
    if "model" in checkpoint:
        model_state: Mapping[str, Tensor] = checkpoint["model"]
        return model_state
    return checkpoint


def _load_state_dict(
    backbone: nn.Module,
    state_dict: Mapping[str, Tensor],
    head_prefixes: tuple[str, ...],
    pretrained: str,
) -> None:
    """Loads the state dict strictly, ignoring the removed classifier's keys."""
    state_dict = {
        key: value
        for key, value in state_dict.items()
        if not key.startswith(head_prefixes)
    }
    expected = backbone.state_dict()
    missing = sorted(expected.keys() - state_dict.keys())
    unexpected = sorted(state_dict.keys() - expected.keys())
    mismatched = sorted(
        key
        for key in expected.keys() & state_dict.keys()
        if expected[key].shape != state_dict[key].shape
    )
    if missing or unexpected or mismatched:
        raise ValueError(
            f"pretrained checkpoint {pretrained!r} does not match the backbone: "
            f"{len(missing)} missing keys {missing[:3]}, {len(unexpected)} unexpected "
            f"keys {unexpected[:3]}, {len(mismatched)} keys of another shape "
            f"{mismatched[:3]}."
        )
    # Training from non-finite weights gives non-finite losses from the first step.
    broken = sorted(
        key
        for key, value in state_dict.items()
        if value.is_floating_point() and not bool(torch.isfinite(value).all())
    )
    if broken:
        raise ValueError(
            f"pretrained checkpoint {pretrained!r} holds non-finite values (NaN or "
            f"infinity) in {len(broken)} tensors, e.g. {broken[:3]}."
        )
    backbone.load_state_dict(state_dict)
