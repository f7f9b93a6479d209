from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

import pytest
import torch
from lightly.transforms.utils import IMAGENET_NORMALIZE

from lightly_byel.transforms.batch_transform import BYELBatchViewTransform
from lightly_byel.transforms.byel_transform import BYELViewTransform
from lightly_byel.transforms.byel_view_settings import BYELViewSettings

VIEW_TRANSFORMS: list[type[BYELViewTransform] | type[BYELBatchViewTransform]] = [
    BYELViewTransform,
    BYELBatchViewTransform,
]


def test_defaults_are_the_published_recipe() -> None:
    settings = BYELViewSettings()
    assert (settings.input_size, settings.min_scale, settings.hf_prob) == (
        128,
        0.08,
        0.5,
    )
    assert settings.cj_prob == 0.3
    assert settings.jitter_strengths == pytest.approx((0.8, 0.8, 0.8, 0.2))
    assert (settings.random_gray_scale, settings.gaussian_blur) == (0.2, 0.2)
    assert (settings.kernel_size, settings.sigmas) == (3, (1.0, 2.0))
    assert settings.normalize == IMAGENET_NORMALIZE
    options = ("rr_prob", "jpeg_prob", "noise_prob", "erase_prob")
    assert [getattr(settings, name) for name in options] == [0.0] * 4


BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"input_size": 0}, "input_size must be a positive integer, got 0."),
    ({"input_size": 32.0}, "input_size must be a positive integer, got 32.0."),
    ({"cj_prob": 1.5}, "cj_prob must lie in [0.0, 1.0], got 1.5."),
    ({"cj_strength": -1.0}, "cj_strength must lie in [0.0, inf], got -1.0."),
    ({"cj_bright": -0.1}, "cj_bright must lie in [0.0, inf], got -0.1."),
    ({"cj_contrast": -0.1}, "cj_contrast must lie in [0.0, inf], got -0.1."),
    ({"cj_sat": -0.1}, "cj_sat must lie in [0.0, inf], got -0.1."),
    ({"cj_hue": 0.6}, "cj_hue must lie in [0.0, 0.5], got 0.6."),
    (
        {"cj_hue": 0.2, "cj_strength": 3.0},
        "cj_hue must lie in [0.0, 0.5], got 0.6000000000000001.",
    ),
    ({"min_scale": 0.0}, "min_scale must lie in (0.0, 1.0], got 0.0."),
    ({"random_gray_scale": -0.5}, "random_gray_scale must lie in [0.0, 1.0]"),
    ({"gaussian_blur": 2}, "gaussian_blur must lie in [0.0, 1.0], got 2."),
    ({"kernel_size": 4}, "kernel_size must be odd, got 4."),
    ({"kernel_size": 0}, "kernel_size must be a positive integer, got 0."),
    ({"sigmas": (2.0, 1.0)}, "sigmas must be a (min, max) pair, got (2.0, 1.0)."),
    ({"sigmas": (0.0, 1.0)}, "sigmas must lie in (0.0, inf], got 0.0."),
    ({"hf_prob": True}, "hf_prob must lie in [0.0, 1.0], got True."),
    ({"rr_prob": -0.1}, "rr_prob must lie in [0.0, 1.0], got -0.1."),
    ({"rr_degrees": -5.0}, "rr_degrees must lie in [0.0, 180.0], got -5.0."),
    (
        {"rr_degrees": (10.0, 200.0)},
        "rr_degrees must lie in [-180.0, 180.0], got 200.0.",
    ),
    ({"jpeg_prob": -0.1}, "jpeg_prob must lie in [0.0, 1.0], got -0.1."),
    ({"jpeg_quality": (0, 50)}, "jpeg_quality must lie in [1, 100], got 0."),
    ({"noise_prob": 1.01}, "noise_prob must lie in [0.0, 1.0], got 1.01."),
    ({"noise_sigma": -1.0}, "noise_sigma must lie in [0.0, inf], got -1.0."),
    ({"erase_prob": 7}, "erase_prob must lie in [0.0, 1.0], got 7."),
    ({"erase_scale": 0.1}, "erase_scale must be a (min, max) pair, got 0.1."),
    ({"erase_scale": (0.1, 1.5)}, "erase_scale must lie in (0.0, 1.0], got 1.5."),
]


@pytest.mark.parametrize(
    "case",
    range(len(BAD_SETTINGS)),
    ids=["-".join(kwargs) for kwargs, _ in BAD_SETTINGS],
)
def test_bad_settings_raise(case: int) -> None:
    kwargs, message = BAD_SETTINGS[case]
    with pytest.raises(ValueError, match=re.escape(message)):
        BYELViewSettings(**kwargs)
    for transform in VIEW_TRANSFORMS:
        with pytest.raises(ValueError, match=re.escape(message)):
            transform(**kwargs)


def test_rotation_range() -> None:
    assert BYELViewSettings(rr_degrees=10).rotation_range == (-10.0, 10.0)
    assert BYELViewSettings(rr_degrees=(-5, 20)).rotation_range == (-5.0, 20.0)


def test_settings_are_frozen() -> None:
    settings = BYELViewSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.cj_prob = 0.5  # type: ignore[misc]


@pytest.mark.parametrize("transform", VIEW_TRANSFORMS)
def test_view_transforms_take_and_keep_the_settings(
    transform: type[BYELViewTransform] | type[BYELBatchViewTransform],
) -> None:
    built = transform(input_size=48, min_scale=0.5)
    assert built.settings == BYELViewSettings(input_size=48, min_scale=0.5)
    assert transform(64).settings.input_size == 64
    assert inspect.signature(transform) == inspect.signature(BYELViewSettings)
    with pytest.raises(TypeError, match="input_sise"):
        transform(input_sise=48)  # type: ignore[call-arg]


def test_per_sample_and_batch_views_agree_on_one_settings() -> None:
    # Full-scale crops and no other random step: both give the resized image.
    settings = BYELViewSettings(
        input_size=16,
        min_scale=1.0,
        hf_prob=0.0,
        cj_prob=0.0,
        random_gray_scale=0.0,
        gaussian_blur=0.0,
    )
    image = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
    arguments = dataclasses.asdict(settings)
    per_sample = BYELViewTransform(**arguments)(image)
    batch = BYELBatchViewTransform(**arguments)(image[None])[0]
    torch.testing.assert_close(per_sample, batch)
