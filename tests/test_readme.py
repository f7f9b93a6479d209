"""The README's Python examples run as written (the training loop on a tiny tree)."""

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_the_examples() -> None:
    assert len(python_blocks()) == 4


def test_quick_start_loop_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "lsd" / "training_set_synthetic_images"
    for index, name in enumerate(["ANGER", "DISGUST", "FEAR", "HAPPINESS"]):
        (root / name).mkdir(parents=True)
        for number in range(2):
            color = (40 * index, 60 * number, 120)
            Image.new("RGB", (40, 40), color).save(root / name / f"{number}.jpg")
    # Shrink the published recipe to a CPU-sized run; each knob must be found once.
    shrink = {
        "resnet50()": "resnet18()",
        "input_size=128": "input_size=32",
        "batch_size=256": "batch_size=4",
        "num_workers=8": "num_workers=0",
        "range(100)": "range(2)",
    }
    code = python_blocks()[0]
    for old, new in shrink.items():
        assert code.count(old) == 1, old
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    loss = namespace["loss"]
    assert isinstance(loss, torch.Tensor) and torch.isfinite(loss)
    state = torch.load(tmp_path / "byel_resnet50.pt")
    assert "0.weight" in state


def test_components_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(compile(python_blocks()[1], str(README), "exec"), namespace)
    loss = namespace["loss"]
    assert isinstance(loss, torch.Tensor) and loss.shape == ()


def test_datasets_example_runs(tmp_path: Path) -> None:
    code = python_blocks()[2]
    raf, affectnet = tmp_path / "RAF-DB" / "basic", tmp_path / "AffectNet"
    (raf / "EmoLabel").mkdir(parents=True)
    (raf / "Image" / "aligned").mkdir(parents=True)
    labels = "test_0001.jpg 4\ntest_0002.jpg 7\n"
    (raf / "EmoLabel" / "list_patition_label.txt").write_text(labels)
    Image.new("RGB", (100, 100)).save(
        raf / "Image" / "aligned" / "test_0001_aligned.jpg"
    )
    (affectnet / "Manually_Annotated_Images" / "7").mkdir(parents=True)
    Image.new("RGB", (90, 90)).save(affectnet / "Manually_Annotated_Images/7/a.jpg")
    (affectnet / "validation.csv").write_text('7/a.jpg,5,5,80,80,"1;2",3,0.1,0.5\n')
    for folder in (raf, affectnet):
        assert code.count(f'"/data/{folder.relative_to(tmp_path)}"') == 1
        code = code.replace(f"/data/{folder.relative_to(tmp_path)}", str(folder))
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["raf"].targets == [3]  # type: ignore[attr-defined]
    assert namespace["raf"].skipped == {"neutral": 1}  # type: ignore[attr-defined]
    assert namespace["affectnet"].targets == [5]  # type: ignore[attr-defined]


def test_synthetic_faces_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = python_blocks()[3]
    assert code.count("images_per_class=100") == 1
    code = code.replace("images_per_class=100", "images_per_class=2")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    train, shifted = namespace["train"], namespace["shifted"]
    assert len(train) == len(shifted) == 12  # type: ignore[arg-type]
    views, label = train[0]  # type: ignore[index]
    assert views[0].shape == (3, 64, 64) and label == 0


def test_trained_model_example_runs_as_a_doctest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import doctest

    pytest.importorskip("cv2")  # the example reads a face as OpenCV users do
    from lightly_byel.models.backbones import build_backbone
    from lightly_byel.models.emotion_model import EmotionModel, ModelInfo

    (block,) = re.findall(r"```pycon\n(.*?)```", README.read_text(), flags=re.DOTALL)
    # The files the example names, as a default run and the user would have them.
    monkeypatch.chdir(tmp_path)
    encoder, num_ftrs = build_backbone("resnet10-w8")
    info = ModelInfo("resnet10-w8", num_ftrs, 32, method="byel", protocol="finetune")
    model = EmotionModel(encoder, torch.nn.Linear(num_ftrs, 6), info)
    model.save(tmp_path / "runs/affwild2/models/byel-seed0-finetune.pt")
    Image.new("RGB", (64, 64), (200, 150, 120)).save(tmp_path / "face.jpg")
    Image.new("L", (48, 40), 90).save(tmp_path / "other_face.png")

    test = doctest.DocTestParser().get_doctest(block, {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(0, 9)
