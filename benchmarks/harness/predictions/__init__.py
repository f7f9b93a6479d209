"""``predict.py``'s sources of faces and its ABAW submission files."""
