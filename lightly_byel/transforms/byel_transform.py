"""Per-sample augmentations for BYEL on synthetic face images."""

import torch
from lightly.transforms.multi_view_transform import MultiViewTransform
from PIL import Image
from torch import Tensor
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from lightly_byel.transforms.byel_view_settings import (
    BYELViewSettings,
    takes_arguments_of,
)
from lightly_byel.transforms.image_range import check_image_range
from lightly_byel.transforms.jpeg import RandomJPEG


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
        transforms: list[v2.Transform] = [
            v2.RandomResizedCrop(
                size=settings.input_size,
                scale=(settings.min_scale, 1.0),
                antialias=True,
            ),
            v2.RandomHorizontalFlip(p=settings.hf_prob),
        ]
        if settings.rr_prob > 0:
            rotation = v2.RandomRotation(degrees=settings.rotation_range)
            transforms.append(v2.RandomApply([rotation], p=settings.rr_prob))
        if settings.cj_prob > 0:
            brightness, contrast, saturation, hue = settings.jitter_strengths
            jitter = v2.ColorJitter(brightness, contrast, saturation, hue)
            transforms.append(v2.RandomApply([jitter], p=settings.cj_prob))
        if settings.random_gray_scale > 0:
            transforms.append(v2.RandomGrayscale(p=settings.random_gray_scale))
        if settings.gaussian_blur > 0:
            blur = v2.GaussianBlur(
                kernel_size=settings.kernel_size, sigma=settings.sigmas
            )
            transforms.append(v2.RandomApply([blur], p=settings.gaussian_blur))
        if settings.jpeg_prob > 0:
            jpeg = RandomJPEG(settings.jpeg_quality)
            transforms.append(v2.RandomApply([jpeg], p=settings.jpeg_prob))
        transforms.append(v2.ToDtype(torch.float32, scale=True))
        if settings.noise_prob > 0:
            noise = v2.GaussianNoise(sigma=settings.noise_sigma, clip=True)
            transforms.append(v2.RandomApply([noise], p=settings.noise_prob))
        if settings.normalize:
            mean, std = settings.normalize["mean"], settings.normalize["std"]
            transforms.append(v2.Normalize(mean=mean, std=std))
        if settings.erase_prob > 0:
            erase = v2.RandomErasing(p=settings.erase_prob, scale=settings.erase_scale)
            transforms.append(erase)
        self.transform = v2.Compose(transforms)

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
    check_image_range(image)
    if image.is_floating_point():
        image = F.to_dtype(image, torch.uint8, scale=True)
    return image.expand(3, -1, -1)
