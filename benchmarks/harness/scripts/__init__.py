"""What only the other benchmark scripts share: step timing, spreads, result files."""
