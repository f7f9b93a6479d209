"""Makes the BYEL pull request inside a checkout of Lightly.

Usage::

    python upstream/apply.py LIGHTLY_CHECKOUT [--any-commit]

``LIGHTLY_CHECKOUT`` is a clean checkout of https://github.com/lightly-ai/lightly at
:data:`PINNED_COMMIT`. The script copies this repository's upstream components, their
tests, the two examples and the docs entry into it, with the rewrite that
docs/upstream.md documents, and adds the export lines. Afterwards ``git diff`` (with
``git add -N .`` for the new files) in the checkout is the pull request. This
repository never holds Lightly's text: what the script changes in Lightly's files is
an inserted line, an appended block or a whole file of ours.

Everything is prepared and checked in memory first; nothing is written unless the
whole change can be made, so a refused run leaves the checkout as it was.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: The lightly-ai/lightly commit the change is made against and checked on.
PINNED_COMMIT = "e8d317fc5a87f4387a85a35e689869039ec249ee"

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Move:
    """One of our files and where it goes in Lightly.

    ``how`` is ``add`` (a new file), ``append`` (our code after the imports goes
    to the end of Lightly's file, whose imports must already bind every name ours
    import) or ``replace`` (ours replaces Lightly's file of the same purpose).
    """

    source: str
    target: str
    how: str = "add"


#: The library files, in the order docs/upstream.md lists them.
COMPONENTS = (
    Move("lightly_byel/loss/byel_loss.py", "lightly/loss/byel_loss.py"),
    Move(
        "lightly_byel/models/modules/heads.py",
        "lightly/models/modules/heads.py",
        "append",
    ),
    Move(
        "lightly_byel/transforms/byel_view_settings.py",
        "lightly/transforms/byel_view_settings.py",
    ),
    Move("lightly_byel/transforms/jpeg.py", "lightly/transforms/jpeg.py"),
    Move("lightly_byel/transforms/image_range.py", "lightly/transforms/image_range.py"),
    Move(
        "lightly_byel/transforms/byel_transform.py",
        "lightly/transforms/byel_transform.py",
    ),
    Move(
        "lightly_byel/transforms/batch_transform.py",
        "lightly/transforms/byel_batch_transform.py",
    ),
    Move("lightly_byel/utils/lars.py", "lightly/utils/lars.py", "replace"),
)

#: Our tests of those files, and the examples that replace a BYEL model module.
TESTS_AND_EXAMPLES = (
    Move("tests/loss/test_byel_loss.py", "tests/loss/test_byel_loss.py"),
    Move(
        "tests/models/modules/test_heads.py", "tests/models/modules/test_byel_heads.py"
    ),
    Move(
        "tests/transforms/test_byel_view_settings.py",
        "tests/transforms/test_byel_view_settings.py",
    ),
    Move("tests/transforms/test_jpeg.py", "tests/transforms/test_jpeg.py"),
    Move(
        "tests/transforms/test_image_range.py", "tests/transforms/test_image_range.py"
    ),
    Move(
        "tests/transforms/test_byel_transform.py",
        "tests/transforms/test_byel_transform.py",
    ),
    Move(
        "tests/transforms/test_batch_transform.py",
        "tests/transforms/test_byel_batch_transform.py",
    ),
    Move("tests/utils/test_lars.py", "tests/utils/test_lars.py"),
    Move("examples/pytorch/byel.py", "examples/pytorch/byel.py"),
    Move("examples/pytorch_lightning/byel.py", "examples/pytorch_lightning/byel.py"),
    Move("upstream/byel.rst", "docs/source/examples/byel.rst"),
)


def _module(path: str) -> str:
    """The dotted module name of a file path: ``a/b/c.py`` -> ``a.b.c``."""
    return path.removesuffix(".py").replace("/", ".")


#: Our modules and the Lightly modules they become; the longest match wins. Two
#: packages map as wholes, for the names the export lines add to them.
MODULES = {
    **{_module(move.source): _module(move.target) for move in COMPONENTS},
    "lightly_byel.loss": "lightly.loss",
    "lightly_byel.models.modules": "lightly.models.modules",
}

#: The export lines: package ``__init__`` -> (module, names) imported there.
EXPORTS = {
    "lightly/loss/__init__.py": (
        ("lightly.loss.byel_loss", ("BYELLoss", "BYELLossComponents")),
    ),
    "lightly/models/modules/__init__.py": (
        ("lightly.models.modules.heads", ("BYELPredictionHead", "EmotionClassifier")),
    ),
    "lightly/transforms/__init__.py": (
        (
            "lightly.transforms.byel_batch_transform",
            ("BYELBatchTransform", "BYELBatchViewTransform"),
        ),
        ("lightly.transforms.byel_transform", ("BYELTransform", "BYELViewTransform")),
    ),
}

#: Lines added to Lightly's docs: file -> (entry, the kind of line it sorts among).
DOCS_ENTRIES = {
    "docs/source/examples/models.rst": ("    byel.rst\n", r"    (\w+)\.rst\n"),
    "docs/source/lightly.loss.rst": (
        ".. autoclass:: lightly.loss.byel_loss.BYELLoss\n   :members:\n\n",
        r"\.\. autoclass:: lightly\.loss\.(\w+)\.",
    ),
    "docs/source/lightly.transforms.rst": (
        ".. automodule:: lightly.transforms.byel_batch_transform\n"
        "   :members:\n   :special-members: __call__, __init__\n\n"
        ".. automodule:: lightly.transforms.byel_transform\n"
        "   :members:\n   :special-members: __call__, __init__\n\n",
        r"\.\. automodule:: lightly\.transforms\.(\w+)\n",
    ),
}

_CUDA_MARK = "@pytest.mark.cuda\n"
_CUDA_SKIP = '@pytest.mark.skipif(not torch.cuda.is_available(), reason="No cuda")\n'
_LINE_LENGTH = 88


class ApplyError(Exception):
    """The change cannot be made in this checkout; nothing was written."""


def rewrite(text: str, origin: str) -> str:
    r"""Returns one of our files as Lightly's: module paths, markers, package name.

    - every ``lightly_byel.<module>`` in :data:`MODULES` becomes its Lightly module;
    - our ``cuda`` marker becomes Lightly's ``skipif`` on ``torch.cuda``;
    - ``pip install lightly-byel`` becomes ``pip install lightly``.

    Args:
        text: The file's text.
        origin: Its path here, for the error message.

    Raises:
        ApplyError: If a reference to this package is left that has no Lightly
            counterpart (a top-level ``lightly_byel`` import, say).

    Examples:
        >>> rewrite("from lightly_byel.transforms.batch_transform import X\n", "f")
        'from lightly.transforms.byel_batch_transform import X\n'
        >>> try:
        ...     rewrite("from lightly_byel import BYELLoss\n", "f.py")
        ... except ApplyError as error:
        ...     print(error)  # doctest: +ELLIPSIS
        f.py:1 refers to this package with no Lightly counterpart: from lightly_byel ...
    """
    names = sorted(MODULES, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    text = pattern.sub(lambda match: MODULES[match.group(1)], text)
    mark = re.compile(r"^(\s*)" + re.escape(_CUDA_MARK), flags=re.M)
    text = mark.sub(lambda match: match.group(1) + _CUDA_SKIP, text)
    text = text.replace("pip install lightly-byel", "pip install lightly")
    for number, line in enumerate(text.splitlines(), start=1):
        if "lightly_byel" in line or "lightly-byel" in line:
            raise ApplyError(
                f"{origin}:{number} refers to this package with no Lightly "
                f"counterpart: {line.strip()}"
            )
    return text


def _import_key(name: str) -> tuple[int, str]:
    """The order isort gives imported names: constants, classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return (0, name.lower())
    return (1 if name[:1].isupper() else 2, name.lower())


def format_import(module: str, names: list[str]) -> str:
    r"""One ``from module import ...`` statement, formatted as ruff formats it.

    Examples:
        >>> format_import("lightly.loss.byel_loss", ["BYELLossComponents", "BYELLoss"])
        'from lightly.loss.byel_loss import BYELLoss, BYELLossComponents\n'
    """
    names = sorted(set(names), key=_import_key)
    line = f"from {module} import {', '.join(names)}\n"
    if len(line) - 1 <= _LINE_LENGTH:
        return line
    body = "".join(f"    {name},\n" for name in names)
    return f"from {module} import (\n{body})\n"


def add_export(text: str, module: str, names: tuple[str, ...], origin: str) -> str:
    """Adds ``from module import names`` to a package ``__init__``.

    The names join an existing import from ``module``; otherwise the statement is
    inserted among the package's ``from ... import`` lines in module order.

    Raises:
        ApplyError: If the file already imports one of the names.
    """
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    imports = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    ]
    for node in imports:
        taken = {alias.asname or alias.name for alias in node.names}
        if taken & set(names):
            raise ApplyError(f"{origin} already exports {sorted(taken & set(names))}.")
    same = [node for node in imports if node.module == module]
    if same:
        node = same[0]
        merged = [alias.name for alias in node.names] + list(names)
        start, end = node.lineno - 1, node.end_lineno or node.lineno
        return "".join([*lines[:start], format_import(module, merged), *lines[end:]])
    package = module.rsplit(".", 1)[0] + "."
    siblings = [node for node in imports if (node.module or "").startswith(package)]
    if not siblings:
        raise ApplyError(f"{origin} has no imports from {package[:-1]} to join.")
    later = [node for node in siblings if (node.module or "") > module]
    at = later[0].lineno - 1 if later else (siblings[-1].end_lineno or 0)
    statement = format_import(module, list(names))
    return "".join([*lines[:at], statement, *lines[at:]])


def add_docs_entry(text: str, entry: str, pattern: str, origin: str) -> str:
    """Inserts a docs entry before the first entry of its kind that sorts after it.

    Raises:
        ApplyError: If the file holds no entry of that kind, or this one already.
    """
    if entry in text:
        raise ApplyError(f"{origin} already has {entry.strip().splitlines()[0]!r}.")
    own = re.match(pattern, entry)
    matches = list(re.finditer(pattern, text))
    if own is None or not matches:
        raise ApplyError(f"{origin} has no entries like {entry.strip()!r}.")
    later = [match for match in matches if match.group(1) > own.group(1)]
    if later:
        at = later[0].start()
        return text[:at] + entry + text[at:]
    end = text.find("\n\n", matches[-1].end())
    at = len(text) if end < 0 else end + 2
    return text[:at] + entry + text[at:]


def append_after_imports(ours: str, theirs: str, origin: str, target: str) -> str:
    """Appends our code after its imports to Lightly's file.

    Our module docstring and imports are dropped: Lightly's file must bind every
    name that ours imports, which is checked.

    Raises:
        ApplyError: If Lightly's file lacks a name our imports bind.
    """
    tree = ast.parse(ours)
    head = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    if tree.body[: len(head)] != head:
        raise ApplyError(f"{origin}: imports must come before the code to append.")
    body = ours.splitlines(keepends=True)[head[-1].end_lineno or 0 :]
    wanted = {
        (alias.asname or alias.name).split(".")[0]
        for node in head
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    bound = _top_level_names(ast.parse(theirs))
    missing = sorted(wanted - bound)
    if missing:
        raise ApplyError(
            f"{target} does not bind {missing}, which {origin} imports; import them "
            "there first or change our imports to Lightly's."
        )
    return theirs.rstrip("\n") + "\n\n" + "".join(body).lstrip("\n")


def _top_level_names(tree: ast.Module) -> set[str]:
    """The names a module binds at its top level by imports and definitions."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def plan(checkout: Path) -> dict[Path, str]:
    """Every file the change writes, with its new text; nothing is written.

    Raises:
        ApplyError: If the checkout is not Lightly's, or the change cannot be made
            in it (already applied, a file missing).
    """
    if not (checkout / "lightly" / "__init__.py").is_file():
        raise ApplyError(f"{checkout} is not a checkout of Lightly (no lightly/).")
    changes: dict[Path, str] = {}

    def current(target: str) -> str:
        path = checkout / target
        if path in changes:
            return changes[path]
        if not path.is_file():
            raise ApplyError(f"{path} is missing: is this Lightly at {PINNED_COMMIT}?")
        return path.read_text(encoding="utf-8")

    for move in (*COMPONENTS, *TESTS_AND_EXAMPLES):
        text = rewrite((ROOT / move.source).read_text(encoding="utf-8"), move.source)
        path = checkout / move.target
        if move.how == "add":
            if path.exists():
                raise ApplyError(
                    f"{path} exists already: apply the change to a clean checkout "
                    f"(git -C {checkout} checkout . && git -C {checkout} clean -fd)."
                )
            changes[path] = text
        elif move.how == "append":
            changes[path] = append_after_imports(
                text, current(move.target), move.source, move.target
            )
        else:
            current(move.target)
            changes[path] = text
    for init, exports in EXPORTS.items():
        for module, names in exports:
            changes[checkout / init] = add_export(current(init), module, names, init)
    for doc, (entry, pattern) in DOCS_ENTRIES.items():
        changes[checkout / doc] = add_docs_entry(current(doc), entry, pattern, doc)
    return changes


def check_commit(checkout: Path) -> None:
    """Refuses a git checkout at another commit than the pinned one, or unclean.

    A folder that is not a git checkout (a copy, a test's stand-in) is not checked.

    Raises:
        ApplyError: If the checkout is at another commit or has changes.
    """
    if not (checkout / ".git").exists():
        return
    git = ["git", "-C", str(checkout)]
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if head != PINNED_COMMIT:
        raise ApplyError(
            f"{checkout} is at {head}, not the pinned {PINNED_COMMIT}: "
            f"git -C {checkout} checkout {PINNED_COMMIT}, or pass --any-commit."
        )
    status = subprocess.run(
        [*git, "status", "--porcelain"], capture_output=True, text=True, check=True
    ).stdout
    if status:
        raise ApplyError(f"{checkout} has changes; apply to a clean checkout.")


def format_like_lightly(checkout: Path, paths: list[Path]) -> None:
    """Sorts the imports and formats the files as Lightly's ``make format`` does.

    Runs ``ruff`` with the checkout's own configuration, in which ``lightly`` is
    first-party: our ``lightly`` imports sit among the third-party ones here and
    must move to the first-party block there.

    Raises:
        ApplyError: If ruff is not installed or fails.
    """
    ruff = shutil.which("ruff")
    if ruff is None:
        raise ApplyError(
            "ruff is needed to sort imports and format as Lightly's CI checks; "
            "install the version Lightly pins (pip install ruff==0.12.7)."
        )
    files = [str(path.relative_to(checkout)) for path in paths if path.suffix == ".py"]
    for command in (["check", "--select", "I", "--fix"], ["format"]):
        done = subprocess.run(
            [ruff, *command, "--quiet", "--no-cache", *files],
            cwd=checkout,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ApplyError(f"ruff {command[0]} failed:\n{done.stdout}{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    """Applies the change; prints the files written, or why nothing was."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a checkout of lightly-ai/lightly")
    parser.add_argument(
        "--any-commit",
        action="store_true",
        help=f"accept another commit than the pinned {PINNED_COMMIT[:12]}",
    )
    args = parser.parse_args(argv)
    checkout: Path = args.checkout.resolve()
    try:
        if not args.any_commit:
            check_commit(checkout)
        changes = plan(checkout)
        if shutil.which("ruff") is None:
            format_like_lightly(checkout, [])  # says what is missing
        for path, text in changes.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(path.relative_to(checkout))
        format_like_lightly(checkout, list(changes))
    except ApplyError as error:
        print(f"apply.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
