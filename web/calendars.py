"""Calendars over HTTP: a meeting, or a site's coming meetings, as an iCalendar file."""

from __future__ import annotations

import time

from aiohttp import web

from conference.ics import calendar
from conference.permissions import Forbidden, require_role, require_scope
from conference.store import AccountRole
from web.auth import principal_of
from web.keys import CONFERENCE
from web.meetings import host_names
from web.routes import Route


async def meeting_ics(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/calendar.ics``."""
    principal = await principal_of(request)
    view = await request.app[CONFERENCE].meetings.view(principal, request.match_info["id"])
    text = calendar(
        [(view.meeting, view.host.name, view.meeting.agenda)], view.meeting.title, _host(request)
    )
    return _ics_response(text, f"{view.meeting.id}.ics")


async def site_ics(request: web.Request) -> web.Response:
    """``GET /api/sites/{id}/calendar.ics``: a site's meetings for the next 60 days."""
    principal = await principal_of(request)
    store = request.app[CONFERENCE].store
    site = await store.get_site(request.match_info["id"])
    if principal.role is AccountRole.SITE:
        if principal.unit_code != site.id:
            raise Forbidden("not-your-site", "a site account sees only its own calendar")
    else:
        require_role(principal, AccountRole.HOST, AccountRole.VIEWER)
        await require_scope(store, principal, site.unit_code)
    now = time.time()
    meetings = await store.meetings_for_site(site.id, now - 30 * 86400, now + 60 * 86400)
    names = await host_names(store, meetings)
    text = calendar(
        ((m, names[m.host_site], m.agenda) for m in meetings), site.name, _host(request)
    )
    return _ics_response(text, f"{site.id}.ics")


def _ics_response(text: str, filename: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _host(request: web.Request) -> str:
    """The server's host name without the port, for iCalendar UIDs."""
    return request.host.rsplit(":", 1)[0] if request.host.count(":") == 1 else request.host


ROUTES = [
    Route("GET", "/api/meetings/{id}/calendar.ics", meeting_ics),
    Route("GET", "/api/sites/{id}/calendar.ics", site_ics),
]
