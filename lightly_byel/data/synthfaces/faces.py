"""What a procedural face is made of: identities, FACS action units and pose.

Everything here is sampled from an explicit ``numpy.random.Generator``, so a face is a
pure function of the seed it was drawn from. Lengths are in face units: the face is
about 2 units wide and centred on the origin, with y pointing down (image convention).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lightly_byel.data.classes import LSD_CLASSES

Domain = Literal["clean", "shifted"]
"""``"clean"``: the rendered training look; ``"shifted"``: the photo-like stand-in."""

Framing = Literal["aligned", "loose"]
"""``"aligned"``: a face crop like LSD and Aff-Wild2 ``cropped_aligned`` (the face
fills the frame, the eyes at a fixed height); ``"loose"``: a head-and-shoulders
shot with the head anywhere near the centre."""

FRAMINGS: tuple[Framing, ...] = ("aligned", "loose")

Occluder = Literal["none", "hand", "object", "strands"]
"""What covers part of a face in the shifted domain."""

ACTION_UNITS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 15, 16, 20, 23, 26)
"""FACS action units the renderer draws, in metadata column order."""

PROTOTYPES: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "ANGER": ((4, 5, 7, 23), ()),
    "DISGUST": ((9, 10, 15), (16,)),
    "FEAR": ((1, 2, 4, 5, 7, 20, 26), ()),
    "HAPPINESS": ((6, 12), ()),
    "SADNESS": ((1, 4, 15), ()),
    "SURPRISE": ((1, 2, 5, 26), ()),
}
"""Per class: the prototype's action units, and optional ones (active half the time)."""

_SKIN_RAMP = np.array(
    [(247, 222, 200), (234, 192, 160), (200, 150, 112), (150, 100, 68), (88, 58, 42)],
    dtype=np.float64,
)
_HAIR_COLORS = np.array(
    [(25, 20, 18), (60, 40, 28), (110, 72, 40), (170, 120, 70), (215, 180, 120)],
    dtype=np.float64,
)
_IRIS_COLORS = np.array(
    [(60, 40, 25), (95, 65, 35), (70, 110, 150), (80, 120, 80), (110, 110, 120)],
    dtype=np.float64,
)

Color = tuple[int, int, int]


def _color(rgb: np.ndarray) -> Color:
    r, g, b = np.clip(np.rint(rgb), 0, 255).astype(int).tolist()
    return (r, g, b)


def _ramp(ramp: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation along colour stops, ``t`` in [0, 1]."""
    position = t * (len(ramp) - 1)
    low = min(int(position), len(ramp) - 2)
    frac = position - low
    result: np.ndarray = ramp[low] * (1.0 - frac) + ramp[low + 1] * frac
    return result


@dataclass(frozen=True)
class Identity:
    """The appearance of one person, fixed across all of their images.

    Sizes are relative factors around 1 unless stated; colours are RGB.

    Examples:
        >>> import numpy as np
        >>> person = sample_identity(np.random.default_rng(0))
        >>> 0.0 <= person.age <= 1.0
        True
    """

    face_width: float
    face_height: float
    jaw_taper: float
    skin: Color
    eye_spacing: float
    eye_size: float
    eye_openness: float
    iris: Color
    brow_height: float
    brow_thickness: float
    brow_arch: float
    brow_color: Color
    nose_length: float
    nose_width: float
    mouth_width: float
    lip_upper: float
    lip_lower: float
    lip_color: Color
    hair_style: int
    """0 bald, 1 short crop, 2 side part, 3 long, 4 receding with sides, 5 curly."""
    hair_color: Color
    fringe: float
    glasses: int
    """0 none, 1 round frames, 2 rectangular frames."""
    glasses_color: Color
    beard: int
    """0 none, 1 stubble, 2 moustache, 3 full beard, 4 goatee, 5 chin strap."""
    age: float
    """0 young to 1 old: wrinkles, grey hair, eye bags."""
    clothes: Color


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a random identity.

    Args:
        rng: Source of randomness; the identity is a function of its state.

    Returns:
        A new identity.
    """
    u = rng.random(40)
    age = float(u[0] ** 1.5)
    skin_t = float(u[1])
    skin = _ramp(_SKIN_RAMP, skin_t) * (1 + 0.06 * (u[2:5] - 0.5))
    hair = _ramp(_HAIR_COLORS, float(u[5] ** (1.0 + 2.0 * skin_t)))
    grey = max(0.0, age - 0.45) * 1.6
    hair = hair * (1 - grey) + np.array([190.0, 190.0, 185.0]) * grey
    lip = skin * np.array([0.82, 0.58, 0.58]) + np.array([30.0, 0.0, 0.0])
    beard = int(rng.choice(6, p=(0.6, 0.13, 0.08, 0.1, 0.05, 0.04)))
    return Identity(
        face_width=0.86 + 0.24 * float(u[6]),
        face_height=0.9 + 0.22 * float(u[7]),
        jaw_taper=0.1 + 0.45 * float(u[8]),
        skin=_color(skin),
        eye_spacing=0.88 + 0.24 * float(u[9]),
        eye_size=0.8 + 0.4 * float(u[10]),
        eye_openness=0.75 + 0.45 * float(u[11]),
        iris=_color(_IRIS_COLORS[int(u[12] * len(_IRIS_COLORS))] * (1 - 0.5 * skin_t)),
        brow_height=0.85 + 0.3 * float(u[13]),
        brow_thickness=0.8 + 0.6 * float(u[14]),
        brow_arch=float(u[15]),
        brow_color=_color(hair * 0.55),
        nose_length=0.8 + 0.4 * float(u[16]),
        nose_width=0.75 + 0.55 * float(u[17]),
        mouth_width=0.8 + 0.4 * float(u[18]),
        lip_upper=(0.6 + 0.8 * float(u[19])) * (1 - 0.3 * age),
        lip_lower=(0.7 + 0.8 * float(u[20])) * (1 - 0.3 * age),
        lip_color=_color(lip * (0.9 + 0.2 * u[21:24])),
        hair_style=int(rng.choice(6, p=(0.08, 0.26, 0.2, 0.24, 0.08, 0.14))),
        hair_color=_color(hair),
        fringe=float(u[24]),
        glasses=int(rng.choice(3, p=(0.8, 0.1, 0.1))),
        glasses_color=_color(np.array([20.0, 20.0, 25.0]) + 160.0 * u[25:28] ** 3),
        beard=beard,
        age=age,
        clothes=_color(40.0 + 190.0 * u[28:31]),
    )


def sample_action_units(expression: str, rng: np.random.Generator) -> dict[int, float]:
    """Draw action-unit intensities in [0, 1] for one image of an expression.

    One overall intensity (a Beta draw: mostly clear, sometimes subtle) scales the
    prototype's units, each jittered; other units get a weak random background
    activation so that no single unit gives a class away. Both domains draw from
    the same distribution: the domain shift changes the look, not the expression.

    Args:
        expression: One of ``LSD_CLASSES``.
        rng: Source of randomness.

    Returns:
        Intensity per unit of ``ACTION_UNITS``.

    Raises:
        ValueError: If the expression is unknown.

    Examples:
        >>> import numpy as np
        >>> aus = sample_action_units("HAPPINESS", np.random.default_rng(0))
        >>> aus[12] > 0.1
        True
    """
    if expression not in PROTOTYPES:
        raise ValueError(f"expression must be one of {LSD_CLASSES}, got {expression!r}")
    required, optional = PROTOTYPES[expression]
    overall = 0.2 + 0.8 * rng.beta(2.2, 1.3)
    active = set(required) | {au for au in optional if rng.random() < 0.5}
    jitter = rng.uniform(0.75, 1.15, len(ACTION_UNITS))
    idle = rng.random(len(ACTION_UNITS))
    idle_level = rng.uniform(0.0, 0.2, len(ACTION_UNITS))
    units: dict[int, float] = {}
    for k, au in enumerate(ACTION_UNITS):
        if au in active:
            units[au] = float(min(1.0, overall * jitter[k]))
        else:
            units[au] = float(idle_level[k]) if idle[k] < 0.2 else 0.0
    return units


@dataclass(frozen=True)
class Pose:
    """Head pose and framing of one image.

    Angles are in degrees (yaw positive turns the face to the image's right);
    ``scale`` multiplies the face size; shifts are fractions of the image size
    (from the eye midpoint's fixed place in aligned framing, from the image centre
    in loose framing).
    """

    yaw: float
    pitch: float
    roll: float
    scale: float
    shift_x: float
    shift_y: float


def sample_pose(
    domain: Domain, rng: np.random.Generator, framing: Framing = "aligned"
) -> Pose:
    """Draw a head pose; the shifted domain has a wider range.

    Aligned crops have undone most roll, scale and position, as a face aligner
    does; what remains is the head's turn (yaw and pitch) and small residuals.

    Args:
        domain: ``"clean"`` or ``"shifted"``.
        rng: Source of randomness.
        framing: ``"aligned"`` or ``"loose"``.

    Returns:
        A pose.

    Examples:
        >>> import numpy as np
        >>> abs(sample_pose("clean", np.random.default_rng(0)).yaw) <= 18
        True
    """
    wide = domain == "shifted"
    if framing == "aligned":
        yaw_limit, yaw_sd = (32.0, 13.0) if wide else (18.0, 7.0)
        pitch_sd, roll_sd = (7.0, 4.0) if wide else (4.0, 2.0)
        low, high = (0.92, 1.08) if wide else (0.96, 1.04)
        shift = 0.03 if wide else 0.015
    else:
        yaw_limit, yaw_sd = (40.0, 18.0) if wide else (20.0, 8.0)
        pitch_sd = roll_sd = 8.0 if wide else 4.0
        low, high = (0.82, 1.15) if wide else (0.93, 1.07)
        shift = 0.07 if wide else 0.03
    return Pose(
        yaw=float(np.clip(rng.normal(0.0, yaw_sd), -yaw_limit, yaw_limit)),
        pitch=float(np.clip(rng.normal(0.0, pitch_sd), -2 * pitch_sd, 2 * pitch_sd)),
        roll=float(np.clip(rng.normal(0.0, roll_sd), -2 * roll_sd, 2 * roll_sd)),
        scale=float(rng.uniform(low, high)),
        shift_x=float(rng.uniform(-shift, shift)),
        shift_y=float(rng.uniform(-shift, shift)),
    )


def sample_occluder(domain: Domain, rng: np.random.Generator) -> Occluder:
    """Draw an occluder: none in the clean domain, one in four shifted images.

    Args:
        domain: ``"clean"`` or ``"shifted"``.
        rng: Source of randomness.

    Returns:
        The occluder's kind.

    Examples:
        >>> import numpy as np
        >>> sample_occluder("clean", np.random.default_rng(0))
        'none'
    """
    if domain == "clean" or rng.random() >= 0.25:
        return "none"
    kinds: tuple[Occluder, ...] = ("hand", "object", "strands")
    return kinds[int(rng.integers(len(kinds)))]
