import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from harness.config.presets import preset
from harness.config.settings import BenchmarkConfig
from harness.runs.preflight import check_hardware, device_count, preflight

from lightly_byel.models.backbones import build_backbone
from lightly_byel.utils.safe_load import UntrustedFileError


def with_run(**values: object) -> BenchmarkConfig:
    config = preset("smoke")
    return replace(config, run=replace(config.run, **values))


def test_device_counts() -> None:
    assert device_count("auto") is None
    assert device_count(" 3 ") == 3
    assert device_count("0,1,2") == 3
    for bad in ("two", "-1", "0", "", "1,x"):
        with pytest.raises(ValueError, match="--devices must be"):
            device_count(bad)


def test_more_devices_than_the_machine_has_are_refused() -> None:
    with pytest.raises(ValueError, match=r"asks for 999 devices, and this machine"):
        check_hardware(with_run(devices="999", accelerator="cpu"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without GPU")
def test_gpu_settings_on_a_machine_without_one_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        check_hardware(with_run(accelerator="gpu"))
    with pytest.raises(ValueError, match="16-mixed needs a GPU"):
        check_hardware(with_run(precision="16-mixed"))
    check_hardware(with_run(precision="bf16-mixed"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a readable PyTorch file"),
        (b"just some text\n", "is not a readable PyTorch file"),
    ],
)
def test_unreadable_pretrained_files_are_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    config = preset("smoke")
    config = replace(config, model=replace(config.model, pretrained=str(path)))
    with pytest.raises(ValueError, match=message):
        preflight(config, tmp_path / "out")


def test_a_planted_pretrained_file_is_refused_and_never_run(
    tmp_path: Path, plant: Callable[..., Path]
) -> None:
    marker = plant(tmp_path / "weights.pt")
    config = preset("smoke")
    weights = str(tmp_path / "weights.pt")
    config = replace(config, model=replace(config.model, pretrained=weights))
    with pytest.raises(UntrustedFileError, match="could run code") as error:
        preflight(config, tmp_path / "out")
    assert "weights_only" not in str(error.value)
    assert not marker.exists()


def test_non_finite_pretrained_weights_are_refused(tmp_path: Path) -> None:
    backbone, _ = build_backbone("resnet18")
    state = backbone.state_dict()
    state["layer1.0.conv1.weight"][0, 0, 0, 0] = math.nan
    path = tmp_path / "nan.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"non-finite values .* in 1 tensors"):
        build_backbone("resnet18", str(path))


def test_missing_data_folders_are_named(tmp_path: Path) -> None:
    config = preset("smoke")
    config = replace(config, data=replace(config.data, data_root=str(tmp_path / "x")))
    with pytest.raises(FileNotFoundError, match=r"--data-root '.*x' is not a folder"):
        preflight(config, tmp_path / "out")


def test_data_folders_with_names_the_disk_refuses_are_quoted_short(
    tmp_path: Path,
) -> None:
    config = preset("smoke")
    long = str(tmp_path / ("x" * 5000))
    config = replace(config, data=replace(config.data, data_root=long))
    with pytest.raises(
        FileNotFoundError, match=r"--data-root '.*' cannot be read"
    ) as error:
        preflight(config, tmp_path / "out")
    assert len(str(error.value)) < 500


def test_crop_faces_without_the_detector_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    real = importlib.import_module

    def without_detector(name: str, *args: object) -> object:
        if name == "retinaface":
            raise ModuleNotFoundError("No module named 'retinaface'")
        return real(name, *args)  # type: ignore[arg-type]

    config = preset("smoke")
    config = replace(config, data=replace(config.data, crop_faces=True))
    preflight(config, tmp_path / "run")  # installed here
    monkeypatch.setattr(importlib, "import_module", without_detector)
    with pytest.raises(ValueError, match=r"--crop-faces: .*lightly-byel\[faces\]"):
        preflight(config, tmp_path / "run")
