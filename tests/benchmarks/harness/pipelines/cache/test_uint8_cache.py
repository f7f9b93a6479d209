import errno
import json
import os
import pickle
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from harness.pipelines.cache import uint8_cache
from harness.pipelines.cache.uint8_cache import (
    CachedSubset,
    DamagedCacheError,
    UInt8ImageCache,
    collate_batch,
)
from harness.storage.staging import remove_stale_staging
from PIL import Image
from torch.utils.data import DataLoader

from lightly_byel.data import LSDImageFolder
from lightly_byel.data.synthfaces import generate


def _folder(root: Path, size: int = 20, per_class: int = 3) -> LSDImageFolder:
    rng = np.random.default_rng(0)
    for name in ("ANGER", "HAPPINESS"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return LSDImageFolder(root)


def test_cache_holds_the_exact_pixels_and_labels(tmp_path: Path) -> None:
    data = _folder(tmp_path / "faces")
    cache = UInt8ImageCache.build(data, tmp_path / "cache", size=20)
    assert len(cache) == len(data) == 6
    assert cache.targets == data.targets and cache.classes == data.classes
    for i in range(len(data)):
        image, label = cache[i]
        expected, expected_label = data[i]
        assert image.dtype == torch.uint8 and image.shape == (3, 20, 20)
        assert torch.equal(image, torch.from_numpy(np.array(expected)).permute(2, 0, 1))
        assert label == expected_label
    images, labels = cache.batch([5, 0, 5])
    assert images.shape == (3, 3, 20, 20)
    assert torch.equal(images[0], cache[5][0]) and torch.equal(images[1], cache[0][0])
    assert labels.dtype == torch.int64
    assert labels.tolist() == [data.targets[5], data.targets[0], data.targets[5]]


def test_other_sizes_are_resized_with_pillow(tmp_path: Path) -> None:
    data = _folder(tmp_path / "faces", size=24)
    cache = UInt8ImageCache.build(data, tmp_path / "cache", size=12)
    expected = data[2][0].resize((12, 12), Image.Resampling.BILINEAR)
    assert torch.equal(
        cache[2][0], torch.from_numpy(np.array(expected)).permute(2, 0, 1)
    )


def test_cache_is_reused_and_rebuilt_when_a_file_changes(tmp_path: Path) -> None:
    data = _folder(tmp_path / "faces")
    first = UInt8ImageCache.build(data, tmp_path / "cache", size=20)
    stamp = (first.root / "images.npy").stat().st_mtime_ns
    again = UInt8ImageCache.build(data, tmp_path / "cache", size=20, num_workers=0)
    assert again.root == first.root
    assert (again.root / "images.npy").stat().st_mtime_ns == stamp

    changed = Path(data.samples[0][0])
    Image.new("RGB", (20, 20), (255, 0, 0)).save(changed)
    os.utime(changed, ns=(stamp + 10**9, stamp + 10**9))
    rebuilt = UInt8ImageCache.build(
        LSDImageFolder(tmp_path / "faces"), tmp_path / "cache", size=20
    )
    assert rebuilt.root != first.root
    assert rebuilt[0][0][0].unique().tolist() == [255]
    assert UInt8ImageCache.build(data, tmp_path / "cache", size=16).root not in (
        first.root,
        rebuilt.root,
    )


def test_build_in_worker_processes_gives_the_same_cache(tmp_path: Path) -> None:
    data = _folder(tmp_path / "faces")
    alone = UInt8ImageCache.build(data, tmp_path / "one", size=20)
    workers = UInt8ImageCache.build(data, tmp_path / "two", size=20, num_workers=2)
    assert np.array_equal(alone.images, workers.images)
    assert alone.targets == workers.targets


def test_an_interrupted_build_leaves_nothing_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _folder(tmp_path / "faces")

    def killed(folder: Path, *args: object) -> None:
        (folder / "images.npy").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(uint8_cache, "_decode_into", killed)
    with pytest.raises(KeyboardInterrupt):
        UInt8ImageCache.build(data, tmp_path / "cache", size=20)
    # Only the (empty) lock file stays; no folder, finished or not.
    left = list((tmp_path / "cache").iterdir())
    assert [p.is_dir() for p in left] == [False] and left[0].suffix == ".lock"


def test_bad_caches_and_arguments_are_named(tmp_path: Path) -> None:
    data = _folder(tmp_path / "faces")
    with pytest.raises(FileNotFoundError, match=r"no cache\.json"):
        UInt8ImageCache(tmp_path / "faces")
    cache = UInt8ImageCache.build(data, tmp_path / "cache", size=20)
    meta = json.loads((cache.root / "cache.json").read_text())
    (cache.root / "cache.json").write_text(json.dumps({**meta, "count": 7}))
    with pytest.raises(ValueError, match=r"inconsistent.*delete the folder"):
        UInt8ImageCache(cache.root)
    for size in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="size must be a positive integer"):
            UInt8ImageCache.build(data, tmp_path / "c", size=size)  # type: ignore[arg-type]
    data.transform = lambda image: image
    with pytest.raises(ValueError, match="without a transform"):
        UInt8ImageCache.build(data, tmp_path / "c", size=20)


def test_cached_subset_batches_through_a_dataloader(tmp_path: Path) -> None:
    data = _folder(tmp_path / "faces")
    cache = UInt8ImageCache.build(data, tmp_path / "cache", size=20)
    subset = CachedSubset(cache, [4, 1, 3])
    assert len(subset) == 3 and subset.labels() == [data.targets[i] for i in (4, 1, 3)]
    assert torch.equal(subset[0][0], cache[4][0])
    for workers in (0, 1):
        batches = list(
            DataLoader(
                subset, batch_size=2, num_workers=workers, collate_fn=collate_batch
            )
        )
        assert [len(labels) for _, labels in batches] == [2, 1]
        images = torch.cat([images for images, _ in batches])
        assert torch.equal(images, cache.batch([4, 1, 3])[0])
    # Without __getitems__ (a plain dataset), collate_batch stacks samples.
    images, labels = collate_batch([cache[0], cache[1]])
    assert images.shape == (2, 3, 20, 20) and labels.tolist() == data.targets[:2]


def test_concurrent_builds_decode_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _folder(tmp_path / "faces")
    decoded: list[Path] = []
    decode = uint8_cache._decode_into

    def counted(folder: Path, *args: Any) -> None:
        decoded.append(folder)
        time.sleep(0.2)  # long enough for the other build to wait on the lock
        decode(folder, *args)

    monkeypatch.setattr(uint8_cache, "_decode_into", counted)
    with ThreadPoolExecutor(max_workers=2) as pool:
        builds = [
            pool.submit(UInt8ImageCache.build, data, tmp_path / "cache", 20)
            for _ in range(2)
        ]
        roots = {build.result().root for build in builds}
    assert len(decoded) == 1 and len(roots) == 1
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()) == [
        roots.pop().name
    ]


def test_pickles_without_its_pixels(tmp_path: Path) -> None:
    data = _folder(tmp_path / "faces", size=64)
    cache = UInt8ImageCache.build(data, tmp_path / "cache", size=64)
    payload = pickle.dumps(CachedSubset(cache, [0, 1]))
    assert len(payload) < cache.images.nbytes / 4
    subset = pickle.loads(payload)
    assert isinstance(subset.cache.images, np.memmap)
    assert torch.equal(subset.__getitems__([0, 1])[0], cache.batch([0, 1])[0])


def test_build_removes_stale_staging_while_holding_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fcntl = pytest.importorskip("fcntl")
    data = _folder(tmp_path / "faces")
    parent = tmp_path / "cache"
    stale = parent / ".uint8-20px-0123456789abcdef.k2j4x9ab"
    stale.mkdir(parents=True)
    (stale / "images.npy").write_bytes(b"half")
    fresh = parent / ".uint8-20px-fedcba9876543210.zz00yy11"
    fresh.mkdir()
    day_ago = time.time() - 2 * 86400
    for path in (stale / "images.npy", stale):
        os.utime(path, (day_ago, day_ago))
    locked: list[bool] = []

    def checked(folder: Path, prefix: str) -> list[Path]:
        # Another open file description may not take the builder's lock now.
        [lock] = [p for p in folder.iterdir() if p.name.endswith(".lock")]
        with open(lock, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                locked.append(True)
            else:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                locked.append(False)
        return remove_stale_staging(folder, prefix)

    monkeypatch.setattr(uint8_cache, "remove_stale_staging", checked)
    cache = UInt8ImageCache.build(data, parent, size=20)
    assert locked == [True]
    assert not stale.exists() and fresh.is_dir()
    assert cache.root.is_dir() and (cache.root / "cache.json").is_file()


def test_build_prints_its_footprint_and_checks_the_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _folder(tmp_path / "faces", size=20, per_class=3)
    cache = UInt8ImageCache.build(data, tmp_path / "cache", size=16)
    printed = capsys.readouterr().out.splitlines()
    needed = uint8_cache.footprint_bytes(6, 16)
    assert needed == 6 * 16 * 16 * 3 + 6 * 8 + 256
    assert printed == [
        f"Building the uint8 image cache of 6 images at 16x16 px "
        f"({needed / 1e6:.2f} MB) in {cache.root} ..."
    ]
    files = sum(p.stat().st_size for p in cache.root.iterdir() if p.suffix == ".npy")
    assert abs(files - needed) <= 256
    # Found in the cache: nothing to build, nothing printed.
    UInt8ImageCache.build(data, tmp_path / "cache", size=16)
    assert capsys.readouterr().out == ""


def test_build_refuses_when_the_disk_is_too_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _folder(tmp_path / "faces")
    needed = uint8_cache.footprint_bytes(6, 20)
    free = needed + 1000  # not the margin on top
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=free))
    parent = tmp_path / "cache"
    with pytest.raises(OSError, match="not enough free disk space") as error:
        UInt8ImageCache.build(data, parent, size=20)
    message = str(error.value)
    assert error.value.errno == errno.ENOSPC
    assert repr(str(parent)) in message
    assert f"needs {needed} bytes" in message and f"{free} bytes" in message
    # Refused before staging: only the lock file is left.
    assert [p.suffix for p in parent.iterdir()] == [".lock"]
    monkeypatch.setattr(
        shutil, "disk_usage", lambda path: usage._replace(free=10 * 2**30)
    )
    assert len(UInt8ImageCache.build(data, parent, size=20)) == 6


@pytest.mark.parametrize("size", [0, -3, 2.5, 20.0, True, "20"])
def test_size_must_be_a_positive_whole_number(tmp_path: Path, size: object) -> None:
    data = _folder(tmp_path / "faces")
    with pytest.raises(
        ValueError, match=f"size must be a positive integer, got {size!r}"
    ):
        UInt8ImageCache.build(data, tmp_path / "cache", size=size)  # type: ignore[arg-type]
    assert not (tmp_path / "cache").exists()


# Damage to a built cache of 24 images of 24 px, with checksums of 4 KiB blocks:
# images.npy is 128 header bytes and 24 rows of 1,728 bytes (11 blocks).
def _flip_middle_byte(root: Path) -> None:
    path = root / "images.npy"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate_images(root: Path) -> None:
    path = root / "images.npy"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _corrupt_header(root: Path) -> None:
    path = root / "images.npy"
    data = path.read_bytes()
    path.write_bytes(data[:20] + b"#" * 20 + data[40:])


def _corrupt_labels(root: Path) -> None:
    path = root / "labels.npy"
    data = bytearray(path.read_bytes())
    data[-8] ^= 0x01  # the last label's lowest byte: another valid class
    path.write_bytes(bytes(data))


def _garbage_meta(root: Path) -> None:
    (root / "cache.json").write_bytes(b"\x00\xff{not json")


def _remove_labels(root: Path) -> None:
    (root / "labels.npy").unlink()


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "flipped byte": (
        _flip_middle_byte,
        "images.npy block 6 of 11 (bytes 20,480-24,575: images 11-14) does not "
        "match its checksum from the build",
    ),
    "truncated": (
        _truncate_images,
        "images.npy is 20,800 bytes long, 41,600 when it was built (truncated)",
    ),
    "header": (
        _corrupt_header,
        "images.npy block 1 of 11 (bytes 0-4,095: the .npy header and images 0-2) "
        "does not match its checksum from the build",
    ),
    "labels": (
        _corrupt_labels,
        "labels.npy block 1 of 1 (bytes 0-319) does not match its checksum from "
        "the build",
    ),
    "garbage cache.json": (_garbage_meta, "cache.json cannot be read as JSON ("),
    "missing labels": (_remove_labels, "labels.npy is missing"),
}

REBUILD_HINT = (
    "; delete the folder to rebuild it, or let UInt8ImageCache.build rebuild it "
    "from the source images"
)


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> LSDImageFolder:
    folder = tmp_path_factory.mktemp("faces")
    generate(folder, images_per_class=4, image_size=24)
    return LSDImageFolder(folder / "training_set_synthetic_images")


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checksums of 4 KiB blocks, so that a damaged block is one of several."""
    monkeypatch.setattr(uint8_cache, "CHECKSUM_BLOCK_BYTES", 4096)


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("damage", DAMAGES)
def test_opening_a_damaged_cache_names_the_folder_file_and_block(
    faces: LSDImageFolder, tmp_path: Path, damage: str
) -> None:
    cache = UInt8ImageCache.build(faces, tmp_path / "cache", size=24)
    assert len(cache) == 24 and (cache.root / "images.npy").stat().st_size == 41_600
    spoil, named = DAMAGES[damage]
    spoil(cache.root)
    with pytest.raises(DamagedCacheError) as error:
        UInt8ImageCache(cache.root)
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert message.startswith(f"uint8 image cache {str(cache.root)!r} is damaged: ")
    assert named in message and message.endswith(REBUILD_HINT)
    assert error.value.folder == cache.root and named in error.value.damage


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("damage", DAMAGES)
def test_build_rebuilds_a_damaged_cache_with_the_right_pixels(
    faces: LSDImageFolder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    fresh = UInt8ImageCache.build(faces, tmp_path / "fresh", size=24)
    cache = UInt8ImageCache.build(faces, tmp_path / "cache", size=24)
    spoil, named = DAMAGES[damage]
    spoil(cache.root)
    capsys.readouterr()
    rebuilt = UInt8ImageCache.build(faces, tmp_path / "cache", size=24)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"The uint8 image cache {cache.root} is damaged (")
    assert named in printed[0] and printed[0].endswith("); rebuilding it.")
    assert printed[1].startswith("Building the uint8 image cache of 24 images")
    assert rebuilt.root == cache.root
    assert np.array_equal(rebuilt.images, fresh.images)
    assert rebuilt.targets == fresh.targets == faces.targets
    assert torch.equal(rebuilt.batch(range(24))[1], fresh.batch(range(24))[1])
    UInt8ImageCache(rebuilt.root)  # checks out


@pytest.mark.usefixtures("small_blocks")
def test_without_block_checks_lengths_and_headers_are_still_checked(
    faces: LSDImageFolder, tmp_path: Path
) -> None:
    caches = {
        damage: UInt8ImageCache.build(faces, tmp_path / damage, size=24).root
        for damage in ("flipped byte", "truncated", "header")
    }
    for damage, root in caches.items():
        DAMAGES[damage][0](root)
    # What the blocks hide stays hidden: verify=False is for measuring the check.
    assert len(UInt8ImageCache(caches["flipped byte"], verify=False)) == 24
    with pytest.raises(DamagedCacheError, match=r"images\.npy is 20,800 bytes long"):
        UInt8ImageCache(caches["truncated"], verify=False)
    with pytest.raises(
        DamagedCacheError,
        match=r"images\.npy is not a readable \.npy array \(its header is damaged",
    ) as error:
        UInt8ImageCache(caches["header"], verify=False)
    assert repr(str(caches["header"])) in str(error.value)


def test_checksums_cover_every_block_and_the_format_is_checked(
    faces: LSDImageFolder, tmp_path: Path
) -> None:
    cache = UInt8ImageCache.build(faces, tmp_path / "cache", size=24)
    meta = json.loads((cache.root / "cache.json").read_text())
    assert meta["format"] == uint8_cache.CACHE_FORMAT == 2
    assert sorted(meta["checksums"]) == ["images.npy", "labels.npy"]
    # One 16 MiB block holds either file whole.
    assert [len(sums["crc32"]) for sums in meta["checksums"].values()] == [1, 1]
    (cache.root / "cache.json").write_text(json.dumps({**meta, "format": 1}))
    with pytest.raises(DamagedCacheError, match="format 1, this version reads"):
        UInt8ImageCache(cache.root)
    sums = meta["checksums"]
    extra = {**sums["labels.npy"], "crc32": [0, 0]}
    (cache.root / "cache.json").write_text(
        json.dumps({**meta, "checksums": {**sums, "labels.npy": extra}})
    )
    with pytest.raises(
        DamagedCacheError,
        match=r"cache\.json is invalid: 2 checksums do not fit 320 bytes in blocks",
    ):
        UInt8ImageCache(cache.root)
    del meta["checksums"]
    (cache.root / "cache.json").write_text(json.dumps(meta))
    with pytest.raises(
        DamagedCacheError, match=r"cache\.json is invalid: it has no 'checksums' entry"
    ):
        UInt8ImageCache(cache.root)
    error = DamagedCacheError(cache.root, "labels.npy is missing")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.folder, copy.damage, str(copy)) == (
        error.folder,
        error.damage,
        str(error),
    )
