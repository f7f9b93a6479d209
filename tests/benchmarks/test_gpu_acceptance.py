import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

NAMES = ["cuda_tests", "throughput", "byel_byol_ratio", "paper_short", "ddp"]
STATUS = re.compile(r"passed|measured|(failed|skipped): \S.*")
SETTINGS = {"device", "precision", "batch_size", "backbone", "input_size", "image_size"}
# A measurement line as benchmarks/throughput.py prints it.
PRINTED = "       byel         device:   245.6 images/s, step   32.6 ms, peak   880 MiB"


def run(module: ModuleType, output: Path) -> tuple[int, dict[str, Any]]:
    argv = ["--output", str(output), "--budget-s", "150", "--device", "cpu"]
    code = module.main(argv)
    return code, json.loads((output / "acceptance.json").read_text())


@pytest.fixture(scope="module")
def miniature(
    gpu_acceptance: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, dict[str, Any], Path]:
    output = tmp_path_factory.mktemp("acceptance")
    code, report = run(gpu_acceptance, output)
    return code, report, output


def cpu_context(module: ModuleType, output: Path) -> Any:
    return module.make_context(
        module.parse_args(["--output", str(output), "--device", "cpu"])
    )


def test_every_section_is_reported_with_its_settings(
    miniature: tuple[int, dict[str, Any], Path],
) -> None:
    code, report, output = miniature
    sections = report["sections"]
    assert list(sections) == NAMES and report["pending"] == []
    for name, section in sections.items():
        assert STATUS.fullmatch(section["status"]), (name, section["status"])
        assert section["wall_seconds"] >= 0 and section["time_box_seconds"] >= 0
        if name != "ddp":
            assert set(section["settings"]) == SETTINGS
            assert section["settings"]["device"] == "cpu"
            assert section["commands"] and (output / section["log"]).is_file()
    failed = any(s["status"].startswith("failed") for s in sections.values())
    assert code == (1 if failed else 0)


def test_the_environment_and_budget_are_recorded(
    miniature: tuple[int, dict[str, Any], Path],
) -> None:
    _, report, _ = miniature
    assert report["budget_s"] == 150
    environment = report["environment"]
    for key in ("gpus", "driver_version", "torch", "cuda", "cpu", "cpu_count"):
        assert key in environment
    assert environment["cpu_count"] >= 1 and environment["torch"]


def test_the_cpu_miniature_measures_every_section(
    miniature: tuple[int, dict[str, Any], Path],
) -> None:
    _, report, _ = miniature
    sections = report["sections"]
    tests = sections["cuda_tests"]
    # Without a device the CUDA tests are collected and skipped; a test module
    # elsewhere that fails to import is counted as an error and fails the section.
    assert tests["figures"]["skipped"] >= 9 and tests["figures"]["passed"] == 0
    if tests["figures"]["errors"] == 0:
        assert tests["status"] == "skipped: no CUDA device"

    throughput = sections["throughput"]
    assert throughput["status"] == "measured"
    results = throughput["figures"]["results"]
    assert {(r["method"], r["mode"]) for r in results} == {
        (method, mode)
        for method in ("byel", "byol", "simclr", "supervised")
        for mode in ("device", "device-augment", "cache")
    }
    for r in results:
        assert r["images_per_second"] > 0 and r["median_step_ms"] > 0
        assert r["peak_memory_mib"] > 0
    assert throughput["figures"]["byel_cache_paper_recipe_hours"] > 0

    ratio = sections["byel_byol_ratio"]
    assert ratio["status"] == "measured" and ratio["figures"]["ratio"] > 0
    assert len(ratio["figures"]["byel_step_ms"]) == ratio["figures"]["repeats"] >= 2
    assert ratio["figures"]["goal"]["status"] == "skipped: no CUDA device"

    paper = sections["paper_short"]["figures"]
    assert sections["paper_short"]["status"] == "measured"
    assert paper["pretrain_images_per_second"] > 0 and paper["paper_recipe_hours"] > 0
    assert paper["goal"] == {
        "max_hours": 1.0,
        "min_images_per_second": 7694,
        "met": None,
        "status": "skipped: no CUDA device",
    }
    assert sections["ddp"]["status"].startswith("skipped: ")


def test_the_markdown_summarises_every_section(
    miniature: tuple[int, dict[str, Any], Path],
) -> None:
    _, report, output = miniature
    text = (output / "acceptance.md").read_text()
    for name, section in report["sections"].items():
        assert f"| {name} | {section['status']} |" in text
        assert f"## {name}" in text
    assert "| byel | cache |" in text


def test_a_failing_section_is_reported_and_the_next_ones_still_run(
    gpu_acceptance: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_acceptance, "throughput_command", lambda ctx: ["false"])
    # The sections from the failing one on.
    monkeypatch.setattr(gpu_acceptance, "SECTIONS", gpu_acceptance.SECTIONS[1:4])
    code, report = run(gpu_acceptance, tmp_path)
    assert code == 1
    sections = report["sections"]
    assert sections["throughput"]["status"] == "failed: exit status 1: no output"
    assert sections["throughput"]["figures"]["results"] == []
    assert sections["byel_byol_ratio"]["status"] == "measured"
    assert sections["paper_short"]["status"] == "measured"


def test_a_section_cut_off_by_its_time_box_keeps_what_it_printed(
    gpu_acceptance: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = f"import time; print({PRINTED!r}, flush=True); time.sleep(60)"
    monkeypatch.setattr(
        gpu_acceptance, "ratio_command", lambda ctx: [sys.executable, "-c", script]
    )
    spec = next(s for s in gpu_acceptance.SECTIONS if s.name == "byel_byol_ratio")
    section = gpu_acceptance.run_section(
        cpu_context(gpu_acceptance, tmp_path), spec, 3.0, {}
    )
    assert re.fullmatch(r"failed: cut off by its time box after \d+ s", section.status)
    assert section.figures["byel_step_ms"] == [32.6]
    assert section.figures["ratio"] is None
    assert section.wall_seconds < 3 + gpu_acceptance.GRACE_S


def test_an_error_in_a_section_fails_that_section_only(
    gpu_acceptance: ModuleType, tmp_path: Path
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("no figures")

    spec = gpu_acceptance.Spec("broken", 1.0, broken)
    section = gpu_acceptance.run_section(
        cpu_context(gpu_acceptance, tmp_path), spec, 5.0, {}
    )
    assert section.status == "failed: RuntimeError: no figures"


def test_cuda_test_counts_give_the_status(
    gpu_acceptance: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_acceptance.torch.cuda, "is_available", lambda: False)
    status = gpu_acceptance.cuda_tests_status
    log = tmp_path / "log"

    def counts(passed: int, failed: int, skipped: int) -> dict[str, int]:
        return {"passed": passed, "failed": failed, "errors": 0, "skipped": skipped}

    def ended(code: int | None) -> Any:
        return gpu_acceptance.Finished(("pytest",), code, 2.0)

    assert status(ended(0), counts(9, 0, 2), log) == "passed"
    assert status(ended(0), counts(0, 0, 9), log) == "skipped: no CUDA device"
    assert status(ended(1), counts(8, 1, 0), log) == (
        "failed: 8 passed, 1 failed, 0 errors, 0 skipped (exit status 1)"
    )
    assert status(ended(None), counts(3, 0, 0), log) == (
        "failed: cut off by its time box after 2 s "
        "(3 passed, 0 failed, 0 errors, 0 skipped)"
    )
    log.write_text("No module named pytest\n")
    assert status(ended(1), {}, log) == "failed: exit status 1: No module named pytest"
    assert status(ended(5), {}, log).startswith("failed: exit status 5")
