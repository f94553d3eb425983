"""Send history: the last packets a slot sent, kept for NACK retransmission."""

from __future__ import annotations

HISTORY_SIZE = 1024  # ~1 s of 8 Mbit/s video; must be a power of two
_MASK = HISTORY_SIZE - 1


class SendHistory:
    """A ring of (sequence number, packet bytes, header length) entries.

    Entries are references to bytes already built for sending, so keeping them
    costs no copy on the forwarding path.
    """

    __slots__ = ("_ring",)

    def __init__(self) -> None:
        self._ring: list[tuple[int, bytes, int] | None] = [None] * HISTORY_SIZE

    def put(self, sequence_number: int, data: bytes, header_size: int) -> None:
        """Remember a sent packet."""
        self._ring[sequence_number & _MASK] = (sequence_number, data, header_size)

    def get(self, sequence_number: int) -> tuple[bytes, int] | None:
        """The packet sent with ``sequence_number`` and its header size, if still kept."""
        entry = self._ring[sequence_number & _MASK]
        if entry is None or entry[0] != sequence_number:
            return None
        return entry[1], entry[2]
