"""Rendering one face image from an identity, action units and a pose, in two looks.

The head is drawn with ``PIL.ImageDraw`` at twice the output size and reduced, for
antialiasing. The ``"clean"`` domain is a flat rendered look on a plain background;
the ``"shifted"`` domain puts the same face in a cluttered scene, with occluders,
directional light and camera effects (``photo``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PIL import Image

from lightly_byel.data.synthfaces.faces import Domain, Framing, Identity, Occluder, Pose
from lightly_byel.data.synthfaces.head import PHOTO, RENDERED, draw_head
from lightly_byel.data.synthfaces.painter import Painter, mix
from lightly_byel.data.synthfaces.photo import (
    FaceEllipse,
    draw_occluder,
    draw_scene,
    photo_look,
)

_SUPERSAMPLE = 2


def render_face(
    identity: Identity,
    units: Mapping[int, float],
    pose: Pose,
    domain: Domain,
    size: int,
    rng: np.random.Generator,
    occluder: Occluder = "none",
    framing: Framing = "aligned",
) -> Image.Image:
    """Render one face image.

    Args:
        identity: Who is shown.
        units: Action-unit intensities in [0, 1], one per unit of ``ACTION_UNITS``.
        pose: Head pose and framing offsets.
        domain: ``"clean"`` for the flat rendered look, ``"shifted"`` for the
            photo-like stand-in (clutter, occluders, light, blur, noise, JPEG).
        size: Output width and height in pixels.
        rng: Source of randomness for the background and domain effects.
        occluder: What covers part of the face, if anything.
        framing: ``"aligned"`` face crops (eyes at a fixed place, the face filling
            the frame) or ``"loose"`` head-and-shoulders shots.

    Returns:
        An RGB image of ``size x size`` pixels.

    Examples:
        >>> import numpy as np
        >>> from lightly_byel.data.synthfaces.faces import (
        ...     sample_action_units, sample_identity, sample_pose)
        >>> rng = np.random.default_rng(0)
        >>> face = render_face(sample_identity(rng),
        ...     sample_action_units("SURPRISE", rng),
        ...     sample_pose("clean", rng), "clean", 32, rng)
        >>> face.size, face.mode
        ((32, 32), 'RGB')
    """
    canvas = size * _SUPERSAMPLE
    if domain == "clean":
        background = mix(rng.uniform(150, 250, 3), (255, 255, 255), 0.2)
        image = Image.new("RGB", (canvas, canvas), background)
    else:
        image = Image.new("RGB", (canvas, canvas))
        draw_scene(image, rng)
    painter = Painter(image, pose, framing, identity.eye_spacing)
    gaze = float(np.clip(pose.yaw / 30.0 + rng.normal(0.0, 0.2), -1.0, 1.0))
    draw_head(painter, identity, units, gaze, RENDERED if domain == "clean" else PHOTO)
    draw_occluder(painter, identity, occluder, rng)
    image = image.reduce(_SUPERSAMPLE)
    if domain == "shifted":
        cx, cy = painter.project(np.array([[0.0, 0.0]]), 0.3)
        scale = painter.unit / _SUPERSAMPLE
        face = FaceEllipse(
            cx / _SUPERSAMPLE,
            cy / _SUPERSAMPLE,
            identity.face_width * scale,
            1.25 * identity.face_height * scale,
        )
        image = photo_look(image, face, rng)
    return image
