from __future__ import annotations

import io
from typing import Any, List, Tuple  # noqa: UP035 (for Python 3.7)

import pytest
import torch
from lightly.transforms.multi_view_transform import MultiViewTransform
from lightly.transforms.torchvision_v2_compatibility import functional as F
from lightly.transforms.torchvision_v2_compatibility import torchvision_transforms as T
from lightly.transforms.utils import IMAGENET_NORMALIZE
from lightly.utils.dependency import torchvision_transforms_v2_available
from PIL import Image
from torch import Tensor

import lightly_byel.transforms.byel_transform as byel_transform
from lightly_byel.transforms.byel_transform import BYELTransform, BYELViewTransform
from lightly_byel.transforms.byel_view_settings import BYELViewSettings
from lightly_byel.transforms.jpeg import RandomJPEG

V2 = torchvision_transforms_v2_available()
# Without v2 (torchvision before 0.16) the crop is the view transform's own
# antialiased one and the conversion to float has v1's name; without
# v2.GaussianNoise (before 0.20) the noise is the view transform's own.
CROP = T.RandomResizedCrop if V2 else byel_transform._AntialiasedRandomResizedCrop
TO_FLOAT = T.ToDtype if V2 else T.ConvertImageDtype
NOISE = (
    T.GaussianNoise if hasattr(T, "GaussianNoise") else byel_transform._GaussianNoise
)

ALL_OPTIONS: dict[str, Any] = {
    "rr_prob": 0.5,
    "jpeg_prob": 0.5,
    "noise_prob": 0.5,
    "erase_prob": 0.5,
    "min_scale": 0.4,
}


def face_like(size: tuple[int, int] = (96, 112), mode: str = "RGB") -> Image.Image:
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (size[1], size[0], 3), generator=generator)
    image = Image.fromarray(pixels.to(torch.uint8).numpy(), mode="RGB")
    if mode == "I;16":
        # Pillow 9.5, the last for Python 3.7, cannot convert RGB to I;16; through
        # L gives the same image.
        image = image.convert("L")
    return image if mode == "RGB" else image.convert(mode)


def two_views(**options: Any) -> BYELTransform:
    """Both views from one BYELViewTransform with the given options."""
    view = BYELViewTransform(**options)
    return BYELTransform(view_1_transform=view, view_2_transform=view)


def transforms_of(view: BYELViewTransform) -> list[Any]:
    return list(view.transform.transforms)


def to_float(pixels: Tensor) -> Tensor:
    """uint8 to float in [0, 1] as torchvision converts it."""
    if V2:
        converted: Tensor = F.to_dtype(pixels, torch.float32, scale=True)
    else:
        converted = F.convert_image_dtype(pixels, torch.float32)
    return converted


def test_two_float32_views_of_input_size() -> None:
    transform = BYELTransform()
    assert isinstance(transform, MultiViewTransform)
    views = transform(face_like())
    assert isinstance(views, list) and len(views) == 2
    for view in views:
        assert isinstance(view, Tensor)
        assert view.dtype == torch.float32
        assert view.shape == (3, 128, 128)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "LA", "I;16", "CMYK"])
def test_pil_modes_become_three_channels(mode: str) -> None:
    views = two_views(input_size=32)(face_like(mode=mode))
    assert [v.shape for v in views] == [(3, 32, 32)] * 2


@pytest.mark.parametrize(
    "image",
    [
        torch.randint(0, 256, (3, 50, 40), dtype=torch.uint8),
        torch.randint(0, 256, (1, 50, 40), dtype=torch.uint8),
        torch.randint(0, 256, (50, 40), dtype=torch.uint8),
        torch.rand(3, 50, 40),
        torch.rand(1, 50, 40, dtype=torch.float64),
    ],
    ids=["uint8-rgb", "uint8-gray", "uint8-hw", "float-rgb", "float64-gray"],
)
def test_tensor_inputs(image: Tensor) -> None:
    view = BYELViewTransform(input_size=24)(image)
    assert view.shape == (3, 24, 24) and view.dtype == torch.float32


def test_grayscale_input_gives_equal_channels() -> None:
    view = BYELViewTransform(input_size=24, normalize=None)(face_like(mode="L"))
    torch.testing.assert_close(view[0], view[1])
    torch.testing.assert_close(view[1], view[2])


def test_float_tensor_and_pil_agree() -> None:
    image = face_like()
    tensor = to_float(F.pil_to_tensor(image))
    transform = BYELViewTransform(input_size=32)
    torch.manual_seed(3)
    from_pil = transform(image)
    torch.manual_seed(3)
    from_tensor = transform(tensor)
    torch.testing.assert_close(from_pil, from_tensor)


@pytest.mark.parametrize("options", [{}, ALL_OPTIONS], ids=["defaults", "all-options"])
def test_same_torch_seed_same_views(options: dict[str, float]) -> None:
    transform = two_views(input_size=48, **options)
    image = face_like()
    torch.manual_seed(1234)
    first = transform(image)
    torch.manual_seed(1234)
    second = transform(image)
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    torch.manual_seed(4321)
    third = transform(image)
    assert not torch.equal(first[0], third[0])


def test_views_differ() -> None:
    transform = two_views(input_size=48)
    torch.manual_seed(0)
    for _ in range(5):
        view_1, view_2 = transform(face_like())
        assert not torch.equal(view_1, view_2)


def test_none_stands_for_the_default_view() -> None:
    image = face_like()
    torch.manual_seed(5)
    default = BYELTransform()(image)
    torch.manual_seed(5)
    explicit = BYELTransform(BYELViewTransform(), BYELViewTransform())(image)
    assert len(default) == len(explicit)
    for a, b in zip(default, explicit):
        assert torch.equal(a, b)
    assert [v.shape[-1] for v in default] == [128, 128]


def test_each_view_comes_from_its_own_transform() -> None:
    small, large = BYELViewTransform(input_size=16), BYELViewTransform(input_size=32)
    views = BYELTransform(view_1_transform=small, view_2_transform=large)(face_like())
    assert [v.shape for v in views] == [(3, 16, 16), (3, 32, 32)]
    only_first = BYELTransform(view_1_transform=small)(face_like())
    assert [v.shape for v in only_first] == [(3, 16, 16), (3, 128, 128)]


def test_defaults_follow_published_recipe() -> None:
    steps = transforms_of(BYELViewTransform())
    kinds = [type(step) for step in steps]
    assert kinds == [
        CROP,
        T.RandomHorizontalFlip,
        T.RandomApply,
        T.RandomGrayscale,
        T.RandomApply,
        TO_FLOAT,
        T.Normalize,
    ]
    crop, flip, jitter, gray, blur, _, normalize = steps
    assert crop.size == (128, 128) and crop.scale == (0.08, 1.0)
    assert flip.p == 0.5
    assert jitter.p == 0.3
    (color_jitter,) = jitter.transforms
    assert color_jitter.brightness == pytest.approx((0.2, 1.8))
    assert color_jitter.contrast == pytest.approx((0.2, 1.8))
    assert color_jitter.saturation == pytest.approx((0.2, 1.8))
    assert color_jitter.hue == pytest.approx((-0.2, 0.2))
    assert gray.p == 0.2
    assert blur.p == 0.2
    (gaussian_blur,) = blur.transforms
    assert gaussian_blur.kernel_size == (3, 3)
    assert list(gaussian_blur.sigma) == [1.0, 2.0]  # a tuple before v2
    assert normalize.mean == IMAGENET_NORMALIZE["mean"]
    assert normalize.std == IMAGENET_NORMALIZE["std"]


def test_options_add_their_steps() -> None:
    steps = transforms_of(BYELViewTransform(**ALL_OPTIONS))
    inner = [
        type(t)
        for step in steps
        for t in (step.transforms if isinstance(step, T.RandomApply) else [step])
    ]
    for kind in (T.RandomRotation, RandomJPEG, NOISE, T.RandomErasing):
        assert kind in inner
    assert steps[0].scale == (0.4, 1.0)


def test_without_normalize_views_lie_in_unit_range() -> None:
    views = two_views(input_size=32, normalize=None, noise_prob=1.0)(face_like())
    for view in views:
        assert view.min() >= 0.0 and view.max() <= 1.0


def plain_view(input_size: int, **options: Any) -> BYELViewTransform:
    """A view transform with every random step off, except those in ``options``."""
    identity: dict[str, Any] = {
        "min_scale": 1.0,
        "hf_prob": 0.0,
        "cj_prob": 0.0,
        "random_gray_scale": 0.0,
        "gaussian_blur": 0.0,
        "normalize": None,
    }
    return BYELViewTransform(input_size=input_size, **{**identity, **options})


def test_full_scale_crop_keeps_the_whole_image() -> None:
    image = torch.randint(0, 256, (3, 40, 40), dtype=torch.uint8)
    torch.testing.assert_close(plain_view(40)(image), image.float() / 255)


def test_each_gap_option_changes_the_view() -> None:
    image = face_like((64, 64))
    reference = plain_view(64)(image)
    for option in ("jpeg_prob", "noise_prob", "erase_prob", "rr_prob"):
        view = plain_view(64, **{option: 1.0})(image)
        assert not torch.equal(view, reference), option
    erased = plain_view(64, erase_prob=1.0)(image)
    assert (erased == 0).all(dim=0).sum() >= 0.02 * 64 * 64


def test_jpeg_option_round_trips_through_jpeg() -> None:
    # The option is Pillow's codec: the same bytes as saving the image at quality 10.
    image = face_like((64, 64))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=10)
    view = plain_view(64, jpeg_prob=1.0, jpeg_quality=(10, 10))(image)
    original = F.pil_to_tensor(image).float() / 255
    buffer.seek(0)
    pillow_jpeg = F.pil_to_tensor(Image.open(buffer)).float() / 255
    assert (view - original).abs().mean() > 0.05
    torch.testing.assert_close(view, pillow_jpeg, rtol=0, atol=1e-6)  # float scaling


def test_works_in_a_dataloader() -> None:
    from torch.utils.data import DataLoader, Dataset

    # A base class is evaluated at run time, where Python 3.7 has no list[...].
    class Faces(Dataset[Tuple[List[Tensor], int]]):  # noqa: UP006
        transform = two_views(input_size=32)

        def __len__(self) -> int:
            return 6

        def __getitem__(self, index: int) -> tuple[list[Tensor], int]:
            return self.transform(face_like()), index % 6

    (view_1, view_2), labels = next(iter(DataLoader(Faces(), batch_size=6)))
    assert view_1.shape == view_2.shape == (6, 3, 32, 32)
    assert labels.tolist() == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (torch.zeros(4, 8, 8, dtype=torch.uint8), r"C in \(1, 3\).*\(4, 8, 8\)"),
        (torch.zeros(2, 3, 8, 8), r"shape \(2, 3, 8, 8\)"),
        (
            torch.zeros(3, 8, 8, dtype=torch.int32),
            r"got an int32 image tensor; expected uint8, or floating point in \[0, 1\]",
        ),
        ([[0, 1], [1, 0]], "PIL image or an image tensor, got list"),
    ],
)
def test_bad_images_raise(image: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BYELViewTransform()(image)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (
            torch.full((3, 8, 8), 255.0),
            r"got a float32 image tensor with values from 255.0 to 255.0; expected "
            r"uint8, or floating point in \[0, 1\] \(divide by 255\)",
        ),
        (
            torch.linspace(-1, 1, 64, dtype=torch.float64).view(1, 8, 8),
            r"float64 image tensor with values from -1.0 to 1.0; expected uint8, or "
            r"floating point in \[0, 1\]\.$",
        ),
        (torch.full((8, 8), float("nan")), "float32 image tensor holding NaN"),
        (torch.full((3, 8, 8), float("inf")), "values from inf to inf"),
        (
            torch.full((3, 8, 8), 255, dtype=torch.int64),
            r"int64 image tensor; expected uint8.*\.to\(torch\.uint8\)",
        ),
        (torch.zeros(3, 0, 8), r"empty image tensor of shape \(3, 0, 8\)"),
    ],
    ids=["float-0-255", "normalised", "nan", "inf", "int64", "empty"],
)
def test_values_out_of_range_raise(image: Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BYELViewTransform()(image)
    with pytest.raises(ValueError, match=message):
        BYELTransform()(image)


def test_float_images_at_the_ends_of_the_range_are_taken() -> None:
    for value in (0.0, 1.0):
        view = plain_view(8)(torch.full((8, 8), value))
        assert torch.equal(view, torch.full((3, 8, 8), value))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": 0}, "input_size must be a positive integer, got 0"),
        ({"cj_prob": 1.5}, r"cj_prob must lie in \[0.0, 1.0\], got 1.5"),
        ({"jpeg_prob": -0.1}, "jpeg_prob"),
        ({"min_scale": 0.0}, r"min_scale must lie in \(0.0, 1.0\], got 0.0"),
        ({"kernel_size": 4}, "kernel_size must be odd, got 4"),
        ({"sigmas": (2.0, 1.0)}, r"sigmas must be a \(min, max\) pair"),
        ({"jpeg_quality": (0, 50)}, "jpeg_quality"),
        ({"erase_scale": 0.1}, r"erase_scale must be a \(min, max\) pair, got 0.1"),
        ({"rr_degrees": -5.0}, "rr_degrees"),
        ({"cj_hue": 0.6}, "cj_hue"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BYELViewTransform(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        BYELViewSettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.cuda
def test_cuda_tensor_input_stays_on_cuda() -> None:
    image = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, device="cuda")
    view = BYELViewTransform(input_size=32)(image)
    assert view.device.type == "cuda" and view.shape == (3, 32, 32)
