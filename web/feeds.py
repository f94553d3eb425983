"""Checkpoint cameras over HTTP: register, list, look at and remove the feeds.

Who may do what (``conference/permissions.py``): hosts and operators see the
feeds of their unit's subtree (a feed with no unit: administrators only), and
register or remove feeds there, up to the limits of the server and of the
unit.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from aiohttp import web
from pydantic import Field

from anpr_feed.manager import feed_fields
from anpr_feed.sources import FeedSourceError, is_file_source, register
from conference.permissions import Principal, can_see_feed, check_feed_admin, check_file_feed
from conference.store import Feed
from conference.store.base import FeedLimitReached, FeedLimits
from web.auth import feed_principal, principal_of
from web.errors import ApiError
from web.keys import CONFERENCE, FEED_MANAGER, FEEDS_IN_MEETINGS, SETTINGS
from web.request_body import StrictBody, json_body
from web.routes import Route


class FeedIn(StrictBody):
    """``POST /api/feeds``: register a camera."""

    name: str = Field(min_length=1, max_length=120)
    checkpoint: str = Field(min_length=1, max_length=200)
    location: str = Field("", max_length=300)
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="rtsp://, rtsps://, http(s):// in the camera networks, "
        "or (administrators) a file in the feed files folder",
    )
    unit_code: str | None = Field(None, max_length=64)
    passthrough: bool = Field(False, description="forward an H.264 camera as it is")


def feed_json(request: web.Request, feed: Feed) -> dict[str, Any]:
    """A feed with its live status."""
    return {
        **feed_fields(feed),
        "created_at": feed.created_at,
        "created_by": feed.created_by,
        "site_id": f"feed-{feed.id}",
        "status": request.app[FEED_MANAGER].status_json(feed.id),
    }


async def _visible_feeds(request: web.Request, principal: Principal) -> list[Feed]:
    """The store's feeds that ``principal`` may see."""
    store = request.app[CONFERENCE].store
    return [f for f in await store.list_feeds() if await can_see_feed(store, principal, f)]


async def _visible_feed(request: web.Request, principal: Principal) -> Feed:
    """The feed ``{id}`` of the path; 404 if ``principal`` may not see it."""
    store = request.app[CONFERENCE].store
    feed = await store.get_feed(request.match_info["id"])
    if not await can_see_feed(store, principal, feed):
        raise ApiError(404, "not-found", "no such feed")
    return feed


async def list_feeds(request: web.Request) -> web.Response:
    """``GET /api/feeds``: the cameras in the caller's scope, with their status."""
    principal = await feed_principal(request)
    feeds = await _visible_feeds(request, principal)
    return web.json_response({"feeds": [feed_json(request, f) for f in feeds]})


async def get_feed(request: web.Request) -> web.Response:
    """``GET /api/feeds/{id}``."""
    principal = await feed_principal(request)
    return web.json_response(feed_json(request, await _visible_feed(request, principal)))


async def create_feed(request: web.Request) -> web.Response:
    """``POST /api/feeds``: register a camera; its worker starts at once."""
    principal = await principal_of(request)
    data = await json_body(request, FeedIn)
    conference = request.app[CONFERENCE]
    await check_feed_admin(conference.store, principal, data.unit_code)
    if data.unit_code is not None:
        await conference.store.get_unit(data.unit_code)  # 404 for an unknown unit
    if is_file_source(data.url):
        check_file_feed(principal)  # before the path is looked at: no file oracle for others
    try:
        # Resolves the camera's host (off the loop) and checks every address.
        url = await asyncio.to_thread(register, data.url, request.app[FEED_MANAGER].policy)
    except FeedSourceError as exc:
        raise ApiError(400, "bad-source", str(exc)) from exc
    feed = Feed(
        id=secrets.token_hex(4),
        name=data.name.strip(),
        checkpoint=data.checkpoint.strip(),
        location=data.location.strip(),
        url=url,
        unit_code=data.unit_code,
        created_at=time.time(),
        created_by=principal.username,
        passthrough=data.passthrough,
    )
    settings = request.app[SETTINGS]
    try:
        await conference.store.create_feed(
            feed, FeedLimits(settings.max_feeds, settings.max_feeds_per_unit)
        )
    except FeedLimitReached as exc:
        raise ApiError(409, exc.code, str(exc)) from exc
    await request.app[FEEDS_IN_MEETINGS].feed_changed(feed)
    return web.json_response(feed_json(request, feed), status=201)


async def delete_feed(request: web.Request) -> web.Response:
    """``DELETE /api/feeds/{id}``: stop the camera and forget it (its events stay)."""
    principal = await principal_of(request)
    conference = request.app[CONFERENCE]
    feed = await _visible_feed(request, principal)
    await check_feed_admin(conference.store, principal, feed.unit_code)
    await conference.store.delete_feed(feed.id)
    await request.app[FEEDS_IN_MEETINGS].feed_deleted(feed.id)
    return web.Response(status=204)


ROUTES = [
    Route("GET", "/api/feeds", list_feeds),
    Route("POST", "/api/feeds", create_feed, FeedIn),
    Route("GET", "/api/feeds/{id}", get_feed),
    Route("DELETE", "/api/feeds/{id}", delete_feed),
]
