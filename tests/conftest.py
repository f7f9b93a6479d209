"""Hooks and fixtures of the whole test suite."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skips the tests marked ``cuda`` on a machine without a CUDA device.

    ``pytest -m cuda`` selects them (``benchmarks/gpu_acceptance.py`` runs that);
    without a device they are reported as skipped, not deselected.
    """
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


class PlantedPickle:
    """An object whose unpickling writes ``marker``: what a hostile file does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


@pytest.fixture
def plant(tmp_path: Path) -> Callable[..., Path]:
    """Writes a PyTorch file whose loading would run code; returns the marker path.

    ``plant(path, content)`` saves ``content`` (default ``{}``) with a planted
    object under ``"state_dict"``; if any code loads the file unrestricted,
    the marker file appears.
    """
    marker = tmp_path / "planted-code-ran"

    def write(path: Path, content: dict[str, Any] | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({**(content or {}), "state_dict": PlantedPickle(marker)}, path)
        return marker

    return write
