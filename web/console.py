"""The host console socket: roll call and floor control, pushed live.

``GET /ws/console/{meeting}`` with the host's login cookie. The server sends
:class:`~web.console_messages.ConsoleSnapshot` (``console``: the whole state)
first, then every console event the room publishes on the event bus
(:data:`conference.rooms.console_events.ConsoleEvent`: ``roll-call`` batches,
``hands``, ``floor``, ``spotlight``, ``speaker``, ``locked``, ``removed``,
``closing``, ``closed``, ``state``...), as the bus gives it. The console sends
a :class:`~web.console_messages.Command` and gets a ``result`` with the same
id, or an ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from conference import client_json
from conference.bus.base import Message
from conference.permissions import Forbidden, Principal
from conference.redis_client import UNREACHABLE
from conference.service import Conference, meeting_channel
from conference.store import Meeting, MeetingNotFound
from conference.wire import WireMessage
from web.auth import current_login
from web.console_messages import (
    Command,
    CommandError,
    ConsoleRefresh,
    ConsoleSnapshot,
    MeetingHeader,
    MessageError,
    Result,
)
from web.errors import ApiError
from web.keys import CONFERENCE, SOCKETS

logger = logging.getLogger(__name__)

# How often a console checks whether its bus subscription lost messages.
RESYNC_CHECK_SECONDS = 1.0

Send = Callable[[WireMessage | Message], Awaitable[None]]
# Writes one message to the console: a model, or a console event as the bus gave it.


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
        raise ApiError(401, "login-required", "log in as a host first")
    if not same_origin(request):
        raise ApiError(403, "bad-origin", "the console must be opened from this server's pages")
    principal, _ = current
    conference = request.app[CONFERENCE]
    try:
        meeting, _room = await conference.console_room(principal, request.match_info["meeting"])
    except Forbidden as exc:
        raise ApiError(403, exc.code, exc.message) from exc
    except MeetingNotFound as exc:
        raise ApiError(404, "not-found", str(exc)) from exc

    ws = web.WebSocketResponse(heartbeat=15, max_msg_size=64 * 1024)
    try:
        await ws.prepare(request)
    except ConnectionError:
        return ws
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    subscription = conference.bus.subscribe(meeting_channel(meeting.room_id))
    send_lock = asyncio.Lock()

    async def send(message: WireMessage | Message) -> None:
        wire = message.to_wire() if isinstance(message, WireMessage) else message
        async with send_lock:
            await ws.send_str(json.dumps(wire, ensure_ascii=False))

    async def forward() -> None:
        # Console events come off the bus in their wire form and go out as they are.
        async for event in subscription:
            await send(event)
            if event.get("type") == "closed":
                # The room closed: show the final state (everyone left) and keep the socket.
                await send(ConsoleRefresh(state=await conference.console_state(meeting)))

    async def resync() -> None:
        # The bus lost messages (Redis was out, or this console fell behind): once
        # it delivers again, the whole state, so that nothing the room did meanwhile
        # is missing from the console.
        while True:
            await asyncio.sleep(RESYNC_CHECK_SECONDS)
            if subscription.lagged:
                subscription.lagged = False
                try:
                    state = await conference.console_state(meeting)
                except UNREACHABLE:
                    subscription.lagged = True  # the store is out too: next time
                    continue
                await send(ConsoleRefresh(state=state))

    forwarder: asyncio.Task[None] | None = None
    resyncer: asyncio.Task[None] | None = None
    try:
        await subscription.ready()
        await send(
            ConsoleSnapshot(
                meeting=MeetingHeader(
                    id=meeting.id, title=meeting.title, host_site=meeting.host_site
                ),
                state=await conference.console_state(meeting),
            )
        )
        forwarder = asyncio.ensure_future(forward())
        resyncer = asyncio.ensure_future(resync())
        async for raw in ws:
            if raw.type != WSMsgType.TEXT:
                if raw.type == WSMsgType.ERROR:
                    break
                continue
            await _command(conference, principal, meeting, raw.data, send)
    finally:
        await subscription.close()
        for task in (forwarder, resyncer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
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


async def _command(
    conference: Conference, principal: Principal, meeting: Meeting, text: str, send: Send
) -> None:
    """Validate one command, carry it out, and answer with ``result`` or ``error``."""
    try:
        command = Command.model_validate(client_json.loads(text))
    except client_json.ClientJsonError as exc:
        await send(MessageError(code=exc.code, message=exc.message))
        return
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        why = f"{where}: {first.get('msg')}"
        ident = _command_id(text)
        if ident is None:
            await send(MessageError(code="invalid-message", message=why))
        else:  # the console is waiting for this command's answer
            await send(CommandError(id=ident, code="invalid-message", message=why))
        return
    try:
        reply = await conference.console_command(
            principal,
            meeting.id,
            command.command,
            command.site,
            opened=meeting,
            args=command.args(),
        )
    except Forbidden as exc:
        await send(CommandError(id=command.id, code=exc.code, message=exc.message))
        return
    except UNREACHABLE:
        await send(
            CommandError(
                id=command.id,
                code="store-unavailable",
                message="the shared state (Redis) cannot be reached now; try again shortly",
            )
        )
        return
    except Exception:
        logger.exception("console command %s failed", command.command)
        await send(CommandError(id=command.id, code="internal", message="the command failed"))
        return
    await send(Result(id=command.id, reply=reply))
