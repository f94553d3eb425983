"""Video files as frames, for reading plates in a recorded clip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from anpr_feed.types import Image

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts", ".flv", ".m4v"})


def iter_video_frames(path: Path, *, every: int = 5, max_frames: int = 2000) -> Iterator[Image]:
    """Every ``every``-th decoded frame of a video as BGR (at most ``max_frames`` of them).

    Raises ``ValueError`` if the file is not a video PyAV can decode.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise ValueError(f"not an image or a video: {path} ({exc})") from exc
    with container:
        if not container.streams.video:
            raise ValueError(f"not an image or a video: {path} (no video stream)")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        n = yielded = 0
        try:
            for frame in container.decode(stream):
                if n % max(1, every) == 0:
                    yield np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
                    yielded += 1
                    if yielded >= max_frames:
                        return
                n += 1
        except av.FFmpegError as exc:
            if yielded == 0:
                raise ValueError(f"not an image or a video: {path} (cannot decode: {exc})") from exc
