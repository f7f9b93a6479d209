"""Training utilities: a LARS optimizer without host-device synchronisation."""

from lightly_byel.utils.lars import LARS

__all__ = ["LARS"]
