"""The harness's folders form layers: no module imports from a folder above its own."""

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[3] / "benchmarks" / "harness"

LAYERS = [
    "config",
    "storage",
    "data",
    "methods",
    "pipelines",
    "training",
    "evaluation",
    "reporting",
    "runs",
    "scripts",
]
"""The harness's folders, bottom to top (docs/harness.md draws the same map)."""


def _folder(module: str) -> str:
    """The folder of a dotted ``harness.<folder>...`` name."""
    return module.split(".")[1]


def _harness_imports(path: Path) -> list[tuple[int, str, bool]]:
    """Every ``harness`` import of a file: line, module, and whether at top level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "harness."
        ):
            found.append((node.lineno, node.module or "", id(node) in top))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("harness."):
                    found.append((node.lineno, alias.name, id(node) in top))
    return found


def test_every_folder_of_the_harness_has_a_layer() -> None:
    folders = {p.name for p in HARNESS.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)
    # Nothing but the package marker lies loose at the top of the harness.
    assert sorted(p.name for p in HARNESS.glob("*.py")) == ["__init__.py"]


def test_no_import_runs_upward_or_hides_in_a_function() -> None:
    upward, hidden = [], []
    for path in sorted(HARNESS.rglob("*.py")):
        here = _folder("harness." + str(path.relative_to(HARNESS)).replace("/", "."))
        for line, module, at_top in _harness_imports(path):
            where = f"{path.relative_to(HARNESS)}:{line} imports {module}"
            if LAYERS.index(_folder(module)) > LAYERS.index(here):
                upward.append(where)
            if not at_top:
                hidden.append(where)
    assert upward == []
    assert hidden == []


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    # The check itself, on a made-up module of the data folder that imports a run.
    module = tmp_path / "splits.py"
    module.write_text(
        "from harness.config.settings import DataSettings\n"
        "def f():\n    from harness.runs.run import run_benchmark\n"
    )
    found = _harness_imports(module)
    assert found == [
        (1, "harness.config.settings", True),
        (3, "harness.runs.run", False),
    ]
    assert LAYERS.index(_folder(found[1][1])) > LAYERS.index("data")
