"""A benchmark run: its command line, preflight, folder, lock, identity and loop."""
