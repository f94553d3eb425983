"""MeetingAlertStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

from dataclasses import replace

from conference.store import MeetingAlert, Store

ALERT = MeetingAlert(
    meeting_id="mtg-1",
    event_id="ev-2",
    at=2000.0,
    checkpoint="Chốt Sơn Cẩm",
    plate="20A-123.45",
    reason="Xe trong danh sách theo dõi",
)


async def test_alerts_are_kept_per_meeting_by_time_once_per_event(any_store: Store):
    assert await any_store.meeting_alerts("mtg-1") == []
    earlier = replace(ALERT, event_id="ev-1", at=1000.0, plate="99C-888.88")
    other = replace(ALERT, meeting_id="mtg-2")
    await any_store.add_meeting_alerts([ALERT, other])
    # The same event again (a batch retried after an outage) changes nothing.
    await any_store.add_meeting_alerts([earlier, replace(ALERT, reason="khác")])
    await any_store.add_meeting_alerts([])
    assert await any_store.meeting_alerts("mtg-1") == [earlier, ALERT]
    assert await any_store.meeting_alerts("mtg-2") == [other]
