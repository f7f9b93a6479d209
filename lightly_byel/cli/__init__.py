"""The ``lightly-byel`` command: trained models applied from the command line.

``lightly-byel predict`` writes a model file's predictions for images (and the ABAW
submission files), ``lightly-byel export`` writes its ONNX graph. Each command reads
its flags before it imports torch, so ``--help`` answers at once.
"""
