import importlib.util
import json
import math
import re
from pathlib import Path
from types import ModuleType

import pytest
import torch

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
    assert payload["parameters"]["batch_size"] == 4
    assert payload["parameters"]["hidden_dim"] == 64
    assert len(payload["rounds"]) == 2
    assert [r["first"] for r in payload["rounds"]] == ["byol", "byel"]
    for r in payload["rounds"]:
        assert r["byol_s"] > 0
        assert r["byel_s"] > 0
    ratio = payload["summary"]["ratio_median"]
    assert math.isfinite(ratio)
    assert ratio > 0
    assert payload["met"] == (ratio <= 1.05)

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


def test_same_forward_and_one_step_trains_online_network_only(
    overhead: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = overhead.Config(batch_size=4, input_size=32, hidden_dim=64)
    x0, x1, labels = overhead.make_batch(config)
    byol = overhead.build_byol(config)
    byel = overhead.build_byel(config)

    # Same seed, same layers: both start as the same network.
    with torch.no_grad():
        p_byol, p_byel = byol(x0), byel(x0)
    assert p_byol.shape == p_byel.shape == (4, config.out_dim)
    torch.testing.assert_close(p_byel, p_byol)

    for model, make_step, batch in (
        (byol, overhead.make_byol_step, (x0, x1)),
        (byel, overhead.make_byel_step, (x0, x1, labels)),
    ):
        optimizer = overhead.make_optimizer("sgd", model.parameters())
        # Keep the gradients of the step for inspection.
        monkeypatch.setattr(optimizer, "zero_grad", lambda: None)
        online = [p.detach().clone() for p in model.backbone.parameters()]

        loss = make_step(model, optimizer, *batch)()

        assert torch.isfinite(loss)
        assert all(p.grad is not None for p in model.backbone.parameters())
        assert any(
            not torch.equal(before, after)
            for before, after in zip(online, model.backbone.parameters(), strict=True)
        )
        for p in model.backbone_momentum.parameters():
            assert not p.requires_grad
            assert p.grad is None
