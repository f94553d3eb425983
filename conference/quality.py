"""Connection quality measured from our side, sampled for every connection into its room."""

from __future__ import annotations

import asyncio
import time

from conference.connections import Connections
from conference.rooms.roll_call import Quality

QUALITY_SECONDS = 5.0


class QualitySampler:
    """Turns each peer session's counters into round trip, loss and bitrates per site."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        # connection id -> (when, packets received, lost, bytes in, bytes out)
        self._previous: dict[str, tuple[float, int, int, int, int]] = {}

    async def run(self) -> None:
        """Sample every :data:`QUALITY_SECONDS` until cancelled."""
        while True:
            await asyncio.sleep(QUALITY_SECONDS)
            self.sample(time.time())

    def sample(self, now: float) -> None:
        """One pass: report each connection's quality since the previous pass to its room."""
        previous = self._previous
        live = self.connections.by_id
        for connection in list(live.values()):
            try:
                sample = connection.session.quality_counters()
            except Exception:
                continue
            before = previous.get(connection.id)
            previous[connection.id] = (now, *sample.counters)
            if before is None:
                continue
            elapsed = max(now - before[0], 0.001)
            received, lost, bytes_in, bytes_out = (
                sample.counters[0] - before[1],
                sample.counters[1] - before[2],
                sample.counters[2] - before[3],
                sample.counters[3] - before[4],
            )
            up_loss = lost / (received + lost) if received + lost > 0 else None
            losses = [x for x in (up_loss, sample.down_loss) if x is not None]
            connection.room.report_quality(
                connection.participant.id,
                Quality(
                    rtt_ms=sample.rtt_ms,
                    loss=max(losses) if losses else None,
                    bitrate_in_kbps=round(bytes_out * 8 / elapsed / 1000, 1),
                    bitrate_out_kbps=round(bytes_in * 8 / elapsed / 1000, 1),
                    source="server",
                    at=now,
                ),
            )
        for gone in set(previous) - set(live):
            del previous[gone]
