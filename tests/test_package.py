import inspect
import re

import lightly_byel

PUBLIC = [
    "BYEL",
    "BYELLoss",
    "BYELLossTerms",
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
        if name == "BYELLossTerms":
            continue
        doc = inspect.getdoc(getattr(lightly_byel, name))
        assert doc is not None and "Examples:" in doc and ">>> " in doc, name
        assert "https://arxiv.org/abs/2207.10003" in doc, name
