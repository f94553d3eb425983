"""Writing a synthetic checkpoint clip to a video file."""

from __future__ import annotations

import fractions
import os
from collections.abc import Sequence
from pathlib import Path

from tests.support.synth.plates import LAYOUTS
from tests.support.synth.scene import CheckpointScene
from tests.support.synth.vehicles import VehicleTruth


def generate(
    path: str | os.PathLike[str],
    seconds: float,
    fps: int = 25,
    width: int = 1280,
    height: int = 720,
    seed: int = 0,
    vehicles_per_minute: float = 20.0,
    night: bool = False,
    layouts: Sequence[str] = LAYOUTS,
    zoom: float = 1.0,
    exposure: float | None = None,
    noise: float | None = None,
    distractors: bool = True,
    crf: int = 23,
) -> list[VehicleTruth]:
    """Write a synthetic checkpoint clip to ``path`` and return the truth.

    The codec follows the extension: H.264 (libx264, ``crf``) for ``.mp4`` and
    ``.mkv``, VP8 (libvpx, about 4 Mbit/s) for ``.webm``. Only vehicles whose
    plate is in the picture at some point are returned.
    """
    import av

    scene = CheckpointScene(
        seconds,
        fps=fps,
        width=width,
        height=height,
        seed=seed,
        vehicles_per_minute=vehicles_per_minute,
        night=night,
        layouts=layouts,
        zoom=zoom,
        exposure=exposure,
        noise=noise,
        distractors=distractors,
    )
    target = Path(path)
    vp8 = target.suffix.lower() == ".webm"
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libvpx" if vp8 else "libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = fractions.Fraction(1, fps)
        if vp8:
            stream.bit_rate = 4_000_000
            stream.options = {"deadline": "good", "cpu-used": "4", "threads": "1"}
        else:
            stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        for index, image in enumerate(scene.frames()):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return [v for v in scene.truth if v.boxes]
