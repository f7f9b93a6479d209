"""Drawing a face from an identity, action units and a pose, in one of two looks.

Shapes are built in face units (see ``faces``), posed by a small 3D-ish projection
(each shape has a depth, so yaw moves the nose more than the face outline) and drawn
with ``PIL.ImageDraw`` at twice the output size, then reduced for antialiasing. The
``"shifted"`` domain adds a cluttered background, occluders and camera effects.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lightly_byel.data.synthfaces.faces import Color, Domain, Identity, Occluder, Pose

_SUPERSAMPLE = 2
_THETA = np.linspace(0.0, 2.0 * np.pi, 28, endpoint=False)
_RING = np.stack([np.cos(_THETA), np.sin(_THETA)], axis=1)
_S13 = np.linspace(-1.0, 1.0, 13)
_S9 = np.linspace(-1.0, 1.0, 9)
_ARC = np.linspace(np.pi, 2.0 * np.pi, 12)
_SCLERA = (236, 234, 228)
_TEETH = (240, 238, 226)
_MOUTH = (70, 24, 30)
# A channel mean as a matrix product, several times faster than ``mean(axis=2)``.
_THIRDS = np.full((3, 1), 1.0 / 3.0, dtype=np.float32)


def _mix(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, t: float
) -> Color:
    t = min(1.0, max(0.0, t))
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


class _Painter:
    """Projects face-unit shapes into the canvas and draws them."""

    def __init__(self, image: Image.Image, pose: Pose) -> None:
        size = image.width
        self.draw = ImageDraw.Draw(image)
        self.unit = 0.33 * size * pose.scale
        yaw, pitch, roll = (math.radians(a) for a in (pose.yaw, pose.pitch, pose.roll))
        c, s = math.cos(roll) * self.unit, math.sin(roll) * self.unit
        rotation = np.array([[c, s], [-s, c]])
        # Turning the head foreshortens x (yaw) and y (pitch) and moves each shape
        # sideways in proportion to its depth, so the nose moves more than the ears.
        self.matrix = np.diag([math.cos(yaw), math.cos(pitch)]) @ rotation
        self.depth_shift = np.array([math.sin(yaw), -math.sin(pitch)]) @ rotation
        self.offset = np.array(
            [size * (0.5 + pose.shift_x), size * (0.5 + pose.shift_y)]
        )

    def project(self, points: np.ndarray, depth: float) -> list[float]:
        xy = points @ self.matrix + (self.offset + depth * self.depth_shift)
        flat: list[float] = xy.ravel().tolist()
        return flat

    def width(self, units: float) -> int:
        return max(1, round(units * self.unit))

    def polygon(self, points: np.ndarray, depth: float, fill: Color) -> None:
        self.draw.polygon(self.project(points, depth), fill=fill)

    def line(self, points: np.ndarray, depth: float, fill: Color, width: float) -> None:
        self.draw.line(
            self.project(points, depth),
            fill=fill,
            width=self.width(width),
            joint="curve",
        )

    def ellipse(
        self, cx: float, cy: float, rx: float, ry: float, depth: float, fill: Color
    ) -> None:
        self.polygon(_RING * (rx, ry) + (cx, cy), depth, fill)

    def outline(
        self,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        depth: float,
        fill: Color,
        width: float,
        squareness: float = 1.0,
    ) -> None:
        ring = np.sign(_RING) * np.abs(_RING) ** squareness * (rx, ry) + (cx, cy)
        self.line(np.vstack([ring, ring[:2]]), depth, fill, width)


def _curve(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    points = np.empty((len(xs), 2))
    points[:, 0] = xs
    points[:, 1] = ys
    return points


def _face_outline(identity: Identity, jaw_drop: float) -> np.ndarray:
    width = identity.face_width
    top = 1.25 * identity.face_height
    bottom = 1.2 * identity.face_height + jaw_drop
    c, s = _RING[:, 0], _RING[:, 1]
    # A squarer superellipse below the cheekbones for a wide jaw, an ellipse above.
    exponent = np.where(s > 0, 0.55 + 0.45 * identity.jaw_taper * 2, 1.0)
    x = width * np.sign(c) * np.abs(c) ** exponent
    y = np.where(s > 0, bottom * s, top * s)
    return _curve(x, y)


def _skull(w: float, top: float, grow: float, theta: np.ndarray) -> np.ndarray:
    """Points of the upper head outline, ``grow`` face units outside it."""
    return _curve((w + grow) * np.cos(theta), (top + 1.4 * grow) * np.sin(theta))


def _draw_hair_back(p: _Painter, identity: Identity) -> None:
    """Hair volume behind the head: its silhouette around the face."""
    w, top = identity.face_width, 1.25 * identity.face_height
    hair, style = identity.hair_color, identity.hair_style
    if style in (1, 2):
        volume = 0.06 if style == 1 else 0.12
        theta = np.linspace(np.pi - 0.2, 2.0 * np.pi + 0.2, 16)
        p.polygon(_skull(w, top, volume, theta), -0.5, hair)
    elif style == 3:
        crown = _skull(w, top, 0.12, np.linspace(np.pi, 2.0 * np.pi, 14))
        sway = 0.08 * (identity.fringe - 0.5)
        right = np.array(
            [(w + 0.16, 0.1), (w + 0.22 + sway, 0.9), (w + 0.3 + sway, 1.75)]
        )
        left = right[::-1] * (-1.0, 1.0)
        ends = _curve(
            np.linspace(w + 0.25, -w - 0.25, 7),
            1.75 + 0.1 * np.cos(np.linspace(0.0, 6.0 * np.pi, 7)),
        )
        p.polygon(np.vstack([left, crown, right, ends]), -0.6, hair)
    elif style == 4:
        theta = np.linspace(np.pi - 0.3, 2.0 * np.pi + 0.3, 12)
        p.polygon(_skull(w, 0.8 * top, 0.05, theta), -0.5, hair)
    elif style == 5:
        theta = np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False)
        radius = 1.0 + 0.05 * np.cos(11.0 * theta)
        points = _curve(
            (w + 0.3) * radius * np.cos(theta),
            (0.95 * top + 0.15) * radius * np.sin(theta) - 0.35,
        )
        p.polygon(points, -0.5, hair)


def _draw_hair_front(p: _Painter, identity: Identity, brow_y: float) -> None:
    """Hair over the forehead and temples: hairline, parting, fringe, curtains."""
    w, top = identity.face_width, 1.25 * identity.face_height
    hair, style = identity.hair_color, identity.hair_style
    if style == 0:
        return
    if style == 4:
        for side in (-1.0, 1.0):
            patch = np.array(
                [
                    (1.02 * w, -0.62),
                    (1.02 * w, 0.12),
                    (0.93 * w, 0.1),
                    (0.86 * w, -0.3),
                    (0.88 * w, -0.6),
                ]
            )
            p.polygon(patch * (side, 1.0), 0.0, hair)
        return
    # The hairline rises with age (a receding line) and a fringe lowers it.
    line = -0.6 * top - 0.25 * max(0.0, identity.age - 0.5)
    part = 0.45 * w * (1.0 if identity.fringe > 0.5 else -1.0)
    theta = np.linspace(np.pi + 0.25, 2.0 * np.pi - 0.25, 12)
    arc = _skull(w, top, 0.03, theta)
    if style == 5:
        edge = np.linspace(0.9 * w, -0.9 * w, 11)
        hairline = _curve(edge, line + 0.06 + 0.05 * np.abs(np.sin(7.0 * edge)))
        p.polygon(np.vstack([arc, hairline]), 0.2, hair)
        return
    sideburn = np.array([(1.0 * w, -0.2), (0.98 * w, 0.08), (0.9 * w, 0.08)])
    temple = np.array([(0.82 * w, line + 0.2), (0.62 * w, line + 0.05)])
    if style == 2 or (style == 1 and identity.fringe > 0.75):
        # A fringe swept from the parting across the forehead.
        sweep = brow_y - 0.1 if identity.fringe > 0.75 else line + 0.15
        hairline = np.vstack(
            [
                sideburn * (-1.0, 1.0),
                temple * (-1.0, 1.0) + (0.0, 0.1),
                [(-0.2, sweep + 0.04), (abs(part), line - 0.05)],
                temple[::-1],
                sideburn[::-1],
            ]
        )
        if part < 0:
            hairline = hairline[::-1] * (-1.0, 1.0)
    else:
        hairline = np.vstack(
            [
                sideburn * (-1.0, 1.0),
                temple * (-1.0, 1.0),
                [(-0.25, line - 0.02), (0.0, line + 0.03), (0.25, line - 0.02)],
                temple[::-1],
                sideburn[::-1],
            ]
        )
    p.polygon(np.vstack([arc, hairline[::-1]]), 0.2, hair)
    if style == 3:
        for side in (-1.0, 1.0):
            curtain = np.array(
                [
                    (0.15, line - 0.05),
                    (0.75 * w, -0.75),
                    (1.0 * w, -0.2),
                    (1.08 * w, 0.5),
                    (1.18 * w, 0.95),
                    (1.12 * w, 0.3),
                    (1.07 * w, -0.6),
                    (0.6 * w, -top - 0.05),
                ]
            )
            p.polygon(curtain * (side, 1.0), 0.1, hair)


def _draw_eye(
    p: _Painter,
    identity: Identity,
    units: Mapping[int, float],
    cx: float,
    cy: float,
    gaze: float,
) -> tuple[float, float]:
    """Draw one eye; return its upper and lower opening (face units)."""
    skin = identity.skin
    size = identity.eye_size
    half = 0.19 * size
    upper = (
        0.09
        * size
        * identity.eye_openness
        * (
            1.0
            + 1.15 * units[5]
            - 0.5 * units[7]
            - 0.35 * units[6]
            - 0.2 * units[4]
            - 0.3 * units[9]
        )
    )
    lower = 0.05 * size * (1.0 - 0.6 * units[6] - 0.6 * units[7] + 0.4 * units[5])
    lower -= 0.02 * units[9]
    lower = max(lower, 0.006)
    upper = max(upper, 0.012)
    bend = 1.0 - _S9**2
    x = cx + half * _S9
    top = cy - upper * bend**0.8
    # Raised cheeks (AU6) push the lower lid up in the middle: smiling eyes.
    bottom = cy + lower * bend**0.9 - 0.04 * size * units[6] * bend
    bottom = np.maximum(bottom, top + 0.004)
    depth = 0.75
    p.polygon(
        np.vstack([_curve(x, top), _curve(x[::-1], bottom[::-1])]), depth, _SCLERA
    )
    radius = 0.085 * size
    ix = cx + gaze * half * 0.35
    p.ellipse(ix, cy + 0.012, radius, radius, depth, identity.iris)
    p.ellipse(ix, cy + 0.012, 0.45 * radius, 0.45 * radius, depth, (15, 12, 12))
    lid = _mix(skin, (0, 0, 0), 0.06)
    wide = cx + 1.25 * half * _S9
    wide_bend = np.clip(1.0 - (1.25 * _S9) ** 2, 0.0, None)
    p.polygon(
        np.vstack(
            [
                _curve(wide, cy - upper * wide_bend**0.8),
                _curve(wide[::-1], np.full(9, cy - upper - 0.13)),
            ]
        ),
        depth,
        lid,
    )
    lid_bottom = cy + lower * wide_bend**0.9 - 0.04 * size * units[6] * wide_bend
    p.polygon(
        np.vstack(
            [
                _curve(wide, np.maximum(lid_bottom, cy - upper * wide_bend**0.8)),
                _curve(wide[::-1], np.full(9, cy + lower + 0.1)),
            ]
        ),
        depth,
        skin,
    )
    lash = _mix(identity.hair_color, (0, 0, 0), 0.6)
    p.line(_curve(x, top), depth, lash, 0.024)
    p.line(_curve(x, bottom), depth, _mix(skin, (0, 0, 0), 0.35), 0.01)
    crease = cy - upper - 0.04 * (1.0 - 0.5 * units[5])
    p.line(
        _curve(x[1:-1], crease - 0.02 * bend[1:-1]),
        depth,
        _mix(skin, (0, 0, 0), 0.3),
        0.01,
    )
    return upper, lower


def _draw_brow(
    p: _Painter,
    identity: Identity,
    units: Mapping[int, float],
    side: float,
    eye_x: float,
    brow_y: float,
) -> None:
    half = 0.19 * identity.eye_size
    inner_x = eye_x - 1.1 * half - 0.09 * units[4] - 0.03 * units[9]
    outer_x = eye_x + 1.35 * half
    # AU1 lifts the inner end against AU4's pull down, so AU1+4 gives the oblique
    # brow of sadness and fear and AU4 alone the lowered V of anger.
    inner_y = (
        brow_y
        + 0.02
        - 0.24 * units[1]
        + 0.2 * units[4] * (1.0 - 0.75 * units[1])
        + 0.08 * units[9]
    )
    mid_y = (
        brow_y
        - 0.04
        - 0.04 * identity.brow_arch
        - 0.06 * units[1]
        - 0.2 * units[2]
        + 0.07 * units[4]
        + 0.05 * units[9]
    )
    outer_y = (
        brow_y
        + 0.02
        - 0.16 * units[2]
        + 0.02 * units[4]
        + 0.05 * units[1] * (1 - units[2])
    )
    t = (_S9 + 1.0) / 2.0
    xs = (
        (1 - t) ** 2 * inner_x
        + 2 * t * (1 - t) * (inner_x + outer_x) / 2
        + t**2 * outer_x
    )
    ys = (1 - t) ** 2 * inner_y + 2 * t * (1 - t) * mid_y + t**2 * outer_y
    thick = 0.08 * identity.brow_thickness * (1.0 - 0.5 * t)
    points = np.vstack(
        [
            _curve(side * xs, ys - thick / 2),
            _curve(side * xs[::-1], (ys + thick / 2)[::-1]),
        ]
    )
    p.polygon(points, 0.8, _brow_color(identity))


def _luma(color: Sequence[float]) -> float:
    return 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]


def _brow_color(identity: Identity) -> Color:
    """The brow colour, darkened until it stands out from the skin."""
    brow, skin = identity.brow_color, _luma(identity.skin)
    # Light brows on light skin keep their tint; dark skin needs near-black brows.
    target = 0.5 * skin - 8.0
    luma = _luma(brow)
    if luma <= target:
        return brow
    return _mix(brow, (8, 6, 6), (luma - target) / max(luma - 6.0, 1.0))


def _draw_lines(
    p: _Painter,
    segments: Sequence[np.ndarray],
    depth: float,
    skin: Color,
    strength: float,
    width: float = 0.012,
) -> None:
    """Wrinkles and folds: darker lines whose contrast follows ``strength``."""
    if strength < 0.08:
        return
    color = _mix(skin, (0, 0, 0), 0.42 * min(strength, 1.0))
    for segment in segments:
        p.line(segment, depth, color, width)


def _mouth_shape(
    identity: Identity, units: Mapping[int, float], mouth_y: float
) -> dict[str, np.ndarray]:
    half = (
        0.28
        * identity.mouth_width
        * (
            1.0
            + 0.4 * units[12]
            + 0.38 * units[20]
            - 0.25 * units[23]
            + 0.05 * units[15]
            - 0.12 * units[26]
        )
    )
    corner = -0.32 * units[12] + 0.17 * units[15] + 0.06 * units[20] + 0.03 * units[16]
    # AU10 raises the upper lip more on one side: a snarl.
    snarl = 1.0 + 0.6 * _S13 * (1.0 if identity.brow_arch > 0.5 else -1.0)
    upper_gap = 0.09 * units[10] * snarl + 0.04 * units[12]
    lower_gap = 0.27 * units[26] * (1.0 - 0.45 * units[20]) + 0.08 * units[16]
    lower_gap += 0.03 * units[20] + 0.09 * units[12]
    closed = 1.0 - 0.85 * units[23]
    bend = 1.0 - _S13**2
    x = half * _S13
    line = mouth_y + corner * _S13**2 - 0.03 * units[10]
    inner_top = line - upper_gap * bend**0.5
    inner_bottom = line + lower_gap * bend**0.7
    bow = 1.0 - 0.3 * np.exp(-((_S13 / 0.18) ** 2))
    top = inner_top - 0.045 * identity.lip_upper * closed * bend**0.45 * bow
    bottom = inner_bottom + 0.06 * identity.lip_lower * closed * bend**0.5
    return {
        "x": x,
        "line": line,
        "inner_top": inner_top,
        "inner_bottom": inner_bottom,
        "top": top,
        "bottom": bottom,
    }


def _draw_mouth(
    p: _Painter,
    identity: Identity,
    units: Mapping[int, float],
    shape: Mapping[str, np.ndarray],
) -> None:
    x, depth = shape["x"], 0.85
    inner_top, inner_bottom = shape["inner_top"], shape["inner_bottom"]
    opening = float(np.max(inner_bottom - inner_top))
    if opening > 0.012:
        p.polygon(
            np.vstack([_curve(x, inner_top), _curve(x[::-1], inner_bottom[::-1])]),
            depth,
            _MOUTH,
        )
        teeth = slice(2, -2)
        tx = x[teeth]
        upper_teeth = np.minimum(inner_top[teeth] + 0.045, inner_bottom[teeth])
        p.polygon(
            np.vstack(
                [_curve(tx, inner_top[teeth]), _curve(tx[::-1], upper_teeth[::-1])]
            ),
            depth,
            _TEETH,
        )
        lower_show = 0.04 * max(units[16], units[20], units[10])
        if lower_show > 0.008:
            lower_teeth = np.maximum(inner_bottom[teeth] - lower_show, upper_teeth)
            p.polygon(
                np.vstack(
                    [
                        _curve(tx, lower_teeth),
                        _curve(tx[::-1], inner_bottom[teeth][::-1]),
                    ]
                ),
                depth,
                _TEETH,
            )
    lip = identity.lip_color
    p.polygon(
        np.vstack([_curve(x, shape["top"]), _curve(x[::-1], inner_top[::-1])]),
        depth,
        lip,
    )
    p.polygon(
        np.vstack([_curve(x, inner_bottom), _curve(x[::-1], shape["bottom"][::-1])]),
        depth,
        _mix(lip, (255, 255, 255), 0.08),
    )
    dark = _mix(lip, (0, 0, 0), 0.45 + 0.3 * units[23])
    if opening <= 0.012:
        p.line(_curve(x, (inner_top + inner_bottom) / 2), depth, dark, 0.014)


def _draw_beard(
    p: _Painter,
    identity: Identity,
    outline: np.ndarray,
    shape: Mapping[str, np.ndarray],
    nose_y: float,
) -> None:
    """Facial hair following the jaw; stubble is the same area, faintly tinted."""
    style, skin = identity.beard, identity.skin
    mouth_x = float(shape["x"][-1])
    chin_y = float(shape["bottom"][6])
    lower = outline[outline[:, 1] > 0.0]
    lower = lower[np.argsort(-lower[:, 0])] * (1.03, 1.03)
    if style == 4:
        # A goatee: the chin below the lower lip.
        inner = np.array(
            [(-0.6 * mouth_x, chin_y), (0.0, chin_y + 0.03), (0.6 * mouth_x, chin_y)]
        )
        bottom = 1.02 * float(outline[:, 1].max())
        theta = np.linspace(0.0, np.pi, 9)
        lower = _curve(
            0.6 * mouth_x * np.cos(theta),
            chin_y + (bottom - chin_y) * np.sin(theta) ** 0.5,
        )
    elif style == 5:
        # A chin strap: a band along the jaw.
        inner = lower[::-1] * (0.86, 0.84)
    else:
        w = identity.face_width
        inner = np.array(
            [
                (-0.93 * w, 0.05),
                (-0.72 * w, 0.42),
                (-mouth_x - 0.08, nose_y + 0.12),
                (0.0, nose_y + 0.08),
                (mouth_x + 0.08, nose_y + 0.12),
                (0.72 * w, 0.42),
                (0.93 * w, 0.05),
            ]
        )
    blend = 0.13 if style == 1 else 0.85
    color = _mix(skin, identity.hair_color, blend)
    p.polygon(np.vstack([lower, inner]), 0.1, color)
    # A band of the in-between colour along the skin side softens the edge.
    p.line(inner, 0.1, _mix(skin, color, 0.5), 0.05)


def _draw_head(
    p: _Painter, identity: Identity, units: Mapping[int, float], gaze: float
) -> None:
    skin = identity.skin
    shade = _mix(skin, (0, 0, 0), 0.12)
    w = identity.face_width
    jaw_drop = 0.22 * units[26] + 0.05 * units[16]
    eye_y = -0.1
    eye_x = 0.42 * identity.eye_spacing
    brow_y = eye_y - 0.27 * identity.brow_height
    nose_y = 0.12 + 0.2 * identity.nose_length
    mouth_y = nose_y + 0.27 + 0.6 * jaw_drop * 0.3
    _draw_hair_back(p, identity)
    p.polygon(
        np.array(
            [(-0.42 * w, 0.5), (0.42 * w, 0.5), (0.48 * w, 2.0), (-0.48 * w, 2.0)]
        ),
        -0.2,
        shade,
    )
    p.polygon(
        np.array(
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
        ),
        -0.2,
        identity.clothes,
    )
    for side in (-1.0, 1.0):
        p.ellipse(side * 0.97 * w, eye_y + 0.15, 0.12, 0.23, -0.1, shade)
    outline = _face_outline(identity, jaw_drop)
    # Soft shading: the skin darkens a little towards the face's edge and jaw.
    p.polygon(outline, 0.0, _mix(skin, (0, 0, 0), 0.1))
    p.polygon(outline * 0.96 + (0.0, -0.02), 0.0, _mix(skin, (0, 0, 0), 0.05))
    p.polygon(outline * 0.9 + (0.0, -0.05), 0.0, skin)

    cheek = _mix(skin, (220, 90, 90), 0.1 + 0.15 * units[6])
    for side in (-1.0, 1.0):
        p.ellipse(
            side * (eye_x + 0.05), eye_y + 0.32 - 0.07 * units[6], 0.17, 0.1, 0.7, cheek
        )

    forehead = [
        _curve(0.32 * _S9, brow_y - offset - 0.03 * (1 - _S9**2) * units[1])
        for offset in (0.17, 0.25, 0.33)
    ]
    _draw_lines(
        p, forehead, 0.8, skin, 0.9 * max(units[1], units[2]) + 0.4 * identity.age
    )

    openings = []
    for side in (-1.0, 1.0):
        openings.append(_draw_eye(p, identity, units, side * eye_x, eye_y, gaze))
    half = 0.19 * identity.eye_size
    for side, (_, lower) in zip((-1.0, 1.0), openings, strict=True):
        cx = side * eye_x
        bulge = _curve(
            cx + 0.8 * half * _S9, eye_y + lower + 0.07 + 0.02 * (1 - _S9**2)
        )
        _draw_lines(p, [bulge], 0.75, skin, 0.8 * units[6] + 0.35 * identity.age)
        corner_x = cx + side * (half + 0.03)
        feet = [
            np.array([(corner_x, eye_y), (corner_x + side * 0.09, eye_y + dy)])
            for dy in (-0.05, 0.0, 0.05)
        ]
        _draw_lines(p, feet, 0.6, skin, 0.9 * units[6] + 0.3 * identity.age)
        _draw_brow(p, identity, units, side, eye_x, brow_y)
    frown = [
        np.array([(dx, brow_y - 0.02), (dx * 0.8, brow_y + 0.11)])
        for dx in (-0.05, 0.05)
    ]
    _draw_lines(p, frown, 0.85, skin, 1.1 * units[4], 0.014)

    nose_half = 0.11 * identity.nose_width * (1.0 + 0.15 * units[9] + 0.1 * units[10])
    wing_y = nose_y - 0.045 * units[9] - 0.02 * units[10]
    shape = _mouth_shape(identity, units, mouth_y)
    for side in (-1.0, 1.0):
        corner_x = side * float(shape["x"][-1])
        corner_y = float(shape["line"][-1])
        fold = np.array(
            [
                (side * (nose_half + 0.04), wing_y - 0.02),
                (side * (nose_half + 0.09), wing_y + 0.1),
                (corner_x + side * 0.05, corner_y + 0.06),
            ]
        )
        strength = max(
            0.1 + 0.3 * identity.age,
            0.9 * units[12],
            0.7 * units[10],
            0.8 * units[9],
            0.5 * units[6],
        )
        _draw_lines(p, [fold], 0.8, skin, strength, 0.016)

    if identity.beard in (1, 3, 4, 5):
        _draw_beard(p, identity, outline, shape, nose_y)

    bridge = np.array([(-0.04, eye_y + 0.05), (-nose_half * 0.7, nose_y - 0.03)])
    p.line(bridge, 0.95, _mix(skin, (0, 0, 0), 0.12), 0.02)
    p.ellipse(
        0.0, nose_y, nose_half * 0.55, 0.06, 1.05, _mix(skin, (255, 255, 255), 0.06)
    )
    for side in (-1.0, 1.0):
        p.ellipse(side * nose_half * 0.8, wing_y, 0.05, 0.045, 0.9, shade)
        p.ellipse(
            side * nose_half * 0.4,
            wing_y + 0.03,
            0.035,
            0.018,
            1.0,
            _mix(skin, (0, 0, 0), 0.6),
        )
    wrinkles = [
        _curve(0.09 * _S9, eye_y + dy + 0.015 * (1 - _S9**2))
        for dy in (0.02, 0.07, 0.12)
    ]
    wrinkles += [
        np.array(
            [(side * 0.07, eye_y + 0.1), (side * (nose_half + 0.02), wing_y - 0.1)]
        )
        for side in (-1.0, 1.0)
    ]
    _draw_lines(p, wrinkles, 0.95, skin, 1.5 * units[9], 0.016)

    if identity.beard >= 2:
        x = shape["x"] * 1.18
        top = shape["top"] + 0.03 * _S13**2
        beard = _mix(skin, identity.hair_color, 0.85)
        p.polygon(
            np.vstack([_curve(x, top - 0.08), _curve(x[::-1], (top + 0.005)[::-1])]),
            0.9,
            beard,
        )
        p.line(_curve(x, top - 0.085), 0.9, _mix(skin, beard, 0.5), 0.02)
    _draw_mouth(p, identity, units, shape)

    if identity.glasses:
        squareness = 1.0 if identity.glasses == 1 else 0.35
        frame = identity.glasses_color
        rx, ry = half + 0.07, 0.12
        for side in (-1.0, 1.0):
            p.outline(side * eye_x, eye_y + 0.01, rx, ry, 0.9, frame, 0.025, squareness)
            p.line(
                np.array(
                    [(side * (eye_x + rx), eye_y), (side * 0.98 * w, eye_y - 0.02)]
                ),
                0.4,
                frame,
                0.022,
            )
        p.line(
            np.array([(-(eye_x - rx), eye_y - 0.02), (eye_x - rx, eye_y - 0.02)]),
            0.95,
            frame,
            0.022,
        )
    _draw_hair_front(p, identity, brow_y)


def _draw_scene(image: Image.Image, rng: np.random.Generator) -> None:
    """A cluttered, unposed background: a wall gradient and a few objects."""
    size = image.width
    base = rng.uniform(40, 200, 3)
    other = base * rng.uniform(0.6, 1.3, 3)
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    wall = np.clip(base + (other - base) * ramp, 0, 255).astype(np.uint8)
    image.paste(Image.fromarray(np.broadcast_to(wall, (size, size, 3)).copy()))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        dx, dy = rng.uniform(0.1, 0.6, 2) * size
        color = _mix(base, rng.uniform(0, 255, 3), rng.uniform(0.3, 0.8))
        if rng.random() < 0.5:
            draw.rectangle([x0, y0, x0 + dx, y0 + dy], fill=color)
        else:
            draw.ellipse([x0, y0, x0 + dx, y0 + dy], fill=color)


def _draw_occluder(
    p: _Painter, identity: Identity, kind: str, rng: np.random.Generator
) -> None:
    if kind == "hand":
        skin = _mix(identity.skin, (0, 0, 0), rng.uniform(-0.1, 0.15))
        side = rng.choice([-1.0, 1.0])
        cx, cy = side * rng.uniform(0.2, 0.8), rng.uniform(0.4, 1.1)
        p.ellipse(cx, cy + 0.25, 0.32, 0.36, 1.2, skin)
        for k in range(4):
            fx = cx - 0.24 + 0.16 * k
            p.ellipse(fx, cy - 0.18, 0.065, 0.24, 1.25, skin)
    elif kind == "object":
        color = _mix(rng.uniform(0, 255, 3), (0, 0, 0), 0.4)
        cx, cy = rng.uniform(-0.7, 0.7), rng.uniform(0.5, 1.2)
        p.polygon(
            np.array(
                [(cx - 0.05, cy), (cx + 0.05, cy), (cx + 0.1, 2.0), (cx - 0.1, 2.0)]
            ),
            1.3,
            color,
        )
        p.ellipse(cx, cy, 0.17, 0.17, 1.3, _mix(color, (90, 90, 90), 0.5))
    elif kind == "strands":
        hair = identity.hair_color
        for _ in range(int(rng.integers(3, 7))):
            x0 = rng.uniform(-0.8, 0.8)
            points = np.array(
                [
                    (x0, -1.3),
                    (x0 + rng.uniform(-0.3, 0.3), 0.0),
                    (x0 + rng.uniform(-0.5, 0.5), rng.uniform(0.0, 0.8)),
                ]
            )
            p.line(points, 1.1, hair, 0.03)


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return xx, yy


def _photo_effects(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Light, texture, colour cast, blur, noise and JPEG artefacts of a cheap camera."""
    size = image.width
    if rng.random() < 0.7:
        image = image.filter(
            ImageFilter.GaussianBlur(rng.uniform(0.3, 1.1) * size / 64)
        )
    xx, yy = _grid(size)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    light = 1.0 + rng.uniform(0.15, 0.5) * (np.cos(angle) * xx + np.sin(angle) * yy)
    light -= rng.uniform(0.0, 0.25) * (xx**2 + yy**2)
    blotches = Image.fromarray(
        rng.normal(0.0, 1.0, (5, 5)).astype(np.float32), mode="F"
    )
    texture = np.asarray(blotches.resize((size, size), Image.Resampling.BILINEAR))
    field = (light * rng.uniform(0.7, 1.2) * (1.0 + 0.07 * texture))[..., None]
    pixels = np.asarray(image, dtype=np.float32) / 255.0 * field
    pixels *= rng.normal(1.0, 0.07, 3).astype(np.float32)
    gray = pixels @ _THIRDS
    pixels = gray + rng.uniform(0.55, 1.2) * (pixels - gray)
    pixels = np.clip(pixels, 0.0, 1.0) ** rng.uniform(0.8, 1.25)
    noise = rng.standard_normal(pixels.shape, dtype=np.float32)
    pixels += np.float32(rng.uniform(0.01, 0.05)) * noise
    noisy = Image.fromarray(np.clip(pixels * 255.0 + 0.5, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=int(rng.integers(15, 60)))
    buffer.seek(0)
    with Image.open(buffer) as compressed:
        decoded: Image.Image = compressed.convert("RGB")
    return decoded


def render_face(
    identity: Identity,
    units: Mapping[int, float],
    pose: Pose,
    domain: Domain,
    size: int,
    rng: np.random.Generator,
    occluder: Occluder = "none",
) -> Image.Image:
    """Render one face image.

    Args:
        identity: Who is shown.
        units: Action-unit intensities in [0, 1], one per unit of ``ACTION_UNITS``.
        pose: Head pose and framing.
        domain: ``"clean"`` for the flat rendered look, ``"shifted"`` for the
            photo-like stand-in (clutter, occluders, light, blur, noise, JPEG).
        size: Output width and height in pixels.
        rng: Source of randomness for the background and domain effects.
        occluder: What covers part of the face, if anything.

    Returns:
        An RGB image of ``size x size`` pixels.

    Examples:
        >>> import numpy as np
        >>> from lightly_byel.data.synthfaces.faces import (
        ...     sample_action_units, sample_identity, sample_pose)
        >>> rng = np.random.default_rng(0)
        >>> face = render_face(sample_identity(rng),
        ...     sample_action_units("SURPRISE", "clean", rng),
        ...     sample_pose("clean", rng), "clean", 32, rng)
        >>> face.size, face.mode
        ((32, 32), 'RGB')
    """
    canvas = size * _SUPERSAMPLE
    if domain == "clean":
        background = _mix(rng.uniform(150, 250, 3), (255, 255, 255), 0.2)
        image = Image.new("RGB", (canvas, canvas), background)
    else:
        image = Image.new("RGB", (canvas, canvas))
        _draw_scene(image, rng)
    painter = _Painter(image, pose)
    gaze = float(np.clip(pose.yaw / 30.0 + rng.normal(0.0, 0.2), -1.0, 1.0))
    _draw_head(painter, identity, units, gaze)
    _draw_occluder(painter, identity, occluder, rng)
    image = image.reduce(_SUPERSAMPLE)
    if domain == "shifted":
        image = _photo_effects(image, rng)
    return image
