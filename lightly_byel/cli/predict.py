r"""``lightly-byel predict``: a model file's predictions for images, as a CSV.

``--format flat`` reads a folder of images (the ABAW LSD test set) and writes the
ABAW submission CSV: the header ``image,expression``, then one line per image,
``<file name>,<0-5>`` in LSD class order (anger, disgust, fear, happiness, sadness,
surprise). ``--format video`` reads unlabelled frames of videos,
``<images>/<video>/<number>.<ext>`` (or the same below ``<images>/cropped_aligned``,
the Aff-Wild2 layout): every video folder in natural order, each one's frames by
number; with ``--annotations``, only the videos that have a ``<video>.txt`` there.
``--format lsd``, ``--format affwild2-expr`` (with ``--annotations``) and the other
labelled formats (``rafdb``, ``affectnet``, ``fer2013``, ... see docs/datasets.md;
``--images`` names the dataset's folder or file) read labelled images with the
library's loaders, add the true ``label`` to each line (and the ``subject`` and the
face box ``left,top,right,bottom`` where the format gives them) and print macro F1,
accuracy and per-class F1; on a benchmark run's eval split they reproduce the unit's
``macro_f1`` in ``results.json``. Faces the format leaves out (neutral, contempt,
...) are counted as skipped. ``--model`` also takes an ONNX export
(``lightly-byel export``), run through onnxruntime (the extra ``onnx``).

``--smooth N`` (``video``, ``affwild2-expr``) averages the class probabilities over a
window of N frame numbers before the argmax: frame f gets the mean over the frames of
its video numbered f - N//2 to f - N//2 + N - 1 that were predicted. A gap in the
numbering (frames without a face file, unreadable files, and with ``affwild2-expr``
frames annotated neutral, other or -1) contributes nothing, so fewer frames are
averaged next to it and frames N or more numbers apart never mix; a frame alone in
its window keeps its own prediction. Labelled formats print the scores with and
without smoothing.

``--submission-dir DIR`` (``video``, ``affwild2-expr``) also writes the ABAW EXPR
challenge's per-video files, ``DIR/<video>.txt``: the header
``Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other``, then the predicted
(smoothed) expression of frame 1 up to the video's last frame, one a line, as an
index into the header (the LSD classes anger ... surprise are 1-6). A video has as
many frames as value lines in ``--annotations``'s ``<video>.txt`` (an annotated video
without frames gets a file too), else as its highest frame number on disk. Frames
without a prediction (no frame file: no face was found; an unreadable file; a frame
that was not predicted) hold -1, the annotation files' value for frames without an
annotation: no statement of the challenge on this was found.

Unreadable files, non-image files, and in video folders files not named by a frame
number, are reported once, by name, and skipped. The number of images predicted,
skipped (by reason) and, for a submission, of frames filled with -1 (by reason) is
printed and kept in ``--summary``. Images are decoded in worker processes and
predicted in batches, on the GPU when there is one; the CSV is streamed to a
temporary file and renamed into place when complete, each submission file is written
whole once its video is done.

Examples::

    lightly-byel predict --model runs/affwild2/models/byel-seed0-finetune.pt \
        --images lsd/test_images --format flat --output predictions.csv
    lightly-byel predict --model M.pt --images aff-wild2/cropped_aligned \
        --format video --annotations aff-wild2/test_templates --smooth 5 \
        --output test.csv --submission-dir submission
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

from lightly_byel.cli.parsers import at_least, path
from lightly_byel.data.formats import FORMATS, VIDEO_FORMATS

SUMMARY = "predict the expressions of images with a model file; write a CSV"
"""The command's line in ``lightly-byel --help``."""

IMAGE_FORMATS = ("flat", "video", *FORMATS)
"""``flat`` and ``video`` folders, and every labelled format of the library."""


@dataclass(frozen=True)
class PredictOptions:
    """What ``lightly-byel predict`` was asked to do (its flags).

    Attributes:
        model: The model file (``.pt``) or its ONNX export (``.onnx``).
        images: The folder (or dataset file) of the images.
        output: The CSV to write; never an input.
        format: What ``images`` holds: one of :data:`IMAGE_FORMATS`.
        annotations: The Aff-Wild2 EXPR annotation folder, or ``None``.
        probabilities: Whether to add each class's probability to the CSV.
        smooth: Frame numbers to average probabilities over (1: off).
        crop_faces: Whether to find the faces in raw photos first.
        submission_dir: Where to write the ABAW EXPR files, or ``None``.
        batch_size: Images per batch.
        workers: Worker processes that decode images.
        device: ``auto`` (a CUDA device where there is one), ``cpu`` or ``cuda``.
        summary: Where to write the printed counts and scores as JSON, or
            ``None``.
    """

    model: Path
    images: Path
    output: Path
    format: str = "flat"
    annotations: Path | None = None
    probabilities: bool = False
    smooth: int = 1
    crop_faces: bool = False
    submission_dir: Path | None = None
    batch_size: int = 64
    workers: int = 2
    device: str = "auto"
    summary: Path | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the flags of ``lightly-byel predict``, each with its help and default."""
    parser.add_argument(
        "--model",
        type=path,
        required=True,
        help="model file (.pt) of a run, or its ONNX export (.onnx)",
    )
    parser.add_argument(
        "--images",
        type=path,
        required=True,
        help="the folder (or dataset file) of the images",
    )
    parser.add_argument(
        "--output",
        type=path,
        required=True,
        help="the CSV to write; never an input, nor inside --images",
    )
    parser.add_argument(
        "--format",
        default="flat",
        choices=IMAGE_FORMATS,
        help="what --images holds: flat (any images), video (frame folders) or a "
        "labelled dataset (docs/datasets.md)",
    )
    parser.add_argument(
        "--annotations",
        type=path,
        help="Aff-Wild2 EXPR folder: the labels (affwild2-expr); the videos to "
        "read and their lengths (video)",
    )
    parser.add_argument(
        "--probabilities",
        action="store_true",
        help="add each class's probability to the CSV",
    )
    parser.add_argument(
        "--smooth",
        type=at_least(1),
        default=1,
        help="frame numbers of a video to average probabilities over (1: off)",
    )
    parser.add_argument(
        "--crop-faces",
        action="store_true",
        help="find the faces in raw photos and predict each, framed like aligned "
        "crops (every face of a flat folder, the largest of a labelled image or "
        "frame); needs the extra 'faces'",
    )
    parser.add_argument(
        "--submission-dir",
        type=path,
        help="also write the ABAW EXPR files <video>.txt here (video, affwild2-expr)",
    )
    parser.add_argument(
        "--batch-size", type=at_least(1), default=64, help="images per batch"
    )
    parser.add_argument(
        "--workers",
        type=at_least(0),
        default=2,
        help="worker processes that decode images (0: in the main process)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where to predict: auto is cuda where there is a CUDA device",
    )
    parser.add_argument(
        "--summary",
        type=path,
        help="also write the printed counts and scores as JSON here",
    )


def options_of(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> PredictOptions:
    """The parsed flags; flags that cannot go together exit with status 2."""
    options = PredictOptions(
        **{name: getattr(args, name) for name in PredictOptions.__dataclass_fields__}
    )
    for flag, given in (
        ("--smooth", options.smooth > 1),
        ("--submission-dir", options.submission_dir is not None),
    ):
        if given and options.format not in VIDEO_FORMATS:
            parser.error(
                f"{flag} needs --format video or affwild2-expr (frames of videos)."
            )
    return options


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Predicts as the parsed flags say; returns the exit status."""
    options = options_of(args, parser)
    # Imported once the flags are read: torch takes seconds to load, --help and
    # usage errors should not wait for it.
    from lightly_byel.inference.predict_files import predict_files

    return predict_files(options)
