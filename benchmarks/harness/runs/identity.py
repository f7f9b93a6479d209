"""What a run's results depend on, recorded in its folder and checked on ``--resume``.

``<output>/run.json`` records the identity of a run when it starts: every setting
that changes results (all but the output folder, ``resume``, and the methods and
seeds, which a resumed run may extend), a fingerprint of the data (the paths,
sizes, modification times and labels of every image), and the code (the version
of ``lightly_byel``, a hash of the library's and the harness's source, and the
versions of torch and Lightning). A resumed run must have the same identity, or it
would label old numbers with new settings; :func:`differences` lists what changed.
"""

import hashlib
import importlib.metadata
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

import lightly_byel
from harness.config.mapping_files import read_mapping
from harness.config.settings import BenchmarkConfig
from harness.config.sources import to_dict
from lightly_byel.data import LabeledImageFiles

IDENTITY_FILE = "run.json"
# Settings that a resumed run may change: where it writes, how it starts, and which
# units it runs (each unit's results depend only on the rest).
_FREE = (
    "run.output",
    "run.resume",
    "run.methods",
    "run.seeds",
    "run.ddp_timeout_minutes",
)
_HARNESS = Path(__file__).resolve().parent
_LIBRARY = Path(lightly_byel.__file__).resolve().parent


def settings_identity(config: BenchmarkConfig) -> dict[str, Any]:
    """The settings and code a run's results depend on, as plain data."""
    settings = to_dict(config)
    for key in _FREE:
        section, name = key.split(".")
        settings[section].pop(name)
    return {"settings": settings, "code": code_identity()}


def data_identity(
    train: LabeledImageFiles,
    evaluation: LabeledImageFiles,
    others: Mapping[str, LabeledImageFiles] | None = None,
) -> dict[str, Any]:
    """Fingerprints of the splits: their files' paths, sizes, times and labels.

    Further evaluation sets (``others``, by name) add ``other_evals``.
    """
    identity: dict[str, Any] = {
        "train": train.fingerprint(),
        "eval": evaluation.fingerprint(),
    }
    if others:
        identity["other_evals"] = {
            name: dataset.fingerprint() for name, dataset in others.items()
        }
    return identity


def code_identity() -> dict[str, Any]:
    """The version of the code: package versions and a hash of the source."""
    digest = hashlib.sha256()
    for root in (_LIBRARY, _HARNESS):
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
    return {
        "lightly_byel": lightly_byel.__version__,
        "source_sha256": digest.hexdigest(),
        "torch": torch.__version__,
        "pytorch_lightning": importlib.metadata.version("pytorch-lightning"),
    }


def read_identity(folder: Path) -> dict[str, Any] | None:
    """The identity recorded in ``folder``, or ``None`` if there is none.

    Raises:
        ValueError: If ``run.json`` exists but cannot be read.
    """
    path = folder / IDENTITY_FILE
    if not path.is_file():
        return None
    return read_mapping(path, "; the run's settings cannot be checked")


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two identities, one line per changed value.

    Examples:
        >>> differences({"settings": {"pretrain": {"epochs": 8}}},
        ...             {"settings": {"pretrain": {"epochs": 3}}})
        ['settings.pretrain.epochs: 8 -> 3']
    """
    old, new = dict(_flat(recorded)), dict(_flat(current))
    return [
        f"{key}: {_shown(old.get(key))} -> {_shown(new.get(key))}"
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def _flat(values: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _shown(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
