"""The REMB bandwidth estimate of a publisher's stream, with per-packet work in plain ints.

aiortc's ``RemoteBitrateEstimator`` (Google's receive-side estimator:
inter-arrival deltas of abs-send-time groups, a Kalman filter on the delay
gradient, an overuse detector and AIMD rate control) costs little per packet
in its maths, but it keeps the incoming rate in a ``RateCounter`` of 1,000
one-millisecond buckets that it walks ms by ms, twice per packet, and it
builds a ``TimestampGroup`` per group and an ``InterArrivalDelta`` per delta.
On the receive path that made it the largest single cost of a packet.

:class:`RembEstimator` gives the same answers from the same inputs: per
packet it only adds the size to the current abs-send-time group (aiortc's
``InterArrival`` rules, inlined) and to a short list of (millisecond, bytes)
entries for the incoming rate; the filter, detector and rate control
(aiortc's own classes) run once per completed group, as in aiortc, and the
rate is summed only when an estimate is due (every 500 ms, or on overuse).
"""

from __future__ import annotations

from collections import deque

from aiortc.rate import (
    INTER_ARRIVAL_SHIFT,
    TIMESTAMP_GROUP_LENGTH_MS,
    TIMESTAMP_TO_MS,
    AimdRateControl,
    BandwidthUsage,
    OveruseDetector,
    OveruseEstimator,
)

GROUP_LENGTH = (TIMESTAMP_GROUP_LENGTH_MS << INTER_ARRIVAL_SHIFT) // 1000
BURST_DELTA_THRESHOLD_MS = 5
RATE_WINDOW_MS = 1000  # aiortc's incoming rate window
OVERUSING = BandwidthUsage.OVERUSING


class RembEstimator:
    """Receive-side bandwidth estimate for REMB, fed one packet at a time."""

    def __init__(self) -> None:
        self.ssrcs: dict[int, int] = {}  # SSRC -> last arrival (ms): the REMB lists them
        self._estimator = OveruseEstimator()
        self._detector = OveruseDetector()
        self._rate_control = AimdRateControl()
        self._feedback_ms = self._rate_control.feedback_interval()
        self._last_update_ms: int | None = None
        self._overusing = False
        # The abs-send-time groups (aiortc's InterArrival): the current one...
        self._first: int | None = None  # its first timestamp (abs-send-time << 8)
        self._last = 0
        self._size = 0
        self._arrival = 0
        # ...and the one before, once there is one.
        self._has_previous = False
        self._previous_last = 0
        self._previous_size = 0
        self._previous_arrival = 0
        # Incoming rate (aiortc's RateCounter over RATE_WINDOW_MS): [ms, bytes] per ms.
        self._rate_entries: deque[list[int]] = deque()
        self._rate_bytes = 0
        self._rate_origin: int | None = None
        self._rate_last_ms = 0
        self._rate_initialized = True

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        """Account for one packet; (bitrate, SSRCs) when a REMB is due, as aiortc's ``add``."""
        now = arrival_time_ms
        self.ssrcs[ssrc] = now

        # The incoming rate. aiortc resets its counter when its rate is None
        # (nothing within the window, or the window is one ms old) after it
        # had one; the same test without walking the window:
        origin = self._rate_origin
        if origin is None or self._rate_last_ms <= now - RATE_WINDOW_MS or origin >= now:
            if self._rate_initialized:
                self._rate_entries.clear()
                self._rate_bytes = 0
                self._rate_origin = origin = None
                self._rate_initialized = False
        else:
            self._rate_initialized = True
        if origin is None:
            self._rate_origin = now
        entries = self._rate_entries
        if entries and entries[-1][0] == now:
            entries[-1][1] += payload_size
        else:
            entries.append([now, payload_size])
        self._rate_bytes += payload_size
        self._rate_last_ms = now

        # The abs-send-time group (aiortc's InterArrival.compute_deltas).
        timestamp = abs_send_time << 8
        first = self._first
        if first is None:
            self._first = self._last = timestamp
            self._size = 0
        elif (timestamp - first) & 0xFFFFFFFF >= 0x80000000:
            return self._maybe_update(now)  # out of order: not in any group
        else:
            since_last = (timestamp - self._last) & 0xFFFFFFFF
            since_last_ms = round(TIMESTAMP_TO_MS * since_last)
            arrival_delta = now - self._arrival
            burst = since_last_ms == 0 or (
                arrival_delta - since_last_ms < 0 and arrival_delta <= BURST_DELTA_THRESHOLD_MS
            )
            if not burst and (timestamp - first) & 0xFFFFFFFF > GROUP_LENGTH:
                self._close_group(now)
                self._first = self._last = timestamp
                self._size = 0
            elif 0 < since_last < 0x80000000:
                self._last = timestamp
        self._size += payload_size
        self._arrival = now
        return self._maybe_update(now)

    def _close_group(self, now: int) -> None:
        """The current group is complete: one delta for the filter, as aiortc makes it."""
        if self._has_previous:
            timestamp_delta_ms = ((self._last - self._previous_last) & 0xFFFFFFFF) * TIMESTAMP_TO_MS
            estimator, detector = self._estimator, self._detector
            estimator.update(
                self._arrival - self._previous_arrival,
                timestamp_delta_ms,
                self._size - self._previous_size,
                detector.state(),
                now,
            )
            detector.detect(estimator.offset(), timestamp_delta_ms, estimator.num_of_deltas(), now)
            self._overusing = detector.state() == OVERUSING
        self._has_previous = True
        self._previous_last = self._last
        self._previous_size = self._size
        self._previous_arrival = self._arrival

    def _maybe_update(self, now: int) -> tuple[int, list[int]] | None:
        last = self._last_update_ms
        if last is not None and now - last <= self._feedback_ms and not self._overusing:
            return None
        target = self._rate_control.update(self._detector.state(), self.incoming_rate(now), now)
        if target is None:
            return None
        self._last_update_ms = now
        return target, list(self.ssrcs)

    def incoming_rate(self, now: int) -> int | None:
        """Bits per second received over the last second (aiortc's ``RateCounter.rate``)."""
        origin = self._rate_origin
        if origin is None:
            return None
        entries = self._rate_entries
        oldest = now - RATE_WINDOW_MS + 1
        while entries and entries[0][0] < oldest:
            self._rate_bytes -= entries.popleft()[1]
        if origin < oldest:
            self._rate_origin = origin = oldest
        window = now - origin + 1
        if entries and window > 1:
            return round(8000 * self._rate_bytes / window)
        return None
