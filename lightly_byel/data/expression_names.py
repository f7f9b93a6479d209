"""Expression names as datasets spell them, mapped to the six LSD classes.

Datasets name the basic expressions in many ways (``angry``, ``Anger``, ``AN``,
``happy``, ``surprised``, ...). Every loader maps its own names or codes to one
of the canonical names here: an LSD class (``ANGER`` ... ``SURPRISE``), or
``neutral`` and ``contempt``, which the six-class task leaves out and counts.
"""

from lightly_byel.data.classes import LSD_CLASSES

LEFT_OUT: tuple[str, ...] = ("neutral", "contempt")
"""Expressions of seven- and eight-class datasets outside the six LSD classes."""

LSD_MISSPELLINGS: dict[str, str] = {"angrer": "ANGER", "angere": "ANGER"}
"""Misspelt class folders of copies of the LSD release, case-folded."""

EXPRESSION_NAMES: dict[str, str] = {
    **{name.casefold(): name for name in LSD_CLASSES},
    **LSD_MISSPELLINGS,
    "angry": "ANGER",
    "disgusted": "DISGUST",
    "fearful": "FEAR",
    "afraid": "FEAR",
    "scared": "FEAR",
    "happy": "HAPPINESS",
    "sad": "SADNESS",
    "surprised": "SURPRISE",
    "neutral": "neutral",
    "contempt": "contempt",
}
"""Canonical name of every accepted spelling, case-folded."""


def expression_label(name: str) -> int | str | None:
    """The LSD label a name means, the reason it is left out, or ``None``.

    Names are matched without regard to case and surrounding spaces.

    Returns:
        The LSD label (0-5) for the six classes, ``"neutral"`` or ``"contempt"``
        for those expressions, ``None`` for a name that is no expression.

    Examples:
        >>> [expression_label(n) for n in ("Angry", " SURPRISED ", "neutral", "cat")]
        [0, 5, 'neutral', None]
    """
    canonical = EXPRESSION_NAMES.get(name.strip().casefold())
    if canonical is None or canonical in LEFT_OUT:
        return canonical
    return LSD_CLASSES.index(canonical)
