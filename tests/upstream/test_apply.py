"""upstream/apply.py on a stand-in for a Lightly checkout that the tests write."""

import ast
import shutil
import subprocess
from pathlib import Path

import apply
import pytest

ROOT = Path(__file__).resolve().parents[2]


# The few lines of Lightly's files the change touches, in Lightly's layout.
STAND_IN = {
    "pyproject.toml": (
        '[tool.ruff]\ntarget-version = "py37"\n\n'
        '[tool.ruff.lint.isort]\nknown-first-party = ["lightly"]\n'
    ),
    "lightly/__init__.py": "",
    "lightly/loss/__init__.py": (
        '"""Losses."""\n\n'
        "from lightly.loss.barlow_twins_loss import BarlowTwinsLoss\n"
        "from lightly.loss.dino_loss import DINOLoss\n"
    ),
    "lightly/models/modules/__init__.py": (
        '"""Modules."""\n\n'
        "from lightly.models.modules.heads import (\n"
        "    BarlowTwinsProjectionHead,\n"
        "    BYOLPredictionHead,\n"
        "    BYOLProjectionHead,\n"
        "    DINOProjectionHead,\n"
        "    SwaVPrototypes,\n"
        ")\n"
        "from lightly.models.modules.nn_memory_bank import NNMemoryBankModule\n"
    ),
    "lightly/models/modules/heads.py": (
        '"""Heads."""\n\n'
        "from typing import List, Optional, Sequence, Tuple, Union\n\n"
        "import torch\nimport torch.nn as nn\nfrom torch import Tensor\n\n\n"
        "class ProjectionHead(nn.Module):\n    pass\n\n\n"
        "class BYOLPredictionHead(ProjectionHead):\n    pass\n"
    ),
    "lightly/transforms/__init__.py": (
        '"""Transforms."""\n\n'
        "from lightly.transforms.aim_transform import AIMTransform\n"
        "from lightly.transforms.byol_transform import BYOLTransform\n"
        "from lightly.transforms.dino_transform import DINOTransform\n"
    ),
    "lightly/utils/lars.py": '"""Lightly\'s LARS."""\n',
    "docs/source/examples/models.rst": (
        "Models\n======\n\n.. toctree::\n    :maxdepth: 1\n\n"
        "    aim.rst\n    byol.rst\n    dino.rst\n"
    ),
    "docs/source/lightly.loss.rst": (
        "lightly.loss\n============\n\n.. automodule:: lightly.loss\n\n"
        ".. autoclass:: lightly.loss.barlow_twins_loss.BarlowTwinsLoss\n"
        "   :members:\n\n"
        ".. autoclass:: lightly.loss.dino_loss.DINOLoss\n   :members:\n"
    ),
    "docs/source/lightly.transforms.rst": (
        "lightly.transforms\n==================\n\n"
        ".. automodule:: lightly.transforms\n\n"
        ".. automodule:: lightly.transforms.aim_transform\n   :members:\n\n"
        ".. automodule:: lightly.transforms.byol_transform\n   :members:\n"
    ),
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "lightly"
    for name, text in STAND_IN.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


def without_imports(tree: ast.Module) -> str:
    body = [
        node for node in tree.body if not isinstance(node, ast.Import | ast.ImportFrom)
    ]
    return ast.dump(ast.Module(body=body, type_ignores=[]))


def imports(tree: ast.Module) -> set[tuple[str, str, str | None]]:
    """What the top-level imports bind, however isort groups and orders them."""
    bound = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            bound.update(("", alias.name, alias.asname) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            bound.update((module, alias.name, alias.asname) for alias in node.names)
    return bound


def test_rewrite_follows_the_documented_table() -> None:
    source = (
        "from lightly_byel.loss import BYELLoss\n"
        "from lightly_byel.transforms.batch_transform import BYELBatchTransform\n"
        "import lightly_byel.utils.lars as lars\n"
        "class Test:\n"
        "    @pytest.mark.cuda\n"
        "    def test(self) -> None: ...\n"
        "# pip install lightly-byel\n"
    )
    assert apply.rewrite(source, "x.py") == (
        "from lightly.loss import BYELLoss\n"
        "from lightly.transforms.byel_batch_transform import BYELBatchTransform\n"
        "import lightly.utils.lars as lars\n"
        "class Test:\n"
        '    @pytest.mark.skipif(not torch.cuda.is_available(), reason="No cuda")\n'
        "    def test(self) -> None: ...\n"
        "# pip install lightly\n"
    )


@pytest.mark.parametrize(
    "line",
    [
        "from lightly_byel import BYELLoss",
        "from lightly_byel.data import LSDImageFolder",
        "import lightly_byel",
    ],
)
def test_rewrite_refuses_what_has_no_counterpart(line: str) -> None:
    with pytest.raises(apply.ApplyError, match=r"x\.py:2 refers to this package"):
        apply.rewrite(f"import torch\n{line}\n", "x.py")


@pytest.mark.skipif(shutil.which("ruff") is None, reason="needs ruff")
def test_the_change_in_a_stand_in_checkout(checkout: Path) -> None:
    before = snapshot(checkout)
    assert apply.main([str(checkout)]) == 0
    after = snapshot(checkout)

    # Every added or replaced file is ours after the rewrite: only the imports'
    # order and the formatting may differ.
    for move in (*apply.COMPONENTS, *apply.TESTS_AND_EXAMPLES):
        if move.how == "append":
            continue
        added = after.pop(move.target)
        ours = apply.rewrite((ROOT / move.source).read_text(encoding="utf-8"), "")
        assert "lightly_byel" not in added, move.target
        if move.target.endswith(".py"):
            tree, expected = ast.parse(added), ast.parse(ours)
            assert without_imports(tree) == without_imports(expected), move.target
            assert imports(tree) == imports(expected), move.target
        else:
            assert added == ours, move.target

    # The heads join Lightly's heads: its file first, then ours without imports.
    heads = after.pop("lightly/models/modules/heads.py")
    assert heads.startswith(before.pop("lightly/models/modules/heads.py").rstrip())
    heads_source = (ROOT / "lightly_byel/models/modules/heads.py").read_text()
    ours_heads = ast.parse(apply.rewrite(heads_source, ""))
    appended = ast.parse(heads).body[-len(without_imports_nodes(ours_heads)) :]
    assert [ast.dump(node) for node in appended] == [
        ast.dump(node) for node in without_imports_nodes(ours_heads)
    ]

    # The export lines, merged or in module order.
    assert after.pop("lightly/loss/__init__.py") == (
        '"""Losses."""\n\n'
        "from lightly.loss.barlow_twins_loss import BarlowTwinsLoss\n"
        "from lightly.loss.byel_loss import BYELLoss, BYELLossComponents\n"
        "from lightly.loss.dino_loss import DINOLoss\n"
    )
    modules = after.pop("lightly/models/modules/__init__.py")
    assert "    BarlowTwinsProjectionHead,\n    BYELPredictionHead,\n" in modules
    assert "    DINOProjectionHead,\n    EmotionClassifier,\n" in modules
    transforms = after.pop("lightly/transforms/__init__.py")
    lines = transforms.splitlines()
    assert lines.index("from lightly.transforms.aim_transform import AIMTransform") < (
        lines.index("from lightly.transforms.byel_batch_transform import (")
    )
    assert lines.index(
        "from lightly.transforms.byel_transform import BYELTransform, BYELViewTransform"
    ) < lines.index("from lightly.transforms.byol_transform import BYOLTransform")

    # The docs entries, in order.
    models = after.pop("docs/source/examples/models.rst")
    assert models.endswith("    aim.rst\n    byel.rst\n    byol.rst\n    dino.rst\n")
    loss_docs = after.pop("docs/source/lightly.loss.rst")
    assert loss_docs.index("byel_loss.BYELLoss") < loss_docs.index("dino_loss")
    transform_docs = after.pop("docs/source/lightly.transforms.rst")
    assert (
        transform_docs.index("aim_transform")
        < transform_docs.index("byel_batch_transform")
        < transform_docs.index("byel_transform\n")
        < transform_docs.index("byol_transform")
    )
    # Nothing else changed.
    for name in ("pyproject.toml", "lightly/__init__.py"):
        assert after.pop(name) == before.pop(name)
    assert after == {}


def without_imports_nodes(tree: ast.Module) -> list[ast.stmt]:
    nodes = [
        node for node in tree.body if not isinstance(node, ast.Import | ast.ImportFrom)
    ]
    docstring = nodes[0]
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    return nodes[1:]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="needs ruff")
def test_a_second_run_is_refused_and_changes_nothing(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply.main([str(checkout)]) == 0
    applied = snapshot(checkout)
    capsys.readouterr()
    assert apply.main([str(checkout)]) == 1
    assert "exists already: apply the change to a clean checkout" in (
        capsys.readouterr().err
    )
    assert snapshot(checkout) == applied


def test_a_folder_that_is_not_lightly_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply.main([str(tmp_path)]) == 1
    assert "is not a checkout of Lightly (no lightly/)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_missing_lightly_file_is_refused_before_anything_is_written(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (checkout / "lightly/utils/lars.py").unlink()
    before = snapshot(checkout)
    assert apply.main([str(checkout)]) == 1
    assert "lightly/utils/lars.py is missing" in capsys.readouterr().err
    assert snapshot(checkout) == before


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_another_commit_is_refused_unless_asked_for(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stand-in"], check=True)
    before = snapshot(checkout)
    assert apply.main([str(checkout)]) == 1
    assert f"not the pinned {apply.PINNED_COMMIT}" in capsys.readouterr().err
    assert snapshot(checkout) == before
    if shutil.which("ruff") is not None:
        assert apply.main([str(checkout), "--any-commit"]) == 0
