"""The named starting points of a run: ``default``, ``smoke`` and ``paper``.

- ``default``: the embedded synthetic data on a CPU in minutes, with the
  no-pretraining control. Chosen with ``benchmarks/preset_search.py``
  (``docs/benchmarks.md``).
- ``smoke``: the same pipeline on a tiny configuration, for tests and CI.
- ``paper``: the published BYEL recipe for real LSD data on GPUs: ResNet-50 from
  scratch at 128 px, batch 256, 100 epochs, LARS lr 0.2, weight decay 1.5e-6,
  momentum 0.99; fine-tuning with Adam lr 1e-4 for 100 epochs; the uint8 cache
  pipeline with augmentation on the GPU.
"""

from collections.abc import Callable

from harness.config.quoted import quoted
from harness.config.settings import (
    BenchmarkConfig,
    DataSettings,
    EvalSettings,
    ModelSettings,
    PretrainSettings,
    RunSettings,
)


def _default() -> BenchmarkConfig:
    return BenchmarkConfig(
        preset="default",
        # Decoded once into a uint8 cache and augmented a batch at a time in the
        # training process: on a small CPU, worker processes decoding and
        # augmenting image by image take cores from the training step.
        data=DataSettings(pipeline="cache", num_workers=0, synthetic_image_size=64),
        run=RunSettings(methods=(*RunSettings().methods, "random-init")),
        model=ModelSettings(
            # Of the encoders tried, the one that learned the most per CPU second
            # in this budget (docs/benchmarks.md).
            backbone="resnet10-w16",
            input_size=48,
            hidden_dim=512,
            output_dim=128,
            min_scale=0.5,
            # oneDNN's convolutions are faster channels-last on CPUs too.
            channels_last=True,
        ),
        # LARS's trust ratio (1e-3) makes steps too small for a few hundred steps;
        # Adam at its usual 1e-3 (0.008 x 32 / 256) learns in that budget, and
        # batch 32 gives it twice the steps of batch 64.
        # 10 epochs: every method's loss levels off before the schedule ends, and
        # the run stays near 4 minutes on 2 cores.
        pretrain=PretrainSettings(
            epochs=10, batch_size_per_device=32, optimizer="adamw", lr=0.008
        ),
        # The published fine-tuning rate (1e-4) barely moves a classifier in a few
        # epochs; Adam's usual 1e-3, as in pretraining, does. Five epochs from a
        # random classifier (the BYEL recipe) let even the untrained control
        # learn, which starting from the linear probe's classifier (LP-FT) did
        # not (docs/benchmarks.md).
        evaluation=EvalSettings(
            linear_epochs=30,
            finetune_epochs=5,
            finetune_lr=1e-3,
            batch_size_per_device=64,
        ),
    )


def _smoke() -> BenchmarkConfig:
    return BenchmarkConfig(
        preset="smoke",
        data=DataSettings(
            synthetic_images_per_class=12, synthetic_image_size=32, num_workers=0
        ),
        run=RunSettings(seeds=(0,)),
        # The default's narrow encoder: the whole test suite writes a few hundred
        # checkpoints, at 4-5 MB each instead of ResNet-18's 180 MB.
        model=ModelSettings(
            backbone="resnet10-w16", input_size=32, hidden_dim=64, output_dim=32
        ),
        pretrain=PretrainSettings(epochs=1, batch_size_per_device=16),
        evaluation=EvalSettings(
            linear_epochs=5,
            finetune_epochs=1,
            batch_size_per_device=16,
            bootstrap_samples=200,
            # One of its four people: a tenth would hold out nobody.
            holdout_fraction=0.25,
        ),
    )


def _paper() -> BenchmarkConfig:
    return BenchmarkConfig(
        preset="paper",
        data=DataSettings(pipeline="cache", num_workers=8),
        run=RunSettings(seeds=(0,)),
        model=ModelSettings(
            backbone="resnet50",
            input_size=128,
            hidden_dim=4096,
            output_dim=256,
            channels_last=True,
        ),
        pretrain=PretrainSettings(
            epochs=100,
            batch_size_per_device=256,
            optimizer="lars",
            lr=0.2,
            weight_decay=1.5e-6,
            momentum_start=0.99,
            momentum_end=0.99,
        ),
        evaluation=EvalSettings(
            linear_epochs=100,
            finetune_epochs=100,
            finetune_lr=1e-4,
            batch_size_per_device=256,
        ),
    )


PRESETS: dict[str, Callable[[], BenchmarkConfig]] = {
    "default": _default,
    "smoke": _smoke,
    "paper": _paper,
}


def preset(name: str) -> BenchmarkConfig:
    """Returns the preset configuration called ``name``.

    Raises:
        ValueError: If the preset is unknown.

    Examples:
        >>> preset("paper").model.backbone, preset("paper").pretrain.epochs
        ('resnet50', 100)
    """
    if name not in PRESETS:
        raise ValueError(
            f"unknown preset {quoted(name)}; expected one of {tuple(PRESETS)}."
        )
    return PRESETS[name]()
