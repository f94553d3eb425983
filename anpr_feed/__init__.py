"""Checkpoint cameras: feeds, plate reading, watch lists, and the annotated feed in a meeting."""
