"""The benchmark scripts, loaded as modules (``benchmarks/`` is not a package)."""

import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from harness.reporting.results import read_results_json

from lightly_byel.cli.main import main as lightly_byel_command

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(name: str) -> Iterator[ModuleType]:
    """Imports ``benchmarks/<name>.py`` for the duration of a fixture."""
    spec = importlib.util.spec_from_file_location(
        f"benchmarks_{name}", BENCHMARKS / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their defining module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="module")
def overhead() -> Iterator[ModuleType]:
    yield from load_script("overhead")


@pytest.fixture(scope="module")
def index_lsd() -> Iterator[ModuleType]:
    yield from load_script("index_lsd")


@pytest.fixture(scope="module")
def affwild2() -> Iterator[ModuleType]:
    yield from load_script("affwild2")


@pytest.fixture(scope="module")
def throughput() -> Iterator[ModuleType]:
    yield from load_script("throughput")


@pytest.fixture(scope="module")
def preset_search() -> Iterator[ModuleType]:
    yield from load_script("preset_search")


@pytest.fixture(scope="module")
def gpu_acceptance() -> Iterator[ModuleType]:
    yield from load_script("gpu_acceptance")


@pytest.fixture(autouse=True)
def generated_data_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """One folder of generated data for the whole test session, never the user's."""
    folder = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("LIGHTLY_BYEL_CACHE", str(folder))
    return folder


def smoke_command(output: Path, *extra: str) -> list[str]:
    """The command line of a smoke run of ``benchmarks/affwild2.py`` into ``output``."""
    return ["--preset", "smoke", "--output", str(output), "--num-workers", "0", *extra]


@pytest.fixture
def smoke() -> Callable[..., list[str]]:
    """Builds smoke-run command lines: ``smoke(output, *flags)``."""
    return smoke_command


TIMINGS = (
    "train_seconds",
    "images_per_second",
    "pretrain_seconds",
    "pretrain_images_per_second",
)
"""The fields of a run record that differ between two runs of the same settings."""


def run_scores(output: Path) -> list[dict[str, Any]]:
    """The run records of ``output/results.json`` without their timings."""
    runs = read_results_json(output / "results.json")["runs"]
    return [{k: v for k, v in run.items() if k not in TIMINGS} for run in runs]


@pytest.fixture
def scores() -> Callable[[Path], list[dict[str, Any]]]:
    """Reads a run's records without timings: ``scores(output)``, to compare runs."""
    return run_scores


@pytest.fixture(scope="module")
def predict() -> Callable[[Sequence[str]], int]:
    """``lightly-byel predict``: ``predict(argv)`` returns the exit status."""
    return lambda argv: lightly_byel_command(["predict", *argv])


@pytest.fixture(scope="module")
def help_time() -> Iterator[ModuleType]:
    yield from load_script("help_time")


@pytest.fixture(scope="module")
def predict_speed() -> Iterator[ModuleType]:
    yield from load_script("predict_speed")


@pytest.fixture(scope="module")
def face_crops() -> Iterator[ModuleType]:
    yield from load_script("face_crops")


@pytest.fixture(scope="module")
def lars_step() -> Iterator[ModuleType]:
    yield from load_script("lars_step")
