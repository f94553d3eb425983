"""Records the contract suites share: a small unit tree, meetings, accounts, cameras, passes."""

from __future__ import annotations

from anpr_feed.events_store import PlateEvent
from conference.store import AccountRole, Feed, Meeting, Unit, User


def tree() -> list[Unit]:
    """A province with two districts of two communes each (codes as in the GSO list)."""
    return [
        Unit("19", "Tỉnh Thái Nguyên", "Tỉnh", None, 0, 0),
        Unit("164", "Thành phố Thái Nguyên", "Thành phố", "19", 1, 0),
        Unit("05431", "Phường Quán Triều", "Phường", "164", 2, 0),
        Unit("05434", "Phường Quang Vinh", "Phường", "164", 2, 1),
        Unit("167", "Huyện Định Hóa", "Huyện", "19", 1, 1),
        Unit("05503", "Thị trấn Chợ Chu", "Thị trấn", "167", 2, 0),
        Unit("05506", "Xã Linh Thông", "Xã", "167", 2, 1),
    ]


def meeting(meeting_id: str, start: float, end: float, host_site: str = "167", **extra) -> Meeting:
    return Meeting(
        id=meeting_id,
        title=f"Họp {meeting_id}",
        agenda="1. Tình hình",
        start=start,
        end=end,
        host_site=host_site,
        created_by="host.dinhhoa",
        room_id=meeting_id,
        created_at=1.0,
        **extra,
    )


def user(username: str, role: AccountRole = AccountRole.HOST, unit: str | None = "167") -> User:
    return User(username, username.title(), role, unit, "scrypt$x", 1.0)


def feed(feed_id: str = "cam-1", checkpoint: str = "Chốt Km 52") -> Feed:
    return Feed(
        feed_id,
        f"Camera {feed_id}",
        checkpoint,
        "QL3, Phổ Yên",
        "rtsp://10.0.0.5/stream1",
        "172",
        100.0,
        "operator.phoyen",
    )


def plate_event(
    event_id: str, plate: str, at: float, checkpoint: str = "Chốt Km 52", **extra
) -> PlateEvent:
    return PlateEvent(
        event_id,
        "cam-1",
        checkpoint,
        at,
        plate,
        plate[:3] + "-" + plate[3:],
        plate[:2],
        0.93,
        **extra,
    )
