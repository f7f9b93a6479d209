"""Outputs of a frozen network over a data loader, and the device to compute them on."""

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn


def module_device(module: nn.Module) -> torch.device:
    """Returns the device of a module's first parameter or buffer (CPU if none)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def resolve_device(trainer_kwargs: Mapping[str, Any]) -> torch.device:
    """Returns the device this process trains on under the given Trainer arguments.

    Only the ``accelerator`` argument matters: ``cpu``, ``gpu``/``cuda``, ``mps`` or
    ``auto`` (the default: CUDA, then MPS, then CPU, as Lightning chooses). A CUDA
    device is the current one, which Lightning sets to each process's own GPU.

    Raises:
        ValueError: If the accelerator is not one of those names.
    """
    accelerator = trainer_kwargs.get("accelerator", "auto")
    if accelerator == "auto":
        if torch.cuda.is_available():
            accelerator = "cuda"
        elif torch.backends.mps.is_available():
            accelerator = "mps"
        else:
            accelerator = "cpu"
    if accelerator in ("gpu", "cuda"):
        return torch.device("cuda", torch.cuda.current_device())
    if accelerator in ("cpu", "mps"):
        return torch.device(accelerator)
    raise ValueError(
        "accelerator must be 'auto', 'cpu', 'gpu', 'cuda' or 'mps', "
        f"got {accelerator!r}"
    )


def evaluation_device(
    module: nn.Module, trainer_kwargs: Mapping[str, Any]
) -> torch.device:
    """Returns the device to run a trained module on outside a Trainer.

    A module already on an accelerator stays there. A module on the CPU moves to the
    Trainer arguments' device, since Lightning returns modules to the CPU after
    ``fit``.
    """
    device = module_device(module)
    return device if device.type != "cpu" else resolve_device(trainer_kwargs)


@torch.no_grad()
def extract_features(
    module: nn.Module,
    loader: Iterable[Sequence[Any]],
    device: torch.device | None = None,
) -> tuple[Tensor, Tensor]:
    """Runs a module in eval mode over a loader and collects its outputs and labels.

    With an encoder these are its features; with a classifier, its logits. The
    caller's module is left as it was: its training mode is restored, and it is
    copied rather than moved when ``device`` differs from its own.

    Args:
        module: Network mapping images of shape (B, ...) to outputs of shape
            (B, ...); outputs are flattened to (B, D).
        loader: Batches whose first two entries are images and class labels
            (further entries, such as file names, are ignored).
        device: Device to compute on; the module's own device if ``None``.

    Returns:
        Outputs as float32 of shape (N, D) and labels as int64 of shape (N,), both
        on the CPU, in loader order.

    Raises:
        ValueError: If the loader yields no batch.
    """
    device = module_device(module) if device is None else device
    if module_device(module) != device:
        module = copy.deepcopy(module).to(device)
    was_training = module.training
    module.eval()
    outputs: list[Tensor] = []
    labels: list[Tensor] = []
    try:
        for batch in loader:
            images, targets = batch[0], batch[1]
            output = module(images.to(device, non_blocking=True))
            outputs.append(output.flatten(start_dim=1).float().cpu())
            labels.append(torch.as_tensor(targets).long().cpu())
    finally:
        module.train(was_training)
    if not outputs:
        raise ValueError("the loader yielded no batch")
    return torch.cat(outputs), torch.cat(labels)


def images_per_second(images: int, seconds: float) -> float:
    """Returns a throughput, 0 when no time was measured."""
    return images / seconds if seconds > 0 else 0.0
