import numpy as np
import pytest

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces.faces import (
    ACTION_UNITS,
    PROTOTYPES,
    Domain,
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
    draws = [sample_action_units(expression, rng) for _ in range(1000)]
    on = np.array([np.mean([d[au] for au in required]) for d in draws])
    off = np.mean([[d[au] for au in ACTION_UNITS if au not in required] for d in draws])
    assert on.mean() > 0.5 and off < 0.05
    assert all(0.0 <= v <= 1.0 for d in draws for v in d.values())
    # Most faces show their expression clearly; subtle ones are part of the data.
    assert (on >= 0.5).mean() > 0.75
    assert 0.03 < (on < 0.4).mean() < 0.2


def test_both_domains_share_the_expressions_but_not_the_pose() -> None:
    # The domain shift changes the look: intensities have one distribution, while
    # the shifted domain turns heads further and hides parts of faces.
    rng = np.random.default_rng(0)
    yaw_clean = np.std([sample_pose("clean", rng).yaw for _ in range(300)])
    yaw_shifted = np.std([sample_pose("shifted", rng).yaw for _ in range(300)])
    assert yaw_shifted > 1.5 * yaw_clean
    assert {sample_occluder("clean", rng) for _ in range(50)} == {"none"}
    shifted = [sample_occluder("shifted", rng) for _ in range(400)]
    assert set(shifted) == {"none", "hand", "object", "strands"}
    assert 0.15 < 1 - shifted.count("none") / len(shifted) < 0.35


def test_aligned_framing_undoes_roll_scale_and_position() -> None:
    rng = np.random.default_rng(0)
    domains: tuple[Domain, ...] = ("clean", "shifted")
    for domain in domains:
        aligned = [sample_pose(domain, rng, "aligned") for _ in range(300)]
        loose = [sample_pose(domain, rng, "loose") for _ in range(300)]
        for field in ("roll", "scale", "shift_x", "shift_y"):
            spread = {
                name: np.std([getattr(p, field) for p in poses])
                for name, poses in (("aligned", aligned), ("loose", loose))
            }
            assert spread["aligned"] < 0.7 * spread["loose"], (domain, field)


def test_identities_vary() -> None:
    people = [sample_identity(np.random.default_rng(k)) for k in range(100)]
    assert len({p.skin for p in people}) > 90
    assert {p.hair_style for p in people} == {0, 1, 2, 3, 4, 5}
    assert {p.glasses for p in people} == {0, 1, 2}
    assert {p.beard for p in people} == {0, 1, 2, 3, 4, 5}
    assert sample_identity(np.random.default_rng(3)) == people[3]


def test_unknown_expression() -> None:
    with pytest.raises(ValueError, match="CONTEMPT"):
        sample_action_units("CONTEMPT", np.random.default_rng(0))
