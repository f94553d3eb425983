"""A meeting's attendance record ("danh sách điểm danh"): JSON for scripts, CSV for people.

The roll call of the live room, or as the server saved it when the room
closed: who was invited, who came (and uninvited guests, and feeds), when
they first joined, when they left, and how long they were in. For the
meeting's hosts only.
"""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from conference.permissions import Forbidden
from conference.rooms.roll_call import PRESENT, EntryKind, RollCallEntry, SiteStatus
from web import csv_export
from web.auth import principal_of
from web.keys import CONFERENCE
from web.meetings import meeting_json
from web.routes import Route
from web.times import iso, zone

STATUS_VI = {
    SiteStatus.NOT_JOINED: "Chưa vào",
    SiteStatus.CONNECTING: "Đang kết nối",
    SiteStatus.CONNECTED: "Có mặt",
    SiteStatus.POOR: "Có mặt (kết nối kém)",
    SiteStatus.LEFT: "Đã rời",
    SiteStatus.REMOVED: "Bị mời ra",
}
KIND_VI = {EntryKind.SITE: "Được mời", EntryKind.GUEST: "Khách mời", EntryKind.FEED: "Camera"}
CSV_HEADER = [
    "STT",
    "Mã điểm cầu",
    "Điểm cầu",
    "Mã đơn vị",
    "Cấp",
    "Loại",
    "Trạng thái",
    "Vào lần đầu",
    "Rời lúc",
    "Thời gian dự (phút)",
]


async def _record(request: web.Request) -> tuple[dict[str, Any], list[RollCallEntry], bool]:
    """The meeting (JSON), its roll-call rows, and whether the room is live; hosts only."""
    principal = await principal_of(request)
    conference = request.app[CONFERENCE]
    view = await conference.meetings.view(principal, request.match_info["id"])
    if not view.can_manage:
        raise Forbidden("not-your-meeting", "only the meeting's hosts see its attendance")
    roll_call, live = await conference.attendance(view.meeting)
    rows = sorted(roll_call.entries.values(), key=lambda e: (e.depth, e.name, e.site_id))
    return meeting_json(view.meeting, zone(request)), rows, live


def _row_json(entry: RollCallEntry, now: float, tz: ZoneInfo) -> dict[str, Any]:
    def when(seconds: float | None) -> str | None:
        return iso(seconds, tz) if seconds is not None else None

    return {
        "site_id": entry.site_id,
        "name": entry.name,
        "unit_code": entry.unit_code,
        "unit_type": entry.unit_type,
        "depth": entry.depth,
        "kind": entry.kind.value,
        "invited": entry.invited,
        "status": entry.status.value,
        "first_joined_at": when(entry.first_joined_at),
        "left_at": when(entry.left_at),
        "present_seconds": round(entry.present_for(now), 1),
    }


async def attendance_json(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/attendance``: every site's attendance (the meeting's hosts)."""
    meeting, rows, live = await _record(request)
    now = time.time()
    sites = [_row_json(e, now, zone(request)) for e in rows]
    invited = [s for s in sites if s["kind"] == EntryKind.SITE.value]
    return web.json_response(
        {
            "meeting": meeting,
            "live": live,
            "generated_at": iso(now, zone(request)),
            "invited": len(invited),
            "attended": sum(1 for s in invited if s["first_joined_at"] is not None),
            "sites": sites,
        }
    )


async def attendance_csv(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/attendance.csv``: the same, a spreadsheet in Vietnamese."""
    meeting, rows, _live = await _record(request)
    now, tz = time.time(), zone(request)

    def when(seconds: float | None) -> str:
        return datetime.fromtimestamp(seconds, tz).strftime("%d/%m/%Y %H:%M:%S") if seconds else ""

    out = io.StringIO()
    writer = csv_export.writer(out)  # a site's name could be a formula
    writer.writerow(CSV_HEADER)
    for number, entry in enumerate(rows, 1):
        writer.writerow(
            [
                number,
                entry.site_id,
                entry.name,
                entry.unit_code or "",
                entry.unit_type,
                KIND_VI[entry.kind],
                STATUS_VI[entry.status],
                when(entry.first_joined_at),
                "" if entry.status in PRESENT else when(entry.left_at),
                f"{entry.present_for(now) / 60:.1f}".replace(".", ","),
            ]
        )
    # A byte-order mark: spreadsheet programs then read the Vietnamese as UTF-8.
    body = "\ufeff" + out.getvalue()
    filename = f"diem-danh-{meeting['id']}.csv"
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


ROUTES = [
    Route("GET", "/api/meetings/{id}/attendance", attendance_json),
    Route("GET", "/api/meetings/{id}/attendance.csv", attendance_csv),
]
