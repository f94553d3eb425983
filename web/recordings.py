"""Recordings over HTTP: start/stop, the library, files, renders, deletion.

Who sees what: administrators everything; a host the recordings of meetings
whose host site is in its scope (and those it started); a site account the
meetings it took part in; a viewer those of its scope.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from conference.permissions import (
    Forbidden,
    Principal,
    can_manage_meeting,
    in_subtree,
    require_role,
)
from conference.rooms.console_events import RecordingCommanded
from conference.store import AccountRole, NotFound
from recorder.library import Library, RecordingInfo
from recorder.manifest import Manifest
from web.auth import principal_of
from web.errors import ApiError
from web.keys import CONFERENCE, RECORDING, RENDERS, SERVICES, SETTINGS
from web.request_body import StrictBody, json_body
from web.routes import Route
from web.times import query_time

LIBRARY = web.AppKey("library", Library)
LAYOUTS = ("grid", "speaker")


class RecordingAction(StrictBody):
    """``POST /api/meetings/{id}/recording``."""

    action: str


class RenderRequest(StrictBody):
    """``POST /api/recordings/{id}/render``."""

    layout: str = "grid"


async def can_view(request: web.Request, principal: Principal, manifest: Manifest) -> bool:
    """Whether the principal may see (and play, download) a recording."""
    if principal.is_admin or (manifest.started_by and manifest.started_by == principal.username):
        return True
    if principal.unit_code is None:
        return False
    if principal.role is AccountRole.SITE:
        return principal.unit_code in manifest.sites() or any(
            e.site_id == principal.unit_code and e.type == "join" for e in manifest.events
        )
    if principal.role in (AccountRole.HOST, AccountRole.VIEWER) and manifest.host_site:
        store = request.app[CONFERENCE].store
        try:
            site = await store.get_site(manifest.host_site)
        except NotFound:
            return False
        return await in_subtree(store, site.unit_code, principal.unit_code)
    return False


def summary(info: RecordingInfo) -> dict[str, Any]:
    """A recording in the library list."""
    manifest = info.manifest
    return {
        "id": manifest.id,
        "room_id": manifest.room_id,
        "title": manifest.meeting_title or manifest.room_name,
        "meeting_id": manifest.meeting_id,
        "host_site": manifest.host_site,
        "status": manifest.status.value,
        "started_at": manifest.started_at,
        "ended_at": manifest.ended_at,
        "duration": manifest.duration,
        "units": [u.model_dump() for u in manifest.units],
        "sites": [{"id": site_id, "name": name} for site_id, name in manifest.sites().items()],
        "tracks": len(manifest.tracks),
        "size": info.size,
        "composites": info.composites,
    }


async def _visible(request: web.Request, principal: Principal, recording_id: str) -> RecordingInfo:
    try:
        info = await asyncio.to_thread(request.app[LIBRARY].get, recording_id)
    except KeyError as exc:
        raise ApiError(404, "not-found", "no such recording") from exc
    if not await can_view(request, principal, info.manifest):
        raise Forbidden("not-your-recording", "you cannot see this recording")
    return info


async def meeting_recording(request: web.Request) -> web.Response:
    """``POST /api/meetings/{id}/recording`` {"action": "start"|"stop"}."""
    principal = await principal_of(request)
    data = await json_body(request, RecordingAction)
    conference = request.app[CONFERENCE]
    meeting = await conference.store.get_meeting(request.match_info["id"])
    if not await can_manage_meeting(conference.store, principal, meeting):
        raise Forbidden("not-your-meeting", "only the meeting's hosts record it")
    recording = request.app[RECORDING]
    room = conference.rooms.get(meeting.room_id)
    if data.action in ("start", "stop") and request.app[SERVICES].cluster is not None:
        if room is None or room.carrier:
            # The meeting's home records it (every site, relayed there): run it there.
            return await _record_at_home(request, principal, meeting.id, data.action)
    if data.action == "start":
        if room is None:
            raise ApiError(409, "room-not-open", "the meeting room is not open")
        recorder = recording.start_recording(room, principal.username)
        return web.json_response({"recording": recorder.manifest.id, "active": True})
    if data.action == "stop":
        stopped = await recording.stop_recording(meeting.room_id, reason="stopped-by-host")
        return web.json_response({"recording": stopped.id if stopped else None, "active": False})
    raise ApiError(400, "invalid-request", "action must be start or stop")


async def _record_at_home(
    request: web.Request, principal: Principal, meeting_id: str, action: str
) -> web.Response:
    """Start or stop the recording at the meeting's home node (a console command sent there)."""
    try:
        reply = await request.app[CONFERENCE].console_command(
            principal, meeting_id, f"record-{action}"
        )
    except Forbidden as exc:
        if exc.code == "room-not-open":
            raise ApiError(409, "room-not-open", "the meeting room is not open") from exc
        raise
    recording = reply.recording if isinstance(reply, RecordingCommanded) else None
    return web.json_response({"recording": recording, "active": action == "start"})


async def list_recordings(request: web.Request) -> web.Response:
    """``GET /api/recordings[?unit=CODE&from=ISO&to=ISO]``."""
    principal = await principal_of(request)
    unit = request.query.get("unit")
    start = query_time(request, "from")
    end = query_time(request, "to")
    out = []
    # Off the loop: the first listing after a start reads every manifest.
    for info in await asyncio.to_thread(request.app[LIBRARY].all):
        manifest = info.manifest
        if start is not None and manifest.started_at < start:
            continue
        if end is not None and manifest.started_at >= end:
            continue
        if unit and unit not in {u.code for u in manifest.units} and unit != manifest.host_site:
            continue
        if await can_view(request, principal, manifest):
            out.append(summary(info))
    return web.json_response(
        {"recordings": out, "retention_days": request.app[SETTINGS].recording_retention_days}
    )


async def get_recording(request: web.Request) -> web.Response:
    """``GET /api/recordings/{id}``: the summary and the whole manifest."""
    principal = await principal_of(request)
    info = await _visible(request, principal, request.match_info["id"])

    def encode() -> str:  # a long meeting's manifest is large: encode it off the loop
        return json.dumps(
            {**summary(info), "manifest": json.loads(info.manifest.model_dump_json())}
        )

    return web.Response(text=await asyncio.to_thread(encode), content_type="application/json")


async def recording_file(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/{id}/files/{name}``: play or download a track or composite."""
    principal = await principal_of(request)
    info = await _visible(request, principal, request.match_info["id"])
    try:
        path = await asyncio.to_thread(
            request.app[LIBRARY].file, info.manifest.id, request.match_info["name"]
        )
    except KeyError as exc:
        raise ApiError(404, "not-found", "no such file in this recording") from exc
    response = web.FileResponse(path)
    kind = {
        ".webm": "video/webm",
        ".mkv": "video/x-matroska",
        ".mp4": "video/mp4",
        ".json": "application/json",
    }
    response.content_type = kind.get(path.suffix, "application/octet-stream")
    if request.query.get("download"):
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{info.manifest.id}-{path.name}"'
        )
    return response


async def delete_recording(request: web.Request) -> web.Response:
    """``DELETE /api/recordings/{id}`` (administrators)."""
    principal = await principal_of(request)
    require_role(principal)
    try:  # off the loop: removing hours of tracks takes a while
        await asyncio.to_thread(request.app[LIBRARY].delete, request.match_info["id"])
    except KeyError as exc:
        raise ApiError(404, "not-found", "no such recording") from exc
    except ValueError as exc:
        raise ApiError(409, "still-recording", str(exc)) from exc
    return web.Response(status=204)


async def start_render(request: web.Request) -> web.Response:
    """``POST /api/recordings/{id}/render`` {"layout": "grid"|"speaker"}: a background job."""
    principal = await principal_of(request)
    info = await _visible(request, principal, request.match_info["id"])
    data = await json_body(request, RenderRequest)
    if data.layout not in LAYOUTS:
        raise ApiError(400, "invalid-request", "layout must be grid or speaker")
    job = request.app[RENDERS].start(info.manifest.id, data.layout)
    return web.json_response(job.snapshot(), status=202)


async def render_events(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/{id}/render/events?layout=``: Server-Sent Events with the job's progress."""
    principal = await principal_of(request)
    info = await _visible(request, principal, request.match_info["id"])
    layout = request.query.get("layout", "grid")
    job = request.app[RENDERS].get(info.manifest.id, layout)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    if job is None:
        state = {
            "recording": info.manifest.id,
            "layout": layout,
            "status": "none",
            "output": info.composites.get(layout),
        }
        await response.write(f"data: {json.dumps(state)}\n\n".encode())
        return response
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    job.listeners.append(queue)
    try:
        await response.write(f"data: {json.dumps(job.snapshot())}\n\n".encode())
        while job.status in ("queued", "running"):
            try:
                update = await asyncio.wait_for(queue.get(), 15)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(f"data: {json.dumps(update)}\n\n".encode())
        await response.write(f"data: {json.dumps(job.snapshot())}\n\n".encode())
    except ConnectionError:
        pass
    finally:
        job.listeners.remove(queue)
    return response


ROUTES = [
    Route("POST", "/api/meetings/{id}/recording", meeting_recording, RecordingAction),
    Route("GET", "/api/recordings", list_recordings),
    Route("GET", "/api/recordings/{id}", get_recording),
    Route("DELETE", "/api/recordings/{id}", delete_recording),
    Route("GET", "/api/recordings/{id}/files/{name}", recording_file),
    Route("POST", "/api/recordings/{id}/render", start_render, RenderRequest),
    Route("GET", "/api/recordings/{id}/render/events", render_events),
]


def setup(app: web.Application) -> None:
    """Open the recordings library (the routes are in :data:`ROUTES`)."""
    app[LIBRARY] = Library(app[SETTINGS].recordings_dir)
