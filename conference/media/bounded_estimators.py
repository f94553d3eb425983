"""aiortc's receive-side estimators, bounded and built lazily.

No estimator of aiortc's receivers may loop over a gap in time or sequence
numbers on the event loop, nor its RTCP parser over an endless NACK; and the
REMB estimator, which every receiver builds, is built on its first packet.
Installed on import (``RateCounter._erase_old``, ``NackGenerator.add``,
``RTCDtlsTransport._handle_rtcp_data`` and ``rtcrtpreceiver.RemoteBitrateEstimator``
are replaced): aiortc glue, which is why ``pyproject.toml`` pins aiortc.
"""

from __future__ import annotations

import logging
from typing import Any

from aiortc import RTCDtlsTransport
from aiortc.rate import RateCounter
from aiortc.rate import RemoteBitrateEstimator as _RemoteBitrateEstimator
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket
from aiortc.utils import uint16_add, uint16_gt

from conference.media.rtcp import rtcp_is_reasonable
from conference.ratelog import RateLimitedLog

logger = logging.getLogger(__name__)
RTCP_LOG = RateLimitedLog(logger)


class LazyRemoteBitrateEstimator:
    """aiortc's REMB estimator, built on the first packet rather than with the receiver.

    Its constructor allocates a large rate window; every receiver of every
    transceiver builds one, including the dozen send-only slots of each site
    that never receive anything. Building it lazily halves the CPU cost of a
    site's offer.
    """

    def __init__(self) -> None:
        self._real: Any = None

    def add(self, *args: Any, **kwargs: Any) -> Any:
        if self._real is None:
            self._real = _RemoteBitrateEstimator()
        return self._real.add(*args, **kwargs)


def install_lazy_estimator() -> None:
    """Make aiortc's receivers build their REMB estimator on first use."""
    import aiortc.rtcrtpreceiver as receiver_module

    receiver_module.RemoteBitrateEstimator = LazyRemoteBitrateEstimator  # type: ignore[misc,assignment]


install_lazy_estimator()


def _bounded_erase_old(self: RateCounter, now_ms: int) -> None:
    """``RateCounter._erase_old`` in at most one pass over its window.

    aiortc's version steps one millisecond bucket at a time from the window's
    origin to ``now_ms``: after a gap of hours (or a jump between two clocks)
    that is billions of steps on the event loop. Past a whole window every
    bucket is old, so it is emptied at once.
    """
    origin = self._origin_ms
    if origin is None:
        return
    size = self._window_size
    new_origin = now_ms - size + 1
    steps = new_origin - origin
    if steps <= 0:
        return
    if steps >= size:
        for bucket in self._buckets:
            bucket.count = 0
            bucket.value = 0
        self._total.count = 0
        self._total.value = 0
        self._origin_index = (self._origin_index + steps) % size
        self._origin_ms = new_origin
        return
    buckets, total = self._buckets, self._total
    index = self._origin_index
    for _ in range(steps):
        bucket = buckets[index]
        total.count -= bucket.count
        total.value -= bucket.value
        bucket.count = 0
        bucket.value = 0
        index = (index + 1) % size
    self._origin_index = index
    self._origin_ms = new_origin


def _bounded_nack_add(self: NackGenerator, packet: RtpPacket) -> bool:
    """``NackGenerator.add`` that marks at most ``RTP_HISTORY_SIZE`` packets missing.

    aiortc's version adds every sequence number of a forward jump (up to
    32,767 of them) and then drops all but the last 128: a publisher whose
    sequence numbers leap costs milliseconds per packet. Only the numbers that
    would be kept are added.
    """
    seq = packet.sequence_number
    if self.max_seq is None:
        self.max_seq = seq
        return False
    if uint16_gt(seq, self.max_seq):
        gap = (seq - self.max_seq - 1) & 0xFFFF
        first = uint16_add(seq, -min(gap, RTP_HISTORY_SIZE))
        missing = self.missing
        for offset in range(min(gap, RTP_HISTORY_SIZE)):
            missing.add(uint16_add(first, offset))
        self.max_seq = seq
        self.truncate()
        return gap > 0
    self.missing.discard(seq)
    self.truncate()
    return False


# aiortc's own version, kept for the test that compares the two.
AIORTC_ERASE_OLD = RateCounter._erase_old


def install_bounded_estimators() -> None:
    """No receive-side estimator of aiortc may loop over a gap in time or sequence.

    Nor its RTCP parser over an endless NACK, on the slow path (before the
    fast path takes a connection over) as on the fast one.
    """
    RateCounter._erase_old = _bounded_erase_old  # type: ignore[method-assign]
    NackGenerator.add = _bounded_nack_add  # type: ignore[method-assign]
    if getattr(RTCDtlsTransport._handle_rtcp_data, "_conference_bounded", False):
        return
    original = RTCDtlsTransport._handle_rtcp_data

    async def _handle_rtcp_data(self: RTCDtlsTransport, data: bytes) -> None:
        if rtcp_is_reasonable(data):
            await original(self, data)
        else:
            RTCP_LOG.warning("dropped a compound RTCP packet with an oversized NACK")

    _handle_rtcp_data._conference_bounded = True  # type: ignore[attr-defined]
    RTCDtlsTransport._handle_rtcp_data = _handle_rtcp_data  # type: ignore[method-assign]


install_bounded_estimators()
