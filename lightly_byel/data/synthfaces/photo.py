"""The shifted domain's look: a cluttered scene, occluders, light and a cheap camera.

Everything here changes how a face looks, never what it expresses: the strengths
are calibrated so that a person can still read the expression on most faces
(``docs/synthfaces.png``), and a small classifier trained on this domain alone
still finds it (``tests/data/synthfaces/test_sanity.py``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lightly_byel.data.synthfaces.faces import Identity, Occluder
from lightly_byel.data.synthfaces.painter import Painter, mix


@dataclass(frozen=True)
class FaceEllipse:
    """Where the face is in the image, in pixels: centre and radii."""

    cx: float
    cy: float
    rx: float
    ry: float


def draw_scene(image: Image.Image, rng: np.random.Generator) -> None:
    """A cluttered, unposed background: a wall gradient and a few objects."""
    size = image.width
    base = rng.uniform(40, 200, 3)
    other = base * rng.uniform(0.6, 1.3, 3)
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    column = np.clip(base + (other - base) * ramp, 0, 255).astype(np.uint8)
    image.paste(Image.fromarray(column).resize((size, size), Image.Resampling.NEAREST))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        dx, dy = rng.uniform(0.1, 0.6, 2) * size
        color = mix(base, rng.uniform(0, 255, 3), rng.uniform(0.3, 0.8))
        if rng.random() < 0.5:
            draw.rectangle([x0, y0, x0 + dx, y0 + dy], fill=color)
        else:
            draw.ellipse([x0, y0, x0 + dx, y0 + dy], fill=color)


def draw_occluder(
    p: Painter, identity: Identity, kind: Occluder, rng: np.random.Generator
) -> None:
    """Something in front of the face: a hand at the cheek, a microphone, strands.

    Each covers a part of the face at its side or below the mouth, never the
    whole of the eyes or the mouth.
    """
    if kind == "hand":
        skin = mix(identity.skin, (0, 0, 0), rng.uniform(-0.1, 0.15))
        side = rng.choice([-1.0, 1.0])
        cx, cy = side * rng.uniform(0.6, 0.95), rng.uniform(0.55, 1.0)
        p.ellipse(cx, cy + 0.25, 0.3, 0.34, 1.2, skin)
        for k in range(4):
            p.ellipse(cx - 0.22 + 0.15 * k, cy - 0.16, 0.06, 0.22, 1.25, skin)
    elif kind == "object":
        color = mix(rng.uniform(0, 255, 3), (0, 0, 0), 0.4)
        cx, cy = rng.uniform(-0.6, 0.6), rng.uniform(1.0, 1.25)
        stick = np.array(
            [(cx - 0.05, cy), (cx + 0.05, cy), (cx + 0.1, 2.2), (cx - 0.1, 2.2)]
        )
        p.polygon(stick, 1.3, color)
        p.ellipse(cx, cy, 0.16, 0.16, 1.3, mix(color, (90, 90, 90), 0.5))
    elif kind == "strands":
        for _ in range(int(rng.integers(3, 7))):
            x0 = rng.uniform(-0.8, 0.8)
            points = np.array(
                [
                    (x0, -1.4),
                    (x0 + rng.uniform(-0.25, 0.25), -0.7),
                    (x0 + rng.uniform(-0.4, 0.4), rng.uniform(-0.5, 0.1)),
                ]
            )
            p.line(points, 1.1, identity.hair_color, 0.03)


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = np.arange(size, dtype=np.float32) + 0.5
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return xx, yy


def _smooth_noise(rng: np.random.Generator, cells: int, size: int) -> np.ndarray:
    """Zero-mean noise of unit spread that varies over ``size / cells`` pixels."""
    coarse = Image.fromarray(
        rng.normal(0.0, 1.0, (cells, cells)).astype(np.float32), "F"
    )
    return np.asarray(coarse.resize((size, size), Image.Resampling.BICUBIC))


def _head_light(face: FaceEllipse, size: int, rng: np.random.Generator) -> np.ndarray:
    """Lambertian light from one direction on the head, seen as an ellipsoid."""
    xx, yy = _grid(size)
    u = (xx - face.cx) / face.rx
    v = (yy - face.cy) / face.ry
    radius = np.maximum(np.sqrt(u * u + v * v), 1.0)
    nx, ny = u / radius, v / radius
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    azimuth = rng.uniform(0.0, 2.0 * np.pi)
    tilt = rng.uniform(0.3, 0.9)
    lx, ly, lz = (
        np.sin(tilt) * np.cos(azimuth),
        np.sin(tilt) * np.sin(azimuth),
        np.cos(tilt),
    )
    diffuse = np.clip(nx * lx + ny * ly + nz * lz, 0.0, 1.0)
    ambient = rng.uniform(0.45, 0.75)
    light: np.ndarray = ambient + (1.0 - ambient) * diffuse
    return light


def _exposure(pixels: np.ndarray, face: FaceEllipse, target: float) -> float:
    """The gain of a camera exposing for the face: most of the way to ``target``.

    Dark skin in dim light is brightened as an automatic exposure would, short of
    making every face equally bright.
    """
    size = pixels.shape[0]
    rows = slice(
        max(0, int(face.cy - 0.5 * face.ry)), min(size, int(face.cy + 0.5 * face.ry))
    )
    cols = slice(
        max(0, int(face.cx - 0.5 * face.rx)), min(size, int(face.cx + 0.5 * face.rx))
    )
    brightness = (
        float(pixels[rows, cols].mean())
        if rows.stop > rows.start and cols.stop > cols.start
        else target
    )
    return min(2.5, max(0.7, math.pow(target / max(brightness, 1e-3), 0.7)))


def photo_look(
    image: Image.Image, face: FaceEllipse, rng: np.random.Generator
) -> Image.Image:
    """Light, uneven skin, colour, blur, noise and JPEG artefacts of a cheap camera.

    Args:
        image: The rendered RGB image.
        face: Where the face is, so that the light shades it as a round head.
        rng: Source of randomness.

    Returns:
        The image as a camera would have taken it.
    """
    size = image.width
    if rng.random() < 0.6:
        sigma = rng.uniform(0.3, 0.8) * size / 64
        image = image.filter(ImageFilter.GaussianBlur(sigma))
    light = _head_light(face, size, rng)
    light *= 1.0 + 0.07 * _smooth_noise(rng, 8, size)
    pixels = np.asarray(image, dtype=np.float32) * (light / 255.0)[..., None]
    pixels *= _exposure(pixels, face, rng.uniform(0.38, 0.62))
    pixels *= rng.normal(1.0, 0.07, 3).astype(np.float32)
    gray = (pixels[..., :1] + pixels[..., 1:2] + pixels[..., 2:]) * np.float32(1 / 3)
    pixels = gray + rng.uniform(0.55, 1.2) * (pixels - gray)
    # Sensor grain, uniform noise of the drawn spread (a tenth of the cost of
    # Gaussian draws), is added before the camera's tone curve, as in a camera.
    noise = rng.random(pixels.shape, dtype=np.float32) - np.float32(0.5)
    pixels += np.float32(rng.uniform(0.008, 0.035) * 12**0.5) * noise
    linear = np.clip(pixels * 255.0 + 0.5, 0, 255).astype(np.uint8)
    gamma = rng.uniform(0.8, 1.2)
    curve = np.rint(255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8)
    noisy = Image.fromarray(curve[linear])
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=int(rng.integers(25, 75)))
    buffer.seek(0)
    with Image.open(buffer) as compressed:
        decoded: Image.Image = compressed.convert("RGB")
    return decoded
