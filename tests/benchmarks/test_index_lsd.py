import re
from pathlib import Path
from types import ModuleType

import pytest

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.lsd import LSDImageFolder


def test_training_counts_are_the_release_s(index_lsd: ModuleType) -> None:
    assert list(index_lsd.TRAINING_COUNTS) == list(LSD_CLASSES)
    assert sum(index_lsd.TRAINING_COUNTS.values()) == 277_251
    assert index_lsd.class_sizes(277_251) == index_lsd.TRAINING_COUNTS


@pytest.mark.parametrize("num_files", [1, 6, 7, 1000, 20_001])
def test_class_sizes_add_up_in_proportion(
    index_lsd: ModuleType, num_files: int
) -> None:
    sizes = index_lsd.class_sizes(num_files)
    assert list(sizes) == list(LSD_CLASSES)
    assert sum(sizes.values()) == num_files
    total = sum(index_lsd.TRAINING_COUNTS.values())
    for name, size in sizes.items():
        assert abs(size - num_files * index_lsd.TRAINING_COUNTS[name] / total) < 1


def test_generated_tree_is_indexed_like_the_release(
    index_lsd: ModuleType, tmp_path: Path
) -> None:
    index_lsd.build_tree(tmp_path, 100)
    dataset = LSDImageFolder(tmp_path)
    assert dataset.class_counts() == index_lsd.class_sizes(100)
    assert dataset.samples[0][0] == str(tmp_path / "ANGER" / "0.jpg")


@pytest.mark.parametrize("real_root", [False, True])
def test_main_prints_the_time(
    index_lsd: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    real_root: bool,
) -> None:
    argv = ["--num-files", "60", "--repeats", "2"]
    if real_root:
        index_lsd.build_tree(tmp_path, 30)
        argv += ["--root", str(tmp_path)]
    assert index_lsd.main(argv) == 0
    last_line = capsys.readouterr().out.splitlines()[-1]
    size = 30 if real_root else 60
    assert re.fullmatch(
        rf"Indexed {size} files in \d+\.\d{{3}} s \(best of 2\)", last_line
    )
