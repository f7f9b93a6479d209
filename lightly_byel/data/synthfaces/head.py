"""Drawing a head: face, eyes, brows, nose, mouth and folds, moved by action units.

Each action unit moves what it moves in a real face (FACS), strongly enough to be
seen at 48 px in an aligned crop:

- AU1/AU2 lift the inner/outer brow and crease the forehead; AU4 pulls the brows
  down and together and creases the glabella;
- AU5 opens the upper lid (white above the iris), AU6 lifts the cheeks and the lower
  lid (crescent eyes, crow's feet), AU7 tightens the lids;
- AU9 wrinkles the nose, lifts its wings and lowers the brows and lids;
- AU10 lifts the upper lip (upper teeth, a snarl), AU12 pulls the lip corners up and
  out, AU15 pulls them down, AU16 lowers the lower lip (lower teeth), AU20 stretches
  the lips sideways, AU23 presses them thin, AU26 drops the jaw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lightly_byel.data.synthfaces.faces import Color, Identity
from lightly_byel.data.synthfaces.hair import (
    draw_beard,
    draw_hair_back,
    draw_hair_front,
    draw_moustache,
)
from lightly_byel.data.synthfaces.painter import (
    EYE_DEPTH,
    EYE_X,
    EYE_Y,
    RING,
    Painter,
    band,
    curve,
    mix,
)

_S13 = np.linspace(-1.0, 1.0, 13)
_S9 = np.linspace(-1.0, 1.0, 9)
_SCLERA = (236, 234, 228)
_TEETH = (242, 240, 230)
_MOUTH = (62, 20, 26)
_BLACK = (0, 0, 0)


@dataclass(frozen=True)
class Look:
    """How a face's features are coloured, whatever their shape.

    Attributes:
        sclera: How far the white of the eye is mixed towards the skin.
        lines: Contrast of lashes, lid lines, wrinkles and folds (1 is full).
        lips: How far the lips are mixed towards the skin.
        blush: Strength of the cheeks' flush.
    """

    sclera: float
    lines: float
    lips: float
    blush: float


RENDERED = Look(sclera=0.3, lines=1.0, lips=0.0, blush=1.0)
"""The clean domain: flat colours and crisp lines, like a rendered face."""
PHOTO = Look(sclera=0.5, lines=0.65, lips=0.35, blush=0.0)
"""The shifted domain: the softer feature contrasts of a photographed face."""


def face_outline(identity: Identity, jaw_drop: float) -> np.ndarray:
    """The face's outline in face units; the jaw drops with ``jaw_drop``."""
    width = identity.face_width
    top = 1.25 * identity.face_height
    bottom = 1.2 * identity.face_height + jaw_drop
    c, s = RING[:, 0], RING[:, 1]
    # A squarer superellipse below the cheekbones for a wide jaw, an ellipse above.
    exponent = np.where(s > 0, 0.55 + 0.9 * identity.jaw_taper, 1.0)
    x = width * np.sign(c) * np.abs(c) ** exponent
    y = np.where(s > 0, bottom * s, top * s)
    return curve(x, y)


def _luma(color: Sequence[float]) -> float:
    return 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]


def _contrasting(color: Color, skin: Color, darkness: float) -> Color:
    """``color``, darkened until its luma is at most ``darkness`` of the skin's.

    Light brows on light skin keep their tint; dark skin needs near-black brows.
    """
    target = darkness * _luma(skin) - 8.0
    luma = _luma(color)
    if luma <= target:
        return color
    return mix(color, (8, 6, 6), (luma - target) / max(luma - 6.0, 1.0))


@dataclass(frozen=True)
class _Face:
    """What every part of one drawing needs: where, who, which expression, how."""

    p: Painter
    identity: Identity
    units: Mapping[int, float]
    look: Look

    @property
    def skin(self) -> Color:
        return self.identity.skin

    def shade(self, amount: float) -> Color:
        """The skin darkened by ``amount`` times the look's line contrast."""
        return mix(self.skin, _BLACK, amount * self.look.lines)

    def lines(
        self,
        segments: Sequence[np.ndarray],
        depth: float,
        strength: float,
        width: float = 0.02,
    ) -> None:
        """Wrinkles and folds: darker lines whose contrast follows ``strength``."""
        if strength < 0.08:
            return
        color = self.shade(0.45 * min(strength, 1.0))
        for segment in segments:
            self.p.line(segment, depth, color, width)


def _draw_eye(f: _Face, cx: float, gaze: float) -> float:
    """Draw one eye with its lids; return the lower lid's opening (face units)."""
    p, units, skin = f.p, f.units, f.skin
    size, cy = f.identity.eye_size, EYE_Y
    half = 0.21 * size
    # Brows pulled down (AU4 without AU1/AU2 lifting them) press on the upper lid:
    # the raised lid of anger is a glare, not the round eye of surprise.
    brow_down = units[4] * (1.0 - 0.7 * max(units[1], units[2]))
    upper = (
        0.1
        * size
        * f.identity.eye_openness
        * (
            1.0
            + 1.25 * units[5] * (1.0 - 0.75 * brow_down)
            - 0.35 * units[7]
            - 0.4 * units[6]
            - 0.25 * brow_down
            - 0.5 * units[9]
        )
    )
    lower = 0.055 * size * (1.0 - 0.6 * units[6] - 0.6 * units[7] + 0.4 * units[5])
    lower = max(lower - 0.02 * units[9], 0.006)
    upper = max(upper, 0.012)
    bend = 1.0 - _S9**2
    x = cx + half * _S9
    top = cy - upper * bend**0.8
    # Raised cheeks (AU6) push the lower lid up in the middle: smiling eyes.
    lift = 0.045 * size * units[6]
    bottom = np.maximum(cy + lower * bend**0.9 - lift * bend, top + 0.004)
    white = mix(_SCLERA, skin, f.look.sclera)
    p.polygon(band(x, top, bottom), EYE_DEPTH, white)
    radius = 0.09 * size
    ix = cx + gaze * half * 0.35
    p.ellipse(ix, cy + 0.012, radius, radius, EYE_DEPTH, f.identity.iris)
    p.ellipse(ix, cy + 0.012, 0.45 * radius, 0.45 * radius, EYE_DEPTH, (15, 12, 12))
    # The lids are skin drawn over the eyeball, so they cut the iris as real lids do.
    wide = cx + 1.25 * half * _S9
    wide_bend = np.clip(1.0 - (1.25 * _S9) ** 2, 0.0, None)
    lid_top = cy - upper * wide_bend**0.8
    lid = np.full(9, cy - upper - 0.14)
    p.polygon(band(wide, lid_top, lid), EYE_DEPTH, f.shade(0.06))
    lid_bottom = np.maximum(cy + lower * wide_bend**0.9 - lift * wide_bend, lid_top)
    cheek = np.full(9, cy + lower + 0.1)
    p.polygon(band(wide, lid_bottom, cheek), EYE_DEPTH, skin)
    lash = mix(skin, mix(f.identity.hair_color, _BLACK, 0.65), 0.4 + 0.6 * f.look.lines)
    p.line(curve(x, top), EYE_DEPTH, lash, 0.03)
    p.line(curve(x, bottom), EYE_DEPTH, f.shade(0.35), 0.012)
    crease = cy - upper - 0.045 * (1.0 - 0.5 * units[5])
    p.line(curve(x[1:-1], crease - 0.02 * bend[1:-1]), EYE_DEPTH, f.shade(0.3), 0.012)
    return lower


def _draw_brow(f: _Face, side: float, eye_x: float, brow_y: float) -> None:
    au1, au2, au4, au9 = (f.units[au] for au in (1, 2, 4, 9))
    half = 0.21 * f.identity.eye_size
    inner_x = eye_x - 1.15 * half - 0.09 * au4 - 0.03 * au9
    outer_x = eye_x + 1.35 * half
    # AU1 lifts the inner end against AU4's pull down, so AU1+4 gives the oblique
    # brow of sadness, AU1+2+4 the raised, straight, drawn-together brow of fear,
    # AU1+2 the high arch of surprise and AU4 alone the lowered V of anger.
    inner_y = (
        brow_y
        + 0.02
        - 0.22 * au1
        + 0.22 * au4 * (1.0 - 0.7 * au1)
        + 0.09 * au9
        - 0.05 * au2
    )
    mid_y = (
        brow_y
        - 0.04
        - 0.04 * f.identity.brow_arch
        - 0.07 * au1
        - 0.2 * au2 * (1.0 - 0.35 * au4)
        + 0.08 * au4
        + 0.06 * au9
    )
    outer_y = brow_y + 0.02 - 0.15 * au2 + 0.02 * au4 + 0.06 * au1 * (1.0 - au2)
    t = (_S9 + 1.0) / 2.0
    xs = (1 - t) ** 2 * inner_x + t * (1 - t) * (inner_x + outer_x) + t**2 * outer_x
    ys = (1 - t) ** 2 * inner_y + 2 * t * (1 - t) * mid_y + t**2 * outer_y
    thick = 0.1 * f.identity.brow_thickness * (1.0 - 0.45 * t)
    points = band(side * xs, ys - thick / 2, ys + thick / 2)
    f.p.polygon(points, 0.8, _contrasting(f.identity.brow_color, f.skin, 0.5))


@dataclass(frozen=True)
class _Mouth:
    """The lips' curves in face units, at the points ``x``."""

    x: np.ndarray
    line: np.ndarray
    inner_top: np.ndarray
    inner_bottom: np.ndarray
    top: np.ndarray
    bottom: np.ndarray


def _mouth_shape(f: _Face, mouth_y: float) -> _Mouth:
    identity = f.identity
    au10, au12, au15, au16 = (f.units[au] for au in (10, 12, 15, 16))
    au20, au23, au26 = (f.units[au] for au in (20, 23, 26))
    half = (
        0.32
        * identity.mouth_width
        * (
            1.0
            + 0.38 * au12
            + 0.42 * au20
            - 0.3 * au23
            + 0.05 * au15
            - 0.28 * au26 * (1.0 - au20)
        )
    )
    corner = -0.3 * au12 + 0.19 * au15 + 0.04 * au20 + 0.03 * au16
    # AU10 raises the upper lip more on one side: a snarl.
    snarl = 1.0 + 0.5 * _S13 * (1.0 if identity.brow_arch > 0.5 else -1.0)
    bend = 1.0 - _S13**2
    # A dropped jaw alone rounds the opening (surprise); stretched lips make it a
    # wide, flat slot (fear).
    roundness = 0.7 - 0.45 * au20
    upper_gap = 0.12 * au10 * snarl * bend**0.4 + 0.05 * au12 * bend**roundness
    jaw = 0.3 * au26 * (1.0 - 0.35 * au20) + 0.05 * au20 + 0.1 * au12
    lower_gap = jaw * bend**roundness + 0.1 * au16 * bend**0.6
    closed = max(0.15, 1.0 - 0.85 * au23 - 0.4 * au20)
    line = mouth_y + corner * _S13**2 - 0.03 * au10
    inner_top = line - upper_gap
    inner_bottom = line + lower_gap
    bow = 1.0 - 0.3 * np.exp(-((_S13 / 0.18) ** 2))
    return _Mouth(
        x=half * _S13,
        line=line,
        inner_top=inner_top,
        inner_bottom=inner_bottom,
        top=inner_top - 0.055 * identity.lip_upper * closed * bend**0.45 * bow,
        bottom=inner_bottom + 0.065 * identity.lip_lower * closed * bend**0.5,
    )


def _draw_mouth(f: _Face, m: _Mouth) -> None:
    p, x, depth = f.p, m.x, 0.85
    opening = float(np.max(m.inner_bottom - m.inner_top))
    if opening > 0.012:
        inside = band(x, m.inner_top, m.inner_bottom)
        p.polygon(inside, depth, _MOUTH)
        teeth = slice(2, -2)
        tx, top, bottom = x[teeth], m.inner_top[teeth], m.inner_bottom[teeth]
        upper_teeth = np.minimum(top + 0.055, bottom)
        p.polygon(
            band(tx, top, upper_teeth),
            depth,
            _TEETH,
        )
        lower_show = 0.05 * max(f.units[16], f.units[20], 0.6 * f.units[10])
        if lower_show > 0.008:
            lower_teeth = np.maximum(bottom - lower_show, upper_teeth)
            p.polygon(
                band(tx, lower_teeth, bottom),
                depth,
                _TEETH,
            )
    lip = mix(f.identity.lip_color, f.skin, f.look.lips)
    upper_lip = band(x, m.top, m.inner_top)
    p.polygon(upper_lip, depth, lip)
    lower_lip = band(x, m.inner_bottom, m.bottom)
    p.polygon(lower_lip, depth, mix(lip, (255, 255, 255), 0.08))
    if opening <= 0.012:
        dark = mix(lip, _BLACK, 0.5 + 0.3 * f.units[23])
        p.line(curve(x, (m.inner_top + m.inner_bottom) / 2), depth, dark, 0.02)


def _draw_nose(f: _Face, nose_y: float, nose_half: float, wing_y: float) -> None:
    p = f.p
    bridge = np.array([(-0.04, EYE_Y + 0.08), (-nose_half * 0.7, nose_y - 0.04)])
    p.line(bridge, 0.95, f.shade(0.1), 0.025)
    tip = mix(f.skin, (255, 255, 255), 0.07)
    p.ellipse(0.0, nose_y, nose_half * 0.55, 0.06, 1.05, tip)
    for side in (-1.0, 1.0):
        p.ellipse(side * nose_half * 0.8, wing_y, 0.055, 0.05, 0.9, f.shade(0.14))
        nostril = mix(f.skin, _BLACK, 0.6)
        p.ellipse(side * nose_half * 0.4, wing_y + 0.03, 0.04, 0.02, 1.0, nostril)
    # AU9's wrinkles across the bridge, and the lines it pulls from the eyes.
    wrinkles = [
        curve(0.1 * _S9, EYE_Y + dy + 0.02 * (1 - _S9**2)) for dy in (0.04, 0.1, 0.16)
    ]
    wrinkles += [
        np.array(
            [(side * 0.08, EYE_Y + 0.12), (side * (nose_half + 0.02), wing_y - 0.1)]
        )
        for side in (-1.0, 1.0)
    ]
    f.lines(wrinkles, 0.95, 1.6 * f.units[9], 0.022)


def _draw_face_folds(
    f: _Face, brow_y: float, eye_x: float, lowers: Sequence[float]
) -> None:
    """Forehead lines, glabella, crow's feet and the lower-lid bulge."""
    units, age = f.units, f.identity.age
    centre = [
        curve(0.3 * _S9, brow_y - offset - 0.04 * (1 - _S9**2) * units[1])
        for offset in (0.16, 0.25)
    ]
    across = [curve(0.5 * _S9, brow_y - offset) for offset in (0.2, 0.29, 0.38)]
    f.lines(centre, 0.8, 0.9 * units[1] + 0.4 * age)
    f.lines(across, 0.8, 0.9 * units[2] + 0.3 * age)
    frown = [
        np.array([(dx, brow_y - 0.02), (dx * 0.75, brow_y + 0.14)])
        for dx in (-0.06, 0.06)
    ]
    f.lines(frown, 0.85, 1.2 * units[4], 0.022)
    half = 0.21 * f.identity.eye_size
    for side, lower in zip((-1.0, 1.0), lowers, strict=True):
        cx = side * eye_x
        bulge = curve(cx + 0.8 * half * _S9, EYE_Y + lower + 0.08 + 0.02 * (1 - _S9**2))
        f.lines([bulge], 0.75, 0.9 * units[6] + 0.35 * age)
        corner_x = cx + side * (half + 0.03)
        feet = [
            np.array([(corner_x, EYE_Y), (corner_x + side * 0.1, EYE_Y + dy)])
            for dy in (-0.05, 0.0, 0.05)
        ]
        f.lines(feet, 0.6, 0.9 * units[6] + 0.3 * age)


def _draw_nasolabial_folds(
    f: _Face, nose_half: float, wing_y: float, m: _Mouth
) -> None:
    """The folds from the nose to the mouth corners, deepened by smiles and sneers."""
    units = f.units
    mouth_x, corner_y = float(m.x[-1]), float(m.line[-1])
    strength = max(
        0.1 + 0.3 * f.identity.age,
        0.9 * units[12],
        0.8 * units[10],
        0.8 * units[9],
        0.5 * units[6],
    )
    for side in (-1.0, 1.0):
        fold = np.array(
            [
                (side * (nose_half + 0.04), wing_y - 0.02),
                (side * (nose_half + 0.1), wing_y + 0.12),
                (side * (mouth_x + 0.05), corner_y + 0.07),
            ]
        )
        f.lines([fold], 0.8, strength, 0.024)


def _draw_glasses(p: Painter, identity: Identity, eye_x: float) -> None:
    squareness = 1.0 if identity.glasses == 1 else 0.35
    frame, w = identity.glasses_color, identity.face_width
    rx, ry = 0.21 * identity.eye_size + 0.07, 0.14
    for side in (-1.0, 1.0):
        p.outline(side * eye_x, EYE_Y + 0.02, rx, ry, 0.9, frame, 0.025, squareness)
        arm = np.array([(side * (eye_x + rx), EYE_Y), (side * 0.98 * w, EYE_Y - 0.02)])
        p.line(arm, 0.4, frame, 0.022)
    bridge = np.array([(-(eye_x - rx), EYE_Y - 0.01), (eye_x - rx, EYE_Y - 0.01)])
    p.line(bridge, 0.95, frame, 0.022)


def _draw_body(p: Painter, identity: Identity) -> None:
    """Neck, shoulders and ears: what frames the face."""
    w, shade = identity.face_width, mix(identity.skin, _BLACK, 0.12)
    neck = np.array(
        [(-0.42 * w, 0.5), (0.42 * w, 0.5), (0.48 * w, 2.0), (-0.48 * w, 2.0)]
    )
    p.polygon(neck, -0.2, shade)
    shoulders = np.array(
        [
            (-2.5, 3.0),
            (-2.5, 1.95),
            (-1.2, 1.6),
            (-0.45, 1.55),
            (0.0, 1.75),
            (0.45, 1.55),
            (1.2, 1.6),
            (2.5, 1.95),
            (2.5, 3.0),
        ]
    )
    p.polygon(shoulders, -0.2, identity.clothes)
    for side in (-1.0, 1.0):
        p.ellipse(side * 0.97 * w, EYE_Y + 0.25, 0.12, 0.24, -0.1, shade)


def draw_head(
    p: Painter,
    identity: Identity,
    units: Mapping[int, float],
    gaze: float,
    look: Look = RENDERED,
) -> None:
    """Draw a whole head with the expression of ``units``.

    Args:
        p: The painter, which places face units in the image.
        identity: Who is shown.
        units: Action-unit intensities in [0, 1].
        gaze: Horizontal gaze from -1 (left) to 1 (right).
        look: How the features are coloured.
    """
    f = _Face(p, identity, units, look)
    skin = identity.skin
    jaw_drop = 0.2 * units[26] + 0.05 * units[16]
    eye_x = EYE_X * identity.eye_spacing
    brow_y = EYE_Y - 0.3 * identity.brow_height
    nose_y = 0.2 + 0.15 * identity.nose_length
    mouth_y = nose_y + 0.32 + 0.25 * jaw_drop
    draw_hair_back(p, identity)
    _draw_body(p, identity)
    outline = face_outline(identity, jaw_drop)
    # Soft shading: the skin darkens a little towards the face's edge and jaw.
    p.polygon(outline, 0.0, mix(skin, _BLACK, 0.1))
    p.polygon(outline * 0.96 + (0.0, -0.02), 0.0, mix(skin, _BLACK, 0.05))
    p.polygon(outline * 0.9 + (0.0, -0.05), 0.0, skin)
    if look.blush:
        cheek = mix(skin, (220, 90, 90), (0.1 + 0.15 * units[6]) * look.blush)
        for side in (-1.0, 1.0):
            cy = EYE_Y + 0.34 - 0.08 * units[6]
            p.ellipse(side * (eye_x + 0.05), cy, 0.18, 0.1, 0.7, cheek)

    lowers = [_draw_eye(f, side * eye_x, gaze) for side in (-1.0, 1.0)]
    _draw_face_folds(f, brow_y, eye_x, lowers)
    for side in (-1.0, 1.0):
        _draw_brow(f, side, eye_x, brow_y)

    nose_half = 0.11 * identity.nose_width * (1.0 + 0.2 * units[9] + 0.1 * units[10])
    wing_y = nose_y - 0.05 * units[9] - 0.025 * units[10]
    mouth = _mouth_shape(f, mouth_y)
    _draw_nasolabial_folds(f, nose_half, wing_y, mouth)
    if identity.beard in (1, 3, 4, 5):
        mouth_x = float(mouth.x[-1])
        draw_beard(p, identity, outline, mouth_x, float(mouth.bottom[6]), nose_y)
    _draw_nose(f, nose_y, nose_half, wing_y)
    if identity.beard >= 2:
        draw_moustache(p, identity, mouth.x, mouth.top)
    _draw_mouth(f, mouth)
    if identity.glasses:
        _draw_glasses(p, identity, eye_x)
    draw_hair_front(p, identity, brow_y)
