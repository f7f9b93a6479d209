from dataclasses import replace
from pathlib import Path

import pytorch_lightning as pl
import torch
from harness.config.presets import preset
from harness.config.settings import BenchmarkConfig, DataSettings
from harness.data.splits import load_splits
from harness.methods import METHODS
from harness.pipelines.base import PretrainData
from harness.pipelines.cache.pipeline import CachePipeline
from harness.pipelines.files import FilesPipeline
from harness.pipelines.loading import loader
from harness.pipelines.registry import make_pipeline
from torch import Tensor

TINY = DataSettings(synthetic_images_per_class=3, synthetic_image_size=24)


def tiny(tmp_path: Path, pipeline: str) -> BenchmarkConfig:
    config = preset("smoke")
    data = replace(TINY, cache_dir=str(tmp_path), pipeline=pipeline)  # type: ignore[arg-type]
    return replace(config, data=data, model=replace(config.model, input_size=16))


def test_both_pipelines_give_the_encoder_the_same_plain_images(tmp_path: Path) -> None:
    files = make_pipeline(load_splits(tiny(tmp_path, "files")), tiny(tmp_path, "files"))
    cache = make_pipeline(load_splits(tiny(tmp_path, "cache")), tiny(tmp_path, "cache"))
    assert isinstance(files, FilesPipeline) and isinstance(cache, CachePipeline)
    identity = torch.nn.Identity()
    for split in ("train", "eval"):
        a = next(iter(loader(files.plain(split, [0, 5]), 2, 0, shuffle=False)))
        b = next(iter(loader(cache.plain(split, [0, 5]), 2, 0, shuffle=False)))
        seen_a = files.encoder(identity)(a[0])
        seen_b = cache.encoder(identity).eval()(b[0])
        # The files path rounds the resized image to uint8 before normalising.
        torch.testing.assert_close(seen_a, seen_b, atol=0.03, rtol=0)
        assert a[1].tolist() == b[1].tolist()


def test_pretraining_batches_are_augmented_on_the_device(tmp_path: Path) -> None:
    config = tiny(tmp_path, "cache")
    pipeline = make_pipeline(load_splits(config), config)
    spec = METHODS["byel"]
    data = pipeline.pretraining_data(spec, seed=0)
    assert isinstance(data, PretrainData) and data.augment is not None
    module = spec.build(
        replace(config.model, hidden_dim=16, output_dim=8), config.pretrain
    )
    seen: list[object] = []
    step = module.training_step

    def record(batch: tuple[list[Tensor], Tensor], batch_idx: int) -> Tensor:
        seen.append(batch)
        return step(batch, batch_idx)

    module.training_step = record  # type: ignore[method-assign]
    pl.Trainer(
        max_epochs=1,
        limit_train_batches=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    ).fit(module, datamodule=data)
    views, _ = seen[0]  # type: ignore[misc]
    assert len(views) == 2 and views[0].shape[1:] == (3, 16, 16)
    assert views[0].dtype == torch.float32 and not torch.equal(views[0], views[1])
    # The files pipeline's samples come augmented: nothing to do on the device.
    files = make_pipeline(load_splits(tiny(tmp_path, "files")), tiny(tmp_path, "files"))
    assert files.pretraining_data(spec, seed=0).augment is None
