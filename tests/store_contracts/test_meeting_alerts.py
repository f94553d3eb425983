"""MeetingAlertStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

from dataclasses import replace

import pytest

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


def test_flat_records_round_trip_and_refuse_a_wrong_shape() -> None:
    """What the Redis engine keeps: the same JSON as before, read back with types checked."""
    from conference.store.flat_records import record_from_json, record_json
    from conference.store.speaking import SpeakingInterval

    alert = MeetingAlert("m1", "ev-1", 1000.5, "cp-1", "20A12345", "watchlist")
    text = record_json(alert)
    assert text == (
        '{"meeting_id":"m1","event_id":"ev-1","at":1000.5,"checkpoint":"cp-1",'
        '"plate":"20A12345","reason":"watchlist"}'
    )
    assert record_from_json(MeetingAlert, text) == alert
    interval = SpeakingInterval("m1", "05503", "Xã Bảo Linh", 10.0, 12.5)
    assert record_from_json(SpeakingInterval, record_json(interval)) == interval
    with pytest.raises(KeyError):
        record_from_json(SpeakingInterval, '{"meeting_id":"m1","site":"x"}')
    with pytest.raises(ValueError):
        record_from_json(MeetingAlert, text.replace('"at":1000.5', '"at":"soon"'))
