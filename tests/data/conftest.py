"""Writers of the small trees the data tests build, in each dataset's own layout."""

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image


def write_image(
    path: Path,
    mode: str = "RGB",
    size: tuple[int, int] = (12, 10),
    color: int | tuple[int, ...] = 0,
) -> Path:
    """Saves a plain image (format from the suffix), making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


def write_text(path: Path, text: str, newline: str = "\n", bom: bool = False) -> Path:
    """Writes text with the given line ending (and a UTF-8 byte-order mark)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", newline).encode()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.fixture
def picture() -> Callable[..., Path]:
    """``picture(path, mode="RGB", size=(12, 10), color=0)`` writes an image."""
    return write_image


@pytest.fixture
def text_file() -> Callable[..., Path]:
    """``text_file(path, text, newline="\\n", bom=False)`` writes a text file."""
    return write_text


@pytest.fixture
def stray() -> Callable[[Path], None]:
    """Writes what operating systems and archivers leave in a folder."""

    def write(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("Thumbs.db", ".DS_Store", "desktop.ini", "._0.jpg"):
            (folder / name).write_bytes(b"stray")

    return write
