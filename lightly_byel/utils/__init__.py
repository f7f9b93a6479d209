"""Utilities: LARS, atomic file writes, reading PyTorch files without running code.

LARS without host-device synchronisation; files written whole or not at all; and
the one reader of ``.pt``/``.ckpt`` files, which never unpickles more than tensors
and plain data.
"""

from lightly_byel.utils.atomic_files import write_atomic, write_text_atomic
from lightly_byel.utils.lars import LARS
from lightly_byel.utils.safe_load import DamagedFileError, UntrustedFileError, safe_load

__all__ = [
    "LARS",
    "DamagedFileError",
    "UntrustedFileError",
    "safe_load",
    "write_atomic",
    "write_text_atomic",
]
