from pathlib import Path
from typing import get_args

import pytest
from harness.config.settings import EvalFormat
from harness.data.eval_formats import EVAL_FORMATS
from PIL import Image

from lightly_byel.data import LSD_CLASSES, LSDImageFolder


def test_the_registry_and_the_settings_choices_list_the_same_formats() -> None:
    assert list(EVAL_FORMATS) == list(get_args(EvalFormat))


def test_the_lsd_format_reads_class_folders(tmp_path: Path) -> None:
    for label, name in enumerate(LSD_CLASSES[:2]):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / f"{label}.png")
    split = EVAL_FORMATS["lsd"].load(tmp_path, None)
    assert isinstance(split, LSDImageFolder)
    assert split.targets == [0, 1]


def test_the_affwild2_format_names_its_missing_annotations(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs --eval-annotations"):
        EVAL_FORMATS["affwild2-expr"].load(tmp_path, None)


def test_docs_list_every_format() -> None:
    docs = Path(__file__).resolve().parents[4] / "docs" / "datasets.md"
    text = docs.read_text()
    # The first table: a header, a rule, then a row per format.
    table = text[text.index("| `--eval-format`") :].split("\n\n")[0].splitlines()
    listed = [row.split("`")[1] for row in table[2:]]
    assert listed == list(EVAL_FORMATS)
