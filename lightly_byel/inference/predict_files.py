"""What ``lightly-byel predict`` does once its flags are read.

:func:`predict_files` finds the images (:mod:`lightly_byel.inference.image_sources`),
predicts them in batches, streams the CSV, fills the ABAW submission files
(:mod:`lightly_byel.inference.abaw_submission`) and prints the counts and, for
labelled images, the scores. :mod:`lightly_byel.cli.predict` describes the flags.
"""

import csv
import io
import json
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from torch import Tensor

from lightly_byel.cli.predict import PredictOptions
from lightly_byel.data.face_detection import FaceDetector
from lightly_byel.data.images import count_and_names
from lightly_byel.inference.abaw_submission import (
    NO_FACE,
    SubmissionCounts,
    SubmissionWriter,
    expr_lengths,
)
from lightly_byel.inference.image_sources import (
    ImageSet,
    ImageSource,
    detected_faces,
    image_sources,
)
from lightly_byel.models.onnx_model import load_model
from lightly_byel.models.prediction import Classifier, VideoSmoother, predict_batches
from lightly_byel.utils.atomic_files import write_atomic, write_text_atomic
from lightly_byel.utils.devices import resolve_device
from lightly_byel.utils.metrics import classification_metrics
from lightly_byel.utils.output_paths import check_outputs_apart, check_writable

BOX_COLUMNS = ("left", "top", "right", "bottom")
"""The CSV's columns of a face's box in its file, where the format gives one."""


def predict_files(args: PredictOptions) -> int:
    """Predicts the images as ``args`` say; returns the exit status.

    Returns:
        0 when the CSV (and the rest) was written, 2 when an input or an output
        was refused (the message is printed, nothing is written).
    """
    try:
        _check_outputs(args)
    except (OSError, ValueError) as error:
        print(f"lightly-byel predict: error: {error}", file=sys.stderr)
        return 2
    try:
        model = load_model(args.model, resolve_device(args.device))
        found = image_sources(args.images, args.format, args.annotations)
        if args.crop_faces:
            found = _find_faces(found, every_face=args.format == "flat")
        for name, reason in found.passed_over:
            print(f"skipped ({reason}): {name}", file=sys.stderr)
        if not found.sources:
            raise ValueError(f"no images in {str(args.images)!r}.")
        submission = _submission_writer(model, found.sources, args)
        scores, predicted = _write_predictions(model, found, args, submission)
        counts = None if submission is None else submission.finish()
    except (OSError, ValueError) as error:
        print(f"lightly-byel predict: error: {error}", file=sys.stderr)
        return 2
    summary: dict[str, Any] = {**scores, "images": _image_counts(found, predicted)}
    if counts is not None and args.submission_dir is not None:
        summary["submission"] = _report_submission(args.submission_dir, counts)
    for label, metrics in scores.items():
        _print_scores(label, metrics, model.info.classes)
    if args.summary is not None:
        write_text_atomic(args.summary, json.dumps(summary, indent=2) + "\n")
    return 0


def _image_counts(found: ImageSet, predicted: int) -> dict[str, Any]:
    """Prints and returns how many images were predicted and skipped, by reason."""
    skipped = Counter({"unreadable": len(found.sources) - predicted})
    skipped.update(reason for _, reason in found.passed_over)
    # What a labelled format's loader left out of six-class scoring (neutral, ...).
    for reason, count in getattr(found.dataset, "skipped", {}).items():
        if count:
            skipped[f"left out: {reason}"] += count
    print(f"images predicted: {predicted}")
    for reason, count in skipped.items():
        print(f"images skipped ({reason}): {count}")
    return {"predicted": predicted, "skipped": dict(skipped)}


def _check_outputs(args: PredictOptions) -> None:
    """Refuses, before any work, outputs onto inputs and unwritable folders."""
    outputs = {
        "--output": args.output,
        "--summary": args.summary,
        "--submission-dir": args.submission_dir,
    }
    inputs = {
        "--model": args.model,
        "--images": args.images,
        "--annotations": args.annotations,
    }
    check_outputs_apart(outputs, inputs)
    for flag, name in outputs.items():
        if flag == "--submission-dir" and name is not None:
            check_writable(Path(name), flag)
        elif name is not None:
            check_writable(Path(name).parent, f"the folder of {flag}")


def _find_faces(found: ImageSet, every_face: bool) -> ImageSet:
    """The faces in the images (``--crop-faces``); prints how many and how fast."""
    started = time.perf_counter()
    faces = detected_faces(found, FaceDetector(), every_face)
    seconds = time.perf_counter() - started
    print(
        f"found {len(faces.sources)} faces in {len(found.sources)} images in "
        f"{seconds:.1f} s",
        file=sys.stderr,
    )
    return faces


def _submission_writer(
    model: Classifier, sources: Sequence[ImageSource], args: PredictOptions
) -> SubmissionWriter | None:
    """The writer of ``--submission-dir``, or ``None``; reads the video lengths."""
    if args.submission_dir is None:
        return None
    lengths = None if args.annotations is None else expr_lengths(args.annotations)
    return SubmissionWriter(args.submission_dir, sources, model.info.classes, lengths)


def _report_submission(folder: Path, counts: SubmissionCounts) -> dict[str, Any]:
    """Prints what the submission holds; returns that for the summary."""
    print(f"submission: {counts.videos} video files in {str(folder)!r}")
    print(f"submission frames: {counts.frames}")
    print(f"submission frames predicted: {counts.predicted}")
    for reason, frames in counts.filled.items():
        print(f"submission frames set to {NO_FACE} ({reason}): {frames}")
    if counts.outside:
        print(
            f"warning: {counts.outside} predicted frames are numbered 0 or beyond "
            "their video's length in --annotations; they are not in the submission.",
            file=sys.stderr,
        )
    if counts.videos_without_frames:
        videos = count_and_names(counts.videos_without_frames, "annotated videos")
        print(
            f"warning: no frames of {videos}; their files hold {NO_FACE} only.",
            file=sys.stderr,
        )
    if counts.other_files:
        others = count_and_names(counts.other_files, "other .txt files")
        print(
            f"warning: --submission-dir also holds {others}, not written by this "
            "run; leave them out of the submission.",
            file=sys.stderr,
        )
    return {
        "folder": str(folder),
        "no_face_value": NO_FACE,
        **counts.as_dict(),
    }


def _write_predictions(
    model: Classifier,
    found: ImageSet,
    args: PredictOptions,
    submission: SubmissionWriter | None,
) -> tuple[dict[str, dict[str, Any]], int]:
    """Streams the CSV (and the submission's predictions).

    Returns:
        The scores of labelled images, by variant, and how many images were
        predicted.
    """
    sources = found.sources
    labelled = sources[0].label is not None
    classes = model.info.classes
    boxed = any(source.box is not None for source in sources)
    named = any(source.subject is not None for source in sources)
    header = ["image", "expression"] + (["label"] if labelled else [])
    header += (["subject"] if named else []) + (list(BOX_COLUMNS) if boxed else [])
    if args.probabilities:
        header += [f"p_{name}" for name in classes]
    # A byte per labelled image, not a Python list of results.
    truth, raw_predicted, predicted = array("B"), array("B"), array("B")
    rows = 0

    def write(file: IO[bytes]) -> None:
        nonlocal rows
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for index, probabilities, raw in _predictions(model, found, args):
            source = sources[index]
            expression = int(probabilities.argmax())
            row: list[Any] = [source.name, expression]
            if source.label is not None:
                row.append(source.label)
                truth.append(source.label)
                predicted.append(expression)
                raw_predicted.append(raw)
            if named:
                row.append(source.subject or "")
            if boxed:
                row += [f"{v:g}" for v in source.box] if source.box else [""] * 4
            if args.probabilities:
                row += [f"{p:.6f}" for p in probabilities.tolist()]
            writer.writerow(row)
            rows += 1
            if submission is not None:
                submission.add(index, expression)
        text.flush()
        text.detach()

    write_atomic(args.output, write)
    if not labelled or not truth:
        return {}, rows
    names = list(classes)
    raw = classification_metrics(list(truth), list(raw_predicted), names)
    scores: dict[str, dict[str, Any]] = {"raw": dict(raw)}
    if args.smooth > 1:
        scores[f"smoothed over {args.smooth} frames"] = dict(
            classification_metrics(list(truth), list(predicted), names)
        )
    return scores, rows


def _predictions(
    model: Classifier, found: ImageSet, args: PredictOptions
) -> Iterator[tuple[int, Tensor, int]]:
    """Yields (source index, probabilities to report, unsmoothed prediction).

    In the order of ``sources``, less the unreadable files.
    """
    sources = found.sources
    smoother = VideoSmoother(args.smooth) if args.smooth > 1 else None
    raw: dict[int, int] = {}
    progress = _Progress(len(sources))
    paths = [source.path for source in sources]
    batches = predict_batches(
        model, paths, args.batch_size, args.workers, read=found.read
    )
    for indices, probabilities, unreadable in batches:
        for index in unreadable:
            print(f"\nskipped (unreadable): {sources[index].name}", file=sys.stderr)
        progress.advance(len(indices), len(unreadable))
        if probabilities is None:
            continue
        for index, row in zip(indices, probabilities, strict=True):
            if smoother is None:
                yield index, row, int(row.argmax())
                continue
            raw[index] = int(row.argmax())
            source = sources[index]
            if source.frame is None:  # --smooth is refused for such formats
                raise ValueError(f"{source.name!r} has no frame number to smooth by.")
            for done, smoothed in smoother.add(index, source.group, source.frame, row):
                yield done, smoothed, raw.pop(done)
    if smoother is not None:
        for done, smoothed in smoother.flush():
            yield done, smoothed, raw.pop(done)
    progress.finish()


class _Progress:
    """A line on stderr, rewritten every second: images done, rate, time left.

    Images that could not be read count as done but not as predicted, and the
    last line gives both.
    """

    def __init__(self, total: int) -> None:
        self.total, self.predicted, self.unreadable = total, 0, 0
        self.started = self.shown = time.perf_counter()

    @property
    def done(self) -> int:
        """Images predicted or found unreadable."""
        return self.predicted + self.unreadable

    def advance(self, predicted: int, unreadable: int) -> None:
        self.predicted += predicted
        self.unreadable += unreadable
        now = time.perf_counter()
        if now - self.shown >= 1.0 or self.done == self.total:
            self.shown = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / max(rate, 1e-9)
            print(
                f"\r{self.done}/{self.total} images, {rate:.0f} img/s, "
                f"{left:.0f} s left",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def finish(self) -> None:
        seconds = time.perf_counter() - self.started
        print(
            f"\r{self.predicted} images predicted in {seconds:.1f} s "
            f"({self.predicted / max(seconds, 1e-9):.0f} img/s)"
            + (f", {self.unreadable} unreadable" if self.unreadable else ""),
            file=sys.stderr,
        )


def _print_scores(label: str, metrics: Any, classes: Sequence[str]) -> None:
    """Prints one variant's scores, one figure a line."""
    print(f"{label}: macro F1 {metrics['macro_f1']:.4f}")
    print(f"{label}: accuracy {metrics['accuracy']:.4f}")
    for name in classes:
        print(f"{label}: F1 {name} {metrics['per_class_f1'][name]:.4f}")
