"""The evaluation sets of a run: each ``--eval-dir`` with its format.

Researchers report synthetic-to-real transfer on several real sets side by side
(LSD validation, RAF-DB, AffectNet, ...). ``--eval-dir`` may name several sets;
``--eval-format`` gives one format for all or one per set, in order, and
``--eval-annotations`` one folder per set whose format needs annotations, in
order. The first set is the main one: the run's reported macro F1, plots and
model files are scored on it; the others are scored with the same encoders and
heads and shown beside it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from harness.config.settings import DataSettings
from lightly_byel.data.formats import FORMATS


@dataclass(frozen=True)
class EvalSet:
    """One evaluation set.

    Attributes:
        name: Its name in the results: ``<format>:<folder name>``, numbered when
            two sets would share one.
        path: The folder (or file) read.
        format: A name of :data:`~lightly_byel.data.formats.FORMATS`.
        annotations: Its annotation folder, for the formats that need one.
    """

    name: str
    path: Path
    format: str
    annotations: Path | None = None


def eval_sets(data: DataSettings, default: Path | None = None) -> list[EvalSet]:
    """Pairs every evaluation folder with its format and annotations, in order.

    Args:
        data: The run's data settings.
        default: The evaluation split to use without ``--eval-dir`` (the LSD
            layout's ``validation_set_real_images``).

    Raises:
        ValueError: If the numbers of folders, formats and annotation folders do
            not match, or a format needs ``--eval-dir`` that is not given.

    Examples:
        >>> data = DataSettings(eval_dir=("lsd/val", "raf"),
        ...                     eval_format=("lsd", "rafdb"))
        >>> [(s.name, s.format) for s in eval_sets(data)]
        [('lsd:val', 'lsd'), ('rafdb:raf', 'rafdb')]
        >>> eval_sets(DataSettings(), Path("root/validation_set_real_images"))[0].name
        'lsd:validation_set_real_images'
    """
    folders = [Path(folder) for folder in data.eval_dir or ()]
    formats: list[str] = list(data.eval_format)
    if not folders:
        if default is None or len(formats) != 1:
            raise ValueError(
                f"--eval-format names {len(formats)} formats but there is one "
                "evaluation split; give --eval-dir for each."
            )
        folders = [default]
    if len(formats) == 1:
        formats *= len(folders)
    if len(formats) != len(folders):
        raise ValueError(
            f"--eval-format names {len(formats)} formats for {len(folders)} "
            "--eval-dir; give one format for all or one for each, in order."
        )
    needing = [i for i, form in enumerate(formats) if FORMATS[form].needs_annotations]
    if needing and data.eval_dir is None:
        raise ValueError(
            f"--eval-format {formats[needing[0]]} needs --eval-dir "
            f"({FORMATS[formats[needing[0]]].description})."
        )
    annotations = [Path(folder) for folder in data.eval_annotations or ()]
    if annotations and not needing:
        raise ValueError(
            f"--eval-annotations needs --eval-format {_needing_formats()}."
        )
    if len(annotations) != len(needing):
        raise ValueError(
            f"--eval-annotations names {len(annotations)} folders for "
            f"{len(needing)} evaluation sets of a format that reads them "
            f"({_needing_formats()}); give one for each, in order."
        )
    by_set = dict(zip(needing, annotations, strict=True))
    names = _names(folders, formats)
    return [
        EvalSet(name, folder, form, by_set.get(i))
        for i, (name, folder, form) in enumerate(
            zip(names, folders, formats, strict=True)
        )
    ]


def _needing_formats() -> str:
    return " or ".join(n for n, f in FORMATS.items() if f.needs_annotations)


def _names(folders: list[Path], formats: list[str]) -> list[str]:
    """``<format>:<folder name>``, numbered from the second set that shares one."""
    names: list[str] = []
    for folder, form in zip(folders, formats, strict=True):
        base = f"{form}:{os.path.basename(os.path.normpath(folder)) or folder}"
        name, number = base, 2
        while name in names:
            name, number = f"{base} ({number})", number + 1
        names.append(name)
    return names
