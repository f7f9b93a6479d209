"""The Aff-Wild2/LSD benchmark harness behind ``benchmarks/affwild2.py``.

``methods`` holds one LightningModule per pretraining method and the registry,
``evaluation`` the linear probe, fine-tuning and metrics, ``reporting`` the results
files and plots, ``config`` the settings and presets, ``data`` the data sets.
"""
