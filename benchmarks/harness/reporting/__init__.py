"""Results files (JSON, Markdown) and plots of the benchmark."""
