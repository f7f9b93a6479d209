from dataclasses import replace

import numpy as np
import pytest

from lightly_byel.data.synthfaces.faces import (
    ACTION_UNITS,
    PROTOTYPES,
    Domain,
    Framing,
    Pose,
    sample_identity,
)
from lightly_byel.data.synthfaces.render import render_face

NEUTRAL = dict.fromkeys(ACTION_UNITS, 0.0)
FRONT = Pose(yaw=0.0, pitch=0.0, roll=0.0, scale=1.0, shift_x=0.0, shift_y=0.0)
UPPER_FACE, LOWER_FACE = slice(8, 24), slice(28, 44)


def prototype(expression: str, level: float = 0.8) -> dict[int, float]:
    return {**NEUTRAL, **dict.fromkeys(PROTOTYPES[expression][0], level)}


def draw(
    units: dict[int, float],
    domain: Domain = "clean",
    framing: Framing = "aligned",
    person: int = 1,
    **pose: float,
) -> np.ndarray:
    identity = replace(
        sample_identity(np.random.default_rng(person)), beard=0, skin=(230, 190, 160)
    )
    image = render_face(
        identity,
        units,
        replace(FRONT, **pose),
        domain,
        48,
        np.random.default_rng(2),
        framing=framing,
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


def test_anger_differs_from_a_neutral_face_in_brows_and_eyes() -> None:
    changes = [
        np.abs(draw(prototype("ANGER"), person=k) - draw(NEUTRAL, person=k))[
            UPPER_FACE
        ].mean()
        for k in range(6)
    ]
    assert min(changes) > 3.0 and np.mean(changes) > 7.0


def test_fear_differs_from_disgust_above_and_below_the_nose() -> None:
    for k in range(6):
        difference = np.abs(
            draw(prototype("FEAR"), person=k) - draw(prototype("DISGUST"), person=k)
        )
        assert difference[UPPER_FACE].mean() > 6.0, k
        assert difference[LOWER_FACE].mean() > 6.0, k


def test_pose_moves_the_face() -> None:
    assert np.abs(draw(NEUTRAL, yaw=30.0) - draw(NEUTRAL)).mean() > 5
    assert np.abs(draw(NEUTRAL, roll=15.0) - draw(NEUTRAL)).mean() > 5


def test_aligned_faces_fill_more_of_the_frame_than_loose_ones() -> None:
    # The flat clean background shows where the head is not.
    def background_share(framing: Framing) -> float:
        image = draw(NEUTRAL, framing=framing)
        corner = image[0, 0]
        return float((np.abs(image - corner).sum(axis=2) < 6).mean())

    assert background_share("aligned") < 0.5 * background_share("loose")


def test_shifted_domain_looks_different() -> None:
    assert np.abs(draw(NEUTRAL, "shifted") - draw(NEUTRAL)).mean() > 10
