"""Speed, misses and framing of ``--crop-faces``'s face detector.

Generates faces (aligned crops and loose head-and-shoulders shots, both splits,
at ``--image-size``), pastes aligned faces at 60-120 px into 320x240 photos, and
runs :class:`~lightly_byel.data.face_detection.FaceDetector` on them and on the
real photos that ship inside installed packages: matplotlib's Grace Hopper, and,
where scikit-image is installed, its astronaut, cameraman and 100 LFW faces and
100 LFW non-faces (25x25). It reports the share of faces missed (and of
non-faces with a face found), the median milliseconds per image, and how the
detector's box relates to the aligned frame the face was rendered in: the
frame's side over the box's longer side and the frame centre's offset, measured
on aligned faces with a quarter of their side of edge padding around them, so
that the detector sees the whole face. These fix the framing constants of
:mod:`lightly_byel.data.face_detection`.

Run from the repository root::

    python benchmarks/face_crops.py

It prints a table and writes ``benchmarks/results/face_crops.json`` and
``face_crops.md`` (see ``--output``).
"""

import importlib
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from harness.config.declared import parse_script_flags, setting
from harness.scripts.results import shown, write_report
from PIL import Image

from lightly_byel.data.face_detection import DetectedFace, FaceDetector, largest_face
from lightly_byel.data.synthfaces import SPLITS, generate

BENCHMARKS = Path(__file__).resolve().parent

# Faces in the real photos, (left, top, right, bottom), set by eye.
REAL_FACES = {
    "grace_hopper": (160, 110, 365, 330),
    "astronaut": (165, 55, 280, 180),
    "camera man (half profile)": (195, 80, 265, 165),
}


@dataclass(frozen=True)
class FaceCropsFlags:
    """The command line."""

    images_per_class: int = setting(
        40, "generated faces per class and split", flag="images_per_class", minimum=1
    )
    image_size: int = setting(
        112, "side of the generated faces in pixels", flag="image_size", minimum=32
    )
    output: Path = setting(BENCHMARKS / "results", "results folder", flag="output")


def main(argv: list[str] | None = None) -> int:
    """Runs the measurement; returns the exit status."""
    args = parse_script_flags(FaceCropsFlags, __file__, __doc__, argv)
    detector = FaceDetector()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for framing in ("aligned", "loose"):
            root = Path(tmp) / framing
            generate(
                root, args.images_per_class, args.image_size, seed=0, framing=framing
            )
            for split in SPLITS:
                faces = [Image.open(p) for p in sorted((root / split).glob("*/*"))]
                rows.append(_generated(detector, faces, f"{framing}, {split}"))
                if framing == "aligned":
                    rows.append(_scenes(detector, faces, f"photos of {split} faces"))
                    rows.append(_framing(detector, faces, split))
    rows += _real_photos(detector)
    payload = {"machine": platform.processor() or platform.machine(), "rows": rows}
    table = "\n".join(_line(row) for row in rows)
    print(table)
    header = "| images | n | missed | ms/image | framing |\n|---|---:|---:|---:|---|\n"
    path = write_report(args.output, "face_crops", payload, header + table + "\n")
    print(f"Wrote {shown(path)}")
    return 0


def _timed(
    detector: FaceDetector, image: Image.Image
) -> tuple[list[DetectedFace], float]:
    """The faces in an image and the milliseconds it took to find them."""
    started = time.perf_counter()
    faces = detector.detect(image)
    return faces, (time.perf_counter() - started) * 1000


def _generated(
    detector: FaceDetector, faces: Sequence[Image.Image], name: str
) -> dict[str, Any]:
    """Misses and speed on generated faces, each the whole image."""
    found, times = [], []
    for face in faces:
        result, ms = _timed(detector, face)
        found.append(bool(result))
        times.append(ms)
    return _row(name, found, times)


def _scenes(
    detector: FaceDetector, faces: Sequence[Image.Image], name: str
) -> dict[str, Any]:
    """Misses and speed on aligned faces pasted into 320x240 photos."""
    rng = np.random.default_rng(0)
    found, times = [], []
    for face in faces:
        side = int(rng.integers(60, 121))
        left, top = int(rng.integers(0, 320 - side)), int(rng.integers(0, 240 - side))
        photo = Image.new("RGB", (320, 240), tuple(rng.integers(0, 256, 3).tolist()))
        photo.paste(face.resize((side, side)), (left, top))
        result, ms = _timed(detector, photo)
        truth = (left, top, left + side, top + side)
        found.append(any(_matches(f.crop_box(), truth) for f in result))
        times.append(ms)
    return _row(name, found, times)


def _framing(
    detector: FaceDetector, faces: Sequence[Image.Image], split: str
) -> dict[str, Any]:
    """The aligned frame against the detected box, on padded aligned faces."""
    scales, shifts = [], []
    for face in faces:
        side = face.width
        pad = side // 4
        padded = np.pad(np.asarray(face.convert("RGB")), ((pad,), (pad,), (0,)), "edge")
        result = detector.detect(Image.fromarray(padded))
        if not result:
            continue
        left, top, right, bottom = largest_face(result).box
        longer = max(right - left, bottom - top)
        scales.append(side / longer)
        shifts.append((pad + side / 2 - (top + bottom) / 2) / side)
    return {
        "images": f"framing on {split} aligned faces",
        "count": len(faces),
        "framing_scale": statistics.median(scales),
        "framing_scale_iqr": np.percentile(scales, [25, 75]).tolist(),
        "framing_shift": statistics.median(shifts),
    }


def _real_photos(detector: FaceDetector) -> list[dict[str, Any]]:
    """The real photos of matplotlib and, if installed, scikit-image."""
    from matplotlib.cbook import get_sample_data

    hopper = get_sample_data("grace_hopper.jpg", asfileobj=False)
    photos: dict[str, Image.Image] = {"grace_hopper": Image.open(hopper)}
    lfw = None
    try:
        # Untyped; its images are arrays that ship inside the wheel.
        data: Any = importlib.import_module("skimage.data")
    except ImportError:
        print("scikit-image is not installed: measuring Grace Hopper only.")
    else:
        photos["astronaut"] = Image.fromarray(data.astronaut())
        photos["camera man (half profile)"] = Image.fromarray(data.camera())
        lfw = data.lfw_subset()
    rows = []
    for name, photo in photos.items():
        result, ms = _timed(detector, photo)
        hit = any(_matches(face.box, REAL_FACES[name], loose=True) for face in result)
        rows.append(_row(name, [hit], [ms], extra=len(result) - hit))
    if lfw is not None:
        # The first 100 patches are faces, the other 100 are not.
        for name, patches, want in (
            ("LFW faces", lfw[:100], True),
            ("LFW non-faces", lfw[100:], False),
        ):
            found: list[bool] = []
            times: list[float] = []
            for patch in patches:
                image = Image.fromarray((patch * 255).astype(np.uint8))
                result, ms = _timed(detector, image)
                found.append(bool(result) == want)
                times.append(ms)
            rows.append(_row(name, found, times))
    return rows


def _matches(
    box: tuple[float, ...], truth: tuple[float, ...], loose: bool = False
) -> bool:
    """Whether a box's centre lies in the truth box, its width within bounds."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    ratio = (box[2] - box[0]) / (truth[2] - truth[0])
    low, high = (0.5, 2.0) if loose else (0.6, 1.6)
    return (
        truth[0] <= x <= truth[2] and truth[1] <= y <= truth[3] and low <= ratio <= high
    )


def _row(
    name: str, found: list[bool], times: list[float], extra: int = 0
) -> dict[str, Any]:
    return {
        "images": name,
        "count": len(found),
        "missed": 1 - sum(found) / len(found),
        "ms_per_image": statistics.median(times),
        "other_boxes": extra,
    }


def _line(row: dict[str, Any]) -> str:
    if "framing_scale" in row:
        low, high = row["framing_scale_iqr"]
        framing = (
            f"frame side {row['framing_scale']:.3f} x box (IQR {low:.3f}-{high:.3f}), "
            f"centre {row['framing_shift']:+.3f} of the side below the box's"
        )
        return f"| {row['images']} | {row['count']} | | | {framing} |"
    return (
        f"| {row['images']} | {row['count']} | {row['missed']:.1%} | "
        f"{row['ms_per_image']:.1f} | |"
    )


if __name__ == "__main__":
    sys.exit(main())
