"""The files that move into Lightly (upstream/apply.py) import nothing Lightly lacks
and run on Lightly's oldest Python, 3.7."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import apply
import pytest

ROOT = Path(__file__).resolve().parents[1]


COMPONENTS = [move.source for move in apply.COMPONENTS]
MOVED_CODE = [
    *COMPONENTS,
    *(move.source for move in apply.TESTS_AND_EXAMPLES if move.source.endswith(".py")),
    "upstream/short_run.py",  # runs the examples in a Lightly checkout
]
# What Lightly depends on, and pytest for the tests.
ALLOWED = {
    "torch",
    "torchvision",
    "pytorch_lightning",
    "lightly",
    "PIL",
    "numpy",
    "pytest",
}
OLDEST_PYTHON = "3.7"


def imported(path: Path) -> set[str]:
    """The modules a file imports at run time (not under ``if TYPE_CHECKING:``)."""
    names = set()
    nodes: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            nodes.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        nodes.extend(ast.iter_child_nodes(node))
    return names


def test_the_upstream_list_matches_the_guide() -> None:
    guide = (ROOT / "docs" / "upstream.md").read_text(encoding="utf-8")
    for move in (*apply.COMPONENTS, *apply.TESTS_AND_EXAMPLES):
        assert f"`{move.source}`" in guide, move.source
        assert f"`{move.target}`" in guide, move.target
    assert apply.PINNED_COMMIT in guide


@pytest.mark.parametrize("file", MOVED_CODE)
def test_moved_files_import_only_what_lightly_has(file: str) -> None:
    for name in imported(ROOT / file):
        top = name.split(".")[0]
        if top == "lightly_byel":
            assert name in apply.MODULES, f"{file} imports {name}, which stays here"
        else:
            assert top in ALLOWED or top in sys.stdlib_module_names, (
                f"{file} imports {name}"
            )


def defers_annotations(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


@pytest.mark.skipif(shutil.which("vermin") is None, reason="needs vermin")
@pytest.mark.parametrize("file", MOVED_CODE)
def test_moved_files_run_on_the_oldest_python_lightly_supports(file: str) -> None:
    # Annotations count only where they are evaluated: without the __future__ import.
    evaluated = [] if defers_annotations(ROOT / file) else ["--eval-annotations"]
    command = ["vermin", f"-t={OLDEST_PYTHON}-", "--no-tips", "--violations"]
    done = subprocess.run(
        [*command, *evaluated, str(ROOT / file)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
