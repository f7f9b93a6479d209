"""Time that ``LSDImageFolder`` takes to index the LSD training split.

Indexing lists the class folders, sorts the file names and reads the first 12 bytes
of every file to leave out files that are not images; it decodes none, so its time
depends on the number of files, not on their size. The script builds a tree of
tiny JPEG files named like the release's, ``<CLASS>/<number>.jpg``,
277,251 by default in the release's class proportions, in a temporary folder, and
times ``LSDImageFolder`` on it; or it times a real split given with ``--root``. The
tree was just written or listed, so the file system's cache is warm: a first run
over a network or a cold disk is slower.

Run from the repository root::

    python benchmarks/index_lsd.py
    python benchmarks/index_lsd.py --num-files 20000 --repeats 5
    python benchmarks/index_lsd.py --root /data/lsd/training_set_synthetic_images
"""

import io
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.config.declared import parse_script_flags, setting
from harness.scripts.spread import Spread
from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.lsd import LSDImageFolder

TRAINING_COUNTS: dict[str, int] = {
    "ANGER": 18_286,
    "DISGUST": 15_150,
    "FEAR": 10_923,
    "HAPPINESS": 73_285,
    "SADNESS": 144_631,
    "SURPRISE": 14_976,
}
"""Images per class of ``training_set_synthetic_images``, 277,251 in all."""


def class_sizes(num_files: int) -> dict[str, int]:
    """Splits ``num_files`` over the classes in the training split's proportions.

    Largest remainders round the shares, so the sizes add up to ``num_files``.
    """
    total = sum(TRAINING_COUNTS.values())
    shares = {name: num_files * TRAINING_COUNTS[name] / total for name in LSD_CLASSES}
    sizes = {name: int(share) for name, share in shares.items()}
    by_remainder = sorted(LSD_CLASSES, key=lambda name: sizes[name] - shares[name])
    for name in by_remainder[: num_files - sum(sizes.values())]:
        sizes[name] += 1
    return sizes


def build_tree(root: Path, num_files: int) -> None:
    """Writes ``root/<CLASS>/<number>.jpg`` as tiny JPEG files, numbered from 0."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
    jpeg = buffer.getvalue()
    for name, size in class_sizes(num_files).items():
        folder = root / name
        folder.mkdir(parents=True)
        for number in range(size):
            (folder / f"{number}.jpg").write_bytes(jpeg)


def time_indexing(root: Path, repeats: int) -> tuple[list[float], int]:
    """Indexes ``root`` ``repeats`` times; returns the seconds of each and the size."""
    seconds: list[float] = []
    size = 0
    for _ in range(repeats):
        start = time.perf_counter()
        size = len(LSDImageFolder(root))
        seconds.append(time.perf_counter() - start)
    return seconds, size


@dataclass(frozen=True)
class IndexFlags:
    """The command line."""

    num_files: int = setting(
        sum(TRAINING_COUNTS.values()),
        "tiny JPEG files to generate (ignored with --root)",
        flag="num_files",
        minimum=1,
    )
    repeats: int = setting(3, "timed indexings", flag="repeats", minimum=1)
    root: Path | None = setting(
        None, "a real split folder to index instead", flag="root"
    )


def main(argv: list[str] | None = None) -> int:
    """Times the indexing and prints the times; returns the exit status, 0."""
    args = parse_script_flags(IndexFlags, __file__, __doc__, argv)

    if args.root is not None:
        seconds, size = time_indexing(args.root, args.repeats)
        source = f"{args.root}"
    else:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            build_tree(Path(folder), args.num_files)
            build_s = time.perf_counter() - start
            seconds, size = time_indexing(Path(folder), args.repeats)
        source = f"{size:,} generated tiny JPEG files (written in {build_s:.1f} s)"
    spread = Spread.of(seconds)
    print(
        f"LSDImageFolder indexing of {source}\n"
        f"  runs        {', '.join(f'{s:.3f}' for s in seconds)} s\n"
        f"  median      {spread.median:.3f} s, {size / spread.median:,.0f} files/s\n"
        f"Indexed {size:,} files in {spread.low:.3f} s (best of {args.repeats})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
