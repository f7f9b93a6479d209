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
