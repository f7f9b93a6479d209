import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from lightly_byel.data import LSD_CLASSES, LSDImageFolder
from lightly_byel.data.formats import FORMATS


def test_the_lsd_format_reads_class_folders(tmp_path: Path) -> None:
    for label, name in enumerate(LSD_CLASSES[:2]):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / f"{label}.png")
    split = FORMATS["lsd"].load(tmp_path, None)
    assert isinstance(split, LSDImageFolder)
    assert split.targets == [0, 1]


def test_the_affwild2_format_names_its_missing_annotations(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="AffWild2Expr needs its annotation folder"):
        FORMATS["affwild2-expr"].load(tmp_path, None)


def test_every_format_names_a_dataset_of_the_library() -> None:
    import lightly_byel.data

    for name, form in FORMATS.items():
        assert hasattr(lightly_byel.data, form.dataset), name


def test_the_registry_loads_without_torch() -> None:
    # Command lines list the formats in their --help before loading torch.
    probe = "import sys, lightly_byel.data.formats; print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_docs_list_every_format() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "datasets.md"
    text = docs.read_text()
    # The first table: a header, a rule, then a row per format.
    table = text[text.index("| `--eval-format`") :].split("\n\n")[0].splitlines()
    listed = [row.split("`")[1] for row in table[2:]]
    assert listed == list(FORMATS)
