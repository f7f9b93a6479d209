"""Placing face-unit shapes in the image: framing, head pose and drawing primitives.

Shapes are given in face units (see ``faces``) with a depth: turning the head moves
each shape sideways in proportion to its depth, so the nose moves more than the
face outline. Aligned framing puts the midpoint between the eyes at a fixed place
and scales the face by its eye distance, as face aligners do for LSD and Aff-Wild2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from lightly_byel.data.synthfaces.faces import Color, Framing, Pose

EYE_X = 0.42
"""Half the distance between the eyes of an identity with ``eye_spacing`` 1."""
EYE_Y = -0.22
"""Height of the eyes in face units (y points down)."""
EYE_DEPTH = 0.75

ALIGNED_EYE_DISTANCE = 0.35
"""Distance between the eyes in aligned crops, as a fraction of the image side."""
ALIGNED_EYE_HEIGHT = 0.38
"""Height of the eyes in aligned crops, as a fraction of the image side."""

_THETA = np.linspace(0.0, 2.0 * np.pi, 28, endpoint=False)
RING = np.stack([np.cos(_THETA), np.sin(_THETA)], axis=1)
"""Points of the unit circle, clockwise in image coordinates."""


def mix(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, t: float
) -> Color:
    """The colour a fraction ``t`` (clipped to [0, 1]) of the way from ``a`` to ``b``.

    Examples:
        >>> mix((0, 0, 0), (200, 100, 50), 0.5)
        (100, 50, 25)
    """
    t = min(1.0, max(0.0, t))
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def curve(xs: np.ndarray | float, ys: np.ndarray | float) -> np.ndarray:
    """Points ``(x, y)`` from their coordinates, shape ``(n, 2)``; one may be a number.

    Examples:
        >>> curve(np.array([0.0, 1.0]), np.array([2.0, 3.0])).tolist()
        [[0.0, 2.0], [1.0, 3.0]]
    """
    points = np.empty((max(np.size(xs), np.size(ys)), 2))
    points[:, 0] = xs
    points[:, 1] = ys
    return points


def band(xs: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The outline of the region between two curves over the same ``xs``.

    Examples:
        >>> band(np.array([0.0, 1.0]), np.zeros(2), np.ones(2)).tolist()
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    n = len(xs)
    points = np.empty((2 * n, 2))
    points[:n, 0] = xs
    points[:n, 1] = upper
    points[n:, 0] = xs[::-1]
    points[n:, 1] = lower[::-1]
    return points


class Painter:
    """Projects face-unit shapes into an image and draws them.

    Args:
        image: The canvas, square.
        pose: Head pose and framing offsets.
        framing: ``"aligned"`` or ``"loose"``.
        eye_spacing: The identity's eye spacing; aligned framing scales it away.

    Examples:
        >>> from PIL import Image
        >>> front = Pose(0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        >>> painter = Painter(Image.new("RGB", (100, 100)), front, "aligned", 1.0)
        >>> [round(v) for v in painter.project(np.array([[0.0, EYE_Y]]), EYE_DEPTH)]
        [50, 38]
        >>> round(painter.unit * 2 * EYE_X)
        35
    """

    def __init__(
        self, image: Image.Image, pose: Pose, framing: Framing, eye_spacing: float
    ) -> None:
        size = image.width
        self.draw = ImageDraw.Draw(image)
        if framing == "aligned":
            eyes = 2.0 * EYE_X * eye_spacing
            self.unit = ALIGNED_EYE_DISTANCE * size * pose.scale / eyes
        else:
            self.unit = 0.33 * size * pose.scale
        yaw, pitch, roll = (math.radians(a) for a in (pose.yaw, pose.pitch, pose.roll))
        c, s = math.cos(roll) * self.unit, math.sin(roll) * self.unit
        rotation = np.array([[c, s], [-s, c]])
        # Turning the head foreshortens x (yaw) and y (pitch) and moves each shape
        # sideways in proportion to its depth.
        self.matrix = np.diag([math.cos(yaw), math.cos(pitch)]) @ rotation
        self.depth_shift = np.array([math.sin(yaw), -math.sin(pitch)]) @ rotation
        if framing == "aligned":
            target = (
                np.array([0.5 + pose.shift_x, ALIGNED_EYE_HEIGHT + pose.shift_y]) * size
            )
            eye_mid = np.array([0.0, EYE_Y]) @ self.matrix
            self.offset = target - eye_mid - EYE_DEPTH * self.depth_shift
        else:
            self.offset = np.array([0.5 + pose.shift_x, 0.5 + pose.shift_y]) * size
        # Shapes come at a dozen depths; each depth's offset is computed once.
        self._shifts: dict[float, np.ndarray] = {}

    def project(self, points: np.ndarray, depth: float) -> list[float]:
        """Image coordinates of face-unit points at a depth, flattened."""
        shift = self._shifts.get(depth)
        if shift is None:
            shift = self._shifts[depth] = self.offset + depth * self.depth_shift
        xy = points @ self.matrix
        xy += shift
        flat: list[float] = xy.ravel().tolist()
        return flat

    def width(self, units: float) -> int:
        """A line width in pixels, at least one."""
        return max(1, round(units * self.unit))

    def polygon(self, points: np.ndarray, depth: float, fill: Color) -> None:
        """Fill the polygon through ``points``."""
        self.draw.polygon(self.project(points, depth), fill=fill)

    def line(self, points: np.ndarray, depth: float, fill: Color, width: float) -> None:
        """Draw a polyline ``width`` face units wide."""
        self.draw.line(
            self.project(points, depth),
            fill=fill,
            width=self.width(width),
            joint="curve",
        )

    def ellipse(
        self, cx: float, cy: float, rx: float, ry: float, depth: float, fill: Color
    ) -> None:
        """Fill an axis-aligned ellipse (in face units, so it turns with the head)."""
        self.polygon(RING * (rx, ry) + (cx, cy), depth, fill)

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
        """Draw the outline of a superellipse (``squareness`` 1 is an ellipse)."""
        ring = np.sign(RING) * np.abs(RING) ** squareness * (rx, ry) + (cx, cy)
        self.line(np.vstack([ring, ring[:2]]), depth, fill, width)
