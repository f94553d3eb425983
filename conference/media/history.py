"""Send history: what a slot sent recently, kept for NACK retransmission."""

from __future__ import annotations

HISTORY_SIZE = 512  # packets; ~5 s of 800 kbit/s video, ~1 s at 4 Mbit/s. A power of two.
_MASK = HISTORY_SIZE - 1


class SendHistory:
    """A ring of sent packets, as (sequence number, timestamp, marker, payload).

        It keeps the parts, not the sent bytes: the payload object is the one the
        source received and every subscriber of it shares, so a history costs
        about a hundred bytes per entry instead of a copy of every packet. The
    header extension is not kept: a retransmission carries its own send time.
    """

    __slots__ = ("_ring",)

    def __init__(self) -> None:
        self._ring: list[tuple[int, int, int, bytes] | None] = [None] * HISTORY_SIZE

    def put(self, sequence_number: int, timestamp: int, marker: int, payload: bytes) -> None:
        """Remember a sent packet."""
        self._ring[sequence_number & _MASK] = (sequence_number, timestamp, marker, payload)

    def get(self, sequence_number: int) -> tuple[int, int, bytes] | None:
        """(timestamp, marker, payload) of a kept packet, else None."""
        if not self._ring:
            return None
        entry = self._ring[sequence_number & _MASK]
        if entry is None or entry[0] != sequence_number:
            return None
        return entry[1], entry[2], entry[3]
