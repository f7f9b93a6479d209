"""docs/datasets.md gives every loader's label codes exactly as the code maps them."""

import re
from pathlib import Path

import pytest

from lightly_byel.data.affectnet import AFFECTNET_CODES
from lightly_byel.data.ckplus import CKPLUS_CODES
from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.coded_names import JAFFE_CODES, KDEF_CODES
from lightly_byel.data.expression_names import (
    EXPRESSION_NAMES,
    LSD_MISSPELLINGS,
    expression_label,
)
from lightly_byel.data.expw import EXPW_CODES
from lightly_byel.data.fer2013 import FER2013_CODES, FERPLUS_VOTES
from lightly_byel.data.rafdb import RAFDB_CODES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "datasets.md"


def documented_codes() -> dict[str, dict[str, str]]:
    """Each "### <title>" section's table: code -> six-class label, as written."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            current = sections.setdefault(line[4:].split(" (")[0], {})
        elif line.startswith("## "):
            current = None
        elif current is not None and line.startswith("| ") and "---" not in line:
            code, _, label = (cell.strip() for cell in line.strip("|").split("|"))
            if code != "code":
                current[code] = label
    return sections


def written(label: int | str) -> str:
    return LSD_CLASSES[label] if isinstance(label, int) else f"left out: {label}"


@pytest.mark.parametrize(
    ("section", "codes"),
    [
        ("FER2013", FER2013_CODES),
        ("FER+", FERPLUS_VOTES),
        ("RAF-DB basic", RAFDB_CODES),
        ("AffectNet", AFFECTNET_CODES),
        ("ExpW", EXPW_CODES),
        ("CK+", CKPLUS_CODES),
        ("JAFFE", JAFFE_CODES),
        ("KDEF", KDEF_CODES),
    ],
)
def test_each_code_table_matches_its_loader(
    section: str, codes: dict[int, int | str] | dict[str, int | str]
) -> None:
    expected = {str(code): written(label) for code, label in codes.items()}
    assert documented_codes()[section] == expected


def test_the_name_table_lists_every_accepted_spelling() -> None:
    table = documented_codes()["Class folders and CSV labels"]
    documented = {
        name: label for names, label in table.items() for name in names.split(", ")
    }
    spelled = {
        name: written(label)
        for name in EXPRESSION_NAMES
        if name not in LSD_MISSPELLINGS
        and (label := expression_label(name)) is not None
    }
    assert documented == spelled
    assert all(re.search(name, DOCS.read_text(), re.I) for name in LSD_MISSPELLINGS)
