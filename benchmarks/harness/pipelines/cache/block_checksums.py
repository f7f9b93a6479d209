"""CRC-32 checksums of a file in fixed-size blocks, to find bytes damaged later.

A file that was complete when written can be damaged afterwards: a failing disk, a
copy cut short, a program writing into the wrong file. :func:`file_checksums`
records the file's length and a CRC-32 (``zlib.crc32``) of every block of
``block_bytes`` bytes; :func:`damaged_blocks` reads the file again and lists the
blocks whose checksum no longer matches. CRC-32 catches every burst of up to 32
damaged bits within a block and misses other damage with a probability of 2**-32 a
block; it does not defend against deliberate tampering.

Blocks, rather than one checksum of the whole file, let several threads share the
reading (``zlib.crc32`` and file reads release the GIL): each thread reads its own
contiguous range of blocks, so a file in the page cache is checked at several GB/s
on two cores (``benchmarks/cache_check.py`` measures it). They also locate the
damage for the message.
"""

import io
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BLOCK_BYTES = 16 * 2**20
"""Default bytes per block: larger blocks ran slower (the buffer leaves the CPU cache),
smaller ones no faster, and 16 MiB keeps a 14 GB file at under a thousand checksums."""

MAX_THREADS = 4
"""Threads that read at most: each holds a buffer of one block, and four check
faster than most disks read (CRC-32 runs at about 2.5 GB/s a thread)."""


@dataclass(frozen=True)
class FileChecksums:
    """The length of a file and the CRC-32 of each of its blocks.

    Attributes:
        size: The file's length in bytes.
        block_bytes: Bytes per block; the last block holds the rest.
        crc32: The checksum of every block, in file order.

    Examples:
        >>> sums = FileChecksums(size=10, block_bytes=4, crc32=(1, 2, 3))
        >>> FileChecksums.from_json(sums.to_json()) == sums
        True
        >>> sums.byte_range(2)
        (8, 10)
    """

    size: int
    block_bytes: int
    crc32: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        """The checksums as a JSON object."""
        return {
            "size": self.size,
            "block_bytes": self.block_bytes,
            "crc32": list(self.crc32),
        }

    @classmethod
    def from_json(cls, data: Any) -> "FileChecksums":
        """Reads what :meth:`to_json` wrote.

        Raises:
            ValueError: If ``data`` is not such an object or its block count does
                not fit the size.
        """
        if not isinstance(data, dict) or set(data) != {"size", "block_bytes", "crc32"}:
            raise ValueError(f"not a file checksum record: {data!r:.80}")
        size, block_bytes, sums = data["size"], data["block_bytes"], data["crc32"]
        numbers = [size, block_bytes, *sums] if isinstance(sums, list) else []
        if not numbers or not all(
            type(value) is int and value >= 0 for value in numbers
        ):
            raise ValueError("a file checksum record holds non-negative integers.")
        if block_bytes < 1 or len(sums) != _block_count(size, block_bytes):
            raise ValueError(
                f"{len(sums)} checksums do not fit {size} bytes in blocks of "
                f"{block_bytes}."
            )
        return cls(size=size, block_bytes=block_bytes, crc32=tuple(sums))

    def byte_range(self, block: int) -> tuple[int, int]:
        """The bytes ``[start, stop)`` of the file that ``block`` covers."""
        start = block * self.block_bytes
        return start, min(start + self.block_bytes, self.size)


def file_checksums(
    path: str | os.PathLike[str], block_bytes: int = BLOCK_BYTES
) -> FileChecksums:
    """Reads a file and returns its length and the checksums of its blocks.

    Args:
        path: The file.
        block_bytes: Bytes per block.

    Examples:
        >>> import tempfile, zlib
        >>> path = Path(tempfile.mkdtemp()) / "data.bin"
        >>> _ = path.write_bytes(b"0123456789")
        >>> sums = file_checksums(path, block_bytes=4)
        >>> sums.size, len(sums.crc32), sums.crc32[2] == zlib.crc32(b"89")
        (10, 3, True)
    """
    size = os.path.getsize(path)
    return FileChecksums(size, block_bytes, _block_crcs(Path(path), size, block_bytes))


def damaged_blocks(path: str | os.PathLike[str], expected: FileChecksums) -> list[int]:
    """Reads a file and lists the blocks that differ from ``expected``.

    Only the ``expected.size`` bytes recorded are read: a file that grew is
    compared on its first bytes (check the length first). Blocks beyond the end of
    a shorter file come out damaged.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "data.bin"
        >>> _ = path.write_bytes(b"0123456789")
        >>> sums = file_checksums(path, block_bytes=4)
        >>> _ = path.write_bytes(b"0123X56789")
        >>> damaged_blocks(path, sums)
        [1]
    """
    found = _block_crcs(Path(path), expected.size, expected.block_bytes)
    return [
        block
        for block, (crc, wanted) in enumerate(zip(found, expected.crc32, strict=True))
        if crc != wanted
    ]


def _block_count(size: int, block_bytes: int) -> int:
    # An empty file has one (empty) block, so that it still has a checksum.
    return max(1, -(-size // block_bytes))


def _block_crcs(path: Path, size: int, block_bytes: int) -> tuple[int, ...]:
    """The CRC-32 of each block of the first ``size`` bytes, read in threads."""
    count = _block_count(size, block_bytes)
    threads = min(MAX_THREADS, os.cpu_count() or 1, count)
    # Thread t reads blocks [bounds[t], bounds[t + 1]): contiguous, so that each
    # is one sequential stream for the disk's read-ahead.
    bounds = [count * t // threads for t in range(threads + 1)]

    def crcs(first: int, stop: int) -> list[int]:
        buffer = bytearray(block_bytes)
        with open(path, "rb", buffering=0) as handle:
            handle.seek(first * block_bytes)
            sums = []
            for block in range(first, stop):
                wanted = min(block_bytes, size - block * block_bytes)
                read = _read_into(handle, memoryview(buffer)[:wanted])
                sums.append(zlib.crc32(memoryview(buffer)[:read]))
            return sums

    if threads == 1:
        return tuple(crcs(0, count))
    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(crcs, bounds[:-1], bounds[1:])
        return tuple(crc for part in parts for crc in part)


def _read_into(handle: io.FileIO, view: memoryview) -> int:
    """Fills ``view`` from ``handle``; returns the bytes read, fewer only at the end."""
    # A raw read may return fewer bytes than asked for before the end of the file.
    filled = 0
    while filled < len(view):
        read = handle.readinto(view[filled:])
        if not read:
            break
        filled += read
    return filled
