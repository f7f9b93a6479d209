"""The ``cache`` pipeline and its uint8 caches with their block checksums."""
