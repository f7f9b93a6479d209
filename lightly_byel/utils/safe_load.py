"""The one way this project reads a PyTorch file: tensors and plain data only.

Checkpoints, model files and pretrained weights are shared between people and
copied between clusters, so none of them is trusted. A ``.pt`` or ``.ckpt`` file is
a pickle, and unpickling an arbitrary object can run any command. :func:`safe_load`
reads a file with ``torch.load(..., weights_only=True)``, which rebuilds only
tensors, numbers, strings and containers of them; every file this project writes
holds nothing else. A file that needs more is refused as
:class:`UntrustedFileError` without running any of it, and a file that is not a
readable PyTorch file at all (torn, truncated, something else) as
:class:`DamagedFileError`. Neither message suggests loading the file another way,
and torch's warnings that do (on a TorchScript archive, or a plain pickle) are not
passed on. Both
errors keep ``reason``, the why without the file's name, for callers that name the
file in their own terms (``EmotionModel.load``: "not a model file").
"""

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

_REFUSED_GLOBAL = re.compile(r"GLOBAL (\S+?) was not an allowed global")


class _RefusedFileError(ValueError):
    """A file :func:`safe_load` does not read, and why.

    Args:
        message: The whole message, naming the file.
        reason: Why the file is not read, as a predicate without the file
            (``"is refused: it holds pickled Python objects (print), ..."``), for a
            caller that names the file in its own terms; the message if not given.
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class UntrustedFileError(_RefusedFileError):
    """A file refused because reading it would unpickle Python objects."""


class DamagedFileError(_RefusedFileError):
    """A file that is not a readable PyTorch file (torn, truncated or another kind)."""


def safe_load(path: str | Path, what: str = "file") -> Any:
    """Reads a PyTorch file that holds only tensors and plain data, on the CPU.

    Args:
        path: The ``.pt`` or ``.ckpt`` file.
        what: What the file is meant to be, for the errors (``"checkpoint"``).

    Returns:
        The file's content.

    Raises:
        FileNotFoundError: If there is no file at ``path``.
        IsADirectoryError: If ``path`` is a folder.
        UntrustedFileError: If the file holds pickled objects other than tensors
            and plain data; none of them is created.
        DamagedFileError: If it is not a readable PyTorch file.

    Examples:
        >>> import builtins, tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> torch.save({"weight": torch.ones(2)}, folder / "weights.pt")
        >>> safe_load(folder / "weights.pt")
        {'weight': tensor([1., 1.])}
        >>> class Planted:
        ...     def __reduce__(self):
        ...         return (builtins.print, ("this must never be printed",))
        >>> torch.save({"weight": Planted()}, folder / "planted.pt")
        >>> safe_load(folder / "planted.pt", "checkpoint")
        Traceback (most recent call last):
        ...
        lightly_byel.utils.safe_load.UntrustedFileError: checkpoint '.../planted.pt'
        is refused: it holds pickled Python objects (print), which could run
        code when loaded; only files of tensors and plain data are read.
        >>> torn = b"PK" + bytes([3, 4]) + b" the start of a zip file"
        >>> _ = (folder / "torn.pt").write_bytes(torn)
        >>> safe_load(folder / "torn.pt")
        Traceback (most recent call last):
        ...
        lightly_byel.utils.safe_load.DamagedFileError: file '.../torn.pt' is not a
        readable PyTorch file (damaged, truncated or of another kind): RuntimeError.
    """
    file = Path(path)
    if file.is_dir():
        raise IsADirectoryError(f"{what} {str(file)!r} is a folder, not a file.")
    if not file.is_file():
        raise FileNotFoundError(f"{what} {str(file)!r} does not exist.")
    try:
        with warnings.catch_warnings():
            # torch's notes on a file it is about to refuse or reads anyway: a
            # plain pickle's protocol ("please file an issue") and a TorchScript
            # archive ("call torch.jit.load"). The error raised here says what
            # the file is, and nothing suggests loading it another way.
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            warnings.filterwarnings("ignore", ".*TorchScript archive", UserWarning)
            return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # A pickle that names a function or class to call; any other refusal is
        # bytes that are no pickle of ours. torch's message advises loading the
        # file unrestricted: it is never repeated.
        found = _REFUSED_GLOBAL.search(str(error))
        if found is None:
            raise _damaged(file, what, error) from None
        reason = (
            f"is refused: it holds pickled Python objects ({found.group(1)}), which "
            "could run code when loaded"
        )
        raise UntrustedFileError(
            f"{what} {str(file)!r} {reason}; only files of tensors and plain data "
            "are read.",
            reason,
        ) from None
    except OSError:  # a permission or disk error says what it is itself
        raise
    except Exception as error:  # zip, pickle and EOF errors alike: not readable
        raise _damaged(file, what, error) from None


def _damaged(file: Path, what: str, error: BaseException) -> DamagedFileError:
    """The error for a file that torch cannot read as a PyTorch file."""
    # torch's own texts are long, and some give advice that does not apply here.
    return DamagedFileError(
        f"{what} {str(file)!r} is not a readable PyTorch file (damaged, truncated "
        f"or of another kind): {type(error).__name__}.",
        "is not a readable PyTorch file (damaged, truncated or of another kind: "
        f"{type(error).__name__})",
    )
