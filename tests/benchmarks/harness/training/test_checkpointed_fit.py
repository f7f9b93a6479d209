import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from harness.pipelines.loading import EpochShuffle
from harness.training.checkpointed_fit import (
    AtomicCheckpointIO,
    DivergenceError,
    EpochCheckpoints,
    checkpointed_fit,
    checkpoints,
    newest_readable_checkpoint,
)
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from lightly_byel.utils.safe_load import UntrustedFileError, safe_load

TRAINER = {
    "accelerator": "cpu",
    "devices": 1,
    "logger": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
}


class Noisy(pl.LightningModule):
    """A regression whose steps draw random numbers, as augmentations do."""

    def __init__(self, nan_loss: bool = False) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1)
        self.nan_loss = nan_loss

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        x, y = batch
        noise = 0.1 * torch.randn_like(x)  # the global generator, as augmentations
        loss = nn.functional.mse_loss(self.layer(x + noise).squeeze(1), y)
        return loss * math.nan if self.nan_loss else loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=0.05)


def batches() -> DataLoader[Any]:
    fixed = torch.Generator().manual_seed(0)
    data = TensorDataset(
        torch.randn(40, 4, generator=fixed), torch.randn(40, generator=fixed)
    )
    return DataLoader(data, batch_size=8, sampler=EpochShuffle(40, seed=3))


class Killed(Exception):
    pass


class KillAfterEpoch(pl.Callback):
    """Ends the process's fit right after the checkpoint of an epoch is written."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: pl.Trainer, module: Any) -> None:
        if trainer.current_epoch == self.epoch:
            raise Killed


def fit(folder: Path, epochs: int, *callbacks: pl.Callback, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    module = Noisy()
    record = checkpointed_fit(
        module, batches(), None, epochs, folder, "test", TRAINER, callbacks
    )
    return module, record


def test_a_resumed_fit_takes_the_same_steps_as_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    whole, whole_record = fit(tmp_path / "whole", 4)
    with pytest.raises(Killed):
        fit(tmp_path / "killed", 4, KillAfterEpoch(2))
    assert [p.name for p in checkpoints(tmp_path / "killed")] == [
        "epoch-0001.ckpt",
        "epoch-0002.ckpt",
    ]
    saved = safe_load(tmp_path / "killed" / "epoch-0002.ckpt")
    clock = next(v for k, v in saved["callbacks"].items() if "TrainingClock" in k)
    # A fresh process would start from other random states: a different seed.
    resumed, record = fit(tmp_path / "killed", 4, seed=123)
    assert record.resumed_from == tmp_path / "killed" / "epoch-0002.ckpt"
    assert record.steps == whole_record.steps == 20
    assert torch.equal(resumed.layer.weight, whole.layer.weight)
    assert torch.equal(resumed.layer.bias, whole.layer.bias)
    # The time of both attempts adds up; the first one's is in the checkpoint.
    assert 0 < clock["seconds"] < record.seconds
    assert record.images == 20 * 8


class FolderAtStart(pl.Callback):
    """Records whether the checkpoint folder exists when training starts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.existed: bool | None = None

    def on_train_start(self, trainer: pl.Trainer, module: Any) -> None:
        self.existed = self.folder.exists()


@pytest.mark.parametrize("writer", [False, True])
def test_only_the_writing_process_makes_the_folder(
    tmp_path: Path, writer: bool
) -> None:
    # Under torchrun the other processes start with the first: a folder of theirs
    # would make the first, still checking the output, refuse it as an old run's.
    folder = tmp_path / "run" / "checkpoints" / "pretrain"
    seen = FolderAtStart(folder)
    checkpointed_fit(
        Noisy(), batches(), None, 1, folder, "test", TRAINER, [seen], writer=writer
    )
    assert seen.existed is writer


def test_only_the_newest_two_checkpoints_are_kept(tmp_path: Path) -> None:
    fit(tmp_path, 5)
    assert [p.name for p in checkpoints(tmp_path)] == [
        "epoch-0004.ckpt",
        "epoch-0005.ckpt",
    ]
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_finished_fit_is_read_back_without_training(tmp_path: Path) -> None:
    first, record = fit(tmp_path, 2)
    again, second = fit(tmp_path, 2, seed=9)
    assert second.steps == record.steps
    assert torch.equal(again.layer.weight, first.layer.weight)
    assert second.seconds == pytest.approx(record.seconds, rel=0.5)


def test_a_torn_checkpoint_is_set_aside_and_the_one_before_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, _ = fit(tmp_path / "whole", 3)
    with pytest.raises(Killed):
        fit(tmp_path / "torn", 3, KillAfterEpoch(2))
    newest = tmp_path / "torn" / "epoch-0002.ckpt"
    newest.write_bytes(newest.read_bytes()[:1000])  # a full disk, a kill
    (tmp_path / "torn" / ".epoch-0003.ckpt.abc.tmp").write_bytes(b"partial")
    resumed, record = fit(tmp_path / "torn", 3, seed=5)
    printed = capsys.readouterr().out
    assert f"checkpoint {str(newest)!r} is not a readable PyTorch file" in printed
    assert "Set aside as epoch-0002.ckpt.corrupt" in printed
    assert (tmp_path / "torn" / "epoch-0002.ckpt.corrupt").is_file()
    assert record.resumed_from == tmp_path / "torn" / "epoch-0001.ckpt"
    assert not (tmp_path / "torn" / ".epoch-0003.ckpt.abc.tmp").exists()
    assert torch.equal(resumed.layer.weight, whole.layer.weight)


def test_a_planted_checkpoint_is_never_run_and_the_one_before_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], plant: Callable[..., Path]
) -> None:
    whole, _ = fit(tmp_path / "whole", 3)
    with pytest.raises(Killed):
        fit(tmp_path / "shared", 3, KillAfterEpoch(2))
    planted = tmp_path / "shared" / "epoch-0003.ckpt"
    marker = plant(planted, safe_load(tmp_path / "shared" / "epoch-0002.ckpt"))
    resumed, record = fit(tmp_path / "shared", 3, seed=5)
    assert not marker.exists()
    printed = capsys.readouterr().out
    assert f"checkpoint {str(planted)!r} is refused" in printed
    assert "weights_only" not in printed
    assert (tmp_path / "shared" / "epoch-0003.ckpt.untrusted").is_file()
    assert record.resumed_from == tmp_path / "shared" / "epoch-0002.ckpt"
    assert torch.equal(resumed.layer.weight, whole.layer.weight)


def test_lightning_reads_checkpoints_safely_whatever_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plant: Callable[..., Path]
) -> None:
    # This variable turns torch.load's default into a full unpickling.
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = plant(tmp_path / "epoch-0001.ckpt")
    with pytest.raises(UntrustedFileError, match="is refused"):
        AtomicCheckpointIO().load_checkpoint(tmp_path / "epoch-0001.ckpt")
    assert not marker.exists()


def test_no_readable_checkpoint_means_a_fresh_start(tmp_path: Path) -> None:
    (tmp_path / "epoch-0001.ckpt").write_text("not a checkpoint")
    assert newest_readable_checkpoint(tmp_path, set_aside=False) is None
    assert (tmp_path / "epoch-0001.ckpt").is_file()  # left to the writer
    assert newest_readable_checkpoint(tmp_path) is None
    assert (tmp_path / "epoch-0001.ckpt.corrupt").is_file()


def test_a_non_finite_loss_stops_the_fit_naming_unit_and_step(tmp_path: Path) -> None:
    with pytest.raises(DivergenceError) as error:
        checkpointed_fit(
            Noisy(nan_loss=True), batches(), None, 3, tmp_path, "byel, seed 4", TRAINER
        )
    message = str(error.value)
    assert message.startswith("byel, seed 4: the training loss was not finite for 5")
    assert "up to step 5" in message and "learning rate" in message


def test_checkpoints_are_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(checkpoint: Any, file: Any) -> None:
        file.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        fit(tmp_path, 1)
    assert list(tmp_path.iterdir()) == []  # neither a torn file nor a temporary one
    assert EpochCheckpoints(tmp_path).keep == 2
