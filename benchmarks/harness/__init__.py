"""The Aff-Wild2/LSD benchmark harness behind ``benchmarks/affwild2.py``.

``methods`` holds one LightningModule per pretraining method and the registry,
``evaluation`` the linear probe, fine-tuning and metrics, ``reporting`` the results
files and plots, ``settings`` and ``config`` the settings, flags and checks,
``presets`` the named configurations, ``data`` the data sets.

The harness needs the ``benchmarks`` extra, which the library alone does not.
"""

import importlib.util

_EXTRA = {
    "pytorch_lightning": "pytorch-lightning",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
}
_MISSING = [
    name for module, name in _EXTRA.items() if importlib.util.find_spec(module) is None
]
if _MISSING:
    raise ImportError(
        f"the benchmarks need {', '.join(_MISSING)}: install them with "
        "pip install 'lightly-byel[benchmarks]' (or '.[benchmarks]' in a clone)."
    )
