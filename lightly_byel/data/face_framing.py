"""How a face box becomes the square crop a model sees.

Our models are trained on aligned face crops (the LSD release and Aff-Wild2's
``cropped_aligned`` frames): square, the face filling the frame. A face box from
an annotation or a detector is made square around its centre, on its longer
side, then scaled and shifted to match that framing, so the crop is not
stretched when it is resized to the model's input.
"""

import math

from lightly_byel.data.images import FaceBox


def square_box(box: FaceBox, scale: float = 1.0, shift: float = 0.0) -> FaceBox:
    """The square around a box's centre, ``scale`` times its longer side.

    Args:
        box: ``(left, top, right, bottom)`` in pixels.
        scale: The square's side over the box's longer side.
        shift: How far the square's centre moves down, as a fraction of its side
            (negative: up).

    Raises:
        ValueError: If the box is empty, a value is not finite, or ``scale`` is
            not positive.

    Examples:
        >>> square_box((10, 20, 30, 60))
        (0.0, 20.0, 40.0, 60.0)
        >>> square_box((10, 20, 30, 60), scale=1.5, shift=0.1)
        (-10.0, 16.0, 50.0, 76.0)
    """
    left, top, right, bottom = box
    # NaN or infinity would give a NaN square, found only when an image is cut.
    finite = all(math.isfinite(value) for value in (*box, scale, shift))
    if not (finite and right > left and bottom > top and scale > 0):
        raise ValueError(
            f"expected a finite box (left, top, right, bottom) with right > left "
            f"and bottom > top, a positive scale and a finite shift; got {box}, "
            f"scale {scale} and shift {shift}."
        )
    side = max(right - left, bottom - top) * scale
    x = (left + right) / 2
    y = (top + bottom) / 2 + shift * side
    return (x - side / 2, y - side / 2, x + side / 2, y + side / 2)
