import json
from pathlib import Path
from types import ModuleType

import pytest

TINY = [
    *("--backbone", "resnet18", "--input-size", "16", "--batch-size", "4"),
    *("--warmup", "1", "--steps", "2", "--num-workers", "0", "--device", "cpu"),
    *("--images-per-class", "2", "--image-size", "24"),
]


def test_every_mode_and_method_is_measured_and_written(
    throughput: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    argv = [
        *TINY,
        *("--methods", "byel,byol,supervised"),
        "--modes",
        "device,device-augment,files,cache,files-data,cache-data,cache-gather",
        *("--cache-dir", str(tmp_path / "cache"), "--output", str(output)),
    ]
    assert throughput.main(argv) == 0

    payload = json.loads((output / "throughput.json").read_text())
    setup = payload["setup"]
    assert setup["device"] == "cpu" and setup["precision"] == "32-true"
    assert (setup["backbone"], setup["input_size"], setup["batch_size"]) == (
        "resnet18",
        16,
        4,
    )
    results = payload["results"]
    assert [(r["method"], r["mode"]) for r in results] == [
        (method, mode)
        for mode in ("device", "device-augment", "files", "cache")
        for method in ("byel", "byol", "supervised")
    ] + [("-", "files-data"), ("-", "cache-data"), ("-", "cache-gather")]
    for r in results:
        assert r["steps"] == 2
        assert r["images_per_second"] == pytest.approx(4 / r["median_step_ms"] * 1000)
        assert r["peak_memory_mib"] > 0 and r["peak_memory_kind"]
    assert set(payload["byel_byol_ratio"]) == {
        "device",
        "device-augment",
        "files",
        "cache",
    }
    assert payload["data"]["images"] == 12
    assert payload["data"]["cache_size_px"] == 24
    assert "cache_build_seconds" in payload["data"]
    assert "torch" in payload["environment"]

    table = (output / "throughput.md").read_text()
    assert "Device cpu, precision 32-true, batch 4, backbone resnet18 at 16 px" in table
    assert "| byel | cache |" in table and "BYEL/BYOL step-time ratio, files" in table
    assert table in capsys.readouterr().out

    # A second run opens the cache instead of building it; repeats alternate.
    assert (
        throughput.main(
            [
                *TINY,
                *("--cache-dir", str(tmp_path / "cache")),
                "--modes",
                "cache",
                "--methods",
                "byel,byol",
                "--repeats",
                "2",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    again = json.loads((output / "throughput.json").read_text())
    assert "cache_open_seconds" in again["data"]
    assert [r["method"] for r in again["results"]] == ["byel", "byol", "byol", "byel"]


def test_unknown_names_are_refused(throughput: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"unknown or untrained .* \['tpu'\]"):
        throughput.main([*TINY, "--modes", "tpu"])
    # The no-pretraining control has no training step to time.
    with pytest.raises(SystemExit, match=r"\['random-init'\]"):
        throughput.main([*TINY, "--methods", "random-init"])


def test_ratio_needs_both_methods(throughput: ModuleType) -> None:
    make = throughput.Measurement
    results = [
        make("byel", "device", 10.0, 110.0, 1.0, "x", 2),
        make("byol", "device", 11.0, 100.0, 1.0, "x", 2),
        make("byel", "files", 10.0, 50.0, 1.0, "x", 2),
    ]
    assert throughput.byel_byol_ratios(results) == {"device": pytest.approx(1.1)}
    repeated = [
        *results,
        make("byel", "device", 10.0, 130.0, 1.0, "x", 2),
        make("byel", "device", 10.0, 90.0, 1.0, "x", 2),
    ]
    assert throughput.byel_byol_ratios(repeated) == {"device": pytest.approx(1.1)}
