"""Per-sample augmentations for BYEL on synthetic face images."""

import math
from collections.abc import Sequence

import torch
from lightly.transforms.multi_view_transform import MultiViewTransform
from lightly.transforms.utils import IMAGENET_NORMALIZE
from PIL import Image
from torch import Tensor
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F


class BYELViewTransform:
    """Transforms a face image into one augmented view for BYEL [0].

    The defaults follow the published BYEL recipe, drawn per sample instead of once
    per batch: random resized crop, horizontal flip, color jitter
    (0.8, 0.8, 0.8, 0.2) with probability 0.3, grayscale with probability 0.2,
    a 3x3 Gaussian blur with sigma in [1, 2] with probability 0.2, and ImageNet
    normalisation. Options off by default narrow the gap between synthetic training
    faces and real test faces: a small random rotation, JPEG re-compression,
    Gaussian noise, random erasing as an occluder, and a larger ``min_scale`` so that
    crops keep the face.

    Every random draw comes from torch's generator, so ``torch.manual_seed`` makes
    the views reproducible.

    Input to this transform:
        An RGB, grayscale, RGBA or palette PIL image, or a tensor of shape
        ``(C, H, W)`` or ``(H, W)`` with 1 or 3 channels, uint8 in [0, 255] or float
        in [0, 1].

    Output of this transform:
        A float32 tensor of shape ``(3, input_size, input_size)``.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Examples:
        >>> import torch
        >>> from PIL import Image
        >>> transform = BYELViewTransform(input_size=64)
        >>> view = transform(Image.new("L", (100, 120)))
        >>> view.shape, view.dtype
        (torch.Size([3, 64, 64]), torch.float32)
        >>> real_gap = BYELViewTransform(min_scale=0.4, jpeg_prob=0.5, noise_prob=0.3)
        >>> real_gap(torch.zeros(3, 112, 112, dtype=torch.uint8)).shape
        torch.Size([3, 128, 128])
    """

    def __init__(
        self,
        input_size: int = 128,
        cj_prob: float = 0.3,
        cj_strength: float = 1.0,
        cj_bright: float = 0.8,
        cj_contrast: float = 0.8,
        cj_sat: float = 0.8,
        cj_hue: float = 0.2,
        min_scale: float = 0.08,
        random_gray_scale: float = 0.2,
        gaussian_blur: float = 0.2,
        kernel_size: int = 3,
        sigmas: tuple[float, float] = (1.0, 2.0),
        hf_prob: float = 0.5,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] = 15.0,
        jpeg_prob: float = 0.0,
        jpeg_quality: tuple[int, int] = (30, 90),
        noise_prob: float = 0.0,
        noise_sigma: float = 0.05,
        erase_prob: float = 0.0,
        erase_scale: tuple[float, float] = (0.02, 0.15),
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
    ) -> None:
        """Builds the view transform.

        Args:
            input_size: Side of the square output view in pixels.
            cj_prob: Probability that color jitter is applied.
            cj_strength: Multiplies ``cj_bright``, ``cj_contrast``, ``cj_sat`` and
                ``cj_hue``.
            cj_bright: How much to jitter brightness.
            cj_contrast: How much to jitter contrast.
            cj_sat: How much to jitter saturation.
            cj_hue: How much to jitter hue, at most 0.5 after ``cj_strength``.
            min_scale: Minimum area of the random crop relative to the image. Raise
                it (e.g. 0.4) to keep most of the face in every crop.
            random_gray_scale: Probability of conversion to grayscale.
            gaussian_blur: Probability of Gaussian blur.
            kernel_size: Side of the Gaussian blur kernel, odd.
            sigmas: Range of the blur's standard deviation.
            hf_prob: Probability of a horizontal flip.
            rr_prob: Probability of a random rotation.
            rr_degrees: Rotation range: ``d`` for ``[-d, d]`` or a ``(min, max)``
                tuple, counter-clockwise degrees.
            jpeg_prob: Probability of JPEG re-compression.
            jpeg_quality: Range of the JPEG quality, within [1, 100].
            noise_prob: Probability of additive Gaussian noise.
            noise_sigma: Standard deviation of that noise, on the [0, 1] scale.
            erase_prob: Probability of erasing a random rectangle (an occluder).
            erase_scale: Range of the erased area relative to the view.
            normalize: Dictionary with ``mean`` and ``std`` for the normalisation,
                or ``None`` for views in [0, 1].

        Raises:
            ValueError: If an argument is out of its range.
        """
        _check_positive_int("input_size", input_size)
        for name, probability in (
            ("cj_prob", cj_prob),
            ("random_gray_scale", random_gray_scale),
            ("gaussian_blur", gaussian_blur),
            ("hf_prob", hf_prob),
            ("rr_prob", rr_prob),
            ("jpeg_prob", jpeg_prob),
            ("noise_prob", noise_prob),
            ("erase_prob", erase_prob),
        ):
            _check_range(name, probability, 0.0, 1.0)
        _check_range("min_scale", min_scale, 0.0, 1.0, low_open=True)
        _check_interval("sigmas", sigmas, 0.0, math.inf, low_open=True)
        _check_interval("jpeg_quality", jpeg_quality, 1, 100)
        _check_interval("erase_scale", erase_scale, 0.0, 1.0, low_open=True)
        _check_range("noise_sigma", noise_sigma, 0.0, math.inf)
        _check_range("cj_strength", cj_strength, 0.0, math.inf)
        _check_range("cj_hue", cj_strength * cj_hue, 0.0, 0.5)
        degrees = _degree_range(rr_degrees)
        _check_positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")

        transforms: list[v2.Transform] = [
            v2.RandomResizedCrop(
                size=input_size, scale=(min_scale, 1.0), antialias=True
            ),
            v2.RandomHorizontalFlip(p=hf_prob),
        ]
        if rr_prob > 0:
            rotation = v2.RandomRotation(degrees=degrees)
            transforms.append(v2.RandomApply([rotation], p=rr_prob))
        if cj_prob > 0:
            jitter = v2.ColorJitter(
                brightness=cj_strength * cj_bright,
                contrast=cj_strength * cj_contrast,
                saturation=cj_strength * cj_sat,
                hue=cj_strength * cj_hue,
            )
            transforms.append(v2.RandomApply([jitter], p=cj_prob))
        if random_gray_scale > 0:
            transforms.append(v2.RandomGrayscale(p=random_gray_scale))
        if gaussian_blur > 0:
            blur = v2.GaussianBlur(kernel_size=kernel_size, sigma=sigmas)
            transforms.append(v2.RandomApply([blur], p=gaussian_blur))
        if jpeg_prob > 0:
            transforms.append(
                v2.RandomApply([v2.JPEG(quality=jpeg_quality)], p=jpeg_prob)
            )
        transforms.append(v2.ToDtype(torch.float32, scale=True))
        if noise_prob > 0:
            noise = v2.GaussianNoise(sigma=noise_sigma, clip=True)
            transforms.append(v2.RandomApply([noise], p=noise_prob))
        if normalize:
            transforms.append(
                v2.Normalize(mean=normalize["mean"], std=normalize["std"])
            )
        if erase_prob > 0:
            transforms.append(v2.RandomErasing(p=erase_prob, scale=erase_scale))
        self.transform = v2.Compose(transforms)

    def __call__(self, image: Image.Image | Tensor) -> Tensor:
        """Returns one augmented view of the image.

        Args:
            image: A PIL image or an image tensor (see the class docstring).

        Returns:
            A float32 tensor of shape ``(3, input_size, input_size)``.

        Raises:
            ValueError: If the image is not a PIL image or a 1- or 3-channel tensor.
        """
        view: Tensor = self.transform(_to_rgb_uint8(image))
        return view

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transform})"


class BYELTransform(MultiViewTransform):
    """Transforms a face image into the two views BYEL trains on [0].

    Both views are drawn independently with the same :class:`BYELViewTransform`,
    whose arguments it takes (see there).

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Examples:
        >>> from PIL import Image
        >>> transform = BYELTransform(input_size=128)
        >>> views = transform(Image.new("RGB", (112, 112)))
        >>> len(views), views[0].shape
        (2, torch.Size([3, 128, 128]))
    """

    def __init__(
        self,
        input_size: int = 128,
        cj_prob: float = 0.3,
        cj_strength: float = 1.0,
        cj_bright: float = 0.8,
        cj_contrast: float = 0.8,
        cj_sat: float = 0.8,
        cj_hue: float = 0.2,
        min_scale: float = 0.08,
        random_gray_scale: float = 0.2,
        gaussian_blur: float = 0.2,
        kernel_size: int = 3,
        sigmas: tuple[float, float] = (1.0, 2.0),
        hf_prob: float = 0.5,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] = 15.0,
        jpeg_prob: float = 0.0,
        jpeg_quality: tuple[int, int] = (30, 90),
        noise_prob: float = 0.0,
        noise_sigma: float = 0.05,
        erase_prob: float = 0.0,
        erase_scale: tuple[float, float] = (0.02, 0.15),
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
    ) -> None:
        """Builds the two-view transform; the arguments are BYELViewTransform's."""
        view_transform = BYELViewTransform(
            input_size=input_size,
            cj_prob=cj_prob,
            cj_strength=cj_strength,
            cj_bright=cj_bright,
            cj_contrast=cj_contrast,
            cj_sat=cj_sat,
            cj_hue=cj_hue,
            min_scale=min_scale,
            random_gray_scale=random_gray_scale,
            gaussian_blur=gaussian_blur,
            kernel_size=kernel_size,
            sigmas=sigmas,
            hf_prob=hf_prob,
            rr_prob=rr_prob,
            rr_degrees=rr_degrees,
            jpeg_prob=jpeg_prob,
            jpeg_quality=jpeg_quality,
            noise_prob=noise_prob,
            noise_sigma=noise_sigma,
            erase_prob=erase_prob,
            erase_scale=erase_scale,
            normalize=normalize,
        )
        super().__init__(transforms=[view_transform, view_transform])

    def __call__(self, image: Image.Image | Tensor) -> list[Tensor]:
        """Returns the two views of the image, each ``(3, input_size, input_size)``."""
        return [transform(image) for transform in self.transforms]


def _to_rgb_uint8(image: Image.Image | Tensor) -> Tensor:
    """Converts a PIL image or an image tensor to a uint8 RGB tensor (3, H, W)."""
    if isinstance(image, Image.Image):
        if image.mode != "RGB":
            image = image.convert("RGB")
        return F.pil_to_tensor(image)
    if not isinstance(image, Tensor):
        raise ValueError(
            f"expected a PIL image or an image tensor, got {type(image).__name__}."
        )
    if image.dim() == 2:
        image = image.unsqueeze(0)
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            "expected an image tensor of shape (C, H, W) with C in (1, 3) or (H, W), "
            f"got shape {tuple(image.shape)}."
        )
    if image.is_floating_point():
        image = F.to_dtype(image.clamp(0, 1), torch.uint8, scale=True)
    elif image.dtype != torch.uint8:
        raise ValueError(
            f"expected a uint8 or floating point image tensor, got dtype {image.dtype}."
        )
    return image.expand(3, -1, -1)


def _degree_range(degrees: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(degrees, tuple | list):
        _check_interval("rr_degrees", degrees, -180.0, 180.0)
        return (float(degrees[0]), float(degrees[1]))
    _check_range("rr_degrees", degrees, 0.0, 180.0)
    return (-float(degrees), float(degrees))


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_range(
    name: str, value: float, low: float, high: float, low_open: bool = False
) -> None:
    in_range = (low < value if low_open else low <= value) and value <= high
    if isinstance(value, bool) or not isinstance(value, int | float) or not in_range:
        opening = "(" if low_open else "["
        raise ValueError(f"{name} must lie in {opening}{low}, {high}], got {value!r}.")


def _check_interval(
    name: str,
    interval: Sequence[float],
    low: float,
    high: float,
    low_open: bool = False,
) -> None:
    if (
        not isinstance(interval, Sequence)
        or len(interval) != 2
        or interval[0] > interval[1]
    ):
        raise ValueError(f"{name} must be a (min, max) pair, got {interval!r}.")
    for value in interval:
        _check_range(name, value, low, high, low_open=low_open)
