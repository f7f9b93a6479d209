import numpy as np
import pytest

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces.faces import (
    ACTION_UNITS,
    PROTOTYPES,
    sample_action_units,
    sample_identity,
    sample_occluder,
    sample_pose,
)


def test_prototypes_cover_the_classes_with_drawn_units() -> None:
    assert sorted(PROTOTYPES) == sorted(LSD_CLASSES)
    assert PROTOTYPES["HAPPINESS"][0] == (6, 12)
    assert PROTOTYPES["FEAR"][0] == (1, 2, 4, 5, 7, 20, 26)
    for required, optional in PROTOTYPES.values():
        assert set(required) | set(optional) <= set(ACTION_UNITS)


@pytest.mark.parametrize("expression", LSD_CLASSES)
def test_prototype_units_dominate(expression: str) -> None:
    rng = np.random.default_rng(0)
    required = PROTOTYPES[expression][0]
    draws = [sample_action_units(expression, "clean", rng) for _ in range(200)]
    on = np.mean([[d[au] for au in required] for d in draws])
    off = np.mean([[d[au] for au in ACTION_UNITS if au not in required] for d in draws])
    assert on > 0.4 > 0.1 > off
    assert all(0.0 <= v <= 1.0 for d in draws for v in d.values())
    # Subtle expressions are part of the data.
    assert min(max(d[au] for au in required) for d in draws) < 0.3


def test_shifted_domain_is_weaker_and_wider() -> None:
    rng = np.random.default_rng(0)
    clean = np.mean(
        [sample_action_units("SURPRISE", "clean", rng)[26] for _ in range(300)]
    )
    shifted = np.mean(
        [sample_action_units("SURPRISE", "shifted", rng)[26] for _ in range(300)]
    )
    assert shifted < clean
    yaw_clean = np.std([sample_pose("clean", rng).yaw for _ in range(300)])
    yaw_shifted = np.std([sample_pose("shifted", rng).yaw for _ in range(300)])
    assert yaw_shifted > 1.5 * yaw_clean
    assert {sample_occluder("clean", rng) for _ in range(50)} == {"none"}
    assert len({sample_occluder("shifted", rng) for _ in range(200)}) == 4


def test_identities_vary() -> None:
    people = [sample_identity(np.random.default_rng(k)) for k in range(100)]
    assert len({p.skin for p in people}) > 90
    assert {p.hair_style for p in people} == {0, 1, 2, 3, 4, 5}
    assert {p.glasses for p in people} == {0, 1, 2}
    assert {p.beard for p in people} == {0, 1, 2, 3, 4, 5}
    assert sample_identity(np.random.default_rng(3)) == people[3]


def test_unknown_expression() -> None:
    with pytest.raises(ValueError, match="CONTEMPT"):
        sample_action_units("CONTEMPT", "clean", np.random.default_rng(0))
