"""The images ``lightly-byel predict`` reads, in a fixed order.

A flat folder (the ABAW LSD test set), unlabelled video frames (``video``: the
Aff-Wild2 ``cropped_aligned`` layout without annotations), or any evaluation
format (an LSD split, Aff-Wild2 frames, RAF-DB, AffectNet, FER2013, ...) read
through the project's loaders (:data:`~lightly_byel.data.formats.FORMATS`).
:func:`detected_faces` turns photos into one source per face found.
"""

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from lightly_byel.data.affwild2 import annotation_files, frame_files
from lightly_byel.data.face_detection import (
    FaceDetector,
    largest_face,
    refuse_table_faces,
)
from lightly_byel.data.formats import FORMATS, VIDEO_FORMATS
from lightly_byel.data.images import (
    IGNORED_FOLDERS,
    UNREADABLE,
    FaceBox,
    LabeledImageFiles,
    crop_region,
    is_image_name,
    load_rgb,
    natural_key,
)


@dataclass(frozen=True)
class ImageSource:
    """One image to predict.

    Attributes:
        path: The file.
        name: Its name in the CSV: the file name in a flat folder, the path
            relative to the folder given otherwise.
        label: The true class, or ``None`` for unlabelled images.
        group: The video a frame belongs to (:data:`VIDEO_FORMATS`); ``None``
            otherwise.
        frame: The frame's number in its video, from its file name (``00012.jpg``
            is frame 12); ``None`` for images that are not frames of a video.
        box: The region of the file that shows the face (``left, top, right,
            bottom``), or ``None`` for the whole image.
        subject: The person shown, where the format knows it.
        index: The sample's index in :attr:`ImageSet.dataset`, which reads it;
            ``None`` for a file read whole (then cut to ``box``).
    """

    path: str
    name: str
    label: int | None = None
    group: str | None = None
    frame: int | None = None
    box: FaceBox | None = None
    subject: str | None = None
    index: int | None = None


@dataclass(frozen=True)
class ImageSet:
    """The images to predict, how to read them, and the files passed over.

    Attributes:
        sources: The images, in a fixed order.
        passed_over: ``(name, reason)`` of each entry passed over.
        dataset: The loader that indexed a labelled format, whose
            :meth:`~lightly_byel.data.images.LabeledImageFiles.read_image` reads
            its samples (a face cut by its box, a face stored in a table);
            ``None`` for files read whole.
    """

    sources: list[ImageSource]
    passed_over: list[tuple[str, str]]
    dataset: LabeledImageFiles | None = None

    def read(self, position: int) -> Image.Image:
        """The RGB image of ``sources[position]``, cut to its box if it has one.

        Raises:
            OSError: If the file cannot be read (and Pillow's other errors).
        """
        source = self.sources[position]
        if source.index is not None and self.dataset is not None:
            return self.dataset.read_image(source.index)
        image = load_rgb(source.path)
        return image if source.box is None else crop_region(image, source.box)


def image_sources(images: Path, form: str, annotations: Path | None = None) -> ImageSet:
    """The images to predict, in a fixed order, and the files passed over.

    Args:
        images: A flat folder of images (``flat``), a folder of video folders
            (``video``), an LSD split (``lsd``) or the Aff-Wild2 frames folder
            (``affwild2-expr``).
        form: ``flat``, ``video``, or a name of
            :data:`~lightly_byel.data.formats.FORMATS`.
        annotations: The Aff-Wild2 EXPR annotation folder: required by
            ``affwild2-expr``; for ``video``, only the video folders with a
            ``<video>.txt`` there are read.

    Returns:
        The images, and ``(name, reason)`` for each entry of a flat folder or of
        the video folders passed over (a labelled format's loader reports those
        itself). Names are relative to ``images`` (or to its folder, for formats
        read from a file).

    Raises:
        FileNotFoundError: If ``images`` (or ``annotations``) is not a folder.
        ValueError: For an unknown format, one that needs ``annotations``, or an
            annotation folder without ``<video>.txt`` files.
    """
    if form in ("flat", "video") and not images.is_dir():
        raise FileNotFoundError(f"--images {str(images)!r} is not a folder.")
    if not images.exists():
        raise FileNotFoundError(f"--images {str(images)!r} does not exist.")
    if form == "flat":
        return ImageSet(*_flat_folder(images))
    if form == "video":
        return ImageSet(*_video_folders(images, annotations))
    if form not in FORMATS:
        raise ValueError(
            f"--format must be flat, video or one of {sorted(FORMATS)}, got {form!r}."
        )
    dataset = FORMATS[form].load(images, annotations)
    base = images if images.is_dir() else images.parent
    video = form in VIDEO_FORMATS
    sources = []
    for index, (path, label) in enumerate(dataset.samples):
        name = os.path.relpath(path, base)
        box = None if dataset.boxes is None else dataset.boxes[index]
        subject = None if dataset.subjects is None else dataset.subjects[index]
        group = frame = None
        if video:
            # The loader reads only files named by their frame number.
            group = os.path.basename(os.path.dirname(path))
            frame = int(os.path.splitext(os.path.basename(path))[0])
        sources.append(
            ImageSource(path, name, label, group, frame, box, subject, index)
        )
    return ImageSet(sources, [], dataset)


def _flat_folder(images: Path) -> tuple[list[ImageSource], list[tuple[str, str]]]:
    """The image files directly in ``images``, and the files passed over, by name."""
    with os.scandir(images) as entries:
        files = [entry for entry in entries if not entry.is_dir()]
    files.sort(key=lambda entry: natural_key(entry.name))
    sources, skipped = [], []
    for entry in files:
        if not entry.is_file():  # a link whose target is gone
            skipped.append((entry.name, "a link to a missing file"))
        elif not is_image_name(entry.name):
            skipped.append((entry.name, "not an image file"))
        else:
            sources.append(ImageSource(str(images / entry.name), entry.name))
    return sources, skipped


def _video_folders(
    images: Path, annotations: Path | None
) -> tuple[list[ImageSource], list[tuple[str, str]]]:
    """The frames of each video folder, and the entries passed over, by name.

    Videos are ``<images>/<video>/<number>.<ext>``, or the same below
    ``<images>/cropped_aligned`` if that folder exists (as
    :class:`~lightly_byel.data.affwild2.AffWild2Expr` reads them), in natural order
    of video, each video's frames by number.

    Examples:
        >>> import tempfile
        >>> images = Path(tempfile.mkdtemp())
        >>> for name in ("v10/00001.jpg", "v2/00003.png", "v2/00001.jpg",
        ...              "v2/cover.jpg", "v2/00002.txt", "readme.md"):
        ...     (images / name).parent.mkdir(exist_ok=True)
        ...     (images / name).touch()
        >>> sources, skipped = _video_folders(images, None)
        >>> [(s.name, s.group, s.frame) for s in sources]
        [('v2/00001.jpg', 'v2', 1), ('v2/00003.png', 'v2', 3),
         ('v10/00001.jpg', 'v10', 1)]
        >>> skipped
        [('readme.md', 'not in a video folder'),
         ('v2/00002.txt', 'not an image file'),
         ('v2/cover.jpg', 'not a frame number')]
    """
    nested = images / "cropped_aligned"
    root = nested if nested.is_dir() else images
    annotated = None
    if annotations is not None:
        listed = annotation_files(os.fspath(annotations))
        annotated = {video for video, _ in listed}
    with os.scandir(root) as entries:
        listing = sorted(entries, key=lambda entry: natural_key(entry.name))
    sources: list[ImageSource] = []
    skipped: list[tuple[str, str]] = []
    for entry in listing:
        name = os.path.relpath(entry.path, images)
        if not entry.is_dir():
            skipped.append((name, "not in a video folder"))
        elif entry.name.startswith(".") or entry.name in IGNORED_FOLDERS:
            skipped.append((name, "a hidden or archive folder"))
        elif annotated is not None and entry.name not in annotated:
            skipped.append((name, "a video without an annotation file"))
        else:
            frames, passed_over = _video_frames(entry.path, images)
            sources += frames
            skipped += passed_over
            if not frames:
                skipped.append((name, "a video folder without frames"))
    return sources, skipped


def _video_frames(
    folder: str, images: Path
) -> tuple[list[ImageSource], list[tuple[str, str]]]:
    """The frames of one video folder by number, and its other entries by reason."""
    video = os.path.basename(folder)
    # The loader's own choice of frame files, so both formats read the same files.
    frames = frame_files(folder)
    used = set(frames.values())
    with os.scandir(folder) as entries:
        others = [entry for entry in entries if entry.name not in used]
    others.sort(key=lambda entry: natural_key(entry.name))
    skipped = [
        (os.path.relpath(entry.path, images), _not_a_frame(entry)) for entry in others
    ]
    sources = []
    for number, file in sorted(frames.items()):
        path = os.path.join(folder, file)
        name = os.path.relpath(path, images)
        sources.append(ImageSource(path, name, None, video, number))
    return sources, skipped


def _not_a_frame(entry: os.DirEntry[str]) -> str:
    """Why an entry of a video folder is not one of its frames."""
    stem = os.path.splitext(entry.name)[0]
    if entry.is_dir():
        return "a folder"
    if not is_image_name(entry.name):
        return "not an image file"
    if not (stem.isascii() and stem.isdigit()):
        return "not a frame number"
    if not entry.is_file():
        return "a link to a missing file"
    return "another file of the same frame number"


def detected_faces(
    found: ImageSet, detector: FaceDetector, every_face: bool
) -> ImageSet:
    """The faces the detector finds in the images, each a source with its box.

    Args:
        found: The images.
        detector: The face detector.
        every_face: Whether every face of an image becomes a source (photos
            without labels), left to right, or only the largest (a labelled image,
            a video frame).

    Returns:
        A source per face, its box framed like aligned crops (inside the image's
        own box, if it had one), and the images passed over, now with those
        without a face (``no face found``) and the unreadable ones.

    Raises:
        ValueError: For faces stored in a table (FER2013, FER+), which are face
            crops already.
    """
    refuse_table_faces(found.dataset)
    sources: list[ImageSource] = []
    passed_over = list(found.passed_over)
    for position, source in enumerate(found.sources):
        try:
            faces = detector.detect(found.read(position))
        except UNREADABLE:
            passed_over.append((source.name, "unreadable"))
            continue
        if not faces:
            passed_over.append((source.name, "no face found"))
            continue
        chosen = (
            sorted(faces, key=lambda face: face.box[:2])
            if every_face
            else [largest_face(faces)]
        )
        for face in chosen:
            box = face.crop_box(inside=source.box)
            sources.append(dataclasses.replace(source, box=box, index=None))
    # The loader stays, for what it left out; the faces are read from their files.
    return ImageSet(sources, passed_over, found.dataset)
