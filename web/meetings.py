"""Meetings over HTTP: schedule, list, change, cancel, and the sites' join links.

Times are ISO 8601 on the wire (see ``web/times.py``); the scheduling rules
and who may do what live in :mod:`conference.meetings`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field

from conference.meetings import OPEN_LEAD_SECONDS, MeetingRequest, MeetingService, MeetingView
from conference.permissions import Forbidden
from conference.store import Meeting, NotFound, Store
from web.auth import principal_of
from web.errors import ApiError
from web.keys import CONFERENCE
from web.request_body import StrictBody, json_body
from web.routes import Route
from web.times import epoch, iso, zone
from web.units import site_json


class MeetingIn(StrictBody):
    """``POST /api/meetings`` and ``PUT /api/meetings/{id}``.

    Times are ISO 8601; without an offset they are in the server's time zone
    (``CONFERENCE_TIMEZONE``, Asia/Ho_Chi_Minh by default).
    """

    title: str = Field(min_length=1, max_length=200)
    agenda: str = Field("", max_length=10_000)
    start: datetime
    end: datetime
    host_site: str = Field(min_length=1, max_length=64)
    units: list[str] = Field(
        default_factory=list, max_length=20_000, description="every site of these units"
    )
    sites: list[str] = Field(default_factory=list, max_length=20_000, description="and these sites")
    auto_record: bool = False


def meeting_json(meeting: Meeting, tz: ZoneInfo) -> dict[str, Any]:
    """A meeting on the wire (times as ISO strings and as epoch seconds)."""
    return {
        "id": meeting.id,
        "title": meeting.title,
        "agenda": meeting.agenda,
        "start": iso(meeting.start, tz),
        "end": iso(meeting.end, tz),
        "start_ts": meeting.start,
        "end_ts": meeting.end,
        "host_site": meeting.host_site,
        "created_by": meeting.created_by,
        "room_id": meeting.room_id,
        "auto_record": meeting.auto_record,
        "cancelled": meeting.cancelled_at is not None,
        "status": meeting_status(meeting, time.time()),
    }


def meeting_status(meeting: Meeting, now: float) -> str:
    """scheduled, open (joinable), live, ended or cancelled."""
    if meeting.cancelled_at is not None:
        return "cancelled"
    if now >= meeting.end:
        return "ended"
    if now >= meeting.start:
        return "live"
    if now >= meeting.start - OPEN_LEAD_SECONDS:
        return "open"
    return "scheduled"


def join_url(meeting: Meeting, token: str) -> str:
    """The join link of a site (relative: the page's origin is the server's)."""
    return f"/join/{meeting.room_id}?token={token}"


async def host_names(store: Store, meetings: list[Meeting]) -> dict[str, str]:
    """The name of each meeting's host site (its id if the site is gone)."""
    names: dict[str, str] = {}
    for host in {m.host_site for m in meetings}:
        try:
            names[host] = (await store.get_site(host)).name
        except NotFound:
            names[host] = host
    return names


def _service(request: web.Request) -> MeetingService:
    return request.app[CONFERENCE].meetings


def _window(request: web.Request) -> tuple[float, float]:
    """``?from=&to=`` of a listing: by default from a day ago to 60 days ahead."""
    tz = zone(request)
    now = time.time()
    try:
        start = (
            epoch(datetime.fromisoformat(request.query["from"]), tz)
            if "from" in request.query
            else now - 86400
        )
        end = (
            epoch(datetime.fromisoformat(request.query["to"]), tz)
            if "to" in request.query
            else now + 60 * 86400
        )
    except ValueError as exc:
        raise ApiError(400, "bad-time", "from and to must be ISO 8601 times") from exc
    if end <= start or end - start > 400 * 86400:
        raise ApiError(400, "bad-time", "to must be after from, at most 400 days later")
    return start, end


def _meeting_request(data: MeetingIn, tz: ZoneInfo) -> MeetingRequest:
    return MeetingRequest(
        title=data.title,
        agenda=data.agenda,
        start=epoch(data.start, tz),
        end=epoch(data.end, tz),
        host_site=data.host_site,
        units=data.units,
        sites=data.sites,
        auto_record=data.auto_record,
    )


def _view_json(view: MeetingView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "meeting": meeting_json(view.meeting, tz),
        "host": site_json(view.host),
        "invited": [site_json(s) for s in view.invited],
        "can_manage": view.can_manage,
    }


async def list_meetings(request: web.Request) -> web.Response:
    """``GET /api/meetings[?from=&to=]``: meetings the caller may see."""
    principal = await principal_of(request)
    start, end = _window(request)
    meetings = await _service(request).visible(principal, start, end)
    tz = zone(request)
    names = await host_names(request.app[CONFERENCE].store, meetings)
    return web.json_response(
        {"meetings": [meeting_json(m, tz) | {"host_name": names[m.host_site]} for m in meetings]}
    )


async def create_meeting(request: web.Request) -> web.Response:
    """``POST /api/meetings``: schedule (hosts, within their scope)."""
    principal = await principal_of(request)
    data = await json_body(request, MeetingIn)
    tz = zone(request)
    view = await _service(request).schedule(principal, _meeting_request(data, tz))
    return web.json_response(_view_json(view, tz), status=201)


async def get_meeting(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}``: the meeting and its invited sites."""
    principal = await principal_of(request)
    view = await _service(request).view(principal, request.match_info["id"])
    return web.json_response(_view_json(view, zone(request)))


async def update_meeting(request: web.Request) -> web.Response:
    """``PUT /api/meetings/{id}``."""
    principal = await principal_of(request)
    data = await json_body(request, MeetingIn)
    tz = zone(request)
    view = await _service(request).update(
        principal, request.match_info["id"], _meeting_request(data, tz)
    )
    await request.app[CONFERENCE].meeting_updated(view.meeting)
    return web.json_response(_view_json(view, tz))


async def cancel_meeting(request: web.Request) -> web.Response:
    """``DELETE /api/meetings/{id}``: cancel it (it stays listed as cancelled)."""
    principal = await principal_of(request)
    meeting = await _service(request).cancel(principal, request.match_info["id"])
    await request.app[CONFERENCE].meeting_cancelled(meeting)
    return web.json_response({"meeting": meeting_json(meeting, zone(request))})


async def meeting_links(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/links``: every invited site's join link (managers)."""
    principal = await principal_of(request)
    service = _service(request)
    view = await service.view(principal, request.match_info["id"])
    if not view.can_manage:
        raise Forbidden("not-your-meeting", "only the meeting's hosts see every site's link")
    links = [
        {
            "site": site_json(site),
            "url": join_url(view.meeting, service.site_token(view.meeting, site)),
        }
        for site in view.invited
    ]
    return web.json_response({"links": links})


async def meeting_join(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/join[?site=]``: the caller's join link ({url})."""
    principal = await principal_of(request)
    meeting, token = await _service(request).join_token(
        principal, request.match_info["id"], request.query.get("site")
    )
    return web.json_response({"url": join_url(meeting, token)})


ROUTES = [
    Route("GET", "/api/meetings", list_meetings),
    Route("POST", "/api/meetings", create_meeting, MeetingIn),
    Route("GET", "/api/meetings/{id}", get_meeting),
    Route("PUT", "/api/meetings/{id}", update_meeting, MeetingIn),
    Route("DELETE", "/api/meetings/{id}", cancel_meeting),
    Route("GET", "/api/meetings/{id}/links", meeting_links),
    Route("GET", "/api/meetings/{id}/join", meeting_join),
]
