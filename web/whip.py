"""WHIP (RFC 9725) and WHEP: one HTTP POST of SDP to publish or to watch.

``POST /whip/{room}`` with ``Authorization: Bearer <token>`` and an
``application/sdp`` offer answers ``201 Created`` with the SDP answer and a
``Location`` for the session; ``DELETE`` on that location ends it. WHEP is
the same for viewers at ``/whep/{room}``.
"""

from __future__ import annotations

import logging

from aiohttp import web

from conference.peer import SdpError
from conference.service import Connection, Forbidden
from conference.store import Room as RoomRecord
from conference.store import RoomNotFound
from conference.tokens import TokenClaims, TokenError
from web.errors import ApiError
from web.keys import CONFERENCE
from web.placement import redirect_to_home

logger = logging.getLogger(__name__)

MAX_OFFER_BYTES = 64 * 1024
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, ETag, Link",
}


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def _authorize(request: web.Request) -> tuple[TokenClaims, RoomRecord]:
    token = _bearer(request)
    if token is None:
        raise ApiError(
            401,
            "token-missing",
            "send the join token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer", **CORS_HEADERS},
        )
    try:
        return await request.app[CONFERENCE].authorize(token, request.match_info["room"])
    except TokenError as exc:
        raise ApiError(
            401, exc.code, exc.message, headers={"WWW-Authenticate": "Bearer", **CORS_HEADERS}
        ) from exc
    except Forbidden as exc:
        raise ApiError(403, exc.code, exc.message, headers=CORS_HEADERS) from exc
    except RoomNotFound as exc:
        raise ApiError(404, "room-not-found", str(exc), headers=CORS_HEADERS) from exc


async def _read_offer(request: web.Request) -> str:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/sdp":
        raise ApiError(
            415,
            "unsupported-media-type",
            "the offer must be sent as application/sdp",
            headers=CORS_HEADERS,
        )
    too_large = ApiError(
        413,
        "offer-too-large",
        f"the offer is larger than {MAX_OFFER_BYTES} bytes",
        headers=CORS_HEADERS,
    )
    if request.content_length is not None and request.content_length > MAX_OFFER_BYTES:
        raise too_large
    body = await request.read()  # whole: web/request_body.py read it, in time
    if len(body) > MAX_OFFER_BYTES:
        raise too_large
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "invalid-sdp", "the offer is not UTF-8 text", headers=CORS_HEADERS
        ) from exc


async def _create(request: web.Request, kind: str) -> web.Response:
    claims, record = await _authorize(request)
    offer = await _read_offer(request)
    # RFC 9725 4.5: the client sends the same offer to the meeting's home node.
    await redirect_to_home(request, record.id, claims.sub, headers=CORS_HEADERS)
    conference = request.app[CONFERENCE]
    try:
        if kind == "whip":
            connection, answer = await conference.publish_whip(claims, record, offer)
        else:
            connection, answer = await conference.view_whep(claims, record, offer)
    except SdpError as exc:
        raise ApiError(400, "invalid-sdp", str(exc), headers=CORS_HEADERS) from exc
    except Forbidden as exc:
        status = 503 if exc.code == "shutting-down" else 403
        raise ApiError(status, exc.code, exc.message, headers=CORS_HEADERS) from exc
    location = f"/{kind}/{record.id}/{connection.id}"
    return web.Response(
        status=201,
        body=answer.encode("utf-8"),
        content_type="application/sdp",
        headers={"Location": location, "ETag": f'"{connection.id}"', **CORS_HEADERS},
    )


def _session(request: web.Request, kind: str) -> Connection | None:
    connection = request.app[CONFERENCE].connections.get(request.match_info["session"])
    if connection is None or connection.room.id != request.match_info["room"]:
        return None
    if connection.participant.client != kind:
        return None
    return connection


async def _delete(request: web.Request, kind: str) -> web.Response:
    claims, _ = await _authorize(request)
    connection = _session(request, kind)
    if connection is None:
        raise ApiError(
            404, "session-not-found", "no such session (it may have ended)", headers=CORS_HEADERS
        )
    if connection.claims.sub != claims.sub and claims.role.value != "host":
        raise ApiError(
            403, "not-your-session", "this token cannot end that session", headers=CORS_HEADERS
        )
    await request.app[CONFERENCE].end(connection.id, "left")
    return web.Response(status=200, headers=CORS_HEADERS)


async def whip_post(request: web.Request) -> web.Response:
    """``POST /whip/{room}``: publish into the room."""
    return await _create(request, "whip")


async def whep_post(request: web.Request) -> web.Response:
    """``POST /whep/{room}``: watch the room."""
    return await _create(request, "whep")


async def whip_delete(request: web.Request) -> web.Response:
    """``DELETE /whip/{room}/{session}``: stop publishing."""
    return await _delete(request, "whip")


async def whep_delete(request: web.Request) -> web.Response:
    """``DELETE /whep/{room}/{session}``: stop watching."""
    return await _delete(request, "whep")


async def session_patch(request: web.Request) -> web.Response:
    """Trickle ICE and ICE restarts are not supported: the answer carries all candidates."""
    raise ApiError(
        405,
        "trickle-not-supported",
        "this server gathers all ICE candidates into its answer; PATCH is not supported",
        headers={"Allow": "DELETE", **CORS_HEADERS},
    )


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight for browser-based WHIP/WHEP clients."""
    return web.Response(status=204, headers=CORS_HEADERS)
