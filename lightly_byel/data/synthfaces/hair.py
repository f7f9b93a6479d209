"""Hair and facial hair: the silhouette behind the head, the hairline and beards.

Hair is identity, not expression: it stays away from the brows, eyes and mouth, so
that it changes how a person looks and never hides what they feel.
"""

from __future__ import annotations

import numpy as np

from lightly_byel.data.synthfaces.faces import Color, Identity
from lightly_byel.data.synthfaces.painter import Painter, band, curve, mix


def skull(w: float, top: float, grow: float, theta: np.ndarray) -> np.ndarray:
    """Points of the upper head outline, ``grow`` face units outside it."""
    return curve((w + grow) * np.cos(theta), (top + 1.4 * grow) * np.sin(theta))


def draw_hair_back(p: Painter, identity: Identity) -> None:
    """Hair volume behind the head: its silhouette around the face."""
    w, top = identity.face_width, 1.25 * identity.face_height
    hair, style = identity.hair_color, identity.hair_style
    if style in (1, 2):
        volume = 0.06 if style == 1 else 0.12
        theta = np.linspace(np.pi - 0.2, 2.0 * np.pi + 0.2, 16)
        p.polygon(skull(w, top, volume, theta), -0.5, hair)
    elif style == 3:
        crown = skull(w, top, 0.12, np.linspace(np.pi, 2.0 * np.pi, 14))
        sway = 0.08 * (identity.fringe - 0.5)
        right = np.array(
            [(w + 0.16, 0.1), (w + 0.22 + sway, 0.9), (w + 0.3 + sway, 1.75)]
        )
        left = right[::-1] * (-1.0, 1.0)
        ends = curve(
            np.linspace(w + 0.25, -w - 0.25, 7),
            1.75 + 0.1 * np.cos(np.linspace(0.0, 6.0 * np.pi, 7)),
        )
        p.polygon(np.vstack([left, crown, right, ends]), -0.6, hair)
    elif style == 4:
        theta = np.linspace(np.pi - 0.3, 2.0 * np.pi + 0.3, 12)
        p.polygon(skull(w, 0.8 * top, 0.05, theta), -0.5, hair)
    elif style == 5:
        theta = np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False)
        radius = 1.0 + 0.05 * np.cos(11.0 * theta)
        points = curve(
            (w + 0.3) * radius * np.cos(theta),
            (0.95 * top + 0.15) * radius * np.sin(theta) - 0.35,
        )
        p.polygon(points, -0.5, hair)


def draw_hair_front(p: Painter, identity: Identity, brow_y: float) -> None:
    """Hair over the forehead and temples: hairline, parting, fringe, curtains."""
    w, top = identity.face_width, 1.25 * identity.face_height
    hair, style = identity.hair_color, identity.hair_style
    if style == 0:
        return
    if style == 4:
        _temple_patches(p, w, hair)
        return
    # The hairline rises with age (a receding line); it never comes down to the
    # brows, whose movement carries expression.
    line = min(-0.8 * top - 0.25 * max(0.0, identity.age - 0.5), brow_y - 0.3)
    part = 0.45 * w * (1.0 if identity.fringe > 0.5 else -1.0)
    theta = np.linspace(np.pi + 0.25, 2.0 * np.pi - 0.25, 12)
    arc = skull(w, top, 0.03, theta)
    if style == 5:
        edge = np.linspace(0.9 * w, -0.9 * w, 11)
        hairline = curve(edge, line + 0.06 + 0.05 * np.abs(np.sin(7.0 * edge)))
        p.polygon(np.vstack([arc, hairline]), 0.2, hair)
        return
    hairline = _hairline(identity, w, line, part, brow_y)
    p.polygon(np.vstack([arc, hairline[::-1]]), 0.2, hair)
    if style == 3:
        _curtains(p, w, top, line, hair)


def _temple_patches(p: Painter, w: float, hair: Color) -> None:
    """Short hair at both temples (style 4, cropped)."""
    for side in (-1.0, 1.0):
        patch = np.array(
            [
                (1.02 * w, -0.75),
                (1.02 * w, 0.05),
                (0.94 * w, 0.03),
                (0.88 * w, -0.4),
                (0.9 * w, -0.72),
            ]
        )
        p.polygon(patch * (side, 1.0), 0.0, hair)


def _hairline(
    identity: Identity, w: float, line: float, part: float, brow_y: float
) -> np.ndarray:
    """The hairline from sideburn to sideburn: a swept fringe, or a plain line."""
    sideburn = np.array([(1.0 * w, -0.3), (0.98 * w, 0.02), (0.92 * w, 0.02)])
    temple = np.array([(0.84 * w, line + 0.2), (0.62 * w, line + 0.05)])
    style = identity.hair_style
    if style == 2 or (style == 1 and identity.fringe > 0.75):
        # A fringe swept from the parting across the forehead, above the brows.
        sweep = brow_y - 0.2 if identity.fringe > 0.75 else line + 0.15
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
        return hairline
    return np.vstack(
        [
            sideburn * (-1.0, 1.0),
            temple * (-1.0, 1.0),
            [(-0.25, line - 0.02), (0.0, line + 0.03), (0.25, line - 0.02)],
            temple[::-1],
            sideburn[::-1],
        ]
    )


def _curtains(p: Painter, w: float, top: float, line: float, hair: Color) -> None:
    """Long hair falling from the parting past both cheeks (style 3)."""
    for side in (-1.0, 1.0):
        curtain = np.array(
            [
                (0.15, line - 0.05),
                (0.78 * w, line + 0.1),
                (1.0 * w, -0.3),
                (1.08 * w, 0.5),
                (1.18 * w, 0.95),
                (1.12 * w, 0.3),
                (1.07 * w, -0.6),
                (0.6 * w, -top - 0.05),
            ]
        )
        p.polygon(curtain * (side, 1.0), 0.1, hair)


def draw_beard(
    p: Painter,
    identity: Identity,
    outline: np.ndarray,
    mouth_x: float,
    chin_y: float,
    nose_y: float,
) -> None:
    """Facial hair following the jaw; stubble is the same area, faintly tinted.

    Args:
        p: The painter.
        identity: Whose beard (``identity.beard`` 1, 3, 4 or 5).
        outline: The face outline, face units.
        mouth_x: Half the mouth's width.
        chin_y: Height of the lower lip's bottom edge.
        nose_y: Height of the nostrils.
    """
    style, skin = identity.beard, identity.skin
    lower = outline[outline[:, 1] > 0.0]
    lower = lower[np.argsort(-lower[:, 0])] * (1.03, 1.03)
    if style == 4:
        # A goatee: the chin below the lower lip.
        inner = np.array(
            [(-0.6 * mouth_x, chin_y), (0.0, chin_y + 0.03), (0.6 * mouth_x, chin_y)]
        )
        bottom = 1.02 * float(outline[:, 1].max())
        theta = np.linspace(0.0, np.pi, 9)
        lower = curve(
            0.6 * mouth_x * np.cos(theta),
            chin_y + (bottom - chin_y) * np.sin(theta) ** 0.5,
        )
    elif style == 5:
        # A chin strap: a band along the jaw.
        inner = lower[::-1] * (0.86, 0.86)
    else:
        w = identity.face_width
        inner = np.array(
            [
                (-0.93 * w, 0.0),
                (-0.72 * w, 0.4),
                (-mouth_x - 0.1, nose_y + 0.14),
                (0.0, nose_y + 0.1),
                (mouth_x + 0.1, nose_y + 0.14),
                (0.72 * w, 0.4),
                (0.93 * w, 0.0),
            ]
        )
    blend = 0.13 if style == 1 else 0.85
    color = mix(skin, identity.hair_color, blend)
    p.polygon(np.vstack([lower, inner]), 0.1, color)
    # A band of the in-between colour along the skin side softens the edge.
    p.line(inner, 0.1, mix(skin, color, 0.5), 0.05)


def draw_moustache(
    p: Painter, identity: Identity, mouth_x: np.ndarray, lip_top: np.ndarray
) -> None:
    """A moustache over the upper lip, following it as it moves."""
    x = mouth_x * 1.15
    top = lip_top + 0.03 * np.linspace(-1.0, 1.0, len(x)) ** 2
    beard = mix(identity.skin, identity.hair_color, 0.85)
    p.polygon(
        band(x, top - 0.08, top - 0.005),
        0.9,
        beard,
    )
    p.line(curve(x, top - 0.085), 0.9, mix(identity.skin, beard, 0.5), 0.02)
