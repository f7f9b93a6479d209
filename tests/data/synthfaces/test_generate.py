import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces.generate import (
    DATASET_FILE,
    METADATA_COLUMNS,
    METADATA_FILE,
    SPLITS,
    generate,
    lsd_validation_counts,
)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces")
    generate(root, images_per_class=3, image_size=32, seed=0, workers=1)
    return root


def test_layout_and_counts(dataset: Path) -> None:
    train = dataset / SPLITS[0]
    for name in LSD_CLASSES:
        files = sorted(p.name for p in (train / name).iterdir())
        assert files == ["00000.jpg", "00001.jpg", "00002.jpg"]
    shifted = [
        len(list((dataset / SPLITS[1] / name).iterdir())) for name in LSD_CLASSES
    ]
    assert shifted == [3] * 6
    with Image.open(train / "ANGER" / "00000.jpg") as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (32, 32), "RGB")


def test_dataset_json(dataset: Path) -> None:
    description = json.loads((dataset / DATASET_FILE).read_text())
    assert description["version"]
    assert "not real" in description["note"]
    assert description["parameters"]["seed"] == 0
    assert description["parameters"]["image_size"] == 32
    assert description["parameters"]["framing"] == "aligned"
    assert description["classes"] == list(LSD_CLASSES)
    train, shifted = (description["splits"][split] for split in SPLITS)
    assert train["counts"] == dict.fromkeys(LSD_CLASSES, 3)
    assert sum(shifted["counts"].values()) == shifted["images"] == 18
    assert (train["domain"], shifted["domain"]) == ("clean", "shifted")
    # Disjoint identity pools, like a real train/test split.
    assert train["identities"][1] <= shifted["identities"][0]
    assert description["metadata_columns"] == list(METADATA_COLUMNS)


def test_metadata_rows_match_files(dataset: Path) -> None:
    with open(dataset / METADATA_FILE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(METADATA_COLUMNS)
    files = sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*.jpg"))
    assert sorted(row["file"] for row in rows) == files
    for row in rows:
        assert row["file"].startswith(f"{row['split']}/{row['expression']}/")
        assert row["framing"] == "aligned"
        assert LSD_CLASSES[int(row["label"])] == row["expression"]
        assert all(
            0.0 <= float(row[c]) <= 1.0 for c in METADATA_COLUMNS if c[:2] == "AU"
        )
    train_ids = {row["identity"] for row in rows if row["split"] == SPLITS[0]}
    shifted_ids = {row["identity"] for row in rows if row["split"] == SPLITS[1]}
    assert not train_ids & shifted_ids
    happy = [
        r for r in rows if r["expression"] == "HAPPINESS" and r["split"] == SPLITS[0]
    ]
    assert all(
        float(r["AU12"]) == pytest.approx(float(r["intensity"]), abs=0.3) for r in happy
    )


def test_same_seed_same_bytes_whatever_the_workers(
    dataset: Path, tmp_path: Path
) -> None:
    generate(tmp_path / "two", images_per_class=3, image_size=32, seed=0, workers=2)
    assert tree_bytes(tmp_path / "two") == tree_bytes(dataset)


def test_other_seed_other_bytes(dataset: Path, tmp_path: Path) -> None:
    generate(tmp_path / "other", images_per_class=3, image_size=32, seed=1)
    other = tree_bytes(tmp_path / "other")
    same = tree_bytes(dataset)
    images = [name for name in same if name.endswith(".jpg")]
    assert all(other[name] != same[name] for name in images)


def test_explicit_counts_and_identities(tmp_path: Path) -> None:
    summary = generate(
        tmp_path,
        image_size=16,
        identities=2,
        train_counts=(2, 0, 1, 0, 0, 1),
        eval_counts=(0, 1, 0, 0, 0, 0),
    )
    assert summary.counts[SPLITS[0]] == (2, 0, 1, 0, 0, 1)
    assert summary.images == 5
    assert summary.identities == 2
    assert not any((tmp_path / SPLITS[0] / "DISGUST").iterdir())


def test_refuses_to_overwrite_unless_told(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(FileExistsError, match="overwrite"):
        generate(dataset, images_per_class=1, image_size=16)
    root = tmp_path / "again"
    generate(root, images_per_class=2, image_size=16)
    (root / "notes.txt").write_text("mine")
    generate(root, images_per_class=1, image_size=16, overwrite=True)
    assert len(list((root / SPLITS[0] / "ANGER").iterdir())) == 1
    assert (root / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images_per_class": 0}, "images_per_class must be at least 1, got 0"),
        ({"image_size": 8}, "image_size must be at least 16, got 8"),
        ({"workers": 0}, "workers must be at least 1, got 0"),
        ({"identities": 0}, "identities must be at least 1, got 0"),
        ({"seed": -1}, "seed must be at least 0, got -1"),
        ({"framing": "tight"}, "framing must be one of .*got 'tight'"),
        ({"train_counts": (1, 2, 3)}, r"train_counts must be 6 .*got \(1, 2, 3\)"),
        ({"eval_counts": (0, 0, 0, 0, 0, 0)}, r"eval_counts must be 6 .*not all zero"),
        ({"eval_counts": (1, 1, 1, 1, 1, -1)}, "eval_counts must be 6 non-negative"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_size": 64.0}, r"image_size must be a whole number, got 64\.0"),
        ({"image_size": 64.5}, r"image_size must be a whole number, got 64\.5"),
        ({"image_size": True}, "image_size must be a whole number, got True"),
        ({"images_per_class": 2.0}, r"images_per_class .* whole number, got 2\.0"),
        ({"images_per_class": False}, "images_per_class .* whole number, got False"),
        ({"seed": 1.5}, r"seed must be a whole number, got 1\.5"),
        ({"workers": 2.0}, r"workers must be a whole number, got 2\.0"),
        ({"identities": 3.0}, r"identities must be a whole number, got 3\.0"),
        ({"train_counts": (1, 1, 1.5, 1, 1, 1)}, r"train_counts .* whole numbers"),
        ({"eval_counts": (1, 1, 1, True, 1, 1)}, r"eval_counts .* whole numbers"),
        ({"eval_counts": "LSD"}, "eval_counts .* whole numbers.*got 'LSD'"),
    ],
)
def test_non_whole_numbers_raise_before_anything_is_written(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    output = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        generate(output, **{"images_per_class": 1, "image_size": 16, **kwargs})  # type: ignore[arg-type]
    assert not output.exists()


def test_numpy_integers_are_whole_numbers(tmp_path: Path) -> None:
    summary = generate(tmp_path, images_per_class=np.int64(1), image_size=np.int32(16))  # type: ignore[arg-type]
    assert summary.images == 2 * len(LSD_CLASSES)
    description = json.loads((tmp_path / DATASET_FILE).read_text())
    assert description["parameters"]["image_size"] == 16


def test_interrupted_generation_is_named_unfinished(tmp_path: Path) -> None:
    (tmp_path / SPLITS[0] / "ANGER").mkdir(parents=True)
    with pytest.raises(FileExistsError, match=r"unfinished data set.*no dataset\.json"):
        generate(tmp_path, images_per_class=1, image_size=16)


def test_output_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("")
    with pytest.raises(NotADirectoryError):
        generate(path, images_per_class=1, image_size=16)


def test_eval_counts_lsd_follows_the_real_validation_balance(tmp_path: Path) -> None:
    summary = generate(
        tmp_path, images_per_class=3, image_size=16, seed=0, eval_counts="lsd"
    )
    shifted = [len(list((tmp_path / SPLITS[1] / n).iterdir())) for n in LSD_CLASSES]
    assert tuple(shifted) == lsd_validation_counts(18)
    assert shifted != [3] * 6
    assert summary.images == 36


def test_lsd_validation_counts() -> None:
    assert sum(lsd_validation_counts(1000)) == 1000
    assert lsd_validation_counts(6) == (1,) * 6
    counts = lsd_validation_counts(6000)
    assert counts[LSD_CLASSES.index("HAPPINESS")] == max(counts)
    with pytest.raises(ValueError):
        lsd_validation_counts(5)


def test_loose_framing_is_an_option(dataset: Path, tmp_path: Path) -> None:
    generate(tmp_path, images_per_class=3, image_size=32, seed=0, framing="loose")
    description = json.loads((tmp_path / DATASET_FILE).read_text())
    assert description["parameters"]["framing"] == "loose"
    with open(tmp_path / METADATA_FILE, newline="") as handle:
        assert {row["framing"] for row in csv.DictReader(handle)} == {"loose"}
    # Same people, expressions and poses, framed differently.
    loose, aligned = tree_bytes(tmp_path), tree_bytes(dataset)
    images = [name for name in aligned if name.endswith(".jpg")]
    assert all(loose[name] != aligned[name] for name in images)
