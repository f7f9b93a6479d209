"""A contact sheet of both splits: one row a class, one column an identity."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.synthfaces.faces import Framing
from lightly_byel.data.synthfaces.generate import SPLITS, render_sample

_LABEL_WIDTH = 84
_HEADER = 20


def contact_sheet(
    seed: int = 0,
    image_size: int = 64,
    columns: int = 8,
    identities: int = 300,
    framing: Framing = "aligned",
) -> Image.Image:
    """Render a labelled grid of faces from both splits.

    Each split gets a header and one row per class; column ``k`` shows identity
    ``k`` of the split's pool, so a column follows one person through the six
    expressions. Cells are the images ``generate`` writes for the same seed, except
    for the chosen identity.

    Args:
        seed: Data set seed.
        image_size: Cell width and height in pixels.
        columns: Identities shown per split, at most ``identities``.
        identities: Size of each split's identity pool.
        framing: ``"aligned"`` face crops or ``"loose"`` head-and-shoulders shots.

    Returns:
        An RGB image.

    Raises:
        ValueError: If ``columns`` is not in ``1..identities``.

    Examples:
        >>> sheet = contact_sheet(image_size=16, columns=2, identities=2)
        >>> sheet.size
        (116, 232)
    """
    if not 1 <= columns <= identities:
        raise ValueError(f"columns must be in 1..{identities}, got {columns}")
    rows = len(LSD_CLASSES)
    split_height = _HEADER + rows * image_size
    sheet = Image.new(
        "RGB",
        (_LABEL_WIDTH + columns * image_size, len(SPLITS) * split_height),
        (255, 255, 255),
    )
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for s, split in enumerate(SPLITS):
        top = s * split_height
        draw.text((4, top + 4), split, fill=(0, 0, 0), font=font)
        for label, name in enumerate(LSD_CLASSES):
            y = top + _HEADER + label * image_size
            draw.text((4, y + image_size // 2 - 6), name, fill=(0, 0, 0), font=font)
            for column in range(columns):
                sample = render_sample(
                    seed,
                    split,
                    label,
                    column,
                    image_size,
                    identities,
                    identity=column,
                    framing=framing,
                )
                sheet.paste(sample.image, (_LABEL_WIDTH + column * image_size, y))
    return sheet
