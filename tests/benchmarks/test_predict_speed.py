import json
from pathlib import Path
from types import ModuleType


def test_a_miniature_measures_every_runtime_and_both_halves(
    predict_speed: ModuleType, tmp_path: Path
) -> None:
    output = tmp_path / "speed.json"
    argv = ["--images", "24", "--input-sizes", "32", "--image-size", "32"]
    argv += ["--workers", "0", "--batch-size", "8", "--output", str(output)]
    assert predict_speed.main(argv) == 0
    runs = json.loads(output.read_text())["runs"]
    runtimes = {run["runtime"] for run in runs}
    assert runtimes <= {"torch", "onnx"} and "torch" in runtimes
    assert sorted({run["images"] for run in runs}) == [12, 24]
    for run in runs:
        assert run["status"] == 0 and run["images_per_second"] > 0
        assert run["main_peak_mib"] > 0
    assert (tmp_path / "speed.md").read_text().startswith("| runtime |")
