"""The images of a run: its splits, evaluation sets and formats, class weights."""
