"""A meeting's minutes ("Biên bản cuộc họp") over HTTP, as PDF and as DOCX.

``GET /api/meetings/{id}/minutes.pdf`` and ``.docx``: for the meeting's hosts
and the users with rights over its unit (as its attendance and chat), at any
time: during the meeting they say what happened so far. Collected from the
store and, when the meeting's room is open here, from the live room (its
roll call, its speaker's turn under way); the recordings' links from the
library. Written in a child process (conference/minutes/offload.py).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable

from aiohttp import web

from conference.fonts import FontNotFoundError
from conference.minutes.collect import LiveParts, collect_minutes
from conference.minutes.offload import run_elsewhere, shutdown
from conference.minutes.pdf import minutes_pdf
from conference.minutes.record import Minutes, RecordingLink
from conference.minutes.text import file_name
from conference.minutes.word import minutes_docx
from conference.permissions import Forbidden
from conference.store import Meeting, SpeakingInterval
from web.auth import principal_of
from web.errors import ApiError
from web.keys import CONFERENCE, SETTINGS
from web.recordings import LIBRARY
from web.routes import Route
from web.times import zone

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# One render at a time per server process (conference/minutes/offload.py runs
# it in a child process: reportlab and python-docx hold the GIL for seconds);
# the others wait their turn.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(1)
    return gate


async def _recordings(request: web.Request, meeting: Meeting) -> list[RecordingLink]:
    """The meeting's recordings in the library, with their page's address."""
    if LIBRARY not in request.app:
        return []
    base = request.app[SETTINGS].base_url().rstrip("/")
    infos = await asyncio.to_thread(request.app[LIBRARY].all)
    return [
        RecordingLink(
            url=f"{base}/recordings/{info.manifest.id}",
            started_at=info.manifest.started_at,
            ended_at=info.manifest.ended_at,
            status=info.manifest.status.value,
        )
        for info in infos
        if info.manifest.meeting_id == meeting.id
    ]


async def _live_parts(request: web.Request, meeting: Meeting, now: float) -> LiveParts | None:
    """What the meeting's room open here knows and the store does not (yet)."""
    conference = request.app[CONFERENCE]
    room = conference.rooms.get(meeting.room_id)
    if room is None or room.closed:
        return None
    # The turns closed and the alerts shown since the last batch, into the store now.
    await conference.live.save_for_minutes(room)
    turn = room.speaking.open_turn(now) if not room.carrier else None
    return LiveParts(
        open_turns=[]
        if turn is None
        else [SpeakingInterval(meeting.id, turn.site, turn.name, turn.start, turn.end)]
    )


async def _minutes(request: web.Request) -> Minutes:
    """The minutes of the path's meeting, if the caller runs it (403, or 404 if none)."""
    principal = await principal_of(request)
    conference = request.app[CONFERENCE]
    view = await conference.meetings.view(principal, request.match_info["id"])
    if not view.can_manage:
        raise Forbidden("not-your-meeting", "only the meeting's hosts take its minutes")
    meeting = view.meeting
    now = time.time()
    room = conference.rooms.get(meeting.room_id)
    # A carrier copy's roll call holds only its own sites: the home's saved one is the record.
    live_room = room if room is not None and not room.carrier else None
    roll_call, running = await conference.attendance_book.roll_call(meeting, live_room)
    running = running or (room is not None and not room.closed)
    return await collect_minutes(
        conference.store,
        meeting,
        roll_call,
        running,
        live=await _live_parts(request, meeting, now),
        recordings=await _recordings(request, meeting),
        timezone=zone(request).key,
        now=now,
    )


async def _download(
    request: web.Request, write: Callable[[Minutes], bytes], extension: str, content_type: str
) -> web.Response:
    minutes = await _minutes(request)
    try:
        async with _gate():
            # Seconds for a large meeting, holding the GIL: in a process of its own.
            body = await run_elsewhere(write, minutes)
    except FontNotFoundError as exc:
        raise ApiError(503, "no-font", str(exc)) from exc
    name = file_name(minutes.title, minutes.scheduled_start, minutes.timezone, extension)
    return web.Response(
        body=body,
        content_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def minutes_as_pdf(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/minutes.pdf``: the minutes as PDF (the meeting's hosts)."""
    return await _download(request, minutes_pdf, "pdf", "application/pdf")


async def minutes_as_docx(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/minutes.docx``: the minutes as DOCX (the meeting's hosts)."""
    return await _download(request, minutes_docx, "docx", DOCX_TYPE)


async def stop_renderer(app: web.Application) -> None:
    """At shutdown: the minutes' renderer process goes with the server."""
    shutdown()


ROUTES = [
    Route("GET", "/api/meetings/{id}/minutes.pdf", minutes_as_pdf),
    Route("GET", "/api/meetings/{id}/minutes.docx", minutes_as_docx),
]
