from __future__ import annotations

import pytest
import torch

from lightly_byel.transforms.image_range import check_image_dtype, check_image_range


@pytest.mark.parametrize(
    "images",
    [
        torch.zeros(3, 4, 4, dtype=torch.uint8),
        torch.full((2, 3, 4, 4), 255, dtype=torch.uint8),
        torch.rand(3, 4, 4),
        torch.tensor([0.0, 1.0], dtype=torch.float64),
        torch.ones(1, 4, 4, dtype=torch.bfloat16),
    ],
)
def test_uint8_and_unit_floats_pass(images: torch.Tensor) -> None:
    check_image_dtype(images)
    check_image_range(images)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.zeros(3, 4, 4, dtype=torch.int64), "int64 image tensor; expected"),
        (torch.zeros(3, 4, 4, dtype=torch.bool), "bool image tensor; expected"),
        (torch.zeros(0, 3, 4, 4), r"empty image tensor of shape \(0, 3, 4, 4\)"),
    ],
)
def test_dtype_and_emptiness_are_checked_without_values(
    images: torch.Tensor, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_image_dtype(images)
    with pytest.raises(ValueError, match=message):
        check_image_range(images)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.full((3, 4, 4), 200.0), r"from 200\.0 to 200\.0; .* \(divide by 255\)"),
        (torch.full((3, 4, 4), -0.5), r"from -0\.5 to -0\.5; expected uint8, or"),
        (torch.full((3, 4, 4), float("inf")), r"to inf; expected uint8, or"),
        (torch.tensor([0.5, float("nan")]), "holding NaN"),
    ],
)
def test_values_outside_the_unit_range_are_refused(
    images: torch.Tensor, message: str
) -> None:
    check_image_dtype(images)  # the dtype alone is fine
    with pytest.raises(ValueError, match=message):
        check_image_range(images)
