"""The six expression classes of the ABAW "Learning from Synthetic Data" release."""

LSD_CLASSES: tuple[str, ...] = (
    "ANGER",
    "DISGUST",
    "FEAR",
    "HAPPINESS",
    "SADNESS",
    "SURPRISE",
)
"""Class folder names in label order (alphabetical, as every participant used)."""
