"""The settings of a BYEL view augmentation, defined, documented and checked once."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from lightly.transforms.utils import IMAGENET_NORMALIZE

if TYPE_CHECKING:
    # Python 3.7's typing has neither; the annotations using them are never
    # evaluated (see the __future__ import), so typing_extensions is not needed at
    # run time.
    from typing_extensions import Concatenate, ParamSpec  # noqa: UP035

    _Arguments = ParamSpec("_Arguments")

_Settings = TypeVar("_Settings")
_Self = TypeVar("_Self")


@dataclass(frozen=True)
class BYELViewSettings:
    """Settings of one augmented view for BYEL [0], checked when built.

    The defaults are the published BYEL recipe: random resized crop, horizontal
    flip, color jitter (0.8, 0.8, 0.8, 0.2) with probability 0.3, grayscale with
    probability 0.2, a 3x3 Gaussian blur with sigma in [1, 2] with probability
    0.2, and ImageNet normalisation. The options off by default (rotation, JPEG,
    noise, erasing) and a larger ``min_scale`` narrow the gap between synthetic
    training faces and real test faces. The names are Lightly's.

    :class:`~lightly_byel.transforms.byel_transform.BYELViewTransform` (per sample)
    and :class:`~lightly_byel.transforms.batch_transform.BYELBatchViewTransform`
    (per batch) take these as their keyword arguments and keep them as
    ``.settings``.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Attributes:
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
            or ``None`` for views in [0, 1]; Lightly's ``IMAGENET_NORMALIZE`` by
            default.

    Raises:
        ValueError: If a setting is out of its range.

    Examples:
        >>> settings = BYELViewSettings(input_size=64, min_scale=0.4, rr_prob=0.5)
        >>> settings.rotation_range, settings.jitter_strengths
        ((-15.0, 15.0), (0.8, 0.8, 0.8, 0.2))
        >>> BYELViewSettings(cj_prob=1.5)
        Traceback (most recent call last):
        ...
        ValueError: cj_prob must lie in [0.0, 1.0], got 1.5.
    """

    input_size: int = 128
    cj_prob: float = 0.3
    cj_strength: float = 1.0
    cj_bright: float = 0.8
    cj_contrast: float = 0.8
    cj_sat: float = 0.8
    cj_hue: float = 0.2
    min_scale: float = 0.08
    random_gray_scale: float = 0.2
    gaussian_blur: float = 0.2
    kernel_size: int = 3
    sigmas: tuple[float, float] = (1.0, 2.0)
    hf_prob: float = 0.5
    rr_prob: float = 0.0
    rr_degrees: float | tuple[float, float] = 15.0
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (30, 90)
    noise_prob: float = 0.0
    noise_sigma: float = 0.05
    erase_prob: float = 0.0
    erase_scale: tuple[float, float] = (0.02, 0.15)
    normalize: dict[str, list[float]] | None = field(
        default_factory=IMAGENET_NORMALIZE.copy
    )

    def __post_init__(self) -> None:
        _check_positive_int("input_size", self.input_size)
        for name in (
            "cj_prob",
            "random_gray_scale",
            "gaussian_blur",
            "hf_prob",
            "rr_prob",
            "jpeg_prob",
            "noise_prob",
            "erase_prob",
        ):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        _check_range("min_scale", self.min_scale, 0.0, 1.0, low_open=True)
        _check_interval("sigmas", self.sigmas, 0.0, math.inf, low_open=True)
        _check_interval("jpeg_quality", self.jpeg_quality, 1, 100)
        _check_interval("erase_scale", self.erase_scale, 0.0, 1.0, low_open=True)
        _check_range("noise_sigma", self.noise_sigma, 0.0, math.inf)
        _check_range("cj_strength", self.cj_strength, 0.0, math.inf)
        for name in ("cj_bright", "cj_contrast", "cj_sat"):
            _check_range(name, getattr(self, name), 0.0, math.inf)
        _check_range("cj_hue", self.cj_strength * self.cj_hue, 0.0, 0.5)
        _degree_range(self.rr_degrees)
        _check_positive_int("kernel_size", self.kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}.")

    @property
    def jitter_strengths(self) -> tuple[float, float, float, float]:
        """Brightness, contrast, saturation and hue jitter, times ``cj_strength``."""
        strength = self.cj_strength
        return (
            strength * self.cj_bright,
            strength * self.cj_contrast,
            strength * self.cj_sat,
            strength * self.cj_hue,
        )

    @property
    def rotation_range(self) -> tuple[float, float]:
        """``rr_degrees`` as a ``(min, max)`` range of counter-clockwise degrees."""
        return _degree_range(self.rr_degrees)


def takes_arguments_of(
    settings_type: Callable[_Arguments, _Settings],
) -> Callable[
    [Callable[[_Self, _Settings], None]], Callable[Concatenate[_Self, _Arguments], None]
]:
    """Lets an ``__init__(self, settings)`` take the arguments of the settings.

    The decorated ``__init__`` receives ``settings_type(*args, **kwargs)``, so a
    class built from settings has their signature, for type checkers and
    ``inspect.signature`` alike, without writing it again.

    Args:
        settings_type: The settings class, e.g. :class:`BYELViewSettings`.

    Returns:
        The decorator.

    Examples:
        >>> class Crop:
        ...     @takes_arguments_of(BYELViewSettings)
        ...     def __init__(self, settings: BYELViewSettings) -> None:
        ...         self.size = settings.input_size
        >>> Crop(input_size=64).size
        64
        >>> str(inspect.signature(Crop)).startswith("(input_size: 'int' = 128,")
        True
    """
    source = inspect.signature(settings_type)
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    signature = source.replace(
        parameters=[self_parameter, *source.parameters.values()],
        return_annotation=None,
    )

    def decorator(
        init: Callable[[_Self, _Settings], None],
    ) -> Callable[Concatenate[_Self, _Arguments], None]:
        # Positional-only by its leading "__" (for type checkers) and __signature__
        # (for inspect): the "/" marker needs Python 3.8.
        @functools.wraps(init)
        def wrapper(
            __self: _Self, *args: _Arguments.args, **kwargs: _Arguments.kwargs
        ) -> None:
            init(__self, settings_type(*args, **kwargs))

        wrapper.__signature__ = signature  # type: ignore[attr-defined]
        return wrapper

    return decorator


def _degree_range(degrees: float | tuple[float, float]) -> tuple[float, float]:
    """Checks ``rr_degrees`` and returns it as a ``(min, max)`` range."""
    if isinstance(degrees, (tuple, list)):
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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not in_range:
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
