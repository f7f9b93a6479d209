import errno
from pathlib import Path
from typing import IO

import pytest

from lightly_byel.utils.atomic_files import write_atomic


def test_a_full_disk_names_the_file_and_leaves_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("earlier results")

    def full_disk(file: IO[bytes]) -> None:
        file.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as error:
        write_atomic(path, full_disk)
    assert error.value.errno == errno.ENOSPC
    assert error.value.filename == str(path)
    assert str(path) in str(error.value)
    assert path.read_text() == "earlier results"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_other_errors_pass_unchanged(tmp_path: Path) -> None:
    def failing(file: IO[bytes]) -> None:
        raise KeyError("not an OSError")

    with pytest.raises(KeyError):
        write_atomic(tmp_path / "x", failing)
    assert list(tmp_path.iterdir()) == []
