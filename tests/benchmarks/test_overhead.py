import importlib.util
import json
import math
import re
from pathlib import Path
from types import ModuleType

import pytest
import torch
from harness.methods import BYEL, BYOL
from harness.scripts.step_timing import timed_fit

TINY = [
    "--backbone",
    "resnet18",
    "--batch-size",
    "4",
    "--input-size",
    "32",
    "--rounds",
    "2",
    "--steps",
    "1",
    "--warmup",
    "1",
    "--hidden-dim",
    "64",
    "--device",
    "cpu",
]


def test_main_writes_results(
    overhead: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results" / "overhead.json"
    assert overhead.main([*TINY, "--output", str(output)]) == 0

    payload = json.loads(output.read_text(encoding="utf-8"))
    parameters = payload["parameters"]
    assert parameters["batch_size"] == 4
    assert parameters["hidden_dim"] == 64
    assert parameters["precision"] == "32-true"
    # The modules were built with the flags' settings, and the optimizer with them.
    assert parameters["model_settings"]["hidden_dim"] == 64
    assert parameters["pretrain_settings"]["optimizer"] == "sgd"
    assert parameters["optimizer_settings"]["lr"] == pytest.approx(0.2 * 4 / 256)
    assert len(payload["rounds"]) == 2
    assert [r["first"] for r in payload["rounds"]] == ["byol", "byel"]
    for r in payload["rounds"]:
        assert r["byol_s"] > 0
        assert r["byel_s"] > 0
        assert r["ratio"] == pytest.approx(r["byel_s"] / r["byol_s"])
    summary = payload["summary"]
    ratio = summary["ratio_median"]
    assert math.isfinite(ratio)
    assert summary["ratio_min"] <= summary["ratio_q1"] <= ratio
    assert ratio <= summary["ratio_q3"] <= summary["ratio_max"]
    assert payload["met"] == (ratio <= 1.05)
    assert payload["environment"]["device"] == "cpu"

    last_line = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(
        r"BYEL/BYOL step-time ratio \(median of 2 rounds\): \d+\.\d{3}  "
        r"goal <= 1\.05: (met|not met)",
        last_line,
    )

    expected = {"overhead.json"}
    if importlib.util.find_spec("matplotlib") is not None:
        expected.add("overhead.png")
        assert output.with_suffix(".png").stat().st_size > 0
    # Nothing else, in particular no temporary file, is left behind.
    assert {p.name for p in output.parent.iterdir()} == expected


def test_times_the_benchmark_s_modules_from_the_same_start(
    overhead: ModuleType,
) -> None:
    _, config = overhead.parse_args(TINY)
    byol = overhead.build("byol", config)
    byel = overhead.build("byel", config)

    assert type(byol) is BYOL and type(byel) is BYEL
    for online in ("backbone", "projection_head"):
        torch.testing.assert_close(
            getattr(byel, online).state_dict(), getattr(byol, online).state_dict()
        )


@pytest.mark.parametrize("method", ["byol", "byel"])
def test_a_timed_block_trains_the_online_networks_and_moves_the_targets(
    overhead: ModuleType, method: str
) -> None:
    _, config = overhead.parse_args(TINY)
    module = overhead.build(method, config)
    online = [p.detach().clone() for p in module.backbone.parameters()]
    target = [p.detach().clone() for p in module.backbone_momentum.parameters()]

    times = timed_fit(
        module,
        overhead.block_loader(config),
        torch.device("cpu"),
        "32-true",
        warmup=1,
        steps=config.step.steps,
    )

    assert len(times) == config.step.steps and all(t > 0 for t in times)
    assert any(
        not torch.equal(before, after)
        for before, after in zip(online, module.backbone.parameters(), strict=True)
    )
    # The momentum update ran: the target moved, without gradients of its own.
    assert any(
        not torch.equal(before, after)
        for before, after in zip(
            target, module.backbone_momentum.parameters(), strict=True
        )
    )
    for p in module.backbone_momentum.parameters():
        assert not p.requires_grad
        assert p.grad is None
