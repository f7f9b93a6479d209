"""Images per second and peak memory of ``lightly-byel predict``, torch and ONNX.

Generates a flat folder of synthetic faces, saves a model file of the benchmark's
encoder (random weights: the speed does not depend on them) at each
``--input-sizes`` and its ONNX export, and runs ``lightly-byel predict`` on the
first half of the folder and on all of it, each in a fresh process. It reports
images per second of the whole command (model loading included) and the peak
resident memory of the main process and of its largest decoding worker: peak
memory must not grow with the number of images, since predictions stream to disk.

Run from the repository root::

    python benchmarks/predict_speed.py
    python benchmarks/predict_speed.py --images 4000 --input-sizes 64,112 --workers 2

It prints a table and writes ``benchmarks/results/predict_speed.json`` and
``predict_speed.md`` (see ``--output``).
"""

import json
import math
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from harness.config.declared import like, parse_script_flags, setting
from harness.config.settings import DataSettings, ModelSettings
from harness.scripts.results import shown, write_report

from lightly_byel.data import LSD_CLASSES, generate
from lightly_byel.models.backbones import build_backbone
from lightly_byel.models.emotion_model import EmotionModel, ModelInfo

BENCHMARKS = Path(__file__).resolve().parent

# Runs lightly-byel predict in this fresh process and prints its wall time and peak
# memory.
_MEASURE = """
import json, resource, sys, time
from lightly_byel.cli.main import main
started = time.perf_counter()
status = main(["predict", *sys.argv[1:]])
seconds = time.perf_counter() - started
rusage = resource.getrusage
print(json.dumps({
    "status": status,
    "seconds": seconds,
    "main_peak_mib": rusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_peak_mib": rusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


@dataclass(frozen=True)
class PredictSpeedFlags:
    """The command line."""

    images: int = setting(2400, "generated faces to predict", flag="images", minimum=12)
    input_sizes: tuple[int, ...] = setting(
        (64, 112), "input sizes of the models, in pixels", flag="input_sizes", minimum=8
    )
    image_size: int = setting(
        112, "side of the generated faces in pixels", flag="image_size", minimum=16
    )
    backbone: str = like(ModelSettings, "backbone", default="resnet10-w16")
    workers: int = like(DataSettings, "num_workers", flag="workers")
    batch_size: int = setting(64, "images per batch", flag="batch_size", minimum=1)
    output: Path = setting(
        BENCHMARKS / "results" / "predict_speed.json", "results file", flag="output"
    )


def main(argv: list[str] | None = None) -> int:
    """Runs the measurement; returns the exit status."""
    args = parse_script_flags(PredictSpeedFlags, __file__, __doc__, argv)
    sizes = args.input_sizes
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        halves = _flat_folders(root, args.images, args.image_size)
        for size in sizes:
            for runtime, model in _models(root, args.backbone, size).items():
                for count, images in halves.items():
                    row = _measure(model, images, args)
                    row.update(runtime=runtime, input_size=size, images=count)
                    rows.append(row)
                    print(_line(row), flush=True)
    payload = {
        "command": "python benchmarks/predict_speed.py " + " ".join(argv or []),
        "environment": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
        },
        "settings": {
            "backbone": args.backbone,
            "image_size": args.image_size,
            "workers": args.workers,
            "batch_size": args.batch_size,
        },
        "runs": rows,
    }
    table = "\n".join(
        [
            "| runtime | input px | images | images/s | main peak MiB | "
            "worker peak MiB |",
            "|:---|---:|---:|---:|---:|---:|",
            *(_table_row(row) for row in rows),
        ]
    )
    path = write_report(args.output.parent, args.output.stem, payload, table + "\n")
    print(f"results: {shown(path)}")
    return 0 if all(row["status"] == 0 for row in rows) else 1


def _flat_folders(root: Path, images: int, image_size: int) -> dict[int, Path]:
    """Half of the images and all of them, each as a flat folder of links."""
    per_class = math.ceil(images / len(LSD_CLASSES) / 2)
    generate(root / "faces", per_class, image_size, seed=0, workers=2)
    files = sorted((root / "faces").rglob("*.jpg"))[:images]
    folders = {}
    for count in (len(files) // 2, len(files)):
        flat = root / f"flat{count}"
        flat.mkdir()
        for index, file in enumerate(files[:count]):
            (flat / f"{index:06d}.jpg").symlink_to(file)
        folders[count] = flat
    return folders


def _models(root: Path, backbone: str, size: int) -> dict[str, Path]:
    """The model file at ``size``, and its ONNX export where onnx is installed."""
    encoder, num_ftrs = build_backbone(backbone)
    info = ModelInfo(backbone, num_ftrs, size)
    model_file = root / f"model{size}.pt"
    EmotionModel(encoder, torch.nn.Linear(num_ftrs, 6), info).save(model_file)
    models = {"torch": model_file}
    try:
        from lightly_byel.models.onnx_model import export_onnx

        export_onnx(EmotionModel.load(model_file), root / f"model{size}.onnx")
        models["onnx"] = root / f"model{size}.onnx"
    except ImportError as error:
        print(f"no ONNX figures: {error}")
    return models


def _measure(model: Path, images: Path, args: Any) -> dict[str, Any]:
    """Runs ``lightly-byel predict`` on ``images`` in a fresh process.

    Returns:
        Its figures.
    """
    command = [sys.executable, "-c", _MEASURE, "--model", str(model)]
    command += ["--images", str(images), "--output", str(images.parent / "p.csv")]
    command += ["--workers", str(args.workers), "--batch-size", str(args.batch_size)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"lightly-byel predict failed: {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    count = sum(1 for _ in images.iterdir())
    figures["images_per_second"] = count / figures["seconds"]
    return figures


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['runtime']:5s} {row['input_size']:4d} px {row['images']:6d} images: "
        f"{row['images_per_second']:7.1f} img/s, peak {row['main_peak_mib']:.0f} MiB "
        f"(worker {row['worker_peak_mib']:.0f} MiB)"
    )


def _table_row(row: dict[str, Any]) -> str:
    return (
        f"| {row['runtime']} | {row['input_size']} | {row['images']} | "
        f"{row['images_per_second']:.1f} | {row['main_peak_mib']:.0f} | "
        f"{row['worker_peak_mib']:.0f} |"
    )


if __name__ == "__main__":
    sys.exit(main())
