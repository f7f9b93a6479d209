"""Settings: each declared once, with the presets and the files they are read from.

The bottom layer of the harness: it imports nothing else of it.
"""
