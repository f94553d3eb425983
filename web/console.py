"""The host console socket: roll call and floor control, pushed live.

``GET /ws/console/{meeting}`` with the host's login cookie. The server sends
``console`` (the whole state) first, then whatever the room publishes on the
event bus (``roll-call`` batches, ``hands``, ``floor``, ``spotlight``,
``speaker``, ``locked``, ``removed``, ``closing``, ``closed``, ``state``).
The console sends ``{"type": "command", "id": n, "command": ..., "site": ...}``
and gets ``{"type": "result", "id": n, ...}`` or an ``error`` with that id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conference import client_json
from conference.permissions import Forbidden
from conference.service import meeting_channel
from conference.store import MeetingNotFound
from web.auth import current_login
from web.errors import json_error
from web.keys import CONFERENCE, SOCKETS

logger = logging.getLogger(__name__)

COMMANDS = (
    "give-floor",
    "take-floor",
    "spotlight",
    "mute",
    "mute-all",
    "unmute",
    "lower-hand",
    "remove",
    "readmit",
    "lock",
    "unlock",
    "record-start",
    "record-stop",
)


class Command(BaseModel):
    """A floor-control command from the console."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["command"]
    id: int = Field(ge=0, le=2**53)
    command: Literal[
        "give-floor",
        "take-floor",
        "spotlight",
        "mute",
        "mute-all",
        "unmute",
        "lower-hand",
        "remove",
        "readmit",
        "lock",
        "unlock",
        "record-start",
        "record-stop",
        "add-feed",
        "remove-feed",
    ]
    site: str | None = Field(None, max_length=64)


def same_origin(request: web.Request) -> bool:
    """Refuse cross-site WebSocket hijacking: the Origin must be this server."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == request.host


async def console_handler(request: web.Request) -> web.StreamResponse:
    """``GET /ws/console/{meeting}``."""
    current = await current_login(request)
    if current is None:
        return json_error(401, "login-required", "log in as a host first")
    if not same_origin(request):
        return json_error(403, "bad-origin", "the console must be opened from this server's pages")
    principal, _ = current
    conference = request.app[CONFERENCE]
    try:
        meeting, _room = await conference.console_room(principal, request.match_info["meeting"])
    except Forbidden as exc:
        return json_error(403, exc.code, exc.message)
    except MeetingNotFound as exc:
        return json_error(404, "not-found", str(exc))

    ws = web.WebSocketResponse(heartbeat=15, max_msg_size=64 * 1024)
    try:
        await ws.prepare(request)
    except ConnectionError:
        return ws
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    subscription = conference.bus.subscribe(meeting_channel(meeting.room_id))
    send_lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await ws.send_str(json.dumps(message, ensure_ascii=False))

    async def forward() -> None:
        async for event in subscription:
            await send(event)
            if event.get("type") == "closed":
                # The room closed: show the final state (everyone left) and keep the socket.
                await send({"type": "console", "state": await conference.console_state(meeting)})

    forwarder: asyncio.Task[None] | None = None
    try:
        await subscription.ready()
        await send(
            {
                "type": "console",
                "meeting": {
                    "id": meeting.id,
                    "title": meeting.title,
                    "host_site": meeting.host_site,
                },
                "state": await conference.console_state(meeting),
            }
        )
        forwarder = asyncio.ensure_future(forward())
        async for raw in ws:
            if raw.type != WSMsgType.TEXT:
                if raw.type == WSMsgType.ERROR:
                    break
                continue
            await _command(conference, principal, meeting.id, raw.data, send)
    finally:
        await subscription.close()
        if forwarder is not None:
            forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await forwarder
        sockets.discard(ws)
    return ws


def _command_id(text: str) -> int | None:
    """The ``id`` of a command that failed validation, if it has a valid one."""
    try:
        ident = client_json.loads(text).get("id")
    except (ValueError, AttributeError):
        return None
    valid = isinstance(ident, int) and not isinstance(ident, bool) and 0 <= ident <= 2**53
    return ident if valid else None


async def _command(conference: Any, principal: Any, meeting_id: str, text: str, send: Any) -> None:
    try:
        command = Command.model_validate(client_json.loads(text))
    except client_json.ClientJsonError as exc:
        await send({"type": "error", "code": exc.code, "message": exc.message})
        return
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        error: dict[str, Any] = {
            "type": "error",
            "code": "invalid-message",
            "message": f"{where}: {first.get('msg')}",
        }
        ident = _command_id(text)
        if ident is not None:
            error["id"] = ident  # the console is waiting for this command's answer
        await send(error)
        return
    try:
        result = await conference.console_command(
            principal, meeting_id, command.command, command.site
        )
    except Forbidden as exc:
        await send({"type": "error", "id": command.id, "code": exc.code, "message": exc.message})
        return
    except Exception:
        logger.exception("console command %s failed", command.command)
        await send(
            {"type": "error", "id": command.id, "code": "internal", "message": "the command failed"}
        )
        return
    await send({"type": "result", "id": command.id, **result})
