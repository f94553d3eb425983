"""A rendered composite, decoded, and the flashes and beeps found in it.

The synthetic recordings (:mod:`tests.support.recordings`) and the end-to-end
recording test send a flash (a white picture) and a beep (a tone of the
site's own frequency) at the same instants; these find them again in the
composite's tiles and mix, for the renderer's tests and the sync test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from recorder.compose import Rect
from tests.support.recordings import BEEP_LEVEL

RATE = 48000  # the composite's audio
SYNC_TOLERANCE = 0.040  # audio against video, the requirement


@dataclass
class Decoded:
    """A composite, decoded: pictures (luma only) and the mono mix."""

    width: int
    height: int
    video_codec: str
    audio_codec: str
    audio_rate: int
    audio_channels: int
    pix_fmt: str
    duration: float
    times: list[float]
    luma: list[npt.NDArray[np.uint8]]
    chroma_u: list[npt.NDArray[np.uint8]]
    pcm: npt.NDArray[np.float32]

    def frame_at(self, t: float) -> int:
        """Index of the frame shown at time ``t``."""
        return int(np.searchsorted(self.times, t + 1e-6) - 1)


def decode(path: Path) -> Decoded:
    """Decode a composite MP4: every picture's planes and the whole mix, averaged to mono."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        info = (
            video.codec_context.name,
            audio.codec_context.name,
            audio.codec_context.sample_rate,
            audio.codec_context.channels,
            video.codec_context.pix_fmt,
            float(container.duration / 1e6),
        )
        times, luma, chroma = [], [], []
        for frame in container.decode(video):
            planes = frame.to_ndarray()
            times.append(float(frame.time))
            luma.append(planes[: frame.height].copy())
            chroma.append(
                planes[frame.height : frame.height * 5 // 4].reshape(frame.height // 2, -1)
            )
            width, height = frame.width, frame.height
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(audio=0)]
    return Decoded(width, height, *info, times, luma, chroma, np.concatenate(chunks))


def tile_level(decoded: Decoded, rect: Rect) -> npt.NDArray[np.float64]:
    """Mean luma of the middle of a tile in every frame (clear of the name label)."""
    top, bottom = rect.y + rect.h // 6, rect.y + rect.h * 3 // 5
    left, right = rect.x + rect.w // 5, rect.x + rect.w * 4 // 5
    return np.array([y[top:bottom, left:right].mean() for y in decoded.luma])


def flash_onsets(decoded: Decoded, rect: Rect) -> list[float]:
    """Times of the frames where the tile turns white."""
    level = tile_level(decoded, rect)
    bright = level > 140
    return [decoded.times[i] for i in np.flatnonzero(bright[1:] & ~bright[:-1]) + 1]


def beep_onsets(pcm: npt.NDArray[np.float32], frequency: float) -> list[float]:
    """Start times of the tone at ``frequency``: its envelope over 10 ms windows.

    The tone is demodulated to 0 Hz and averaged over 10 ms; another site's
    tone (a multiple of 100 Hz away) averages out exactly. The envelope
    crosses half the beep's level when the window is half into the beep.
    """
    n = np.arange(len(pcm))
    baseband = pcm * np.exp(-2j * np.pi * frequency * n / RATE)
    window = RATE // 100
    summed = np.concatenate([[0], np.cumsum(baseband)])
    envelope = np.abs(summed[window:] - summed[:-window]) * 2 / window
    loud = envelope > BEEP_LEVEL / 2
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    return [(s + window / 2) / RATE for s in starts]
