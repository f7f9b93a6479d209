r"""``lightly-byel export``: a model file as an ONNX graph.

The graph holds the encoder and the head with a dynamic batch dimension and
without the preprocessing: it takes images resized to the model's input size and
normalised as the model file says (``lightly-byel predict --model M.onnx`` does both,
and so does ``lightly_byel.models.onnx_model.load_model``). Needs the extra
``onnx``.

Examples::

    lightly-byel export --model runs/affwild2/models/byel-seed0-finetune.pt \
        --output byel.onnx
"""

import argparse
import sys

from lightly_byel.cli.parsers import path

SUMMARY = "write a model file as an ONNX graph"
"""The command's line in ``lightly-byel --help``."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the flags of ``lightly-byel export``."""
    parser.add_argument(
        "--model", type=path, required=True, help="model file (.pt) of a run"
    )
    parser.add_argument(
        "--output",
        type=path,
        required=True,
        help="the ONNX file to write; never the model file",
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Writes the export; returns the exit status (2 on a bad file)."""
    # Imported once the flags are read: torch takes seconds to load, --help and
    # usage errors should not wait for it.
    from lightly_byel.models.emotion_model import EmotionModel
    from lightly_byel.models.onnx_model import export_onnx
    from lightly_byel.utils.output_paths import check_outputs_apart, check_writable

    try:
        check_outputs_apart({"--output": args.output}, {"--model": args.model})
        check_writable(args.output.parent, "the folder of --output")
        export_onnx(EmotionModel.load(args.model), args.output)
    except (OSError, ValueError, ImportError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    print(f"ONNX graph (dynamic batch, without preprocessing): {args.output}")
    return 0
