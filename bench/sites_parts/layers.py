"""The camera's simulcast layers a simulated site sends: three clips encoded once, cached.

A browser site captures 1280x720 and sends three encodings (rids, low to
high): ``q`` 320x180, ``h`` 640x360, ``f`` 1280x720, with the page's bitrate
ceilings (``web/static/meeting/layers.js``). Each layer is a clip of the same
moving pattern encoded with libvpx (PyAV) at its size, twice: once with a
keyframe every GOP_SECONDS, once every frame a keyframe (sent after a PLI on
that layer or when the layer resumes). Cached in ``bench/.cache``.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forwarding_parts.clip import FPS, GOP_SECONDS
from forwarding_parts.paths import CACHE
from forwarding_parts.progress import log

RIDS = ("q", "h", "f")  # low -> high; layers are named, never numbered
# rid -> (width, height, bitrate): the page's plan (layers.js) from a 1280x720 capture
LAYER_PLAN: dict[str, tuple[int, int, int]] = {
    "q": (320, 180, 150_000),
    "h": (640, 360, 500_000),
    "f": (1280, 720, 1_500_000),
}
LAYERS_VERSION = 1


@dataclass
class LayerClip:
    """One layer's clip: the encoded frames, normal and keyframe variants."""

    rid: str
    payloads: list[bytes]
    key_payloads: list[bytes]
    keyframes: list[bool]

    def kbps(self) -> float:
        """The layer's mean bitrate."""
        return sum(len(p) for p in self.payloads) * 8 * FPS / len(self.payloads) / 1000


def layers_path(seconds: float) -> Path:
    """The cache file of the layer clips this long."""
    frames = int(seconds * FPS)
    plan = "-".join(f"{r}{w}x{h}@{b // 1000}k" for r, (w, h, b) in LAYER_PLAN.items())
    return CACHE / f"site-layers-v{LAYERS_VERSION}-{plan}-{FPS}fps-{frames}f.pickle"


def read_layers(path: Path) -> dict[str, LayerClip]:
    """The layer clips in a cache file."""
    with path.open("rb") as handle:
        raw: dict[str, dict[str, Any]] = pickle.load(handle)
    return {rid: LayerClip(rid=rid, **fields) for rid, fields in raw.items()}


def load_layers(seconds: float) -> tuple[dict[str, LayerClip], Path]:
    """Encode (or read from the cache) the three layer clips."""
    from tests.support.media import encode_vp8

    path = layers_path(seconds)
    if path.exists():
        return read_layers(path), path
    frames = int(seconds * FPS)
    started = time.monotonic()
    raw: dict[str, dict[str, Any]] = {}
    for rid, (width, height, bitrate) in LAYER_PLAN.items():
        log(f"encoding layer {rid} once: {frames} frames of {width}x{height} VP8, twice")
        common = {"frames": frames, "width": width, "height": height, "fps": FPS}
        video = encode_vp8(gop=GOP_SECONDS * FPS, bitrate=bitrate, **common)
        key = encode_vp8(gop=1, bitrate=bitrate, **common)
        if len(video.payloads) != frames or len(key.payloads) != frames:
            raise RuntimeError("the encoder did not return one packet per picture")
        raw[rid] = {
            "payloads": video.payloads,
            "key_payloads": key.payloads,
            "keyframes": list(video.keyframes),
        }
    CACHE.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as handle:
        pickle.dump(raw, handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(path)
    log(f"layers encoded in {time.monotonic() - started:.1f} s, cached in {path}")
    return read_layers(path), path
