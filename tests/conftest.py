"""Hooks of the whole test suite."""

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
