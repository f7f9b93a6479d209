import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from harness.config.presets import preset
from harness.data.splits import load_splits
from harness.pipelines.cache.pipeline import build_caches, cache_size
from harness.pipelines.cache.uint8_cache import footprint_bytes
from harness.runs import disk_space
from harness.runs.disk_space import (
    DiskNeed,
    check_disk_space,
    checkpoint_bytes,
    run_needs,
)

Smoke = Callable[..., list[str]]


def test_estimates_hold_the_files_a_run_writes(
    affwild2: ModuleType, smoke: Smoke, tmp_path: Path
) -> None:
    output = tmp_path / "run"
    methods = ("byel", "simclr", "supervised")
    assert affwild2.main(smoke(output, "--methods", ",".join(methods))) == 0
    config = preset("smoke")
    for method in methods:
        pretrain, finetune, model = checkpoint_bytes(config, method)
        folder = output / "checkpoints" / f"{method}-seed0"
        for estimate, written in [
            (pretrain, folder / "pretrain" / "epoch-0001.ckpt"),
            (finetune, folder / "finetune" / "epoch-0001.ckpt"),
            (model, output / "models" / f"{method}-seed0-finetune.pt"),
        ]:
            size = written.stat().st_size
            # Never short, and not so generous that it refuses runs that fit.
            assert size <= estimate <= 1.25 * size, (written, size, estimate)


def test_missing_caches_count_and_built_ones_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTLY_BYEL_CACHE", str(tmp_path / "cache"))
    config = preset("smoke")
    config = replace(config, data=replace(config.data, pipeline="cache"))
    splits = load_splits(config)
    caches = tmp_path / "cache" / "uint8"
    needs = run_needs(config, tmp_path / "run", splits)
    assert [(need.what, need.folder) for need in needs] == [
        ("checkpoints and model files", tmp_path / "run"),
        ("uint8 image caches", caches),
    ]
    size = cache_size(config)
    assert needs[1].bytes == footprint_bytes(len(splits.train), size) + (
        footprint_bytes(len(splits.eval), size)
    )
    build_caches(splits, config)
    assert run_needs(config, tmp_path / "run", splits) == needs[:1]


def test_needs_on_one_disk_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = shutil.disk_usage(tmp_path)
    free = disk_space.MARGIN_BYTES + 1000

    def small_disk(path: Any) -> Any:
        return usage._replace(free=free)

    monkeypatch.setattr(disk_space.shutil, "disk_usage", small_disk)
    check_disk_space([DiskNeed("results", tmp_path / "a", 600)])
    with pytest.raises(OSError, match=r"in '.*a' for results .* and '.*b' for caches"):
        check_disk_space(
            [
                DiskNeed("results", tmp_path / "a", 600),
                DiskNeed("caches", tmp_path / "b", 600),
            ]
        )


def test_a_run_that_cannot_fit_is_refused_before_any_file(
    affwild2: ModuleType,
    smoke: Smoke,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        disk_space.shutil, "disk_usage", lambda path: usage._replace(free=10**6)
    )
    output = tmp_path / "run"
    assert affwild2.main(smoke(output, "--methods", "byel")) == 2
    error = capsys.readouterr().err
    assert "not enough free disk space in" in error
    assert f"'{output}' for checkpoints and model files" in error
    assert not output.exists()
