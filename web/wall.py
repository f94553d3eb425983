"""The camera wall over HTTP: open a wall of feeds, answer its offer, close it.

``POST /api/wall`` with the feeds (at most 36, each one the caller may see:
403 otherwise) answers the wall's id, the STUN/TURN servers, the server's SDP offer (one video
section per tile, ICE candidates gathered in) and which feed is on which
section; the page answers with ``POST /api/wall/{id}/answer`` and closes the
wall with ``DELETE /api/wall/{id}``. ``/api/wall/saved`` keeps the
caller's named walls (:mod:`anpr_feed.saved_walls`). Hosts, operators and administrators
only (:func:`web.auth.feed_principal`), and only their own walls.
"""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import Field

from anpr_feed.saved_walls import SavedWall, SavedWalls
from anpr_feed.wall import MAX_TILES
from conference.peer import MAX_SDP_BYTES, SdpError
from web.auth import feed_principal
from web.errors import ApiError
from web.keys import CONFERENCE, SETTINGS, WALL
from web.request_body import StrictBody, json_body
from web.routes import Route

FEED_ID = r"^[A-Za-z0-9_-]{1,64}$"


class WallIn(StrictBody):
    """``POST /api/wall``: the feeds of a wall, in tile order."""

    feeds: list[str] = Field(min_length=1, max_length=MAX_TILES)

    def checked(self) -> list[str]:
        """The feed ids, each of the shape the store gives (400 otherwise)."""
        for feed_id in self.feeds:
            if not re.fullmatch(FEED_ID, feed_id):
                raise ApiError(400, "invalid-feed", "a feed id is letters, digits, - and _")
        return list(self.feeds)


class WallAnswer(StrictBody):
    """``POST /api/wall/{id}/answer``: the browser's SDP answer."""

    sdp: str = Field(min_length=1, max_length=MAX_SDP_BYTES)


async def open_wall(request: web.Request) -> web.Response:
    """``POST /api/wall``: a wall of the given feeds; its offer and tiles."""
    principal = await feed_principal(request)
    body = await json_body(request, WallIn)
    viewer, offer = await request.app[WALL].open(principal, body.checked())
    # The same STUN/TURN servers a meeting's page gets: a wall behind NAT needs them too.
    ice = [s.model_dump(exclude_none=True) for s in request.app[SETTINGS].ice_servers]
    return web.json_response(
        {"id": viewer.id, "offer": offer, "tiles": viewer.tile_json(), "ice_servers": ice},
        status=201,
    )


async def answer_wall(request: web.Request) -> web.Response:
    """``POST /api/wall/{id}/answer``: the page's answer; the tiles start."""
    principal = await feed_principal(request)
    body = await json_body(request, WallAnswer)
    try:
        await request.app[WALL].answer(principal, request.match_info["id"], body.sdp)
    except SdpError as exc:
        raise ApiError(400, "invalid-sdp", str(exc)) from exc
    return web.json_response({"ok": True})


async def close_wall(request: web.Request) -> web.Response:
    """``DELETE /api/wall/{id}``: the page closes its wall."""
    principal = await feed_principal(request)
    await request.app[WALL].close(principal, request.match_info["id"])
    return web.Response(status=204)


async def saved_walls(request: web.Request) -> web.Response:
    """``GET /api/wall/saved``: the caller's saved walls."""
    principal = await feed_principal(request)
    walls = await SavedWalls(request.app[CONFERENCE].store).of(principal.username)
    return web.json_response({"walls": [w.model_dump() for w in walls]})


async def save_wall(request: web.Request) -> web.Response:
    """``POST /api/wall/saved``: save (or replace, by name) a wall of feeds the caller sees."""
    principal = await feed_principal(request)
    wall = await json_body(request, SavedWall)
    if len(wall.feeds) > wall.layout:
        raise ApiError(400, "wall-too-large", f"a {wall.layout}-tile wall shows {wall.layout}")
    await request.app[WALL].check_feeds(principal, wall.feeds)
    try:
        walls = await SavedWalls(request.app[CONFERENCE].store).save(principal.username, wall)
    except ValueError as exc:
        raise ApiError(409, "too-many-saved-walls", str(exc)) from exc
    return web.json_response({"walls": [w.model_dump() for w in walls]}, status=201)


async def delete_saved_wall(request: web.Request) -> web.Response:
    """``DELETE /api/wall/saved/{name}``: forget one of the caller's saved walls."""
    principal = await feed_principal(request)
    store = request.app[CONFERENCE].store
    if not await SavedWalls(store).delete(principal.username, request.match_info["name"]):
        raise ApiError(404, "not-found", "no saved wall of that name")
    return web.Response(status=204)


ROUTES = [
    Route("GET", "/api/wall/saved", saved_walls),
    Route("POST", "/api/wall/saved", save_wall, SavedWall),
    Route("DELETE", "/api/wall/saved/{name}", delete_saved_wall),
    Route("POST", "/api/wall", open_wall, WallIn),
    Route("POST", "/api/wall/{id}/answer", answer_wall, WallAnswer),
    Route("DELETE", "/api/wall/{id}", close_wall),
]
