import inspect
import re
import subprocess
import sys

import pytest

import lightly_byel

PUBLIC = [
    "BYEL",
    "BYELBatchTransform",
    "BYELBatchViewTransform",
    "BYELLoss",
    "BYELLossComponents",
    "BYELPredictionHead",
    "BYELTransform",
    "BYELViewTransform",
    "EmotionClassifier",
]


def test_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", lightly_byel.__version__)


def test_public_api_is_exported() -> None:
    assert sorted(lightly_byel.__all__) == sorted([*PUBLIC, "__version__"])
    for name in PUBLIC:
        assert getattr(lightly_byel, name).__module__.startswith("lightly_byel.")


def test_components_document_a_runnable_example() -> None:
    # pytest runs these examples as doctests (--doctest-modules in pyproject.toml).
    for name in PUBLIC:
        if name == "BYELLossComponents":
            continue
        doc = inspect.getdoc(getattr(lightly_byel, name))
        assert doc is not None and "Examples:" in doc and ">>> " in doc, name
        assert "https://arxiv.org/abs/2207.10003" in doc, name


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'BYOL'"):
        lightly_byel.BYOL  # noqa: B018


def test_data_exports_resolve() -> None:
    import lightly_byel.data as data

    for name in data.__all__:
        assert getattr(data, name) is not None, name
    assert data.LSD_CLASSES[0] == "ANGER"


def test_generator_starts_without_torch() -> None:
    # torch takes seconds to import; the generator's command line must not pay it.
    code = (
        "import sys, lightly_byel.data.synthfaces.__main__; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
