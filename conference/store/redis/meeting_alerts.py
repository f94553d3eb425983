"""Meetings' plate alerts in the Redis engine: ``P meeting-alerts:<meeting>``, event id -> JSON."""

from __future__ import annotations

from collections.abc import Sequence

from conference.store.flat_records import record_from_json, record_json
from conference.store.meeting_alerts import MeetingAlert
from conference.store.redis.engine import RedisAggregate, text


class RedisMeetingAlerts(RedisAggregate):
    """:class:`~conference.store.meeting_alerts.MeetingAlertStore` on Redis."""

    def _alerts_key(self, meeting_id: str) -> str:
        return f"{self.prefix}meeting-alerts:{meeting_id}"

    async def add_meeting_alerts(self, alerts: Sequence[MeetingAlert]) -> None:
        """HSETNX each alert (a kept one stays), in one pipeline."""
        if not alerts:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for alert in alerts:
                pipe.hsetnx(self._alerts_key(alert.meeting_id), alert.event_id, record_json(alert))
            await pipe.execute()

    async def meeting_alerts(self, meeting_id: str) -> list[MeetingAlert]:
        """The whole hash, by time."""
        kept = await self._redis.hgetall(self._alerts_key(meeting_id))
        alerts = [record_from_json(MeetingAlert, text(raw)) for raw in kept.values()]
        return sorted(alerts, key=lambda a: (a.at, a.event_id))
