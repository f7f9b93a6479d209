from dataclasses import replace

import numpy as np
import pytest

from lightly_byel.data.synthfaces.faces import (
    ACTION_UNITS,
    Pose,
    sample_identity,
)
from lightly_byel.data.synthfaces.render import render_face

NEUTRAL = dict.fromkeys(ACTION_UNITS, 0.0)
FRONT = Pose(yaw=0.0, pitch=0.0, roll=0.0, scale=1.0, shift_x=0.0, shift_y=0.0)


def draw(units: dict[int, float], domain: str = "clean", **pose: float) -> np.ndarray:
    identity = replace(
        sample_identity(np.random.default_rng(1)), beard=0, skin=(230, 190, 160)
    )
    image = render_face(
        identity,
        units,
        Pose(**{**FRONT.__dict__, **pose}),
        domain,  # type: ignore[arg-type]
        48,
        np.random.default_rng(2),
    )
    assert image.size == (48, 48) and image.mode == "RGB"
    return np.asarray(image, dtype=np.float64)


@pytest.mark.parametrize("au", ACTION_UNITS)
def test_every_action_unit_changes_the_face(au: int) -> None:
    assert np.abs(draw({**NEUTRAL, au: 1.0}) - draw(NEUTRAL)).sum() > 0


def test_jaw_drop_darkens_the_mouth_region() -> None:
    region = (slice(30, 44), slice(16, 32))
    neutral = draw(NEUTRAL)[region].mean()
    assert draw({**NEUTRAL, 26: 1.0})[region].mean() < neutral


def test_pose_moves_the_face() -> None:
    assert np.abs(draw(NEUTRAL, yaw=30.0) - draw(NEUTRAL)).mean() > 5
    assert np.abs(draw(NEUTRAL, roll=15.0) - draw(NEUTRAL)).mean() > 5


def test_shifted_domain_looks_different() -> None:
    assert np.abs(draw(NEUTRAL, "shifted") - draw(NEUTRAL)).mean() > 10
