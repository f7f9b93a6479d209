"""Where to compute: ``--device auto``, ``cpu`` or ``cuda`` resolved one way."""

import torch


def resolve_device(name: str, flag: str = "--device") -> str:
    """The torch device a ``--device`` value names on this machine.

    Args:
        name: ``auto`` (a CUDA device where there is one, else the CPU), ``cpu``,
            ``cuda`` or ``cuda:N``.
        flag: How the error names the setting.

    Raises:
        ValueError: For a CUDA device on a machine without one, naming ``flag``.

    Examples:
        >>> resolve_device("cpu")
        'cpu'
        >>> resolve_device("auto") in ("cpu", "cuda")
        True
    """
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"{flag} {name}: no CUDA device is available.")
    return name
