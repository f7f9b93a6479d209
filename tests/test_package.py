import ast
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import lightly_byel

PUBLIC = [
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


# What setup.cfg's install_requires brings; optional packages are imported only
# inside the functions that need them, with a message naming what to install.
REQUIRED = {"lightly", "torch", "torchvision", "PIL", "numpy", "lightly_byel"}
OPTIONAL = {"timm", "onnx", "onnxscript", "onnxruntime"}


def _imports(tree: ast.AST) -> Iterator[tuple[str, bool]]:
    """Top-level package of every import, and whether it runs at import time.

    Imports under ``if TYPE_CHECKING:`` never run and are left out.
    """
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    inside = {id(child) for function in functions for child in ast.walk(function)}
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        for child in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name.split(".")[0], id(node) not in inside


def test_the_library_imports_only_what_it_installs() -> None:
    root = Path(lightly_byel.__file__).parent
    for file in sorted(root.rglob("*.py")):
        for package, at_import in _imports(ast.parse(file.read_text())):
            if package in sys.stdlib_module_names or package in REQUIRED:
                continue
            where = f"{file.relative_to(root.parent)} imports {package}"
            assert package in OPTIONAL, where
            assert not at_import, f"{where} at import time"


def test_models_load_without_the_benchmark_packages() -> None:
    blocked = ["timm", "pytorch_lightning", "sklearn", "yaml", "matplotlib"]
    code = (
        f"import sys; sys.modules.update(dict.fromkeys({blocked!r}));"
        "import lightly_byel.models.prediction, lightly_byel.models.onnx_model;"
        "from lightly_byel.models import build_backbone;"
        "print(build_backbone('resnet10-w8')[1])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "64"
