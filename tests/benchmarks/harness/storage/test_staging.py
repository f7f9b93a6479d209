import os
import time
from pathlib import Path

import pytest
from harness.storage.staging import remove_stale_staging

DAY = 86400.0


def age(path: Path, seconds: float) -> None:
    """Sets the modification time of ``path`` and everything below it."""
    stamp = time.time() - seconds
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (stamp, stamp), follow_symlinks=False)


def test_removes_old_matching_folders_and_files_only(tmp_path: Path) -> None:
    old_folder = tmp_path / ".build-a.k2j4"
    (old_folder / "sub").mkdir(parents=True)
    (old_folder / "sub" / "images.npy").write_bytes(b"half")
    old_file = tmp_path / ".build-b.x9.tmp"
    old_file.write_text("half")
    fresh = tmp_path / ".build-c.p0"
    fresh.mkdir()
    lock = tmp_path / ".build-a.lock"
    lock.write_bytes(b"")
    finished = tmp_path / "build-a"
    finished.mkdir()
    other = tmp_path / ".other.q1"
    other.mkdir()
    for path in (old_folder, old_file, lock, finished, other):
        age(path, 2 * DAY)

    removed = remove_stale_staging(tmp_path, ".build-")
    assert removed == [old_folder, old_file]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [fresh.name, lock.name, finished.name, other.name]
    )


def test_a_folder_still_being_written_is_kept(tmp_path: Path) -> None:
    staging = tmp_path / ".build-a.k2j4"
    (staging / "deep" / "deeper").mkdir(parents=True)
    (staging / "deep" / "deeper" / "0.jpg").write_bytes(b"x")
    age(staging, 3 * DAY)
    # A build that started long ago but wrote a file just now is alive.
    (staging / "deep" / "deeper" / "1.jpg").write_bytes(b"x")
    age(staging / "deep", 3 * DAY)
    os.utime(staging / "deep" / "deeper" / "1.jpg")
    assert remove_stale_staging(tmp_path, ".build-") == []
    assert staging.is_dir()


def test_max_age_is_respected(tmp_path: Path) -> None:
    staging = tmp_path / ".build-a.k2j4"
    staging.mkdir()
    age(staging, 60)
    assert remove_stale_staging(tmp_path, ".build-", max_age_seconds=120) == []
    assert remove_stale_staging(tmp_path, ".build-", max_age_seconds=30) == [staging]
    assert not staging.exists()


def test_a_link_is_removed_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "keep"
    target.mkdir()
    (target / "data.bin").write_bytes(b"precious")
    link = tmp_path / ".build-a.k2j4"
    link.symlink_to(target)
    age(target, 2 * DAY)
    age(link, 2 * DAY)
    assert remove_stale_staging(tmp_path, ".build-") == [link]
    assert (target / "data.bin").read_bytes() == b"precious"


def test_missing_parent_holds_nothing(tmp_path: Path) -> None:
    assert remove_stale_staging(tmp_path / "missing", ".build-") == []


@pytest.mark.parametrize(
    ("prefix", "max_age", "message"),
    [
        ("", DAY, "prefix must be a non-empty string, got ''"),
        (f"sub{os.sep}.build-", DAY, "without a path separator"),
        (".build-", -1.0, "max_age_seconds must be a finite number >= 0, got -1.0"),
        (".build-", float("inf"), "max_age_seconds .* got inf"),
        (".build-", True, "max_age_seconds .* got True"),
    ],
)
def test_bad_arguments_raise(
    tmp_path: Path, prefix: str, max_age: float, message: str
) -> None:
    (tmp_path / ".build-a.k2j4").mkdir()
    with pytest.raises(ValueError, match=message):
        remove_stale_staging(tmp_path, prefix, max_age)
    assert (tmp_path / ".build-a.k2j4").is_dir()


def test_an_entry_that_cannot_be_removed_is_left_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = tmp_path / ".build-a.k2j4"
    staging.mkdir()
    age(staging, 2 * DAY)

    def refuse(path: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("shutil.rmtree", refuse)
    with pytest.warns(UserWarning, match=r"could not remove .*\.build-a\.k2j4"):
        assert remove_stale_staging(tmp_path, ".build-") == []
    assert staging.is_dir()
