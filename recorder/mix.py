"""Audio of the composite: summing the sites' tracks without wrap-around, and AAC framing."""

from __future__ import annotations

from collections.abc import Iterator

import av
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

KNEE = 0.75
"""Below this level the mix passes unchanged; above it peaks are bent smoothly towards 1."""


def soft_clip(mix: FloatArray, knee: float = KNEE) -> FloatArray:
    """Limit ``mix`` (in place) to [-1, 1] with a tanh curve above ``knee``.

    Two sites speaking at once can sum past full scale; hard clipping (or
    integer wrap-around) would crackle, a tanh knee only thickens the peaks.
    The curve's slope is 1 at the knee, so quiet passages are untouched.
    """
    magnitude = np.abs(mix)
    loud = magnitude > knee
    if loud.any():
        head = 1.0 - knee
        bent = knee + head * np.tanh((magnitude[loud] - knee) / head)
        mix[loud] = np.copysign(bent, mix[loud]).astype(np.float32)
    return mix


class AacFramer:
    """Cuts a stream of float32 [2, n] blocks into the 1024-sample frames AAC wants."""

    def __init__(self, rate: int, frame_size: int = 1024) -> None:
        self.rate = rate
        self.frame_size = frame_size
        self._pending = np.zeros((2, 0), dtype=np.float32)
        self._samples = 0  # samples handed out so far: the next frame's pts

    def push(self, block: FloatArray) -> Iterator[av.AudioFrame]:
        """Frames completed by ``block``."""
        self._pending = np.concatenate([self._pending, block], axis=1)
        while self._pending.shape[1] >= self.frame_size:
            chunk = self._pending[:, : self.frame_size]
            self._pending = self._pending[:, self.frame_size :]
            yield self._frame(chunk)

    def flush(self) -> Iterator[av.AudioFrame]:
        """The last, shorter frame, if any samples are left."""
        if self._pending.shape[1]:
            chunk, self._pending = self._pending, np.zeros((2, 0), dtype=np.float32)
            yield self._frame(chunk)

    def _frame(self, chunk: FloatArray) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk), format="fltp", layout="stereo"
        )
        frame.sample_rate = self.rate
        frame.pts = self._samples
        self._samples += chunk.shape[1]
        return frame
