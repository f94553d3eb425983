"""Sending a site to its meeting's home node: 307 for WHIP/WHEP and the join page.

Only with Redis (a cluster); alone, every room is at home here. Asked after
the token was verified, so an anonymous request never makes a node claim a room.

``POST /join/{room}/home`` answers the same question for a meeting page
whose node stopped answering (killed, its machine down): the page asks the
other nodes it was told of (the ``nodes`` message) where its meeting's home
is now, and moves to a node that answers "here".
"""

from __future__ import annotations

from aiohttp import web

from conference.permissions import Forbidden
from conference.store import RoomNotFound
from conference.tokens import TokenError
from web.errors import ApiError
from web.keys import CONFERENCE, SERVICES

MAX_TOKEN_BYTES = 8 * 1024
# Read by a page of another node (another origin): a simple request (POST of
# text/plain, no credentials), so no preflight; the answer names a node only
# to a holder of a valid join token of the room.
PLACEMENT_CORS = {"Access-Control-Allow-Origin": "*"}


async def home_elsewhere(request: web.Request, room_id: str) -> str | None:
    """The base URL of ``room_id``'s home if it is another live node, else None (here)."""
    cluster = request.app[SERVICES].cluster
    if cluster is None:
        return None
    return await cluster.placement.home_elsewhere(room_id)


async def site_elsewhere(
    request: web.Request, room_id: str, site_id: str | None = None
) -> str | None:
    """Where a site of ``room_id`` goes: None (served here) or another node's base URL.

    Without ``cascade = spread``: the meeting's home. With it, a site whose unit
    (``site_id``'s, or the nearest above it) is listed for another live node goes
    there (the join page, WHIP and WHEP; the socket passes no ``site_id``, so a
    page is never sent on twice); any other is served here, in the room's home
    or in a copy of it whose media and roll call follow the home
    (``conference/cascade/``).
    """
    home = await home_elsewhere(request, room_id)
    services = request.app[SERVICES]
    cluster = services.cluster
    if services.settings.cascade != "spread" or cluster is None:
        return home
    if site_id is not None:
        target = await cluster.placement.site_node(site_id)
        if target is not None:
            return target.advertise
    if home is not None:
        cluster.placement.carried.add(room_id)
    return None


async def redirect_to_home(
    request: web.Request,
    room_id: str,
    site_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Raise ``307 Temporary Redirect`` to the same path and query on the site's node.

    That node is the meeting's home, or with the cascade its unit's node (see
    :func:`site_elsewhere`). 307 keeps the method and the body (RFC 9110
    15.4.8), as WHIP and WHEP clients need (RFC 9725 4.5).
    """
    target = await site_elsewhere(request, room_id, site_id)
    if target is not None:
        raise web.HTTPTemporaryRedirect(target + request.path_qs, headers=headers)


async def home_of(request: web.Request) -> web.Response:
    """``POST /join/{room}/home`` with the join token as the text body.

    ``{"home": URL}``: the base URL of the node that is the meeting's home now
    (this node's own, if it is or just became the home; None alone, without a
    cluster). Token errors are answered as the join page's, in JSON.
    """
    if request.content_length is not None and request.content_length > MAX_TOKEN_BYTES:
        raise ApiError(
            413, "token-too-large", "a join token is not that long", headers=PLACEMENT_CORS
        )
    body = await request.read()  # whole: web/request_body.py read it, in time and bounded
    if len(body) > MAX_TOKEN_BYTES:
        raise ApiError(
            413, "token-too-large", "a join token is not that long", headers=PLACEMENT_CORS
        )
    token = body.decode("utf-8", "replace").strip()
    if not token:
        raise ApiError(
            401, "token-missing", "send the join token as the body", headers=PLACEMENT_CORS
        )
    try:
        _claims, record = await request.app[CONFERENCE].authorize(token, request.match_info["room"])
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message, headers=PLACEMENT_CORS) from exc
    except Forbidden as exc:
        status = 404 if exc.code == "meeting-not-found" else 403
        raise ApiError(status, exc.code, exc.message, headers=PLACEMENT_CORS) from exc
    except RoomNotFound as exc:
        raise ApiError(404, "room-not-found", str(exc), headers=PLACEMENT_CORS) from exc
    cluster = request.app[SERVICES].cluster
    home = await home_elsewhere(request, record.id)
    if home is None and cluster is not None:
        home = cluster.advertise
    return web.json_response({"home": home}, headers=PLACEMENT_CORS)
