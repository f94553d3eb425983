"""The clip every publisher sends: VP8 640x360@30 fps plus Opus, encoded once, cached on disk."""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forwarding_parts.paths import CACHE
from forwarding_parts.progress import log

WIDTH, HEIGHT, FPS, BITRATE = 640, 360, 30, 800_000
GOP_SECONDS = 10  # browsers send keyframes on request only; 10 s between periodic ones
TICKS_PER_FRAME = 90000 // FPS
CLIP_VERSION = 2


@dataclass
class Clip:
    """The pre-encoded media every publisher sends."""

    video: Any  # tests.support.media.EncodedClip, GOP of GOP_SECONDS
    video_key: Any  # the same pictures, every one a keyframe (sent after a PLI)
    audio: Any
    seconds: float

    def describe(self) -> dict[str, Any]:
        """The clip as the JSON document reports it."""
        video, key = self.video, self.video_key
        sizes = [len(p) for p in video.payloads]
        return {
            "codec": "VP8",
            "width": WIDTH,
            "height": HEIGHT,
            "fps": FPS,
            "frames": len(video.payloads),
            "seconds": round(len(video.payloads) / FPS, 2),
            "target_bitrate_bps": BITRATE,
            "measured_bitrate_bps": round(sum(sizes) * 8 * FPS / len(sizes)),
            "mean_frame_bytes": round(sum(sizes) / len(sizes)),
            "gop_frames": GOP_SECONDS * FPS,
            "periodic_keyframes": sum(video.keyframes),
            "keyframe_variant_mean_bytes": round(
                sum(len(p) for p in key.payloads) / len(key.payloads)
            ),
            "unique_frames": len(video.digests),
            "audio": {
                "codec": "opus",
                "frames": len(self.audio.payloads),
                "frame_ms": 20,
                "bitrate_bps": 32000,
            },
        }


def clip_path(seconds: float) -> Path:
    """The cache file of a clip this long (its name says how it was encoded)."""
    frames = int(seconds * FPS)
    return CACHE / f"clip-v{CLIP_VERSION}-{WIDTH}x{HEIGHT}-{FPS}fps-{BITRATE}-{frames}f.pickle"


def read_clip(path: Path) -> Clip:
    """The clip in a cache file (worker processes read it from there)."""
    with path.open("rb") as handle:
        return Clip(**pickle.load(handle))


def load_clip(seconds: float) -> tuple[Clip, Path]:
    """Encode (or load from the cache) the clip; every frame is a different picture."""
    from tests.support.media import encode_opus, encode_vp8

    path = clip_path(seconds)
    if path.exists():
        return read_clip(path), path
    frames = int(seconds * FPS)
    log(f"encoding the clip once: {frames} frames of {WIDTH}x{HEIGHT} VP8, twice, plus Opus")
    started = time.monotonic()
    common = {"frames": frames, "width": WIDTH, "height": HEIGHT, "fps": FPS, "bitrate": BITRATE}
    video = encode_vp8(gop=GOP_SECONDS * FPS, **common)
    video_key = encode_vp8(gop=1, **common)
    audio = encode_opus(seconds)
    if len(video.payloads) != frames or len(video_key.payloads) != frames:
        raise RuntimeError("the encoder did not return one packet per picture")
    if len(video.digests) != frames:
        raise RuntimeError("two frames of the clip are byte-identical: frames must be unique")
    clip = Clip(video, video_key, audio, seconds)
    CACHE.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as handle:
        # Plain EncodedClip objects (importable anywhere), not this script's classes.
        pickle.dump(
            {"video": video, "video_key": video_key, "audio": audio, "seconds": seconds},
            handle,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    temporary.replace(path)
    log(f"clip encoded in {time.monotonic() - started:.1f} s, cached in {path}")
    return clip, path
