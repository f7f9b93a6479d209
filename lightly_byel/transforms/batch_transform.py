"""BYEL augmentations for a whole batch on its device, drawn per sample."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightly_byel.transforms.byel_view_settings import (
    BYELViewSettings,
    _check_positive_int,
    takes_arguments_of,
)
from lightly_byel.transforms.image_range import check_image_dtype, check_image_range
from lightly_byel.transforms.jpeg import jpeg_round_trip

_CROP_RATIO = (3.0 / 4.0, 4.0 / 3.0)
_ERASE_RATIO = (0.3, 3.3)
_ATTEMPTS = 10
# ITU-R 601-2 luma, as torchvision's rgb_to_grayscale.
_GRAY_WEIGHTS = (0.2989, 0.587, 0.114)
# Brightness, contrast, saturation and hue factors that leave an image unchanged.
_NO_JITTER = (1.0, 1.0, 1.0, 0.0)


@dataclass(frozen=True)
class BYELBatchParams:
    """Random parameters of one batch of views, one row per sample.

    :meth:`BYELBatchViewTransform.draw_params` draws them and
    :meth:`BYELBatchViewTransform.apply_params` applies them. A step whose field is
    ``None`` is skipped for the whole batch; within a batch, a sample that the step
    passes over holds the step's identity value. ``B`` is the batch size and ``S``
    the output side. Boxes are ``(top, left, height, width)`` in pixels.

    Attributes:
        crop: ``(B, 4)`` int64 crop boxes inside the input image.
        flip: ``(B,)`` bool, True to flip horizontally.
        rotation: ``(B,)`` float32 counter-clockwise degrees, 0 for no rotation.
        jitter_factors: ``(B, 4)`` float32 brightness, contrast, saturation and
            hue factors as in torchvision's ``adjust_*``; ``(1, 1, 1, 0)`` for no
            color jitter.
        jitter_order: ``(B, 4)`` int64, the jitter operations of each sample in
            the order they run (0 brightness, 1 contrast, 2 saturation, 3 hue);
            ``None`` for the order 0, 1, 2, 3. Needs ``jitter_factors``.
        gray: ``(B,)`` bool, True to convert to grayscale.
        blur_sigma: ``(B,)`` float32 standard deviation of the Gaussian blur, 0 for
            no blur.
        jpeg_quality: ``(B,)`` int64 JPEG quality in [1, 100], 0 for no JPEG.
        noise: ``(B, 3, S, S)`` float32 noise added before normalisation, zero for
            no noise.
        erase: ``(B, 4)`` int64 boxes erased after normalisation, empty
            (height or width 0) for no erasing.

    Examples:
        >>> import torch
        >>> whole = torch.tensor([[0, 0, 8, 8], [0, 0, 8, 8]])
        >>> params = BYELBatchParams(crop=whole, flip=torch.tensor([True, False]))
        >>> transform = BYELBatchViewTransform(input_size=8, normalize=None)
        >>> images = torch.rand(2, 3, 8, 8)
        >>> views = transform.apply_params(images, params)
        >>> torch.equal(views[0], images[0].flip(-1)), torch.equal(views[1], images[1])
        (True, True)
    """

    crop: Tensor
    flip: Tensor | None = None
    rotation: Tensor | None = None
    jitter_factors: Tensor | None = None
    jitter_order: Tensor | None = None
    gray: Tensor | None = None
    blur_sigma: Tensor | None = None
    jpeg_quality: Tensor | None = None
    noise: Tensor | None = None
    erase: Tensor | None = None

    def __post_init__(self) -> None:
        if self.jitter_order is not None and self.jitter_factors is None:
            raise ValueError("jitter_order needs jitter_factors, got None.")


class BYELBatchViewTransform(nn.Module):
    """Transforms a batch of face images into one augmented view each for BYEL [0].

    The batch counterpart of :class:`BYELViewTransform`, with the same arguments
    (those of :class:`BYELViewSettings`) and the same steps in the same order,
    for augmenting on the GPU where per-sample transforms in DataLoader workers
    cannot keep up: every sample draws its own crop, flip, jitter factors and
    order, and so on, from the same distributions as :class:`BYELViewTransform`,
    and the whole batch is transformed at once.

    All random numbers come from ``torch.rand``, ``torch.randn`` and
    ``torch.randint`` on the images' device and with the given generator (the
    device's global generator by default), and every step runs once on the whole
    batch, each sample getting its own result through ``torch.where`` or an
    identity parameter. So the default recipe never waits for the device; move
    the module to the images' device (``.to``) so that the normalisation buffers
    are there too. Only ``jpeg_prob > 0`` synchronises: JPEG re-compression reads
    the qualities on the host and encodes and decodes each selected image on the
    CPU. And floating-point images are checked to lie in [0, 1]: on the CPU every
    batch, elsewhere the first batch of each dtype only, which waits for the device
    once (see :meth:`apply_params`).

    Differences from :class:`BYELViewTransform`: unlike the per-sample transform,
    the whole pipeline runs in float32 and does not round to uint8 between steps
    (nor float input to uint8 at the start), so values differ by rounding only;
    the rotation interpolates bilinearly (``v2.RandomRotation`` defaults to
    nearest). The crop and resize is torchvision's antialiased ``resized_crop``
    written as two matrix products per image, so with TF32 matmuls enabled
    (``torch.backends.cuda.matmul.allow_tf32``) it is only accurate to about 1e-3.

    Input to this transform:
        A batch of equally sized images, a tensor of shape ``(B, C, H, W)`` with
        ``C`` 1 or 3, uint8 in [0, 255] or floating point in [0, 1], on any device;
        other values are refused (see
        :func:`~lightly_byel.transforms.image_range.check_image_range`).

    Output of this transform:
        A float32 tensor of shape ``(B, 3, input_size, input_size)`` on the
        images' device.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Examples:
        >>> import torch
        >>> transform = BYELBatchViewTransform(input_size=32)
        >>> images = torch.randint(0, 256, (4, 3, 48, 40), dtype=torch.uint8)
        >>> generator = torch.Generator().manual_seed(0)
        >>> views = transform(images, generator=generator)
        >>> views.shape, views.dtype
        (torch.Size([4, 3, 32, 32]), torch.float32)
        >>> params = transform.draw_params(4, 48, 40, generator=generator)
        >>> params.crop.shape, params.jitter_order.shape
        (torch.Size([4, 4]), torch.Size([4, 4]))
        >>> transform.apply_params(images, params).shape
        torch.Size([4, 3, 32, 32])
    """

    mean: Tensor | None
    std: Tensor | None

    @takes_arguments_of(BYELViewSettings)
    def __init__(self, settings: BYELViewSettings) -> None:
        """Builds the batch view transform from the arguments of BYELViewSettings.

        Args:
            settings: The settings, made from the keyword arguments (e.g.
                ``BYELBatchViewTransform(input_size=64)``); kept as ``.settings``.
                ``jpeg_prob > 0`` synchronises, see the class docstring.

        Raises:
            ValueError: If an argument is out of its range.
        """
        super().__init__()
        self.settings = settings
        # The factor ranges of v2.ColorJitter: brightness, contrast, saturation, hue.
        *scales, hue = settings.jitter_strengths
        self.jitter_ranges = (
            *((max(0.0, 1.0 - scale), 1.0 + scale) for scale in scales),
            (-hue, hue),
        )
        mean: Tensor | None = None
        std: Tensor | None = None
        if settings.normalize:
            mean = torch.tensor(settings.normalize["mean"], dtype=torch.float32)
            std = torch.tensor(settings.normalize["std"], dtype=torch.float32)
            mean, std = mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        # The floating-point dtypes whose values have been checked on a device
        # other than the CPU, see _check_range.
        self._range_checked: set[torch.dtype] = set()

    def forward(
        self, images: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """Returns one augmented view of each image.

        Args:
            images: Tensor of shape ``(B, C, H, W)`` with ``C`` 1 or 3, uint8 in
                [0, 255] or floating point in [0, 1].
            generator: Random generator on the images' device, or ``None`` for the
                device's global generator.

        Returns:
            A float32 tensor of shape ``(B, 3, input_size, input_size)`` on the
            images' device.

        Raises:
            ValueError: If the images are not such a tensor (empty, of another
                dtype, or floating point outside [0, 1] or NaN; see
                :meth:`apply_params`) or the generator is on another device.
        """
        _check_images(images)
        batch_size, _, height, width = images.shape
        params = self.draw_params(
            batch_size, height, width, device=images.device, generator=generator
        )
        return self.apply_params(images, params)

    def draw_params(
        self,
        batch_size: int,
        height: int,
        width: int,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> BYELBatchParams:
        """Draws the random parameters of a batch, independently for every sample.

        Args:
            batch_size: Number of images ``B``.
            height: Height of the input images.
            width: Width of the input images.
            device: Device of the parameters, that of the images.
            generator: Random generator on ``device``, or ``None`` for the device's
                global generator.

        Returns:
            The parameters; the fields of steps switched off are ``None``.

        Raises:
            ValueError: If a size is not a positive integer or the generator is on
                another device.
        """
        for name, value in (
            ("batch_size", batch_size),
            ("height", height),
            ("width", width),
        ):
            _check_positive_int(name, value)
        device = torch.device(device)
        _check_generator(generator, device)
        settings = self.settings
        draw = _Draws(batch_size, device, generator)
        # The draws follow the order of the steps; changing it changes the views
        # drawn from a seed.
        crop = self._draw_crop(batch_size, height, width, device, generator)
        flip = draw.chosen(settings.hf_prob) if settings.hf_prob > 0 else None
        rotation = None
        if settings.rr_prob > 0:
            angle = draw.uniform(*settings.rotation_range, batch_size)
            rotation = _where(draw.chosen(settings.rr_prob), angle, 0.0)
        jitter_factors, jitter_order = self._draw_jitter(draw)
        gray = None
        if settings.random_gray_scale > 0:
            gray = draw.chosen(settings.random_gray_scale)
        blur_sigma = None
        if settings.gaussian_blur > 0:
            low, high = settings.sigmas
            sigma = draw.uniform(float(low), float(high), batch_size)
            blur_sigma = _where(draw.chosen(settings.gaussian_blur), sigma, 0.0)
        jpeg_quality, noise, erase = self._draw_degradations(draw)
        return BYELBatchParams(
            crop=crop,
            flip=flip,
            rotation=rotation,
            jitter_factors=jitter_factors,
            jitter_order=jitter_order,
            gray=gray,
            blur_sigma=blur_sigma,
            jpeg_quality=jpeg_quality,
            noise=noise,
            erase=erase,
        )

    def _draw_jitter(self, draw: _Draws) -> tuple[Tensor | None, Tensor | None]:
        """Colour jitter factors and the order of the four adjustments, or ``None``."""
        settings = self.settings
        if settings.cj_prob <= 0:
            return None, None
        jittered = draw.chosen(settings.cj_prob)
        factors = torch.stack(
            [
                _where(jittered, draw.uniform(low, high, draw.batch_size), identity)
                for (low, high), identity in zip(self.jitter_ranges, _NO_JITTER)
            ],
            dim=1,
        )
        # Sorting uniform keys gives a uniformly random permutation per row.
        order = draw.uniform(0.0, 1.0, draw.batch_size, 4).argsort(dim=1)
        return factors, order

    def _draw_degradations(
        self, draw: _Draws
    ) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        """JPEG qualities, additive noise and erased boxes, each ``None`` when off."""
        settings = self.settings
        batch_size, size = draw.batch_size, settings.input_size
        jpeg_quality = None
        if settings.jpeg_prob > 0:
            low, high = (int(quality) for quality in settings.jpeg_quality)
            quality = torch.randint(
                low,
                high + 1,
                (batch_size,),
                device=draw.device,
                generator=draw.generator,
            )
            jpeg_quality = _where(draw.chosen(settings.jpeg_prob), quality, 0)
        noise = None
        if settings.noise_prob > 0:
            shape = (batch_size, 3, size, size)
            gaussian = torch.randn(shape, device=draw.device, generator=draw.generator)
            noisy = draw.chosen(settings.noise_prob).view(-1, 1, 1, 1)
            noise = _where(noisy, settings.noise_sigma * gaussian, 0.0)
        erase = None
        if settings.erase_prob > 0:
            erase = self._draw_erase(batch_size, draw.device, draw.generator)
            erase = _where(draw.chosen(settings.erase_prob).unsqueeze(1), erase, 0)
        return jpeg_quality, noise, erase

    def apply_params(self, images: Tensor, params: BYELBatchParams) -> Tensor:
        """Transforms the images with the given parameters.

        Args:
            images: Tensor of shape ``(B, C, H, W)`` with ``C`` 1 or 3, uint8 in
                [0, 255] or floating point in [0, 1].
            params: Parameters of the batch on the images' device, from
                :meth:`draw_params` or built by hand.

        Returns:
            A float32 tensor of shape ``(B, 3, input_size, input_size)``.

        Raises:
            ValueError: If the images are not such a tensor (empty, of another
                dtype, or floating point outside [0, 1] or NaN) or the parameters
                are for another batch size. The values of floating-point images are
                checked for every batch on the CPU, and for the first batch of each
                dtype on other devices, since reading them waits for the device.
        """
        _check_images(images)
        self._check_range(images)
        batch_size = images.shape[0]
        for field in fields(params):
            value = getattr(params, field.name)
            if value is not None and value.shape[0] != batch_size:
                raise ValueError(
                    f"params.{field.name} has {value.shape[0]} rows, expected one "
                    f"per image ({batch_size})."
                )
        if images.dtype == torch.uint8:
            views = images.to(torch.float32) / 255
        else:
            # Off the CPU only the first batch was checked (see _check_range).
            views = images.to(torch.float32).clamp(0, 1)
        size = self.settings.input_size
        views = _resized_crop(views, params.crop, params.flip, size)
        views = views.expand(-1, 3, -1, -1)
        if params.rotation is not None:
            views = _rotate(views, params.rotation)
        if params.jitter_factors is not None:
            # Bound after the check, so that the lambda below sees a Tensor.
            factors, order = params.jitter_factors, params.jitter_order
            identity = factors.new_tensor(_NO_JITTER)
            views = _on_chosen(
                views,
                (factors != identity).any(dim=1),
                lambda rows: _color_jitter(
                    views[rows], factors[rows], None if order is None else order[rows]
                ),
            )
        if params.gray is not None:
            gray = _grayscale(views).expand_as(views)
            views = torch.where(params.gray.view(-1, 1, 1, 1), gray, views)
        if params.blur_sigma is not None:
            sigma = params.blur_sigma
            views = _on_chosen(
                views,
                sigma > 0,
                lambda rows: _gaussian_blur(
                    views[rows], sigma[rows], self.settings.kernel_size
                ),
            )
        if params.jpeg_quality is not None:
            views = _jpeg(views, params.jpeg_quality)
        if params.noise is not None:
            views = (views + params.noise.to(views.dtype)).clamp(0, 1)
        if self.mean is not None and self.std is not None:
            views = (views - self.mean.to(views.device)) / self.std.to(views.device)
        if params.erase is not None:
            views = _erase(views, params.erase)
        return views

    def extra_repr(self) -> str:
        """The main settings, shown in the module's repr."""
        return ", ".join(
            f"{name}={getattr(self.settings, name)}"
            for name in (
                "input_size",
                "min_scale",
                "hf_prob",
                "cj_prob",
                "random_gray_scale",
                "gaussian_blur",
                "rr_prob",
                "jpeg_prob",
                "noise_prob",
                "erase_prob",
            )
        )

    def _check_range(self, images: Tensor) -> None:
        """Checks the values of floating-point images, on a device only once.

        Reading the minimum and maximum back waits for the device, which the
        augmentation on an accelerator must not do for every batch. A wrong scale
        (0-255 floats) comes from how the data is loaded, the same for every batch,
        so checking the first batch of each dtype catches it at one wait per
        transform; later batches are only clamped to [0, 1]. ``torch._assert_async``
        would check every batch without waiting, but a failed check there is a
        device-side assert: no message, and a CUDA context that is unusable after.
        """
        if images.device.type == "cpu" or images.dtype not in self._range_checked:
            check_image_range(images)
            if images.device.type != "cpu" and images.is_floating_point():
                self._range_checked.add(images.dtype)

    def _draw_crop(
        self,
        batch_size: int,
        height: int,
        width: int,
        device: torch.device,
        generator: torch.Generator | None,
    ) -> Tensor:
        """Crop boxes as v2.RandomResizedCrop draws them, ``(B, 4)`` int64."""
        scale = (self.settings.min_scale, 1.0)
        area = height * width
        w, h = _draw_sides(batch_size, area, scale, _CROP_RATIO, device, generator)
        valid = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        h, w = _first_valid(valid, h, w)
        top = _random_offset(height - h + 1, generator)
        left = _random_offset(width - w + 1, generator)
        found = valid.any(dim=1)
        fallback = _central_crop(height, width)
        return torch.stack(
            [
                _where(found, value, default)
                for value, default in zip((top, left, h, w), fallback)
            ],
            dim=1,
        )

    def _draw_erase(
        self,
        batch_size: int,
        device: torch.device,
        generator: torch.Generator | None,
    ) -> Tensor:
        """Boxes as v2.RandomErasing draws them, ``(B, 4)`` int64, empty if none fit."""
        size = self.settings.input_size
        area = size * size
        low, high = self.settings.erase_scale
        scale = (float(low), float(high))
        h, w = _draw_sides(batch_size, area, scale, _ERASE_RATIO, device, generator)
        valid = (h < size) & (w < size)
        h, w = _first_valid(valid, h, w)
        top = _random_offset(size - h + 1, generator)
        left = _random_offset(size - w + 1, generator)
        boxes = torch.stack([top, left, h, w], dim=1)
        return _where(valid.any(dim=1, keepdim=True), boxes, 0)


class BYELBatchTransform(nn.Module):
    """Transforms a batch of face images into the two views BYEL trains on [0].

    Takes its two batch view transforms as Lightly's ``BYOLTransform`` takes its
    view transforms; ``None`` stands for the default
    :class:`BYELBatchViewTransform`, the published recipe. The views are drawn
    independently, the first view first.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Examples:
        >>> import torch
        >>> view = BYELBatchViewTransform(input_size=32)
        >>> transform = BYELBatchTransform(view_1_transform=view, view_2_transform=view)
        >>> images = torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8)
        >>> views = transform(images)
        >>> len(views), views[0].shape
        (2, torch.Size([4, 3, 32, 32]))
    """

    def __init__(
        self,
        view_1_transform: BYELBatchViewTransform | None = None,
        view_2_transform: BYELBatchViewTransform | None = None,
    ) -> None:
        """Builds the two-view transform from those of view 1 and view 2."""
        super().__init__()
        self.view_1_transform = (
            BYELBatchViewTransform() if view_1_transform is None else view_1_transform
        )
        self.view_2_transform = (
            BYELBatchViewTransform() if view_2_transform is None else view_2_transform
        )

    def forward(
        self, images: Tensor, generator: torch.Generator | None = None
    ) -> list[Tensor]:
        """Returns two views of each image, each ``(B, 3, input_size, input_size)``.

        Args:
            images: Tensor of shape ``(B, C, H, W)``, see
                :meth:`BYELBatchViewTransform.forward`.
            generator: Random generator on the images' device, or ``None`` for the
                device's global generator.

        Raises:
            ValueError: If a view transform refuses the images or the generator
                (see :meth:`BYELBatchViewTransform.forward`).
        """
        views: list[Tensor] = [
            view_transform(images, generator=generator)
            for view_transform in (self.view_1_transform, self.view_2_transform)
        ]
        return views


class _Draws:
    """Uniform draws and coin flips for one batch, on one device and generator."""

    def __init__(
        self,
        batch_size: int,
        device: torch.device,
        generator: torch.Generator | None,
    ) -> None:
        self.batch_size = batch_size
        self.device = device
        self.generator = generator

    def uniform(self, low: float, high: float, *shape: int) -> Tensor:
        """Values drawn uniformly from ``[low, high)`` in the given shape."""
        drawn = torch.rand(shape, device=self.device, generator=self.generator)
        return low + (high - low) * drawn

    def chosen(self, probability: float) -> Tensor:
        """One coin flip per sample: ``True`` with ``probability``."""
        return self.uniform(0.0, 1.0, self.batch_size) < probability


def _where(condition: Tensor, values: Tensor, other: float) -> Tensor:
    """``torch.where(condition, values, other)`` for a number ``other``.

    torch 1.10 takes tensors only, so ``other`` becomes a 0-dimensional tensor of
    the dtype and device of ``values``: the same result, for an ``other`` that
    dtype holds exactly (as every caller's does).
    """
    return torch.where(condition, values, values.new_full((), other))


def _check_images(images: Tensor) -> None:
    if not isinstance(images, Tensor):
        raise ValueError(
            f"expected a tensor of images (B, C, H, W), got {type(images).__name__}."
        )
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(
            "expected images of shape (B, C, H, W) with C in (1, 3), "
            f"got shape {tuple(images.shape)}."
        )
    # The values are checked apart, see BYELBatchViewTransform._check_range.
    check_image_dtype(images)


def _check_generator(generator: torch.Generator | None, device: torch.device) -> None:
    if generator is None:
        return
    own = generator.device
    same_index = own.index is None or device.index is None or own.index == device.index
    if own.type != device.type or not same_index:
        raise ValueError(
            f"the generator is on device {own} but the images are on device "
            f"{device}; pass a generator on the images' device."
        )


def _draw_sides(
    batch_size: int,
    area: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    device: torch.device,
    generator: torch.Generator | None,
) -> tuple[Tensor, Tensor]:
    """Rounded sides of the candidate boxes of torchvision's 10 attempts.

    Returns ``round(sqrt(a * r))`` and ``round(sqrt(a / r))`` as ``(B, 10)`` int64,
    for an area ``a`` uniform in ``area * scale`` and ``log(r)`` uniform in
    ``log(ratio)``.
    """
    shape = (batch_size, _ATTEMPTS)
    fraction = torch.rand(shape, device=device, generator=generator)
    target = area * (scale[0] + (scale[1] - scale[0]) * fraction)
    low, high = math.log(ratio[0]), math.log(ratio[1])
    log_ratio = torch.rand(shape, device=device, generator=generator)
    aspect = torch.exp(low + (high - low) * log_ratio)
    along = torch.sqrt(target * aspect).round().long()
    across = torch.sqrt(target / aspect).round().long()
    return along, across


def _first_valid(valid: Tensor, *candidates: Tensor) -> tuple[Tensor, ...]:
    """Picks from each ``(B, 10)`` candidate the first valid attempt, as ``(B,)``."""
    # argmax returns the first maximum: the first True, or 0 if none is valid.
    first = valid.to(torch.uint8).argmax(dim=1, keepdim=True)
    return tuple(candidate.gather(1, first).squeeze(1) for candidate in candidates)


def _random_offset(positions: Tensor, generator: torch.Generator | None) -> Tensor:
    """Uniform integers in ``[0, positions)``, one per entry of ``positions``."""
    drawn = torch.rand(positions.shape, device=positions.device, generator=generator)
    offset = (drawn * positions).floor().long()
    return torch.minimum(offset, positions - 1)


def _central_crop(height: int, width: int) -> tuple[int, int, int, int]:
    """The fallback of v2.RandomResizedCrop: the central crop within the ratios."""
    in_ratio = width / height
    if in_ratio < min(_CROP_RATIO):
        w, h = width, round(width / min(_CROP_RATIO))
    elif in_ratio > max(_CROP_RATIO):
        w, h = round(height * max(_CROP_RATIO)), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def _resize_weights(start: Tensor, length: Tensor, size: int, output: int) -> Tensor:
    """Antialiased bilinear resampling of ``[start, start + length)`` as matrices.

    Row ``k`` of sample ``b`` holds the weights of the ``size`` input pixels for
    output pixel ``k``: the triangle filter of ``F.interpolate(mode="bilinear",
    antialias=True, align_corners=False)`` stretched by the downscaling factor,
    over the pixels of the crop only and normalised, as torchvision crops and
    then resizes. For upscaling this is plain bilinear interpolation.

    Returns:
        Float32 tensor of shape ``(B, output, size)``.
    """
    device = start.device
    start = start.to(torch.float32).view(-1, 1, 1)
    length = length.to(torch.float32).view(-1, 1, 1)
    scale = length / output
    centre = (torch.arange(output, device=device).view(1, -1, 1) + 0.5) * scale
    pixel = torch.arange(size, device=device).view(1, 1, -1) - start
    support = scale.clamp(min=1.0)
    weights = (1 - (pixel + 0.5 - centre).abs() / support).clamp(min=0)
    weights = _where((pixel >= 0) & (pixel < length), weights, 0.0)
    return weights / weights.sum(dim=2, keepdim=True)


def _resized_crop(
    images: Tensor, crop: Tensor, flip: Tensor | None, size: int
) -> Tensor:
    """Crops, resizes to ``size`` and flips every image with its own parameters.

    Resampling is separable, so each image is one matrix product per axis with
    weights that are zero outside its crop; flipping reverses the rows of the
    horizontal weights. This equals torchvision's ``resized_crop`` with
    ``antialias=True`` on float images, for upscaling and downscaling alike.
    """
    _, _, height, width = images.shape
    top, left, h, w = crop.unbind(dim=1)
    rows = _resize_weights(top, h, height, size)
    columns = _resize_weights(left, w, width, size)
    if flip is not None:
        columns = torch.where(flip.view(-1, 1, 1), columns.flip(1), columns)
    return rows.unsqueeze(1) @ images @ columns.transpose(1, 2).unsqueeze(1)


def _rotate(images: Tensor, degrees: Tensor) -> Tensor:
    """Rotates square images counter-clockwise about their centre.

    Matches torchvision's ``rotate(interpolation=BILINEAR, fill=0)``: bilinear
    sampling with zeros outside, times the sampled coverage of the image, which
    is how torchvision blends in its fill value.
    """
    batch_size, channels, height, width = images.shape
    radians = degrees.to(torch.float32) * (math.pi / 180)
    cos, sin, zero = radians.cos(), radians.sin(), torch.zeros_like(radians)
    # Output pixel -> input pixel in normalised coordinates; those are isotropic
    # for a square image.
    theta = torch.stack(
        [torch.stack([cos, -sin, zero], dim=1), torch.stack([sin, cos, zero], dim=1)],
        dim=1,
    )
    grid = F.affine_grid(
        theta, [batch_size, channels + 1, height, width], align_corners=False
    )
    coverage = torch.ones_like(images[:, :1])
    sampled = F.grid_sample(
        torch.cat([images, coverage], dim=1),
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    rotated = sampled[:, :channels] * sampled[:, channels:]
    return torch.where(degrees.view(-1, 1, 1, 1) != 0, rotated, images)


def _on_chosen(
    images: Tensor, chosen: Tensor, step: Callable[[Tensor | slice], Tensor]
) -> Tensor:
    """The images with ``step`` applied to the chosen ones, the others unchanged.

    ``step(rows)`` transforms ``images[rows]`` and leaves alone those of its samples
    whose parameters say "unchanged". On a GPU it runs on the whole batch, which
    never waits for the device. On a CPU, where nothing is gained by that, it runs
    on the chosen samples only: the same results for a fraction of the work.
    """
    if images.device.type != "cpu":
        return step(slice(None))
    rows = chosen.nonzero().flatten()
    if len(rows) == 0:
        return images
    if len(rows) == len(images):
        return step(slice(None))
    return images.index_put((rows,), step(rows))


def _grayscale(images: Tensor) -> Tensor:
    """Luma of ``(B, 3, H, W)`` images, ``(B, 1, H, W)``."""
    r, g, b = _GRAY_WEIGHTS
    return images[:, 0:1] * r + images[:, 1:2] * g + images[:, 2:3] * b


def _color_jitter(images: Tensor, factors: Tensor, order: Tensor | None) -> Tensor:
    """Applies brightness, contrast, saturation and hue in each sample's order.

    At each of the four positions each operation runs on the samples that have it
    there (on a GPU: on the whole batch, each sample keeping its own operation's
    result; see :func:`_on_chosen`).
    """
    factors = factors.to(images.dtype).view(-1, 4, 1, 1, 1)
    if order is None:
        order = torch.arange(4, device=images.device).expand(images.shape[0], 4)
    operations: tuple[Callable[[Tensor, Tensor], Tensor], ...] = (
        lambda x, f: (x * f).clamp(0, 1),
        _adjust_contrast,
        lambda x, f: _blend(x, _grayscale(x), f),
        _adjust_hue,
    )
    # A hue round trip through HSV is not exact, so hue 0 keeps the input.
    hue_shifted = factors[:, 3].flatten() != 0
    for position in range(4):
        for index, operation in enumerate(operations):
            chosen = order[:, position] == index
            if index == 3:
                chosen = chosen & hue_shifted
            images = _on_chosen(
                images,
                chosen,
                partial(_choose, images, chosen, factors[:, index], operation),
            )
    return images


def _choose(
    images: Tensor,
    chosen: Tensor,
    factor: Tensor,
    operation: Callable[[Tensor, Tensor], Tensor],
    rows: Tensor | slice,
) -> Tensor:
    """``operation`` of the chosen samples of ``images[rows]``, the others kept."""
    selected = images[rows]
    return torch.where(
        chosen[rows].view(-1, 1, 1, 1), operation(selected, factor[rows]), selected
    )


def _blend(images: Tensor, other: Tensor, ratio: Tensor) -> Tensor:
    return (images * ratio + other * (1 - ratio)).clamp(0, 1)


def _adjust_contrast(images: Tensor, factor: Tensor) -> Tensor:
    mean = _grayscale(images).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, mean, factor)


def _adjust_hue(images: Tensor, factor: Tensor) -> Tensor:
    """Shifts the hue (in turns) of ``(B, 3, H, W)`` images in [0, 1]."""
    red, green, blue = images[:, 0:1], images[:, 1:2], images[:, 2:3]
    value = images.amax(dim=1, keepdim=True)
    spread = value - images.amin(dim=1, keepdim=True)
    saturation = spread / _where(value > 0, value, 1.0)
    divisor = _where(spread > 0, spread, 1.0)
    # Hue in sixths of a turn, from whichever channel is the largest (red first).
    sixths = torch.where(
        value == red,
        (green - blue) / divisor,
        torch.where(
            value == green,
            2 + (blue - red) / divisor,
            4 + (red - green) / divisor,
        ),
    )
    sixths = 6 * torch.remainder(sixths / 6 + factor, 1.0)
    # HSV to RGB: channel n (5 red, 3 green, 1 blue) is
    # v - v s clamp(min(k, 4 - k), 0, 1) with k = (n + sixths) mod 6.
    channels = []
    for n in (5, 3, 1):
        k = torch.remainder(n + sixths, 6)
        ramp = torch.minimum(k, 4 - k).clamp(0, 1)
        channels.append(value - value * saturation * ramp)
    return torch.cat(channels, dim=1)


def _gaussian_blur(images: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Blurs each image with its own sigma; sigma 0 keeps the image.

    One grouped convolution per axis, each image channel its own group, with
    torchvision's kernel and reflect padding.
    """
    batch_size, channels, height, width = images.shape
    half = (kernel_size - 1) / 2
    offsets = torch.linspace(-half, half, kernel_size, device=images.device)
    safe_sigma = _where(sigma > 0, sigma, 1.0).to(torch.float32).view(-1, 1)
    kernel = torch.exp(-0.5 * (offsets / safe_sigma) ** 2)
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(
        channels, dim=0
    )
    groups = batch_size * channels
    pad = kernel_size // 2
    flat = images.reshape(1, groups, height, width)
    flat = F.pad(flat, (pad, pad, pad, pad), mode="reflect")
    flat = F.conv2d(flat, kernel.view(groups, 1, kernel_size, 1), groups=groups)
    flat = F.conv2d(flat, kernel.view(groups, 1, 1, kernel_size), groups=groups)
    blurred = flat.view(batch_size, channels, height, width)
    return torch.where(sigma.view(-1, 1, 1, 1) > 0, blurred, images)


def _jpeg(images: Tensor, quality: Tensor) -> Tensor:
    """Re-compresses each image with quality > 0 as JPEG, on the CPU.

    The only step that synchronises: it reads the qualities on the host and
    encodes the image rounded to uint8, one at a time.
    """
    views = list(images.unbind(0))
    for index, level in enumerate(quality.tolist()):
        if level > 0:
            pixels = (views[index] * 255).round().clamp(0, 255).to(torch.uint8)
            decoded = jpeg_round_trip(pixels, level)
            views[index] = decoded.to(images.device, torch.float32) / 255
    return torch.stack(views)


def _erase(images: Tensor, boxes: Tensor) -> Tensor:
    """Sets each image's box to 0; an empty box keeps the image."""
    _, _, height, width = images.shape
    top, left, h, w = (side.view(-1, 1, 1) for side in boxes.unbind(dim=1))
    rows = torch.arange(height, device=images.device).view(1, -1, 1)
    columns = torch.arange(width, device=images.device).view(1, 1, -1)
    inside = (rows >= top) & (rows < top + h) & (columns >= left) & (columns < left + w)
    return torch.where(inside.unsqueeze(1), images.new_zeros(()), images)
