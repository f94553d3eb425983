"""A site's microphone for aiortc peers: a loud tone (or silence), paced in real time.

aiortc encodes the raw audio and writes RFC 6464 audio levels from it, so a
site publishing the tone is heard by the server's speaker detector, and one
whose tone is switched off (``loud = False``) is silent.
"""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack


class ToneTrack(MediaStreamTrack):
    """A loud 440 Hz tone as raw audio, 20 ms frames at 48 kHz; silence while ``loud`` is off."""

    kind = "audio"

    def __init__(self, loud: bool = True) -> None:
        super().__init__()
        self.loud = loud
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        delay = self._start + self._index * 0.02 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(960) + self._index * 960) / 48000
        tone = (np.sin(2 * np.pi * 440 * t) * (16000 if self.loud else 0)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(tone[:, None], 2, axis=1).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = 48000
        frame.pts = self._index * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._index += 1
        return frame
