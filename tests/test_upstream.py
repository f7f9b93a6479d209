"""The files meant for Lightly (docs/upstream.md) import nothing Lightly lacks."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lightly_byel"
UPSTREAM = (
    "loss/byel_loss.py",
    "models/modules/heads.py",
    "transforms/byel_view_settings.py",
    "transforms/jpeg.py",
    "transforms/image_range.py",
    "transforms/byel_transform.py",
    "transforms/batch_transform.py",
    "utils/lars.py",
)
ALLOWED = {"torch", "torchvision", "lightly", "PIL", "numpy"}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_upstream_list_matches_the_guide() -> None:
    guide = (PACKAGE.parent / "docs" / "upstream.md").read_text(encoding="utf-8")
    for file in UPSTREAM:
        assert f"`lightly_byel/{file}`" in guide, file


@pytest.mark.parametrize("file", UPSTREAM)
def test_upstream_files_import_only_what_lightly_has(file: str) -> None:
    own = {
        "lightly_byel." + name.removesuffix(".py").replace("/", ".")
        for name in UPSTREAM
    }
    for name in imported(PACKAGE / file):
        top = name.split(".")[0]
        if top == "lightly_byel":
            assert name in own, f"{file} imports {name}, which stays in lightly_byel"
        else:
            assert top in ALLOWED or top in sys.stdlib_module_names, (
                f"{file} imports {name}"
            )
