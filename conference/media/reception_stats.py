"""Per-SSRC reception statistics as plain ints, for the receiver reports aiortc sends.

aiortc's receiver builds its RTCP receiver reports (``RTCRtpReceiver._run_rtcp``)
and ``getStats`` from a ``StreamStatistics`` per SSRC, whose ``add`` takes an
``RtpPacket`` and calls ``time.time()``. :class:`ReceptionStatistics` *is* a
``StreamStatistics`` (same fields, so the reports and ``getStats`` read it
unchanged) that the lean receive path updates from the header's ints with the
arrival time it already has.
"""

from __future__ import annotations

import time

from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket


class ReceptionStatistics(StreamStatistics):
    """Received count, highest sequence number with cycles, jitter: RFC 3550 A.1 and A.8."""

    def count(self, seq: int, timestamp: int, now: float) -> None:
        """One packet arrived at ``now`` (Unix seconds): what ``add`` does, from ints."""
        self.packets_received += 1
        max_seq = self.max_seq
        if max_seq is None:
            self.base_seq = seq
        elif not 0 < ((seq - max_seq) & 0xFFFF) < 0x8000:
            return  # late or repeated: counted, but it moves neither the top nor jitter
        elif seq < max_seq:
            self.cycles += 1 << 16
        self.max_seq = seq
        arrival = int(now * self._clockrate)
        last_timestamp = self._last_timestamp
        if timestamp != last_timestamp and self.packets_received > 1:
            if self._last_arrival is not None and last_timestamp is not None:
                diff = abs((arrival - self._last_arrival) - (timestamp - last_timestamp))
                self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)
        self._last_arrival = arrival
        self._last_timestamp = timestamp

    def add(self, packet: RtpPacket) -> None:
        """aiortc's entry point, for a packet it parsed itself."""
        self.count(packet.sequence_number, packet.timestamp, time.time())
