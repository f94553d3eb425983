"""Where a track's frames fall on the recording's common (server wall-clock) timeline.

Every track file counts its own media time: a frame's pts in seconds from the
track's first frame, on the publisher's capture clock (90 kHz for video, 48 kHz
for Opus). Publishers' clocks drift against the server's by up to a few
hundred ppm, so a single offset per track is not enough for long meetings:
150 ppm over an hour is 540 ms, far beyond lip-sync tolerance. The recorder
therefore stores ``sync`` points, ``(media seconds, server seconds)`` pairs
taken from the publisher's RTCP sender reports, and this module turns them
into a piecewise-linear map:

* between two points, linear interpolation (so a drifting clock is followed);
* before the first and after the last point, slope 1 from the nearest point
  (a short extrapolation; the drift over a few seconds is negligible);
* with no points at all, ``wall = first_frame_at + media`` (or the file's
  ``started_at`` if even that is missing).

The inverse (wall -> media) is what the audio mixer uses: it asks, for each
output sample, which media instant of a track belongs there.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recorder.manifest import TrackEntry

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ClockMap:
    """A monotonic piecewise-linear map between one track's media time and wall time.

    ``media`` and ``wall`` are equally long, strictly increasing, and never
    empty: a map without sync points is a single point with slope 1 around it.
    """

    media: tuple[float, ...]
    wall: tuple[float, ...]

    @classmethod
    def from_sync(
        cls, sync: Sequence[tuple[float, float]], origin: float | None = None
    ) -> ClockMap:
        """Build the map from sync points; ``origin`` is the wall time of media 0 if none.

        Points are sorted by media time; non-finite ones, and any that would
        make wall time stand still or go backwards (a publisher's clock step,
        a duplicated report), are dropped so the map stays invertible.
        """
        points = sorted(
            (float(m), float(w)) for m, w in sync if math.isfinite(m) and math.isfinite(w)
        )
        media: list[float] = []
        wall: list[float] = []
        for m, w in points:
            if media and (m <= media[-1] or w <= wall[-1]):
                continue
            media.append(m)
            wall.append(w)
        if not media:
            if origin is None:
                raise ValueError("a clock map needs sync points or an origin")
            media, wall = [0.0], [float(origin)]
        return cls(tuple(media), tuple(wall))

    @classmethod
    def for_track(cls, track: TrackEntry) -> ClockMap:
        """The map of a manifest track: its sync points, else its first frame's time."""
        origin = track.first_frame_at if track.first_frame_at is not None else track.started_at
        return cls.from_sync(track.sync, origin)

    def to_wall(self, media: float) -> float:
        """Server wall-clock seconds of a media instant."""
        return _map(media, self.media, self.wall)

    def to_media(self, wall: float) -> float:
        """Media seconds of a wall-clock instant (the inverse of :meth:`to_wall`)."""
        return _map(wall, self.wall, self.media)

    def to_wall_array(self, media: npt.ArrayLike) -> FloatArray:
        """:meth:`to_wall` for many instants at once."""
        return _map_array(np.asarray(media, dtype=np.float64), self.media, self.wall)

    def to_media_array(self, wall: npt.ArrayLike) -> FloatArray:
        """:meth:`to_media` for many instants at once."""
        return _map_array(np.asarray(wall, dtype=np.float64), self.wall, self.media)

    def rate(self, media: float) -> float:
        """Media seconds per wall second around ``media`` (1.00015 for a clock 150 ppm fast)."""
        if len(self.media) < 2:
            return 1.0
        i = min(max(bisect.bisect_right(self.media, media), 1), len(self.media) - 1)
        return (self.media[i] - self.media[i - 1]) / (self.wall[i] - self.wall[i - 1])


def _map(x: float, xs: tuple[float, ...], ys: tuple[float, ...]) -> float:
    """Piecewise-linear through (xs, ys); slope 1 outside."""
    if x <= xs[0]:
        return ys[0] + (x - xs[0])
    if x >= xs[-1]:
        return ys[-1] + (x - xs[-1])
    i = bisect.bisect_right(xs, x)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0)


def _map_array(x: FloatArray, xs: tuple[float, ...], ys: tuple[float, ...]) -> FloatArray:
    result: FloatArray = np.asarray(np.interp(x, xs, ys), dtype=np.float64)
    # np.interp clamps outside the points; the contract is slope 1 there instead.
    below = x < xs[0]
    above = x > xs[-1]
    result[below] = ys[0] + (x[below] - xs[0])
    result[above] = ys[-1] + (x[above] - xs[-1])
    return result
