"""Applying a trained model to folders of images, as ``lightly-byel predict`` does.

:mod:`~lightly_byel.inference.image_sources` lists the images of a flat folder,
video frame folders or a labelled dataset (and the faces in photos);
:mod:`~lightly_byel.inference.abaw_submission` writes the ABAW EXPR per-video files;
:mod:`~lightly_byel.inference.predict_files` runs the command.
"""
