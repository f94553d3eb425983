"""Recording: every published track kept without transcoding, and composites to watch."""
