"""LARS without host-device synchronisation, a drop-in for Lightly's ``LARS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

import torch
from torch import Tensor
from torch.optim.optimizer import Optimizer

if TYPE_CHECKING:
    # Only in torch >= 2.2; annotations are not evaluated at run time.
    from torch.optim.optimizer import ParamsT


class LARS(Optimizer):
    """LARS [0]: SGD with layer-wise trust ratios, without host-device synchronisation.

    Computes the update of ``lightly.utils.lars.LARS`` [1] with multi-tensor
    (``torch._foreach_*``) operations and without host-device synchronisation:
    Lightly's ``if p_norm != 0 and g_norm != 0`` copies two norms to the host for
    every parameter at every step; here the condition selects values on the
    device. For a parameter ``p`` with gradient ``g`` in a group with weight
    decay ``wd != 0``::

        ratio = trust_coefficient * ||p|| / (||g|| + wd * ||p|| + eps)
        d_p   = (g + wd * p) * ratio     if ||p|| != 0 and ||g|| != 0
        d_p   = g                        otherwise

    A group with ``weight_decay=0`` gets ``d_p = g``: no decay and no trust ratio,
    which is how Lightly excludes biases and normalisation parameters. Momentum
    is PyTorch's SGD momentum (the first step stores ``d_p`` as the buffer, then
    ``buf = momentum * buf + (1 - dampening) * d_p``; Nesterov uses
    ``d_p + momentum * buf``, otherwise ``buf``), and ``p -= lr * d_p``.
    Parameters without a gradient are skipped. The state layout is Lightly's
    (``state[p]["momentum_buffer"]``), so optimizer state dicts load into
    either class.

    - [0]: Large Batch Training of Convolutional Networks, 2017,
      https://arxiv.org/abs/1708.03888
    - [1]: Lightly, https://github.com/lightly-ai/lightly/blob/master/lightly/utils/lars.py

    Args:
        params: Parameters to optimize, or dicts defining parameter groups.
        lr: Learning rate.
        momentum: Momentum factor.
        dampening: Dampening for momentum.
        weight_decay: Weight decay (L2 penalty); zero also switches off the trust
            ratio of the group.
        nesterov: Enables Nesterov momentum.
        trust_coefficient: Trust coefficient of the layer-wise ratio.
        eps: Added to the ratio's denominator.
        foreach: ``True`` updates the parameters of a group with multi-tensor
            operations; ``False`` runs the same operations on one parameter at a
            time, with the same results; ``None`` picks multi-tensor operations
            for groups on CUDA and one parameter at a time elsewhere, where it is
            faster (as PyTorch's optimizers do). A group option.

    Raises:
        ValueError: If ``lr``, ``momentum`` or ``weight_decay`` is negative, or
            ``nesterov`` is set without momentum or with dampening.

    Examples:
        >>> import torch
        >>> from lightly.models.utils import get_weight_decay_parameters
        >>> model = torch.nn.Sequential(
        ...     torch.nn.Linear(10, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1)
        ... )
        >>> decay, no_decay = get_weight_decay_parameters([model])
        >>> optimizer = LARS(
        ...     [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
        ...     lr=0.1,
        ...     momentum=0.9,
        ...     weight_decay=1.5e-6,
        ... )
        >>> loss = model(torch.randn(4, 10)).pow(2).mean()
        >>> loss.backward()
        >>> optimizer.step()
        >>> list(optimizer.state[model[0].weight])
        ['momentum_buffer']
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 0,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        trust_coefficient: float = 0.001,
        eps: float = 1e-8,
        *,
        foreach: bool | None = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "trust_coefficient": trust_coefficient,
            "eps": eps,
            "foreach": foreach,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # State dicts of Lightly's LARS have no "foreach": keep this optimizer's.
        foreach = self.defaults.get("foreach")
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("foreach", foreach)

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Performs a single optimization step.

        Args:
            closure: Reevaluates the model and returns the loss; it runs with
                gradients enabled.

        Returns:
            The closure's loss, or ``None`` without a closure.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            params: list[Tensor] = []
            grads: list[Tensor] = []
            for p in group["params"]:
                if p.grad is not None:
                    params.append(p)
                    grads.append(p.grad)
            momentum = group["momentum"]
            # Only momentum creates state, as in Lightly's LARS.
            buffers: list[Tensor | None] = (
                [self.state[p].get("momentum_buffer") for p in params]
                if momentum != 0
                else [None] * len(params)
            )
            foreach = group["foreach"]
            if foreach is None:
                foreach = bool(params) and all(p.is_cuda for p in params)
            update = _lars_foreach if foreach else _lars_loop
            update(
                params,
                grads,
                buffers,
                lr=group["lr"],
                momentum=momentum,
                dampening=group["dampening"],
                weight_decay=group["weight_decay"],
                nesterov=group["nesterov"],
                trust_coefficient=group["trust_coefficient"],
                eps=group["eps"],
            )
            if momentum != 0:
                for p, buffer in zip(params, buffers):
                    self.state[p]["momentum_buffer"] = buffer

        return loss


def _lars_loop(
    params: list[Tensor],
    grads: list[Tensor],
    buffers: list[Tensor | None],
    **hyperparameters: Any,
) -> None:
    """Updates ``params`` one at a time; fills in ``buffers`` where ``None``.

    Faster on a CPU than one update of the whole group: each parameter goes
    through all the operations while it is still in cache.
    """
    for i in range(len(params)):
        _lars_update(params, grads, buffers, [i], **hyperparameters)


def _lars_foreach(
    params: list[Tensor],
    grads: list[Tensor],
    buffers: list[Tensor | None],
    **hyperparameters: Any,
) -> None:
    """Updates ``params`` with one multi-tensor update per device and dtype."""
    by_device_and_dtype: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for i, p in enumerate(params):
        by_device_and_dtype.setdefault((p.device, p.dtype), []).append(i)
    for indices in by_device_and_dtype.values():
        _lars_update(params, grads, buffers, indices, **hyperparameters)


def _lars_update(
    params: list[Tensor],
    grads: list[Tensor],
    buffers: list[Tensor | None],
    indices: list[int],
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    trust_coefficient: float,
    eps: float,
) -> None:
    """Updates ``params[i]`` for ``i`` in ``indices``, all on one device and dtype.

    The update of the class docstring, with multi-tensor operations over the
    selected parameters; fills in their ``buffers`` where ``None``.
    """
    ps = [params[i] for i in indices]
    d_ps: list[Tensor] | tuple[Tensor, ...] = [grads[i] for i in indices]
    if weight_decay != 0:
        p_norms = torch.stack(_norms(ps))
        g_norms = torch.stack(_norms(d_ps))
        scaled = (p_norms != 0) & (g_norms != 0)
        ratios = p_norms / (g_norms + p_norms * weight_decay + eps) * trust_coefficient
        ratios = torch.where(scaled, ratios, ratios.new_ones(()))
        decays = scaled.to(p_norms.dtype) * weight_decay
        decayed = torch._foreach_mul(ps, decays.unbind())
        torch._foreach_add_(decayed, d_ps)
        torch._foreach_mul_(decayed, ratios.unbind())
        d_ps = decayed
    if momentum != 0:
        known = [buffers[i] for i in indices]
        old = [(b, d) for b, d in zip(known, d_ps) if b is not None]
        if old:
            old_buffers = [b for b, _ in old]
            torch._foreach_mul_(old_buffers, momentum)
            torch._foreach_add_(old_buffers, [d for _, d in old], alpha=1 - dampening)
        # The first step stores a copy: d_p may be the gradient itself.
        bufs = [d.clone() if b is None else b for b, d in zip(known, d_ps)]
        for i, b in zip(indices, bufs):
            buffers[i] = b
        d_ps = torch._foreach_add(d_ps, bufs, alpha=momentum) if nesterov else bufs
    torch._foreach_add_(ps, d_ps, alpha=-lr)


def _norms(tensors: list[Tensor] | tuple[Tensor, ...]) -> list[Tensor]:
    """The 2-norm of each tensor, with one multi-tensor kernel where torch has it.

    ``torch._foreach_norm`` arrived in torch 1.11; before, the norms are taken one
    tensor at a time.
    """
    if hasattr(torch, "_foreach_norm"):
        return list(torch._foreach_norm(tensors))
    return [torch.linalg.vector_norm(tensor) for tensor in tensors]
