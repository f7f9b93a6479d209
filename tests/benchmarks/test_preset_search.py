"""``benchmarks/preset_search.py`` on the smoke preset: the table and its reuse."""

import json
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(autouse=True)
def cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "LIGHTLY_BYEL_CACHE", str(tmp_path_factory.getbasetemp() / "cache")
    )


def test_search_tabulates_every_combination_and_reuses_finished_ones(
    preset_search: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "--backbones",
        "resnet10-w8,resnet18-w8",
        "--sizes",
        "32",
        "--epochs",
        "1",
        "--output",
        str(tmp_path),
        "--preset",
        "smoke",
        "--num-workers",
        "0",
    ]
    assert preset_search.main(argv) == 0
    report = json.loads((tmp_path / "preset_search.json").read_text())
    rows = report["rows"]
    assert [row["backbone"] for row in rows] == ["resnet10-w8", "resnet18-w8"]
    assert rows[0]["parameters"] < rows[1]["parameters"]
    for row in rows:
        assert row["input_size"] == 32 and row["epochs"] == 1
        assert row["pretrain_seconds"] > 0
        for key in ("supervised", "random_init"):
            assert 0.0 <= row[f"{key}_eval_macro_f1"] <= 1.0
    assert report["benchmark_flags"] == ["--preset", "smoke", "--num-workers", "0"]
    table = (tmp_path / "preset_search.md").read_text()
    assert table.count("| resnet") == 2 and "supervised holdout" in table
    assert "--preset smoke --num-workers 0" in table

    # Finished combinations are read back, not trained again.
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == [
        "resnet10-w8-32px-1ep-preset-smoke-num-workers-0",
        "resnet18-w8-32px-1ep-preset-smoke-num-workers-0",
    ]
    capsys.readouterr()
    assert preset_search.main(["--backbones", "resnet10-w8", *argv[2:]]) == 0
    assert "is finished; nothing to do" in capsys.readouterr().out
    again = json.loads((tmp_path / "preset_search.json").read_text())["rows"]
    assert again == [{**rows[0], "cell_seconds": again[0]["cell_seconds"]}]
