"""Per-sample augmentations for BYEL on synthetic face images."""

from __future__ import annotations

from collections.abc import Callable

import torch
from lightly.transforms.multi_view_transform import MultiViewTransform
from lightly.transforms.torchvision_v2_compatibility import functional as F
from lightly.transforms.torchvision_v2_compatibility import torchvision_transforms as T
from lightly.utils.dependency import torchvision_transforms_v2_available
from PIL import Image
from torch import Tensor

from lightly_byel.transforms.byel_view_settings import (
    BYELViewSettings,
    takes_arguments_of,
)
from lightly_byel.transforms.image_range import check_image_range
from lightly_byel.transforms.jpeg import RandomJPEG

_TRANSFORMS_V2 = torchvision_transforms_v2_available()


class BYELViewTransform:
    """Transforms a face image into one augmented view for BYEL [0].

    Takes the keyword arguments of :class:`BYELViewSettings` (see there for each
    and for the defaults, the published BYEL recipe, drawn per sample instead of
    once per batch) and runs, in order: random resized crop, horizontal flip,
    rotation, color jitter, grayscale, Gaussian blur, JPEG re-compression,
    conversion to float, Gaussian noise, normalisation and random erasing; each
    optional step only where its probability is above 0.

    Every random draw comes from torch's generator, so ``torch.manual_seed`` makes
    the views reproducible.

    The steps are torchvision's v2 transforms where torchvision has them (0.16 on),
    otherwise its v1 transforms, through Lightly's ``torchvision_transforms``. v1
    draws its random numbers differently, so one seed gives other views there.
    Where torchvision lacks a step (an antialiased random resized crop before v2,
    ``GaussianNoise`` before 0.20), a fallback here computes the same.

    Input to this transform:
        An RGB, grayscale, RGBA or palette PIL image, or a tensor of shape
        ``(C, H, W)`` or ``(H, W)`` with 1 or 3 channels, uint8 in [0, 255] or float
        in [0, 1]; other values are refused (see
        :func:`~lightly_byel.transforms.image_range.check_image_range`).

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

    @takes_arguments_of(BYELViewSettings)
    def __init__(self, settings: BYELViewSettings) -> None:
        """Builds the view transform from the arguments of BYELViewSettings.

        Args:
            settings: The settings, made from the keyword arguments (e.g.
                ``BYELViewTransform(input_size=64)``); kept as ``.settings``.

        Raises:
            ValueError: If an argument is out of its range.
        """
        self.settings = settings
        transforms: list[Callable[[Tensor], Tensor]] = [
            _random_resized_crop(settings.input_size, (settings.min_scale, 1.0)),
            T.RandomHorizontalFlip(p=settings.hf_prob),
        ]
        if settings.rr_prob > 0:
            rotation = T.RandomRotation(degrees=settings.rotation_range)
            transforms.append(T.RandomApply([rotation], p=settings.rr_prob))
        if settings.cj_prob > 0:
            brightness, contrast, saturation, hue = settings.jitter_strengths
            jitter = T.ColorJitter(brightness, contrast, saturation, hue)
            transforms.append(T.RandomApply([jitter], p=settings.cj_prob))
        if settings.random_gray_scale > 0:
            transforms.append(T.RandomGrayscale(p=settings.random_gray_scale))
        if settings.gaussian_blur > 0:
            blur = T.GaussianBlur(
                kernel_size=settings.kernel_size, sigma=settings.sigmas
            )
            transforms.append(T.RandomApply([blur], p=settings.gaussian_blur))
        if settings.jpeg_prob > 0:
            jpeg = RandomJPEG(settings.jpeg_quality)
            transforms.append(T.RandomApply([jpeg], p=settings.jpeg_prob))
        transforms.append(_to_float())
        if settings.noise_prob > 0:
            noise = _gaussian_noise(settings.noise_sigma)
            transforms.append(T.RandomApply([noise], p=settings.noise_prob))
        if settings.normalize:
            mean, std = settings.normalize["mean"], settings.normalize["std"]
            transforms.append(T.Normalize(mean=mean, std=std))
        if settings.erase_prob > 0:
            erase = T.RandomErasing(p=settings.erase_prob, scale=settings.erase_scale)
            transforms.append(erase)
        self.transform = T.Compose(transforms)

    def __call__(self, image: Image.Image | Tensor) -> Tensor:
        """Returns one augmented view of the image.

        Args:
            image: A PIL image or an image tensor (see the class docstring).

        Returns:
            A float32 tensor of shape ``(3, input_size, input_size)``.

        Raises:
            ValueError: If the image is not a PIL image or a 1- or 3-channel tensor,
                or the tensor is empty, neither uint8 nor floating point, or holds
                floating-point values outside [0, 1] or NaN.
        """
        view: Tensor = self.transform(_to_rgb_uint8(image))
        return view

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transform})"


class BYELTransform(MultiViewTransform):
    """Transforms a face image into the two views BYEL trains on [0].

    Takes its two view transforms as Lightly's ``BYOLTransform`` does; ``None``
    stands for the default :class:`BYELViewTransform`, the published recipe.
    The views are drawn independently, the first view first.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Examples:
        >>> from PIL import Image
        >>> view = BYELViewTransform(input_size=64)
        >>> transform = BYELTransform(view_1_transform=view, view_2_transform=view)
        >>> views = transform(Image.new("RGB", (112, 112)))
        >>> len(views), views[0].shape
        (2, torch.Size([3, 64, 64]))
        >>> BYELTransform()(Image.new("RGB", (112, 112)))[1].shape
        torch.Size([3, 128, 128])
    """

    def __init__(
        self,
        view_1_transform: BYELViewTransform | None = None,
        view_2_transform: BYELViewTransform | None = None,
    ) -> None:
        """Builds the two-view transform.

        Args:
            view_1_transform: Transform of the first view, ``None`` for the
                default :class:`BYELViewTransform`.
            view_2_transform: Transform of the second view, ``None`` for the
                default :class:`BYELViewTransform`.
        """
        super().__init__(
            transforms=[
                BYELViewTransform() if view is None else view
                for view in (view_1_transform, view_2_transform)
            ]
        )

    def __call__(self, image: Image.Image | Tensor) -> list[Tensor]:
        """Returns the two views of the image, each ``(3, input_size, input_size)``.

        Raises:
            ValueError: If a view transform refuses the image (see
                :meth:`BYELViewTransform.__call__`).
        """
        return [transform(image) for transform in self.transforms]


def _to_rgb_uint8(image: Image.Image | Tensor) -> Tensor:
    """Converts a PIL image or an image tensor to a uint8 RGB tensor (3, H, W).

    Raises:
        ValueError: If the image is not a PIL image or a 1- or 3-channel tensor of
            uint8, or of finite floating-point values in [0, 1].
    """
    if isinstance(image, Image.Image):
        if image.mode != "RGB":
            image = image.convert("RGB")
        pixels: Tensor = F.pil_to_tensor(image)
        return pixels
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
    check_image_range(image)
    if image.is_floating_point():
        image = _float_to_uint8(image)
    return image.expand(3, -1, -1)


def _float_to_uint8(image: Tensor) -> Tensor:
    """``v2.functional.to_dtype(image, torch.uint8, scale=True)`` on any torchvision."""
    if _TRANSFORMS_V2:
        pixels: Tensor = F.to_dtype(image, torch.uint8, scale=True)
        return pixels
    # The same scaling (by 256 - 1e-3, then truncation) under its v1 name.
    pixels = F.convert_image_dtype(image, torch.uint8)
    return pixels


def _random_resized_crop(
    size: int, scale: tuple[float, float]
) -> Callable[[Tensor], Tensor]:
    """``v2.RandomResizedCrop(size, scale, antialias=True)`` on any torchvision."""
    if _TRANSFORMS_V2:
        crop: Callable[[Tensor], Tensor] = T.RandomResizedCrop(
            size=size, scale=scale, antialias=True
        )
        return crop
    return _AntialiasedRandomResizedCrop(size, scale)


def _to_float() -> Callable[[Tensor], Tensor]:
    """A transform from uint8 in [0, 255] to float32 in [0, 1]."""
    if _TRANSFORMS_V2:
        to_float: Callable[[Tensor], Tensor] = T.ToDtype(torch.float32, scale=True)
        return to_float
    # v2.ToDtype(scale=True) under its v1 name: the same up to rounding (v1 divides
    # by 255, v2 multiplies by 1 / 255).
    to_float = T.ConvertImageDtype(torch.float32)
    return to_float


def _gaussian_noise(sigma: float) -> Callable[[Tensor], Tensor]:
    """``v2.GaussianNoise(sigma=sigma, clip=True)`` on any torchvision."""
    if hasattr(T, "GaussianNoise"):
        noise: Callable[[Tensor], Tensor] = T.GaussianNoise(sigma=sigma, clip=True)
        return noise
    return _GaussianNoise(sigma)


class _AntialiasedRandomResizedCrop:
    """``v2.RandomResizedCrop(antialias=True)`` for torchvision without v2.

    torchvision 0.11's ``RandomResizedCrop`` resizes tensors without antialiasing
    (and has no ``antialias`` argument); this draws the box with its
    ``get_params`` and resizes the crop with antialiasing, as v2 does.
    """

    def __init__(self, size: int, scale: tuple[float, float]) -> None:
        self.size = (size, size)
        self.scale = scale
        self.ratio = (3.0 / 4.0, 4.0 / 3.0)

    def __call__(self, image: Tensor) -> Tensor:
        box = T.RandomResizedCrop.get_params(image, self.scale, self.ratio)
        resized: Tensor = F.resize(F.crop(image, *box), list(self.size), antialias=True)
        return resized

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(size={self.size}, scale={self.scale}, "
            f"ratio={self.ratio}, antialias=True)"
        )


class _GaussianNoise:
    """``v2.GaussianNoise(sigma=sigma, clip=True)`` for torchvision before 0.20.

    Adds zero-mean Gaussian noise to a float image in [0, 1] and clips the result
    to [0, 1], with torchvision's draw (``torch.randn_like``) and arithmetic.
    """

    def __init__(self, sigma: float) -> None:
        self.sigma = sigma

    def __call__(self, image: Tensor) -> Tensor:
        return torch.clamp(image + torch.randn_like(image) * self.sigma, 0, 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sigma={self.sigma}, clip=True)"
