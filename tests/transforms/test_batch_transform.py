from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from lightly.transforms.torchvision_v2_compatibility import functional as F
from lightly.transforms.torchvision_v2_compatibility import torchvision_transforms as T
from lightly.transforms.utils import IMAGENET_NORMALIZE
from lightly.utils.dependency import torchvision_transforms_v2_available
from torch import Tensor

import lightly_byel.transforms.batch_transform as batch_transform
from lightly_byel.transforms.batch_transform import (
    BYELBatchParams,
    BYELBatchTransform,
    BYELBatchViewTransform,
)
from lightly_byel.transforms.byel_transform import BYELViewTransform
from lightly_byel.transforms.byel_view_settings import BYELViewSettings
from lightly_byel.transforms.jpeg import jpeg_round_trip

V2 = torchvision_transforms_v2_available()

ALL_OPTIONS: dict[str, Any] = {
    "rr_prob": 0.5,
    "jpeg_prob": 0.5,
    "noise_prob": 0.5,
    "erase_prob": 0.5,
    "min_scale": 0.4,
}


def uint8_images(
    batch: int = 4, height: int = 24, width: int = 24, channels: int = 3, seed: int = 0
) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, channels, height, width)
    return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)


def as_float(images: Tensor) -> Tensor:
    return images.to(torch.float32) / 255


def plain(input_size: int, **options: Any) -> BYELBatchViewTransform:
    """A batch view transform with every random step off, except those in options."""
    identity: dict[str, Any] = {
        "hf_prob": 0.0,
        "cj_prob": 0.0,
        "random_gray_scale": 0.0,
        "gaussian_blur": 0.0,
        "normalize": None,
    }
    return BYELBatchViewTransform(input_size=input_size, **{**identity, **options})


def two_views(**options: Any) -> BYELBatchTransform:
    """Both views from one BYELBatchViewTransform with the given options."""
    view = BYELBatchViewTransform(**options)
    return BYELBatchTransform(view_1_transform=view, view_2_transform=view)


def whole(batch: int, height: int, width: int) -> Tensor:
    """Crop boxes (top, left, height, width) covering the whole image."""
    return torch.tensor([[0, 0, height, width]]).expand(batch, 4)


def identity_jitter(batch: int) -> Tensor:
    return torch.tensor([[1.0, 1.0, 1.0, 0.0]]).repeat(batch, 1)


def zip_strict(*sequences: Any) -> Iterator[tuple[Any, ...]]:
    """``zip(..., strict=True)``, which Python 3.7 lacks, for sized sequences."""
    lengths = [len(sequence) for sequence in sequences]
    assert len(set(lengths)) == 1, f"lengths differ: {lengths}"
    return zip(*sequences)


def resized_crop(image: Tensor, box: list[int], size: int) -> Tensor:
    """torchvision's antialiased ``resized_crop`` of ``box`` (top, left, h, w)."""
    if V2:
        cropped: Tensor = F.resized_crop(image, *box, [size, size], antialias=True)
        return cropped
    # v1's resized_crop has no antialias argument in torchvision 0.11.
    cropped = F.resize(F.crop(image, *box), [size, size], antialias=True)
    return cropped


def crop_sampler(scale: tuple[float, float]) -> Callable[[Tensor], list[int]]:
    """torchvision's box sampler of RandomResizedCrop: image -> (top, left, h, w)."""
    reference = T.RandomResizedCrop(16, scale=scale)
    if V2:
        keys = ("top", "left", "height", "width")
        return lambda image: [reference.make_params([image])[key] for key in keys]
    # v1 (torchvision before 0.16) draws the box with a static method.
    return lambda image: list(
        reference.get_params(image, reference.scale, reference.ratio)
    )


# Shapes, dtypes and devices


@pytest.mark.parametrize(
    "images",
    [
        uint8_images(4, 30, 26),
        uint8_images(4, 30, 26, channels=1),
        as_float(uint8_images(4, 30, 26)),
        as_float(uint8_images(4, 30, 26, channels=1)).double(),
    ],
    ids=["uint8-rgb", "uint8-gray", "float-rgb", "float64-gray"],
)
def test_views_have_input_size_float32_and_device(images: Tensor) -> None:
    views = BYELBatchViewTransform(input_size=16, **ALL_OPTIONS)(images)
    assert views.shape == (4, 3, 16, 16)
    assert views.dtype == torch.float32 and views.device == images.device


def test_two_views_of_the_batch() -> None:
    views = two_views(input_size=16)(uint8_images())
    assert isinstance(views, list) and len(views) == 2
    assert [view.shape for view in views] == [(4, 3, 16, 16)] * 2
    assert not torch.equal(views[0], views[1])


def test_without_normalize_views_lie_in_unit_range() -> None:
    options = {**ALL_OPTIONS, "noise_prob": 1.0, "cj_prob": 1.0}
    views = BYELBatchViewTransform(input_size=16, normalize=None, **options)(
        uint8_images(16)
    )
    assert views.min() >= 0.0 and views.max() <= 1.0


def test_none_stands_for_the_default_view() -> None:
    images = uint8_images(8)
    default = BYELBatchTransform()(images, torch.Generator().manual_seed(5))
    explicit = BYELBatchTransform(BYELBatchViewTransform(), BYELBatchViewTransform())(
        images, torch.Generator().manual_seed(5)
    )
    for a, b in zip_strict(default, explicit):
        assert torch.equal(a, b)
    assert [v.shape[-1] for v in default] == [128, 128]


def test_each_view_comes_from_its_own_transform() -> None:
    small = BYELBatchViewTransform(input_size=8)
    large = BYELBatchViewTransform(input_size=16)
    transform = BYELBatchTransform(view_1_transform=small, view_2_transform=large)
    views = transform(uint8_images())
    assert [v.shape for v in views] == [(4, 3, 8, 8), (4, 3, 16, 16)]
    only_first = BYELBatchTransform(view_1_transform=small)(uint8_images())
    assert [v.shape for v in only_first] == [(4, 3, 8, 8), (4, 3, 128, 128)]


def test_gray_input_gives_equal_channels() -> None:
    transform = BYELBatchViewTransform(input_size=16, normalize=None, cj_prob=1.0)
    views = transform(uint8_images(8, channels=1))
    assert torch.equal(views[:, 0], views[:, 1])
    assert torch.equal(views[:, 1], views[:, 2])


def test_float_and_uint8_inputs_agree() -> None:
    transform = BYELBatchViewTransform(input_size=16, **ALL_OPTIONS)
    images = uint8_images(8)
    from_uint8 = transform(images, torch.Generator().manual_seed(5))
    from_float = transform(as_float(images), torch.Generator().manual_seed(5))
    torch.testing.assert_close(from_uint8, from_float)


# Errors


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (
            torch.zeros(3, 8, 8, dtype=torch.uint8),
            r"shape \(B, C, H, W\) with C in \(1, 3\), got shape \(3, 8, 8\)",
        ),
        (torch.zeros(2, 4, 8, 8), r"C in \(1, 3\), got shape \(2, 4, 8, 8\)"),
        (torch.zeros(0, 3, 8, 8), r"empty image tensor of shape \(0, 3, 8, 8\)"),
        (
            torch.zeros(2, 3, 8, 8, dtype=torch.int32),
            r"got an int32 image tensor; expected uint8, or floating point in \[0, 1\]",
        ),
        ([[0, 1], [1, 0]], r"tensor of images \(B, C, H, W\), got list"),
    ],
    ids=["no-batch", "four-channels", "empty", "int32", "list"],
)
def test_bad_images_raise(images: object, message: str) -> None:
    raises_everywhere(images, message)


def raises_everywhere(images: object, message: str) -> None:
    """Checks that every entry point of the batch transform refuses ``images``."""
    with pytest.raises(ValueError, match=message):
        BYELBatchViewTransform()(images)
    with pytest.raises(ValueError, match=message):
        BYELBatchTransform()(images)
    params = BYELBatchParams(crop=whole(2, 8, 8))
    with pytest.raises(ValueError, match=message):
        BYELBatchViewTransform().apply_params(images, params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (
            as_float(uint8_images(2, 8, 8)) * 255,
            r"got a float32 image tensor with values from \d+\.0 to \d+\.0; expected "
            r"uint8, or floating point in \[0, 1\] \(divide by 255\)",
        ),
        (
            torch.linspace(-1, 1, 128, dtype=torch.float64).view(2, 1, 8, 8),
            r"float64 image tensor with values from -1.0 to 1.0; expected uint8, or "
            r"floating point in \[0, 1\]\.$",
        ),
        (
            torch.zeros(2, 3, 8, 8).index_fill(0, torch.tensor([1]), float("nan")),
            "float32 image tensor holding NaN",
        ),
        (torch.full((2, 3, 8, 8), 255, dtype=torch.int64), "int64 image tensor"),
    ],
    ids=["float-0-255", "normalised", "nan", "int64"],
)
def test_values_out_of_range_raise(images: Tensor, message: str) -> None:
    raises_everywhere(images, message)


def test_on_a_cpu_every_batch_is_checked() -> None:
    transform = BYELBatchViewTransform(input_size=8)
    transform(as_float(uint8_images(2, 8, 8)))
    with pytest.raises(ValueError, match="divide by 255"):
        transform(as_float(uint8_images(2, 8, 8)) * 255)


def test_generator_on_another_device_raises() -> None:
    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8, device="meta")
    message = "generator is on device cpu but the images are on device meta"
    with pytest.raises(ValueError, match=message):
        BYELBatchViewTransform()(images, generator=torch.Generator())
    with pytest.raises(ValueError, match=message):
        BYELBatchViewTransform().draw_params(2, 8, 8, "meta", torch.Generator())


def test_params_of_another_batch_size_raise() -> None:
    params = BYELBatchParams(crop=whole(3, 8, 8))
    with pytest.raises(ValueError, match=r"params.crop has 3 rows.*\(2\)"):
        plain(8).apply_params(uint8_images(2, 8, 8), params)
    params = BYELBatchParams(crop=whole(2, 8, 8), gray=torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"params.gray has 5 rows"):
        plain(8).apply_params(uint8_images(2, 8, 8), params)


def test_jitter_order_needs_factors() -> None:
    with pytest.raises(ValueError, match="jitter_order needs jitter_factors"):
        BYELBatchParams(crop=whole(1, 8, 8), jitter_order=torch.arange(4)[None])


BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"input_size": 0},
    {"cj_prob": 1.5},
    {"jpeg_prob": -0.1},
    {"min_scale": 0.0},
    {"kernel_size": 4},
    {"sigmas": (2.0, 1.0)},
    {"jpeg_quality": (0, 50)},
    {"erase_scale": 0.1},
    {"rr_degrees": -5.0},
    {"cj_hue": 0.6},
    {"noise_sigma": -1.0},
]


@pytest.mark.parametrize(
    "case",
    range(len(BAD_ARGUMENTS)),
    ids=[f"kwargs{i}" for i in range(len(BAD_ARGUMENTS))],
)
def test_bad_arguments_raise_as_in_the_view_transform(case: int) -> None:
    kwargs = BAD_ARGUMENTS[case]
    with pytest.raises(ValueError) as per_sample:
        BYELViewTransform(**kwargs)
    message = re.escape(str(per_sample.value))
    with pytest.raises(ValueError, match=message):
        BYELBatchViewTransform(**kwargs)
    with pytest.raises(ValueError, match=message):
        BYELViewSettings(**kwargs)


def test_normalisation_buffers_are_not_persistent() -> None:
    transform = BYELBatchViewTransform()
    assert dict(transform.named_buffers()).keys() == {"mean", "std"}
    assert transform.state_dict() == {}
    assert transform.mean is not None and transform.std is not None
    assert transform.mean.flatten().tolist() == pytest.approx(
        IMAGENET_NORMALIZE["mean"]
    )
    assert transform.std.flatten().tolist() == pytest.approx(IMAGENET_NORMALIZE["std"])
    assert BYELBatchViewTransform(normalize=None).mean is None


# Randomness


OPTION_SETS: dict[str, dict[str, Any]] = {"defaults": {}, "all-options": ALL_OPTIONS}


@pytest.mark.parametrize("name", list(OPTION_SETS))
def test_same_seed_same_views(name: str) -> None:
    options = OPTION_SETS[name]
    transform = two_views(input_size=16, **options)
    images = uint8_images(8)
    first = transform(images, torch.Generator().manual_seed(1234))
    second = transform(images, torch.Generator().manual_seed(1234))
    for a, b in zip_strict(first, second):
        assert torch.equal(a, b)
    third = transform(images, torch.Generator().manual_seed(4321))
    assert not torch.equal(first[0], third[0])
    torch.manual_seed(7)
    global_first = transform(images)
    torch.manual_seed(7)
    global_second = transform(images)
    assert torch.equal(global_first[0], global_second[0])


def test_each_sample_gets_its_own_crop() -> None:
    images = uint8_images(1, 32, 32).expand(16, -1, -1, -1)
    transform = BYELBatchViewTransform(input_size=16)
    generator = torch.Generator().manual_seed(0)
    params = transform.draw_params(16, 32, 32, generator=generator)
    assert len({tuple(box) for box in params.crop.tolist()}) == 16
    views = transform(images, generator=generator).flatten(1)
    assert (torch.cdist(views, views) + torch.eye(16) > 0).all()


# Each step against torchvision, sample by sample


@pytest.mark.parametrize(
    ("height", "width", "size"),
    [(20, 24, 32), (48, 40, 16), (30, 30, 30)],
    ids=["upscale", "downscale", "same-size"],
)
def test_crop_matches_resized_crop(height: int, width: int, size: int) -> None:
    transform = plain(size)
    images = uint8_images(16, height, width)
    generator = torch.Generator().manual_seed(0)
    params = transform.draw_params(16, height, width, generator=generator)
    views = transform.apply_params(images, params)
    for view, image, box in zip_strict(views, as_float(images), params.crop):
        expected = resized_crop(image, box.tolist(), size)
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-5)


def test_whole_image_at_its_size_is_kept() -> None:
    images = uint8_images(4, 20, 20)
    views = plain(20).apply_params(images, BYELBatchParams(crop=whole(4, 20, 20)))
    torch.testing.assert_close(views, as_float(images), rtol=0, atol=1e-6)


def test_flip_per_sample() -> None:
    images = uint8_images(4, 20, 20)
    flip = torch.tensor([True, False, True, False])
    params = BYELBatchParams(crop=whole(4, 20, 20), flip=flip)
    views = plain(20).apply_params(images, params)
    for view, image, flipped in zip_strict(views, as_float(images), flip):
        expected = F.hflip(image) if flipped else image
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-6)


JITTER_OPERATIONS: list[tuple[int, Callable[[Tensor, float], Tensor], list[float]]] = [
    (0, F.adjust_brightness, [0.2, 1.0, 1.7, 0.6]),
    (1, F.adjust_contrast, [0.2, 1.0, 1.8, 0.5]),
    (2, F.adjust_saturation, [0.0, 1.0, 1.8, 0.4]),
    (3, F.adjust_hue, [-0.5, 0.0, 0.2, 0.45]),
]


@pytest.mark.parametrize(
    ("column", "operation", "factors"),
    JITTER_OPERATIONS,
    ids=["brightness", "contrast", "saturation", "hue"],
)
def test_jitter_operation_matches_torchvision(
    column: int, operation: Callable[[Tensor, float], Tensor], factors: list[float]
) -> None:
    images = uint8_images(4, 16, 16)
    jitter_factors = identity_jitter(4)
    jitter_factors[:, column] = torch.tensor(factors)
    params = BYELBatchParams(crop=whole(4, 16, 16), jitter_factors=jitter_factors)
    views = plain(16).apply_params(images, params)
    for view, image, factor in zip_strict(views, as_float(images), factors):
        expected = operation(image, factor)
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-5)


def test_jitter_order_is_per_sample() -> None:
    image = uint8_images(1, 16, 16)
    images = image.expand(4, -1, -1, -1)
    factors = [1.5, 0.6, 1.4, 0.15]
    order = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]])
    params = BYELBatchParams(
        crop=whole(4, 16, 16),
        jitter_factors=torch.tensor([factors] * 4),
        jitter_order=order,
    )
    views = plain(16).apply_params(images, params)
    for view, sample_order in zip_strict(views, order.tolist()):
        expected = as_float(image[0])
        for index in sample_order:
            expected = JITTER_OPERATIONS[index][1](expected, factors[index])
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-5)
    # The order matters for these factors, so the check above sees it.
    assert not torch.allclose(views[0], views[1], atol=1e-3)


def test_grayscale_per_sample() -> None:
    images = uint8_images(3, 16, 16)
    gray = torch.tensor([True, False, True])
    params = BYELBatchParams(crop=whole(3, 16, 16), gray=gray)
    views = plain(16).apply_params(images, params)
    for view, image, grayed in zip_strict(views, as_float(images), gray):
        expected = F.rgb_to_grayscale(image, num_output_channels=3) if grayed else image
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_blur_matches_torchvision(kernel_size: int) -> None:
    images = uint8_images(4, 16, 16)
    sigmas = [0.0, 1.0, 1.5, 2.0]
    params = BYELBatchParams(crop=whole(4, 16, 16), blur_sigma=torch.tensor(sigmas))
    views = plain(16, kernel_size=kernel_size).apply_params(images, params)
    for view, image, sigma in zip_strict(views, as_float(images), sigmas):
        expected = image
        if sigma > 0:
            size = [kernel_size, kernel_size]
            expected = F.gaussian_blur(image, size, [sigma, sigma])
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-5)


def test_rotation_matches_torchvision() -> None:
    angles = [0.0, 90.0, 30.0, -12.5, 180.0]
    images = uint8_images(5, 16, 16)
    params = BYELBatchParams(crop=whole(5, 16, 16), rotation=torch.tensor(angles))
    views = plain(16).apply_params(images, params)
    bilinear = T.InterpolationMode.BILINEAR
    for view, image, angle in zip_strict(views, as_float(images), angles):
        # fill=0, as v2.RandomRotation, blends the fill in at the corners.
        expected = F.rotate(image, angle, interpolation=bilinear, fill=[0.0])
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-5)


def test_jpeg_matches_the_per_sample_codec() -> None:
    images = uint8_images(3, 32, 32)
    quality = [0, 10, 60]
    params = BYELBatchParams(crop=whole(3, 32, 32), jpeg_quality=torch.tensor(quality))
    views = plain(32).apply_params(images, params)
    for view, image, level in zip_strict(views, images, quality):
        expected = as_float(jpeg_round_trip(image, level) if level > 0 else image)
        torch.testing.assert_close(view, expected, rtol=0, atol=1e-6)


def test_noise_is_added_and_clipped() -> None:
    images = uint8_images(2, 16, 16)
    noise = torch.full((2, 3, 16, 16), 0.3)
    noise[0] = 0.0
    noise[1, :, :8] = -0.3
    params = BYELBatchParams(crop=whole(2, 16, 16), noise=noise)
    views = plain(16).apply_params(images, params)
    torch.testing.assert_close(views, (as_float(images) + noise).clamp(0, 1))


def test_drawn_noise_has_noise_sigma() -> None:
    transform = plain(16, noise_prob=1.0, noise_sigma=0.1)
    params = transform.draw_params(64, 16, 16, generator=torch.Generator())
    assert params.noise is not None
    assert params.noise.std().item() == pytest.approx(0.1, abs=0.005)
    assert params.noise.mean().item() == pytest.approx(0.0, abs=0.005)


def test_normalisation_matches_torchvision() -> None:
    images = uint8_images(2, 16, 16)
    transform = plain(16, normalize=IMAGENET_NORMALIZE)
    views = transform.apply_params(images, BYELBatchParams(crop=whole(2, 16, 16)))
    expected = F.normalize(
        as_float(images), IMAGENET_NORMALIZE["mean"], IMAGENET_NORMALIZE["std"]
    )
    torch.testing.assert_close(views, expected)


def test_erase_after_normalisation() -> None:
    images = uint8_images(3, 16, 16)
    boxes = torch.tensor([[2, 3, 5, 4], [0, 0, 0, 0], [10, 0, 6, 16]])
    transform = plain(16, normalize=IMAGENET_NORMALIZE)
    views = transform.apply_params(
        images, BYELBatchParams(crop=whole(3, 16, 16), erase=boxes)
    )
    normalized = F.normalize(
        as_float(images), IMAGENET_NORMALIZE["mean"], IMAGENET_NORMALIZE["std"]
    )
    zero = torch.zeros(3, 1, 1)
    for view, image, box in zip_strict(views, normalized, boxes):
        top, left, h, w = box.tolist()
        expected = F.erase(image, top, left, h, w, zero)
        torch.testing.assert_close(view, expected)


# Parameter distributions


def test_crop_boxes_follow_random_resized_crop() -> None:
    height, width, min_scale = 40, 48, 0.25
    transform = plain(16, min_scale=min_scale)
    generator = torch.Generator().manual_seed(0)
    crop = transform.draw_params(4000, height, width, generator=generator).crop
    top, left, h, w = crop.T.double()
    assert (top >= 0).all() and (top + h <= height).all()
    assert (left >= 0).all() and (left + w <= width).all()
    # Sides are rounded, so area and ratio hold up to half a pixel per side.
    area = height * width
    assert ((h + 0.5) * (w + 0.5) >= min_scale * area).all()
    assert ((h - 0.5) * (w - 0.5) <= area).all()
    assert ((w + 0.5) / (h - 0.5) >= 3 / 4).all()
    assert ((w - 0.5) / (h + 0.5) <= 4 / 3).all()
    # Same distribution as torchvision's sampler, compared by mean.
    sample = crop_sampler((min_scale, 1.0))
    image = torch.zeros(3, height, width)
    torch.manual_seed(0)
    drawn = [sample(image) for _ in range(1000)]
    keys = ("top", "left", "height", "width")
    for index, (ours, key) in enumerate(zip_strict((top, left, h, w), keys)):
        theirs = torch.tensor([float(box[index]) for box in drawn])
        assert ours.mean().item() == pytest.approx(theirs.mean().item(), abs=1.0), key


def test_crop_falls_back_to_the_central_crop() -> None:
    # No crop of the whole area fits a 10 x 40 image in the ratio range.
    crop = plain(16, min_scale=1.0).draw_params(8, 10, 40).crop
    box = crop_sampler((1.0, 1.0))(torch.zeros(3, 10, 40))
    assert crop.tolist() == [box] * 8


def test_erase_boxes_follow_random_erasing() -> None:
    size, scale = 32, (0.02, 0.15)
    transform = plain(size, erase_prob=1.0, erase_scale=scale)
    erase = transform.draw_params(2000, 8, 8, generator=torch.Generator()).erase
    assert erase is not None
    top, left, h, w = erase.T.double()
    assert (h * w > 0).all()
    assert (top >= 0).all() and (top + h <= size).all()
    assert (left >= 0).all() and (left + w <= size).all()
    area = size * size
    assert ((h + 0.5) * (w + 0.5) >= scale[0] * area).all()
    assert ((h - 0.5) * (w - 0.5) <= scale[1] * area).all()
    assert ((h + 0.5) / (w - 0.5).clamp(min=0.5) >= 0.3).all()
    assert ((h - 0.5) / (w + 0.5) <= 3.3).all()


def test_steps_are_drawn_with_their_probabilities() -> None:
    probabilities: dict[str, Any] = {
        "hf_prob": 0.5,
        "cj_prob": 0.3,
        "random_gray_scale": 0.2,
        "gaussian_blur": 0.2,
        "rr_prob": 0.25,
        "jpeg_prob": 0.1,
        "noise_prob": 0.4,
        "erase_prob": 0.6,
    }
    transform = BYELBatchViewTransform(input_size=16, **probabilities)
    generator = torch.Generator().manual_seed(0)
    params = transform.draw_params(4000, 32, 32, generator=generator)
    assert params.flip is not None and params.gray is not None
    assert params.jitter_factors is not None and params.jitter_order is not None
    assert params.blur_sigma is not None and params.rotation is not None
    assert params.jpeg_quality is not None and params.noise is not None
    assert params.erase is not None
    jittered = (params.jitter_factors != identity_jitter(1)).any(dim=1)
    rates = {
        "hf_prob": params.flip,
        "cj_prob": jittered,
        "random_gray_scale": params.gray,
        "gaussian_blur": params.blur_sigma > 0,
        "rr_prob": params.rotation != 0,
        "jpeg_prob": params.jpeg_quality > 0,
        "noise_prob": params.noise.flatten(1).any(dim=1),
        "erase_prob": params.erase[:, 2] * params.erase[:, 3] > 0,
    }
    for name, applied in rates.items():
        rate = applied.double().mean().item()
        assert rate == pytest.approx(probabilities[name], abs=0.05), name
    brightness, contrast, saturation, hue = params.jitter_factors[jittered].T
    for factor in (brightness, contrast, saturation):
        assert factor.min() >= 0.2 and factor.max() <= 1.8
    assert hue.min() >= -0.2 and hue.max() <= 0.2 and hue.std() > 0.1
    sorted_order = params.jitter_order.sort(dim=1).values
    assert torch.equal(sorted_order, torch.arange(4).expand(4000, 4))
    assert len({tuple(row) for row in params.jitter_order.tolist()}) == 24
    sigma = params.blur_sigma[params.blur_sigma > 0]
    assert sigma.min() >= 1.0 and sigma.max() <= 2.0
    angle = params.rotation[params.rotation != 0]
    assert angle.min() >= -15.0 and angle.max() <= 15.0
    quality = params.jpeg_quality[params.jpeg_quality > 0]
    assert quality.min() == 30 and quality.max() == 90


def test_default_views_match_the_view_transform_statistics() -> None:
    # An asymmetric image: a red ramp on the left, a blue block bottom right.
    image = torch.zeros(3, 48, 48, dtype=torch.uint8)
    image[0, :, :24] = torch.linspace(40, 250, 24).to(torch.uint8)
    image[1] = 90
    image[2, 24:, 30:] = 220
    torch.manual_seed(0)
    view_transform = BYELViewTransform(input_size=16)
    per_sample = torch.stack([view_transform(image) for _ in range(256)])
    batch = BYELBatchViewTransform(input_size=16)(
        image.expand(256, -1, -1, -1), torch.Generator().manual_seed(0)
    )
    # Tolerances: about twice the largest difference over eight seeds; dropping
    # the normalisation moves the means by over 1, dropping the flip the map by 0.5.
    by_channel = batch.transpose(0, 1).flatten(1)
    per_sample_by_channel = per_sample.transpose(0, 1).flatten(1)
    for ours, theirs in (
        (by_channel.mean(dim=1), per_sample_by_channel.mean(dim=1)),
        (by_channel.std(dim=1), per_sample_by_channel.std(dim=1)),
    ):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0.2)
    # The mean view, coarsely: crops, flips and colour changes land alike.
    ours = F.resize(batch.mean(dim=0), [2, 2], antialias=True)
    theirs = F.resize(per_sample.mean(dim=0), [2, 2], antialias=True)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0.3)


@pytest.mark.parametrize("chosen", [0.0, 0.3, 1.0])
def test_on_a_cpu_only_the_chosen_samples_are_computed(
    monkeypatch: pytest.MonkeyPatch, chosen: float
) -> None:
    # A GPU keeps the batch whole (no host synchronisation); a CPU computes jitter
    # and blur for the samples that get them, with the same results.
    options = {
        **ALL_OPTIONS,
        "jpeg_prob": 0.0,
        "cj_prob": chosen,
        "gaussian_blur": chosen,
    }
    transform = BYELBatchViewTransform(input_size=24, **options)
    images = uint8_images(16, 32, 40)
    params = transform.draw_params(16, 32, 40, generator=torch.Generator())
    computed: list[int] = []
    original = batch_transform._on_chosen

    def counting(
        images: Tensor, mask: Tensor, step: Callable[[Tensor | slice], Tensor]
    ) -> Tensor:
        def counted(rows: Tensor | slice) -> Tensor:
            computed.append(len(images[rows]))
            return step(rows)

        return original(images, mask, counted)

    monkeypatch.setattr(batch_transform, "_on_chosen", counting)
    subsets = transform.apply_params(images, params)
    monkeypatch.setattr(
        batch_transform, "_on_chosen", lambda images, mask, step: step(slice(None))
    )
    whole = transform.apply_params(images, params)
    assert torch.equal(subsets, whole)
    if chosen == 0.0:
        assert computed == []
    elif chosen == 1.0:
        assert 16 in computed
    else:
        assert computed and max(computed) < 16


# CUDA


@pytest.mark.cuda
def test_cuda_matches_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    # TF32 would round the resampling and blur to 10 bits of mantissa.
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    options = {**ALL_OPTIONS, "jpeg_prob": 0.0, "cj_prob": 0.8, "gaussian_blur": 0.8}
    transform = BYELBatchViewTransform(input_size=24, **options)
    images = uint8_images(16, 32, 40)
    params = transform.draw_params(16, 32, 40, generator=torch.Generator())
    on_cpu = transform.apply_params(images, params)
    moved: dict[str, Any] = {
        field.name: None if value is None else value.cuda()
        for field in dataclasses.fields(params)
        for value in [getattr(params, field.name)]
    }
    cuda_params = BYELBatchParams(**moved)
    on_cuda = transform.cuda().apply_params(images.cuda(), cuda_params)
    assert on_cuda.device.type == "cuda"
    torch.testing.assert_close(on_cuda.cpu(), on_cpu, rtol=0, atol=1e-4)


@pytest.mark.cuda
def test_cuda_views_do_not_synchronise() -> None:
    options = {**ALL_OPTIONS, "jpeg_prob": 0.0}
    transform = two_views(input_size=24, **options).cuda()
    images = uint8_images(16, 32, 40).cuda()
    generator = torch.Generator(device="cuda").manual_seed(0)
    transform(images, generator)  # warm-up: library handles, kernels
    views = without_synchronising(transform, images, generator)
    assert views[0].shape == (16, 3, 24, 24) and views[0].device == images.device
    with pytest.raises(ValueError, match="generator is on device cpu"):
        transform(images, torch.Generator())


@pytest.mark.cuda
def test_cuda_checks_the_first_float_batch_and_then_never_synchronises() -> None:
    images = as_float(uint8_images(16, 32, 40)).cuda()
    with pytest.raises(ValueError, match="divide by 255"):
        BYELBatchViewTransform(input_size=24).cuda()(images * 255)
    transform = two_views(input_size=24).cuda()
    generator = torch.Generator(device="cuda").manual_seed(0)
    transform(images, generator)  # the first batch is checked, which waits
    views = without_synchronising(transform, images, generator)
    assert views[0].shape == (16, 3, 24, 24) and views[0].device == images.device


def without_synchronising(
    transform: BYELBatchTransform, images: Tensor, generator: torch.Generator
) -> list[Tensor]:
    """The transform's views, failing if computing them waits for the GPU."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        views: list[Tensor] = transform(images, generator)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return views
