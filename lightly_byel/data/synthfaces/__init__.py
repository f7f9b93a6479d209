"""Procedural synthetic faces in the layout of the ABAW LSD release.

A stand-in for the licensed challenge data on machines that have none: aligned face
crops drawn from FACS action units (the six LSD expressions), many identities, two
domains (a clean rendered training split and a shifted, photo-like split standing in
for real faces, with the same expressions; nothing here is real). Run
``python -m lightly_byel.data.synthfaces --help``.
"""

from lightly_byel.data.synthfaces.faces import (
    ACTION_UNITS,
    FRAMINGS,
    PROTOTYPES,
    Framing,
    Identity,
    Pose,
    sample_action_units,
    sample_identity,
    sample_occluder,
    sample_pose,
)
from lightly_byel.data.synthfaces.generate import (
    DATASET_FILE,
    DOMAINS,
    GENERATOR_VERSION,
    METADATA_COLUMNS,
    METADATA_FILE,
    SPLITS,
    GenerationSummary,
    Sample,
    generate,
    lsd_validation_counts,
    render_sample,
)
from lightly_byel.data.synthfaces.preview import contact_sheet
from lightly_byel.data.synthfaces.render import render_face

__all__ = [
    "ACTION_UNITS",
    "DATASET_FILE",
    "DOMAINS",
    "FRAMINGS",
    "GENERATOR_VERSION",
    "METADATA_COLUMNS",
    "METADATA_FILE",
    "PROTOTYPES",
    "SPLITS",
    "Framing",
    "GenerationSummary",
    "Identity",
    "Pose",
    "Sample",
    "contact_sheet",
    "generate",
    "lsd_validation_counts",
    "render_face",
    "render_sample",
    "sample_action_units",
    "sample_identity",
    "sample_occluder",
    "sample_pose",
]
