r"""Applies a model file of a benchmark run to images and writes the predictions.

``--format flat`` reads a folder of images (the ABAW LSD test set) and writes the
ABAW submission CSV: the header ``image,expression``, then one line per image,
``<file name>,<0-5>`` in LSD class order (anger, disgust, fear, happiness, sadness,
surprise). ``--format lsd`` and ``--format affwild2-expr`` (with
``--annotations``) read labelled images with the project's loaders, add the true
``label`` to each line and print macro F1, accuracy and per-class F1; on a run's
eval split they reproduce the unit's ``macro_f1`` in ``results.json``.
``--smooth N`` averages the class probabilities over N frames of each Aff-Wild2
video before the argmax, and prints the scores with and without it.
``--export onnx`` writes the model as an ONNX graph instead, which ``--model``
also takes (run through onnxruntime; the extra ``onnx``).

Unreadable and non-image files are reported once, by name, and skipped. Images are
decoded in worker processes and predicted in batches, on the GPU when there is
one; the CSV is streamed to a temporary file and renamed into place when complete.

Run from the repository root::

    python benchmarks/predict.py --model runs/affwild2/models/byel-seed0-finetune.pt \
        --images lsd/test_images --format flat --output predictions.csv
"""

import csv
import io
import json
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import torch
from harness.config import int_at_least
from harness.evaluation.metrics import classification_metrics
from harness.image_sources import ImageSource, image_sources
from harness.output_paths import check_outputs_apart, check_writable
from harness.script_flags import script_parser
from torch import Tensor

from lightly_byel.models.emotion_model import EmotionModel
from lightly_byel.models.onnx_model import export_onnx, load_model
from lightly_byel.models.prediction import Classifier, VideoSmoother, predict_batches
from lightly_byel.utils.atomic_files import write_atomic, write_text_atomic

FORMATS = ("flat", "lsd", "affwild2-expr")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = script_parser(__file__, __doc__)
    parser.add_argument(
        "--model", type=Path, required=True, help="model file (.pt) or export (.onnx)"
    )
    parser.add_argument("--images", type=Path, help="image folder")
    parser.add_argument("--format", choices=FORMATS, default="flat")
    parser.add_argument(
        "--annotations", type=Path, help="Aff-Wild2 EXPR folder (affwild2-expr)"
    )
    parser.add_argument(
        "--output",
        required=True,
        help="CSV to write (or the export); never an input or inside --images",
    )
    parser.add_argument(
        "--export",
        choices=("onnx",),
        help="write the model as ONNX to --output instead of predicting",
    )
    parser.add_argument(
        "--probabilities", action="store_true", help="add each class's probability"
    )
    parser.add_argument(
        "--smooth",
        type=int_at_least(1),
        default=1,
        help="frames of an Aff-Wild2 video to average probabilities over (1: off)",
    )
    parser.add_argument("--batch-size", type=int_at_least(1), default=64)
    parser.add_argument("--workers", type=int_at_least(0), default=2)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--summary", help="also write the printed scores as JSON here")
    args = parser.parse_args(argv)
    if args.images is None and args.export is None:
        parser.error("--images is required, unless --export.")
    if args.smooth > 1 and args.format != "affwild2-expr":
        parser.error("--smooth needs --format affwild2-expr (frames of videos).")
    try:
        _check_outputs(args)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.export is not None:
        return _export(args.model, args.output)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        model = load_model(args.model, device)
        sources, passed_over = image_sources(args.images, args.format, args.annotations)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, reason in passed_over:
        print(f"skipped ({reason}): {name}", file=sys.stderr)
    if not sources:
        print(f"error: no images in {str(args.images)!r}.", file=sys.stderr)
        return 2
    scores = _write_predictions(model, sources, args)
    for label, metrics in scores.items():
        _print_scores(label, metrics, model.info.classes)
    if args.summary is not None:
        write_text_atomic(args.summary, json.dumps(scores, indent=2) + "\n")
    return 0


def _check_outputs(args: Any) -> None:
    """Refuses, before any work, outputs onto inputs and folders that are not writable.

    Afterwards ``args.output`` and ``args.summary`` are paths.
    """
    outputs = {"--output": args.output, "--summary": args.summary}
    inputs = {
        "--model": args.model,
        "--images": args.images,
        "--annotations": args.annotations,
    }
    check_outputs_apart(outputs, inputs)
    for flag, name in outputs.items():
        if name is not None:
            check_writable(Path(name).parent, f"the folder of {flag}")
    args.output = Path(args.output)
    args.summary = None if args.summary is None else Path(args.summary)


def _export(model_file: Path, output: Path) -> int:
    """Writes the ONNX export of a model file; returns the exit status."""
    try:
        export_onnx(EmotionModel.load(model_file), output)
    except (OSError, ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"ONNX graph (dynamic batch, without preprocessing): {output}")
    return 0


def _write_predictions(
    model: Classifier, sources: Sequence[ImageSource], args: Any
) -> dict[str, dict[str, Any]]:
    """Streams the CSV; returns the scores of labelled images, by variant."""
    labelled = sources[0].label is not None
    classes = model.info.classes
    header = ["image", "expression"] + (["label"] if labelled else [])
    if args.probabilities:
        header += [f"p_{name}" for name in classes]
    # A byte per labelled image, not a Python list of results.
    truth, raw_predicted, predicted = array("B"), array("B"), array("B")

    def write(file: IO[bytes]) -> None:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for index, probabilities, raw in _predictions(model, sources, args):
            source = sources[index]
            expression = int(probabilities.argmax())
            row: list[Any] = [source.name, expression]
            if source.label is not None:
                row.append(source.label)
                truth.append(source.label)
                predicted.append(expression)
                raw_predicted.append(raw)
            if args.probabilities:
                row += [f"{p:.6f}" for p in probabilities.tolist()]
            writer.writerow(row)
        text.flush()
        text.detach()

    write_atomic(args.output, write)
    if not labelled or not truth:
        return {}
    names = list(classes)
    raw = classification_metrics(list(truth), list(raw_predicted), names)
    scores: dict[str, dict[str, Any]] = {"raw": dict(raw)}
    if args.smooth > 1:
        scores[f"smoothed over {args.smooth} frames"] = dict(
            classification_metrics(list(truth), list(predicted), names)
        )
    return scores


def _predictions(
    model: Classifier, sources: Sequence[ImageSource], args: Any
) -> Iterator[tuple[int, Tensor, int]]:
    """Yields (source index, probabilities to report, unsmoothed prediction)."""
    smoother = VideoSmoother(args.smooth)
    raw: dict[int, int] = {}
    progress = _Progress(len(sources))
    paths = [source.path for source in sources]
    batches = predict_batches(model, paths, args.batch_size, args.workers)
    for indices, probabilities, unreadable in batches:
        for index in unreadable:
            print(f"\nskipped (unreadable): {sources[index].name}", file=sys.stderr)
        progress.advance(len(indices) + len(unreadable))
        if probabilities is None:
            continue
        for index, row in zip(indices, probabilities, strict=True):
            raw[index] = int(row.argmax())
            for done, smoothed in smoother.add(index, sources[index].group, row):
                yield done, smoothed, raw.pop(done)
    for done, smoothed in smoother.flush():
        yield done, smoothed, raw.pop(done)
    progress.finish()


class _Progress:
    """A line on stderr, rewritten every second: images done, rate, time left."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.started = self.shown = time.perf_counter()

    def advance(self, images: int) -> None:
        self.done += images
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
            f"\r{self.done} images in {seconds:.1f} s "
            f"({self.done / max(seconds, 1e-9):.0f} img/s)",
            file=sys.stderr,
        )


def _print_scores(label: str, metrics: Any, classes: Sequence[str]) -> None:
    """Prints one variant's scores, one figure a line."""
    print(f"{label}: macro F1 {metrics['macro_f1']:.4f}")
    print(f"{label}: accuracy {metrics['accuracy']:.4f}")
    for name in classes:
        print(f"{label}: F1 {name} {metrics['per_class_f1'][name]:.4f}")


if __name__ == "__main__":
    sys.exit(main())
