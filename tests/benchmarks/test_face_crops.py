import importlib.util
import json
from pathlib import Path
from types import ModuleType


def test_face_crops_measures_misses_speed_and_framing(
    face_crops: ModuleType, tmp_path: Path
) -> None:
    argv = ["--images-per-class", "2", "--image-size", "96", "--output", str(tmp_path)]
    assert face_crops.main(argv) == 0
    rows = json.loads((tmp_path / "face_crops.json").read_text())["rows"]
    names = [row["images"] for row in rows]
    assert "grace_hopper" in names
    # scikit-image's photos are measured where it is installed.
    assert ("LFW faces" in names) == (importlib.util.find_spec("skimage") is not None)
    assert len([name for name in names if name.startswith("framing")]) == 2
    generated = [row for row in rows if row["images"].startswith("aligned")]
    assert [row["count"] for row in generated] == [12, 12]
    assert all(0 <= row["missed"] <= 1 and row["ms_per_image"] > 0 for row in generated)
    real = next(row for row in rows if row["images"] == "grace_hopper")
    assert real["missed"] == 0
    framing = next(row for row in rows if row["images"].startswith("framing"))
    assert 0.8 < framing["framing_scale"] < 1.4
    assert "| grace_hopper | 1 | 0.0% |" in (tmp_path / "face_crops.md").read_text()
