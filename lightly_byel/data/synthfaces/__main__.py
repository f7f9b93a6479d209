"""Command line: ``python -m lightly_byel.data.synthfaces --output DIR ...``.

Writes a procedural face data set in the LSD layout (see ``generate``) and,
optionally, a PNG contact sheet of both splits.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Literal

from lightly_byel.cli.parsers import at_least
from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces.faces import FRAMINGS
from lightly_byel.data.synthfaces.generate import generate
from lightly_byel.data.synthfaces.preview import contact_sheet

_positive = at_least(1)
_seed = at_least(0)


def _eval_counts(text: str) -> tuple[int, ...] | Literal["lsd"]:
    return "lsd" if text == "lsd" else _counts(text)


def _counts(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    try:
        counts = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers, got {text!r}"
        ) from None
    if len(counts) != len(LSD_CLASSES) or min(counts) < 0 or not sum(counts):
        raise argparse.ArgumentTypeError(
            f"expected {len(LSD_CLASSES)} non-negative counts "
            f"({','.join(LSD_CLASSES)}), not all zero, got {text!r}"
        )
    return counts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lightly_byel.data.synthfaces",
        description=(
            "Write procedural synthetic faces in the ABAW LSD layout: a clean "
            "rendered training split and a shifted split standing in for real "
            "photos (it is not real)."
        ),
    )
    parser.add_argument("--output", required=True, help="data set root folder")
    parser.add_argument(
        "--images-per-class",
        type=_positive,
        default=1000,
        help="images per class in each split",
    )
    parser.add_argument("--image-size", type=_positive, default=64, help="pixels")
    parser.add_argument("--seed", type=_seed, default=0)
    parser.add_argument(
        "--workers",
        type=_positive,
        default=min(4, os.cpu_count() or 1),
        help="processes (the output does not depend on it)",
    )
    parser.add_argument(
        "--identities",
        type=_positive,
        default=None,
        help="identities per split (default: one per 20 images)",
    )
    parser.add_argument(
        "--train-counts",
        type=_counts,
        default=None,
        metavar=",".join(LSD_CLASSES),
        help="per-class training counts instead of --images-per-class",
    )
    parser.add_argument(
        "--eval-counts",
        type=_eval_counts,
        default=None,
        metavar=",".join(LSD_CLASSES),
        help="per-class counts of the shifted split, or 'lsd' for the real LSD "
        "validation balance with as many images as training",
    )
    parser.add_argument(
        "--framing",
        choices=FRAMINGS,
        default="aligned",
        help="aligned face crops like LSD and Aff-Wild2 (the face fills the frame, "
        "the eyes at a fixed height) or loose head-and-shoulders shots",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a data set in --output"
    )
    parser.add_argument(
        "--preview", default=None, help="also write a PNG contact sheet"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status: 0 on success, 1 if the output cannot be written.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as root:
        ...     main(["--output", root, "--images-per-class", "1",
        ...           "--image-size", "32", "--workers", "1", "--quiet"])
        0
    """
    args = _parser().parse_args(argv)
    if args.image_size < 16:
        _parser().error(f"--image-size must be at least 16, got {args.image_size}")

    def report(done: int, total: int) -> None:
        print(f"\r{done}/{total} images", end="", file=sys.stderr, flush=True)

    try:
        summary = generate(
            args.output,
            images_per_class=args.images_per_class,
            image_size=args.image_size,
            seed=args.seed,
            workers=args.workers,
            identities=args.identities,
            train_counts=args.train_counts,
            eval_counts=args.eval_counts,
            overwrite=args.overwrite,
            progress=None if args.quiet else report,
            framing=args.framing,
        )
    except (FileExistsError, NotADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.preview:
        columns = min(8, summary.identities)
        sheet = contact_sheet(
            args.seed, args.image_size, columns, summary.identities, args.framing
        )
        sheet.save(args.preview)
    if not args.quiet:
        rate = summary.images / summary.seconds
        print(
            f"\nwrote {summary.images} images to {summary.root} in "
            f"{summary.seconds:.1f} s ({rate:.0f} images/s)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
