"""Utilities: LARS without host-device synchronisation, and atomic file writes."""

from lightly_byel.utils.atomic_files import write_atomic, write_text_atomic
from lightly_byel.utils.lars import LARS

__all__ = ["LARS", "write_atomic", "write_text_atomic"]
