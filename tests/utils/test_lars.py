from __future__ import annotations

import copy
import inspect
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, overload

import pytest
import torch
from lightly.models.utils import get_weight_decay_parameters
from lightly.utils.lars import LARS as LightlyLARS
from torch import Tensor, nn
from torch.optim import Optimizer

from lightly_byel.utils.lars import LARS

CONFIGS: dict[str, dict[str, Any]] = {
    "sgd": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "lars": dict(lr=0.5, momentum=0.9, weight_decay=1.5e-6),
    "strong-decay-trust": dict(
        lr=0.3, momentum=0.9, weight_decay=0.1, trust_coefficient=0.02
    ),
    "dampening": dict(lr=0.2, momentum=0.8, dampening=0.3, weight_decay=0.1),
    "nesterov": dict(lr=0.1, momentum=0.9, weight_decay=1.5e-6, nesterov=True),
    "no-momentum-eps": dict(lr=1.0, weight_decay=0.1, trust_coefficient=1.0, eps=1e-3),
}
#: (rtol, atol) of each dtype; None: assert_close's defaults.
TOLERANCES: dict[torch.dtype, tuple[float | None, float | None]] = {
    torch.float32: (None, None),
    torch.float64: (1e-12, 1e-14),
}


class ReferenceLARS(Optimizer):
    """The LARS update of the class docstring, one parameter at a time.

    Written for these tests the plain way, branching on the norms in Python and
    without a ``foreach`` option (so its state dicts have Lightly's original layout):
    the reference that every implementation of ``LARS`` must match.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 0,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        trust_coefficient: float = 0.001,
        eps: float = 1e-8,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            trust_coefficient=trust_coefficient,
            eps=eps,
        )
        super().__init__(params, defaults)

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            self._update()
        return loss

    def _update(self) -> None:
        for group in self.param_groups:
            decay, momentum = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                p_norm, g_norm = torch.norm(p), torch.norm(d_p)
                if decay != 0 and p_norm != 0 and g_norm != 0:
                    ratio = group["trust_coefficient"] * p_norm
                    ratio = ratio / (g_norm + p_norm * decay + group["eps"])
                    d_p = (d_p + decay * p) * ratio
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buffer = state["momentum_buffer"] = d_p.clone()
                    else:
                        buffer = state["momentum_buffer"]
                        buffer.mul_(momentum).add_(d_p, alpha=1 - group["dampening"])
                    d_p = d_p + momentum * buffer if group["nesterov"] else buffer
                p.add_(d_p, alpha=-group["lr"])


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    # The models are tiny: a second thread only adds waiting on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


#: The optimizer classes by name, for parametrized tests.
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "LARS": LARS,
    "ReferenceLARS": ReferenceLARS,
}


def make_model(dtype: torch.dtype = torch.float64) -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4)
    )
    return model.to(dtype)


def param_groups(model: nn.Module) -> list[dict[str, Any]]:
    """Decay and no-decay groups, the way Lightly's benchmarks set up LARS."""
    decay, no_decay = get_weight_decay_parameters([model])
    return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]


def backward(model: nn.Module, seed: int, set_to_none: bool = True) -> Tensor:
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 8, generator=generator, dtype=dtype).to(device)
    y = torch.randn(32, 4, generator=generator, dtype=dtype).to(device)
    model.zero_grad(set_to_none=set_to_none)
    loss: Tensor = (model(x) - y).pow(2).mean()
    loss.backward()
    return loss


def train(model: nn.Module, optimizer: Optimizer, steps: int, seed: int = 0) -> None:
    for step in range(steps):
        backward(model, seed + step)
        optimizer.step()


def assert_same(
    model: nn.Module,
    optimizer: Optimizer,
    ref_model: nn.Module,
    ref_optimizer: Optimizer,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """Parameters and momentum buffers agree, and the same parameters have state."""
    params, ref_params = list(model.parameters()), list(ref_model.parameters())
    assert len(params) == len(ref_params)
    for p, q in zip(params, ref_params):
        torch.testing.assert_close(p, q, rtol=rtol, atol=atol)
        assert (p in optimizer.state) == (q in ref_optimizer.state)
        if q in ref_optimizer.state:
            assert optimizer.state[p].keys() == ref_optimizer.state[q].keys()
            torch.testing.assert_close(
                optimizer.state[p]["momentum_buffer"],
                ref_optimizer.state[q]["momentum_buffer"],
                rtol=rtol,
                atol=atol,
            )


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("config_id", CONFIGS)
def test_matches_reference(config_id: str, dtype: torch.dtype, foreach: bool) -> None:
    config = CONFIGS[config_id]
    model = make_model(dtype)
    ref_model = copy.deepcopy(model)
    initial = copy.deepcopy(model)
    optimizer = LARS(param_groups(model), **config, foreach=foreach)
    ref_optimizer = ReferenceLARS(param_groups(ref_model), **config)
    train(model, optimizer, steps=5)
    train(ref_model, ref_optimizer, steps=5)
    assert_same(model, optimizer, ref_model, ref_optimizer, *TOLERANCES[dtype])
    for layer in (0, 3):  # the weights moved (a bias before a BatchNorm may not)
        moved, start = model[layer], initial[layer]
        assert isinstance(moved, nn.Linear) and isinstance(start, nn.Linear)
        assert not torch.equal(moved.weight, start.weight)


@pytest.mark.parametrize("config_id", CONFIGS)
def test_foreach_and_loop_agree_exactly_on_cpu(config_id: str) -> None:
    config = CONFIGS[config_id]
    model = make_model(torch.float32)
    loop_model = copy.deepcopy(model)
    optimizer = LARS(param_groups(model), **config, foreach=True)
    loop_optimizer = LARS(param_groups(loop_model), **config, foreach=False)
    train(model, optimizer, steps=3)
    train(loop_model, loop_optimizer, steps=3)
    assert_same(model, optimizer, loop_model, loop_optimizer, rtol=0, atol=0)


@pytest.mark.parametrize("foreach", [True, False])
def test_momentum_buffers_do_not_alias_gradients(foreach: bool) -> None:
    # Without weight decay d_p is the gradient; zeroing gradients in place (or
    # accumulating into them) must not touch the buffers.
    model = make_model()
    ref_model = copy.deepcopy(model)
    optimizer = LARS(model.parameters(), lr=0.1, momentum=0.9, foreach=foreach)
    ref_optimizer = ReferenceLARS(ref_model.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):
        for m, opt in [(model, optimizer), (ref_model, ref_optimizer)]:
            backward(m, seed=step, set_to_none=False)
            opt.step()
    assert_same(model, optimizer, ref_model, ref_optimizer, *TOLERANCES[torch.float64])


class EdgeCases(nn.Module):
    """A zero parameter, a zero gradient, no gradient, and a late gradient."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.zero = nn.Parameter(torch.zeros(4, 3, dtype=dtype))
        self.still = nn.Parameter(torch.randn(5, dtype=dtype))
        self.frozen = nn.Parameter(torch.randn(2, dtype=dtype))
        self.late = nn.Parameter(torch.randn(3, dtype=dtype))
        self.live = nn.Parameter(torch.randn(3, 4, dtype=dtype))

    def loss(self, step: int) -> Tensor:
        x = torch.linspace(-1.0, 2.0, 3, dtype=self.zero.dtype)
        loss = (self.zero @ x).sum() + (self.still * 0).sum()
        loss = loss + (self.live @ self.zero @ x).pow(2).sum()
        if step > 0:
            loss = loss + (self.late * x).sum()
        return loss


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_edge_cases_match_reference(
    dtype: torch.dtype, foreach: bool, momentum: float
) -> None:
    model = EdgeCases(dtype)
    ref_model = copy.deepcopy(model)
    still, frozen = model.still.detach().clone(), model.frozen.detach().clone()
    config: dict[str, Any] = dict(
        lr=0.1, momentum=momentum, weight_decay=0.1, trust_coefficient=0.1
    )
    optimizer = LARS(model.parameters(), **config, foreach=foreach)
    ref_optimizer = ReferenceLARS(ref_model.parameters(), **config)
    for step in range(3):
        for m, opt in [(model, optimizer), (ref_model, ref_optimizer)]:
            opt.zero_grad()
            m.loss(step).backward()
            if step == 0:
                assert m.still.grad is not None and not m.still.grad.any()
                assert m.frozen.grad is None and m.late.grad is None
            opt.step()
        assert_same(model, optimizer, ref_model, ref_optimizer, *TOLERANCES[dtype])
    # A zero gradient gets no weight decay; no gradient, no update and no state.
    assert torch.equal(model.still, still)
    assert torch.equal(model.frozen, frozen)
    assert model.frozen not in optimizer.state
    assert model.zero.abs().sum() > 0


@pytest.mark.parametrize(
    ("saver_name", "loader_name"),
    [("LARS", "ReferenceLARS"), ("ReferenceLARS", "LARS"), ("LARS", "LARS")],
    ids=["to-original-layout", "from-original-layout", "same-class"],
)
def test_state_dict_loads_across_classes(saver_name: str, loader_name: str) -> None:
    saver, loader = OPTIMIZERS[saver_name], OPTIMIZERS[loader_name]
    config: dict[str, Any] = dict(
        lr=0.2, momentum=0.9, weight_decay=0.1, trust_coefficient=0.01
    )
    model = make_model()
    optimizer = saver(param_groups(model), **config)
    train(model, optimizer, steps=3)

    resumed_model = copy.deepcopy(model)
    # Other hyperparameters: the state dict's must replace them.
    resumed = loader(param_groups(resumed_model), lr=1.0, weight_decay=0.5)
    checkpoint = io.BytesIO()
    torch.save(optimizer.state_dict(), checkpoint)
    checkpoint.seek(0)
    resumed.load_state_dict(torch.load(checkpoint))
    assert_same(model, optimizer, resumed_model, resumed, rtol=0, atol=0)

    train(model, optimizer, steps=2, seed=3)
    train(resumed_model, resumed, steps=2, seed=3)
    assert_same(model, optimizer, resumed_model, resumed, *TOLERANCES[torch.float64])


def test_loading_state_without_foreach_keeps_foreach() -> None:
    model = make_model()
    ref_optimizer = ReferenceLARS(model.parameters(), lr=0.1)
    optimizer = LARS(model.parameters(), lr=0.1, foreach=False)
    optimizer.load_state_dict(ref_optimizer.state_dict())
    assert [group["foreach"] for group in optimizer.param_groups] == [False]


def test_closure_returns_loss() -> None:
    model = make_model()
    ref_model = copy.deepcopy(model)
    optimizer = LARS(param_groups(model), lr=0.1, momentum=0.9, weight_decay=0.1)
    ref_optimizer = ReferenceLARS(
        param_groups(ref_model), lr=0.1, momentum=0.9, weight_decay=0.1
    )
    losses = []
    for m, opt in [(model, optimizer), (ref_model, ref_optimizer)]:
        closure_losses: list[Tensor] = []

        def closure(m: nn.Module = m, out: list[Tensor] = closure_losses) -> Any:
            assert torch.is_grad_enabled()
            out.append(backward(m, seed=0))
            return out[-1]

        returned: object = opt.step(closure)
        assert returned is closure_losses[-1]
        losses.append(closure_losses[-1])
    torch.testing.assert_close(losses[0], losses[1])
    assert_same(model, optimizer, ref_model, ref_optimizer)


def test_step_without_closure_returns_none() -> None:
    model = make_model()
    optimizer = LARS(model.parameters(), lr=0.1)
    backward(model, seed=0)
    assert optimizer.step() is None


#: Arguments LARS refuses, and the start of its message.
INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "lr": (dict(lr=-0.1), "Invalid learning rate: -0.1"),
    "momentum": (dict(lr=0.1, momentum=-0.9), "Invalid momentum value: -0.9"),
    "weight-decay": (
        dict(lr=0.1, weight_decay=-1e-6),
        "Invalid weight_decay value: -1e-06",
    ),
    "nesterov-no-momentum": (
        dict(lr=0.1, nesterov=True),
        "Nesterov momentum requires a momentum",
    ),
    "nesterov-damp": (
        dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
        "Nesterov momentum requires a momentum and zero dampening",
    ),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_arguments_raise(case: str) -> None:
    kwargs, message = INVALID[case]
    params = list(make_model().parameters())
    with pytest.raises(ValueError, match=re.escape(message)):
        LARS(params, **kwargs)


def test_defaults() -> None:
    optimizer = LARS(list(make_model().parameters()))
    assert optimizer.defaults == dict(
        lr=0,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        trust_coefficient=0.001,
        eps=1e-8,
        foreach=None,
    )


@pytest.mark.parametrize("config_id", CONFIGS)
def test_reference_is_lightlys_lars(config_id: str) -> None:
    config = CONFIGS[config_id]
    # Lightly's LARS is the one this module replaces; the reference must be it.
    model = make_model()
    ref_model = copy.deepcopy(model)
    lightly_optimizer = LightlyLARS(param_groups(model), **config)
    ref_optimizer = ReferenceLARS(param_groups(ref_model), **config)
    train(model, lightly_optimizer, steps=5)
    train(ref_model, ref_optimizer, steps=5)
    assert_same(
        model, lightly_optimizer, ref_model, ref_optimizer, *TOLERANCES[torch.float64]
    )
    defaults = dict(lightly_optimizer.defaults)
    defaults.pop("foreach", None)
    assert defaults == ref_optimizer.defaults
    signature = inspect.signature(ReferenceLARS).parameters
    for name, parameter in inspect.signature(LightlyLARS).parameters.items():
        if name not in ("lr", "foreach"):
            assert parameter.default == signature[name].default, name


class HostReadError(RuntimeError):
    pass


@contextmanager
def host_reads_forbidden(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Makes every way of reading a tensor's value into Python raise."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise HostReadError

    with monkeypatch.context() as patch:
        for name in ("__bool__", "__float__", "__int__", "item", "tolist"):
            patch.setattr(torch.Tensor, name, forbidden)
        yield


@pytest.mark.parametrize("foreach", [True, False])
def test_step_reads_no_tensor_value_on_cpu(
    monkeypatch: pytest.MonkeyPatch, foreach: bool
) -> None:
    config: dict[str, Any] = dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)
    model = make_model()
    ref_model = copy.deepcopy(model)
    optimizer = LARS(param_groups(model), **config, foreach=foreach)
    ref_optimizer = ReferenceLARS(param_groups(ref_model), **config)
    for step in range(2):  # the first step creates the momentum buffers
        backward(model, seed=step)
        with host_reads_forbidden(monkeypatch):
            optimizer.step()
        train(ref_model, ref_optimizer, steps=1, seed=step)
    assert_same(model, optimizer, ref_model, ref_optimizer, *TOLERANCES[torch.float64])

    # The check can fail: the reference branches on the norms.
    with host_reads_forbidden(monkeypatch), pytest.raises(HostReadError):
        ref_optimizer.step()
    assert bool(torch.ones(())) and torch.ones(()).item() == 1.0  # restored


@pytest.mark.cuda
@pytest.mark.parametrize("foreach", [True, False])
def test_step_does_not_synchronise_cuda(foreach: bool) -> None:
    config: dict[str, Any] = dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)
    model = make_model(torch.float32).cuda()
    ref_model = copy.deepcopy(model)
    optimizer = LARS(param_groups(model), **config, foreach=foreach)
    ref_optimizer = ReferenceLARS(param_groups(ref_model), **config)
    for step in range(2):
        backward(model, seed=step)
        torch.cuda.set_sync_debug_mode("error")
        try:
            optimizer.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
        train(ref_model, ref_optimizer, steps=1, seed=step)
    assert_same(model, optimizer, ref_model, ref_optimizer)

    # The check can fail: the reference synchronises on the norms.
    torch.cuda.set_sync_debug_mode("error")
    try:
        with pytest.raises(RuntimeError, match="synchroniz"):
            ref_optimizer.step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_default_picks_the_loop_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import lightly_byel.utils.lars as lars

    used: list[str] = []
    loop, multi = lars._lars_loop, lars._lars_foreach

    def record(name: str, update: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: Any, **kwargs: Any) -> None:
            used.append(name)
            update(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(lars, "_lars_loop", record("loop", loop))
    monkeypatch.setattr(lars, "_lars_foreach", record("foreach", multi))
    for foreach in (None, True, False):
        model = make_model()
        train(model, LARS(param_groups(model), lr=0.1, foreach=foreach), steps=1)
    # Two parameter groups a step: None and False loop on CPU, True does not.
    assert used == ["loop", "loop", "foreach", "foreach", "loop", "loop"]
