import pickle
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from lightly_byel.utils.safe_load import DamagedFileError, UntrustedFileError, safe_load


def test_tensors_and_plain_data_load(tmp_path: Path) -> None:
    content = {"weight": torch.arange(3.0), "epoch": 2, "name": "x", "list": [1.5]}
    torch.save(content, tmp_path / "state.pt")
    loaded = safe_load(tmp_path / "state.pt")
    assert torch.equal(loaded["weight"], content["weight"])
    assert {k: v for k, v in loaded.items() if k != "weight"} == {
        "epoch": 2,
        "name": "x",
        "list": [1.5],
    }


@pytest.mark.parametrize("force_unpickling", [False, True])
def test_a_planted_file_is_refused_without_running_it(
    tmp_path: Path,
    plant: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    force_unpickling: bool,
) -> None:
    if force_unpickling:
        # torch's switch for unrestricted loading by default must not apply.
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = plant(tmp_path / "shared.ckpt", {"epoch": 3})
    with pytest.raises(UntrustedFileError) as error:
        safe_load(tmp_path / "shared.ckpt", "checkpoint")
    assert not marker.exists()
    message = str(error.value)
    assert message.startswith(f"checkpoint {str(tmp_path / 'shared.ckpt')!r}")
    assert "(exec)" in message and "could run code" in message
    assert "weights_only" not in message and "trust" not in message


@pytest.mark.parametrize(
    "content",
    [b"", b"just some text\n", b"PK\x03\x04", b"\x80\x02}q\x00."[:3]],
    ids=["empty", "text", "torn zip", "torn pickle"],
)
def test_unreadable_files_are_named_as_damaged(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(DamagedFileError) as error:
        safe_load(path, "model file")
    message = str(error.value)
    assert message.startswith(f"model file {str(path)!r} is not a readable PyTorch")
    assert "weights_only" not in message


def test_a_truncated_checkpoint_is_damaged_not_untrusted(tmp_path: Path) -> None:
    torch.save({"weight": torch.zeros(1000)}, tmp_path / "whole.pt")
    torn = tmp_path / "torn.pt"
    torn.write_bytes((tmp_path / "whole.pt").read_bytes()[:2000])
    with pytest.raises(DamagedFileError, match="damaged, truncated"):
        safe_load(torn)


def test_missing_files_and_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"checkpoint '.*missing.pt' does not"):
        safe_load(tmp_path / "missing.pt", "checkpoint")
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        safe_load(tmp_path, "checkpoint")


def test_the_reason_names_no_file_for_callers_that_name_it(
    tmp_path: Path, plant: Callable[..., Path]
) -> None:
    plant(tmp_path / "shared.pt")
    with pytest.raises(UntrustedFileError) as untrusted:
        safe_load(tmp_path / "shared.pt", "model file")
    assert untrusted.value.reason == (
        "is refused: it holds pickled Python objects (exec), which could run code "
        "when loaded"
    )
    (tmp_path / "notes.pt").write_text("notes\n")
    with pytest.raises(DamagedFileError) as damaged:
        safe_load(tmp_path / "notes.pt")
    assert damaged.value.reason.startswith("is not a readable PyTorch file (")
    for error in (untrusted.value, damaged.value):
        assert str(tmp_path) not in error.reason and "weights_only" not in error.reason
        # Rebuilt from its message alone (as pickling does), the reason is the message.
        assert type(error)(str(error)).reason == str(error)


def _torchscript_like(path: Path) -> None:
    """A zip that torch takes for a TorchScript archive (it has constants.pkl)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/constants.pkl", b"\x80\x02).")
        archive.writestr("archive/data.pkl", b"\x80\x02}.")
        archive.writestr("archive/version", b"3\n")


@pytest.mark.parametrize(
    "write",
    [
        lambda path: path.write_bytes(pickle.dumps({"weight": [1.0]}, protocol=4)),
        _torchscript_like,
    ],
    ids=["plain-pickle", "torchscript"],
)
def test_refused_files_raise_without_torchs_advice_as_warnings(
    tmp_path: Path, write: Callable[[Path], object]
) -> None:
    path = tmp_path / "model.pt"
    write(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DamagedFileError) as error:
            safe_load(path, "model file")
    assert [str(warning.message) for warning in caught] == []
    assert "weights_only" not in str(error.value)
