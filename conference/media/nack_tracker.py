"""Which packets of one media SSRC are missing, for NACKs: aiortc's ``NackGenerator`` from ints.

Same behaviour as aiortc's generator with the bound of
:mod:`conference.media.bounded_estimators`: a forward jump marks at most
``RTP_HISTORY_SIZE`` numbers missing, and nothing older than that many
packets behind the highest stays missing. It costs nothing when nothing is
missing (aiortc's ``truncate`` copies the set on every packet).
"""

from __future__ import annotations

from aiortc.rtp import RTP_HISTORY_SIZE


class NackTracker:
    """Sequence numbers of one SSRC that did not arrive (yet), at most ``RTP_HISTORY_SIZE`` back."""

    __slots__ = ("max_seq", "missing")

    def __init__(self) -> None:
        self.max_seq: int | None = None
        self.missing: set[int] = set()

    def add(self, seq: int) -> bool:
        """``seq`` arrived; True if it showed new packets missing (a NACK is due)."""
        max_seq = self.max_seq
        if max_seq is None:
            self.max_seq = seq
            return False
        missing = self.missing
        ahead = (seq - max_seq) & 0xFFFF
        missed = False
        if 0 < ahead < 0x8000:
            self.max_seq = max_seq = seq
            gap = min(ahead - 1, RTP_HISTORY_SIZE)
            if gap:
                missed = True
                missing.update((seq - gap + offset) & 0xFFFF for offset in range(gap))
        elif missing:
            missing.discard(seq)
        if missing:
            # More than RTP_HISTORY_SIZE behind the top: given up, as aiortc does.
            oldest = (max_seq - RTP_HISTORY_SIZE) & 0xFFFF
            stale = [s for s in missing if 0 < ((oldest - s) & 0xFFFF) < 0x8000]
            if stale:
                missing.difference_update(stale)
        return missed
