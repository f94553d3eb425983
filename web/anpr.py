"""Checkpoint cameras over HTTP: feeds, plate events, the watch list, outbreak provinces.

Who may do what (``conference/permissions.py``): hosts and operators see the
feeds of their unit's subtree (a feed with no unit: administrators only), and
register or remove feeds there, up to the limits of the server and of the
unit; they see the plate events, and their pictures, that were kept for a
unit of their subtree (the unit of the camera when it read the plate,
whatever became of the camera since); the watch list and the
outbreak provinces are read by all of them and changed by the operators'
supervisors (hosts) and administrators.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from anpr_feed.events_store import Outbreak, PlateEvent, WatchEntry, plate_query
from anpr_feed.manager import feed_fields
from anpr_feed.sources import FeedSourceError, is_file_source, register
from anpr_feed.watchlist import WatchListError, normalize_pattern, parse_upload
from conference.permissions import (
    FEED_ROLES,
    Forbidden,
    Principal,
    can_remove_listing,
    can_see_feed,
    can_see_plate_event,
    check_feed_admin,
    check_file_feed,
    check_supervisor,
    plate_event_scope,
    require_role,
)
from conference.store import Conflict, Feed
from conference.store.base import FeedLimitReached, FeedLimits
from web.api import body, epoch, iso, principal_of, zone
from web.errors import ApiError
from web.keys import CAMERAS, CONFERENCE, FEEDS, SETTINGS
from web.request_body import max_bytes

UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # a watch list of some 100 000 plates
SEARCH_MAX = 500


class FeedIn(BaseModel):
    """``POST /api/feeds``: register a camera."""

    model_config = ConfigDict(extra="forbid")
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


class WatchIn(BaseModel):
    """``POST /api/anpr/watchlist``."""

    model_config = ConfigDict(extra="forbid")
    pattern: str = Field(min_length=1, max_length=40, description="20A12345, 29A*, *8888, 30?1234")
    reason: str = Field(min_length=1, max_length=300)


class OutbreakIn(BaseModel):
    """``POST /api/anpr/outbreaks``: a province is an outbreak zone from ``start`` to ``end``."""

    model_config = ConfigDict(extra="forbid")
    province_code: str = Field(min_length=2, max_length=2)
    start: date
    end: date
    reason: str = Field("", max_length=300)

    @field_validator("province_code")
    @classmethod
    def _known_province(cls, value: str) -> str:
        from anpr_feed.provinces import province_name

        if province_name(value) is None:
            raise ValueError(f"{value!r} is not a province code (Circular 58/2020/TT-BCA)")
        return value


# -- helpers ----------------------------------------------------------------------------


async def _feed_principal(request: web.Request) -> Principal:
    principal = await principal_of(request)
    require_role(principal, *FEED_ROLES)
    return principal


async def _supervisor(request: web.Request) -> Principal:
    principal = await principal_of(request)
    check_supervisor(principal)
    return principal


async def _visible_feeds(
    request: web.Request, principal: Principal, feeds: list[Feed] | None = None
) -> list[Feed]:
    """``feeds`` (all of the store's if None) that ``principal`` may see."""
    store = request.app[CONFERENCE].store
    if feeds is None:
        feeds = await store.list_feeds()
    return [f for f in feeds if await can_see_feed(store, principal, f)]


async def _visible_feed(request: web.Request, principal: Principal) -> Feed:
    """The feed ``{id}`` of the path; 404 if ``principal`` may not see it."""
    store = request.app[CONFERENCE].store
    feed = await store.get_feed(request.match_info["id"])
    if not await can_see_feed(store, principal, feed):
        raise ApiError(404, "not-found", "no such feed")
    return feed


async def _lists_changed(request: web.Request, response: web.Response) -> web.Response:
    """Have the cameras reload the watch list and outbreak provinces, then answer."""
    await request.app[FEEDS].reload_lists()
    return response


def feed_json(request: web.Request, feed: Feed) -> dict[str, Any]:
    """A feed with its live status."""
    return {
        **feed_fields(feed),
        "created_at": feed.created_at,
        "created_by": feed.created_by,
        "site_id": f"feed-{feed.id}",
        "status": request.app[FEEDS].status(feed.id).as_dict(),
    }


def event_json(request: web.Request, event: PlateEvent) -> dict[str, Any]:
    """A plate event on the wire, with links to its pictures."""
    from anpr_feed.provinces import province_name

    base = f"/api/anpr/events/{event.id}"
    return {
        "id": event.id,
        "feed_id": event.feed_id,
        "unit_code": event.unit_code,  # whose it is: who may see it
        "checkpoint": event.checkpoint,
        "at": event.at,
        "time": iso(event.at, zone(request)),
        "plate": event.plate,
        "display": event.display,
        "province_code": event.province_code,
        "province": province_name(event.province_code),
        "confidence": event.confidence,
        "colour": event.colour,
        "alert": event.alert,
        "crop_url": f"{base}/plate.jpg" if event.crop else None,
        "thumbnail_url": f"{base}/frame.jpg" if event.thumbnail else None,
    }


def _time(request: web.Request, name: str) -> float | None:
    text = request.query.get(name, "").strip()
    if not text:
        return None
    try:
        return (
            float(text)
            if text.replace(".", "", 1).isdigit()
            else epoch(datetime.fromisoformat(text), zone(request))
        )
    except ValueError as exc:
        raise ApiError(400, "bad-time", f"{name} must be an ISO 8601 time") from exc


# -- feeds ------------------------------------------------------------------------------


async def list_feeds(request: web.Request) -> web.Response:
    """``GET /api/feeds``: the cameras in the caller's scope, with their status."""
    principal = await _feed_principal(request)
    feeds = await _visible_feeds(request, principal)
    return web.json_response({"feeds": [feed_json(request, f) for f in feeds]})


async def get_feed(request: web.Request) -> web.Response:
    """``GET /api/feeds/{id}``."""
    principal = await _feed_principal(request)
    return web.json_response(feed_json(request, await _visible_feed(request, principal)))


async def create_feed(request: web.Request) -> web.Response:
    """``POST /api/feeds``: register a camera; its worker starts at once."""
    principal = await principal_of(request)
    data: FeedIn = await body(request, FeedIn)
    conference = request.app[CONFERENCE]
    await check_feed_admin(conference.store, principal, data.unit_code)
    if data.unit_code is not None:
        await conference.store.get_unit(data.unit_code)  # 404 for an unknown unit
    if is_file_source(data.url):
        check_file_feed(principal)  # before the path is looked at: no file oracle for others
    try:
        # Resolves the camera's host (off the loop) and checks every address.
        url = await asyncio.to_thread(register, data.url, request.app[FEEDS].policy)
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
    await request.app[CAMERAS].feed_changed(feed)
    return web.json_response(feed_json(request, feed), status=201)


async def delete_feed(request: web.Request) -> web.Response:
    """``DELETE /api/feeds/{id}``: stop the camera and forget it (its events stay)."""
    principal = await principal_of(request)
    conference = request.app[CONFERENCE]
    feed = await _visible_feed(request, principal)
    await check_feed_admin(conference.store, principal, feed.unit_code)
    await conference.store.delete_feed(feed.id)
    await request.app[CAMERAS].feed_deleted(feed.id)
    return web.Response(status=204)


# -- plate events -------------------------------------------------------------------------


async def search_events(request: web.Request) -> web.Response:
    """``GET /api/anpr/events?plate=&from=&to=&checkpoint=&limit=``: newest first.

    ``plate`` matches any part of the plate, separators ignored (``123.45``,
    ``20A``, ``A-123``).
    """
    principal = await _feed_principal(request)
    conference = request.app[CONFERENCE]
    try:
        limit = max(1, min(int(request.query.get("limit", "50")), SEARCH_MAX))
    except ValueError as exc:
        raise ApiError(400, "bad-limit", "limit must be a number") from exc
    plate = request.query.get("plate", "")
    if plate and not plate_query(plate):
        raise ApiError(400, "bad-plate", "a plate search needs letters or digits")
    start, end = _time(request, "from"), _time(request, "to")
    events = await request.app[FEEDS].plates.search_plate_events(
        plate=plate or None,
        start=start,
        end=end,
        checkpoint=request.query.get("checkpoint") or None,
        limit=limit,
        # By the unit kept with each event: removing a camera narrows nobody's scope
        # into everybody's, and its events stay their district's.
        unit_codes=await plate_event_scope(conference.store, principal),
    )
    return web.json_response(
        {
            "query": {"plate": plate_query(plate), "from": start, "to": end, "limit": limit},
            "events": [event_json(request, e) for e in events],
        }
    )


async def _visible_event(request: web.Request) -> PlateEvent:
    """The event ``{id}`` of the path, by its own unit; 404 out of the caller's scope."""
    principal = await _feed_principal(request)
    conference = request.app[CONFERENCE]
    event = await request.app[FEEDS].plates.get_plate_event(request.match_info["id"])
    if not await can_see_plate_event(conference.store, principal, event):
        raise ApiError(404, "not-found", "no such event")
    return event


async def get_event(request: web.Request) -> web.Response:
    """``GET /api/anpr/events/{id}``."""
    return web.json_response(event_json(request, await _visible_event(request)))


async def event_image(request: web.Request) -> web.StreamResponse:
    """``GET /api/anpr/events/{id}/plate.jpg`` (the crop) or ``.../frame.jpg`` (the thumbnail)."""
    event = await _visible_event(request)
    name = event.crop if request.match_info["kind"] == "plate" else event.thumbnail
    path = request.app[FEEDS].image_path(name) if name else None
    if path is None:
        raise ApiError(404, "not-found", "this picture is not kept (or was deleted by retention)")
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"}
    )


# -- watch list and outbreak provinces -------------------------------------------------------


class _Listings:
    """Whose each list entry is, for one principal: the unit's name and whether it may remove it."""

    def __init__(self, names: dict[str, str], removable: dict[str | None, bool]) -> None:
        self.names = names
        self.removable = removable

    @classmethod
    async def of(
        cls, request: web.Request, principal: Principal, entries: list[WatchEntry] | list[Outbreak]
    ) -> _Listings:
        store = request.app[CONFERENCE].store
        codes = {e.unit_code for e in entries}
        units = await store.get_units([c for c in codes if c is not None])
        removable = {code: await can_remove_listing(store, principal, code) for code in codes}
        return cls({code: unit.name for code, unit in units.items()}, removable)

    def fields(self, unit_code: str | None) -> dict[str, Any]:
        """``unit_code``, ``unit`` (its name) and ``can_remove`` of an entry."""
        return {
            "unit_code": unit_code,
            "unit": self.names.get(unit_code or ""),
            "can_remove": self.removable.get(unit_code, False),
        }


def _listing_unit(principal: Principal) -> str | None:
    """The unit a new list entry belongs to: the supervisor's (none for an admin's)."""
    return None if principal.is_admin else principal.unit_code


async def _removable_listing(
    request: web.Request, principal: Principal, entries: list[WatchEntry] | list[Outbreak]
) -> str:
    """The ``{id}`` of the path if it is listed and ``principal`` may remove it."""
    entry_id = request.match_info["id"]
    entry = next((e for e in entries if e.id == entry_id), None)
    if entry is None:
        raise ApiError(404, "not-found", "no such entry")
    store = request.app[CONFERENCE].store
    if not await can_remove_listing(store, principal, entry.unit_code):
        raise Forbidden(
            "out-of-scope",
            "this entry was listed by another unit; its supervisors or an admin may remove it",
        )
    return entry_id


def watch_json(entry: WatchEntry, listings: _Listings) -> dict[str, Any]:
    """A watch-list entry on the wire, with its unit and whether the caller may remove it."""
    return {
        "id": entry.id,
        "pattern": entry.pattern,
        "reason": entry.reason,
        "created_by": entry.created_by,
        "created_at": entry.created_at,
        **listings.fields(entry.unit_code),
    }


async def list_watch(request: web.Request) -> web.Response:
    """``GET /api/anpr/watchlist``."""
    principal = await _feed_principal(request)
    entries = await request.app[FEEDS].plates.list_watch()
    listings = await _Listings.of(request, principal, entries)
    return web.json_response({"entries": [watch_json(e, listings) for e in entries]})


async def add_watch(request: web.Request) -> web.Response:
    """``POST /api/anpr/watchlist`` {pattern, reason}."""
    principal = await _supervisor(request)
    data: WatchIn = await body(request, WatchIn)
    try:
        pattern = normalize_pattern(data.pattern)
    except WatchListError as exc:
        raise ApiError(400, "bad-pattern", str(exc)) from exc
    entry = WatchEntry(
        id=secrets.token_hex(6),
        pattern=pattern,
        reason=data.reason.strip(),
        created_by=principal.username,
        created_at=time.time(),
        unit_code=_listing_unit(principal),
    )
    await request.app[FEEDS].plates.add_watch(entry)
    listings = await _Listings.of(request, principal, [entry])
    return await _lists_changed(request, web.json_response(watch_json(entry, listings), status=201))


@max_bytes(UPLOAD_MAX_BYTES)
async def upload_watch(request: web.Request) -> web.Response:
    """``POST /api/anpr/watchlist/upload``: a CSV (pattern,reason) or JSON list; all or nothing."""
    principal = await _supervisor(request)
    data = await request.read()  # whole: web/request_body.py read it, in time
    if len(data) > UPLOAD_MAX_BYTES:
        raise ApiError(413, "too-large", f"the file is over {UPLOAD_MAX_BYTES // 1024 // 1024} MB")
    try:
        rows = parse_upload(data, request.content_type or "")
    except WatchListError as exc:
        raise ApiError(400, "bad-upload", str(exc)) from exc
    plates = request.app[FEEDS].plates
    listed = {e.pattern for e in await plates.list_watch()}
    added, already = 0, 0
    now = time.time()
    for pattern, reason in rows:
        if pattern in listed:
            already += 1
            continue
        listed.add(pattern)
        try:
            await plates.add_watch(
                WatchEntry(
                    secrets.token_hex(6),
                    pattern,
                    reason,
                    principal.username,
                    now,
                    _listing_unit(principal),
                )
            )
            added += 1
        except Conflict:
            already += 1
    return await _lists_changed(
        request, web.json_response({"added": added, "already_listed": already}, status=201)
    )


async def delete_watch(request: web.Request) -> web.Response:
    """``DELETE /api/anpr/watchlist/{id}``: the listing unit's supervisors (and above), admins."""
    principal = await _supervisor(request)
    plates = request.app[FEEDS].plates
    await plates.delete_watch(
        await _removable_listing(request, principal, await plates.list_watch())
    )
    return await _lists_changed(request, web.Response(status=204))


def outbreak_json(outbreak: Outbreak, listings: _Listings) -> dict[str, Any]:
    """An outbreak marking on the wire, with its unit and whether the caller may remove it."""
    from anpr_feed.provinces import province_name

    return {
        "id": outbreak.id,
        "province_code": outbreak.province_code,
        "province": province_name(outbreak.province_code),
        "start": outbreak.start,
        "end": outbreak.end,
        "reason": outbreak.reason,
        "created_by": outbreak.created_by,
        "created_at": outbreak.created_at,
        **listings.fields(outbreak.unit_code),
    }


async def list_outbreaks(request: web.Request) -> web.Response:
    """``GET /api/anpr/outbreaks``."""
    principal = await _feed_principal(request)
    outbreaks = await request.app[FEEDS].plates.list_outbreaks()
    listings = await _Listings.of(request, principal, outbreaks)
    return web.json_response({"outbreaks": [outbreak_json(o, listings) for o in outbreaks]})


async def add_outbreak(request: web.Request) -> web.Response:
    """``POST /api/anpr/outbreaks`` {province_code, start, end, reason}."""
    principal = await _supervisor(request)
    data: OutbreakIn = await body(request, OutbreakIn)
    if data.end < data.start:
        raise ApiError(400, "bad-dates", "end must not be before start")
    outbreak = Outbreak(
        id=secrets.token_hex(6),
        province_code=data.province_code,
        start=data.start.isoformat(),
        end=data.end.isoformat(),
        reason=data.reason.strip(),
        created_by=principal.username,
        created_at=time.time(),
        unit_code=_listing_unit(principal),
    )
    plates = request.app[FEEDS].plates
    same = (outbreak.province_code, outbreak.start, outbreak.end)
    if any((o.province_code, o.start, o.end) == same for o in await plates.list_outbreaks()):
        raise ApiError(409, "conflict", "that province is already marked for those dates")
    await plates.add_outbreak(outbreak)
    listings = await _Listings.of(request, principal, [outbreak])
    return await _lists_changed(
        request, web.json_response(outbreak_json(outbreak, listings), status=201)
    )


async def delete_outbreak(request: web.Request) -> web.Response:
    """``DELETE /api/anpr/outbreaks/{id}``: the marking unit's supervisors (and above), admins."""
    principal = await _supervisor(request)
    plates = request.app[FEEDS].plates
    outbreaks = await plates.list_outbreaks()
    await plates.delete_outbreak(await _removable_listing(request, principal, outbreaks))
    return await _lists_changed(request, web.Response(status=204))


async def list_provinces(request: web.Request) -> web.Response:
    """``GET /api/anpr/provinces``: plate codes and provinces (Circular 58/2020/TT-BCA)."""
    from anpr_feed.provinces import all_provinces

    await _feed_principal(request)
    return web.json_response(
        {"provinces": [{"code": code, "name": name} for code, name in all_provinces()]}
    )


ROUTES: list[tuple[str, str, Any, type[BaseModel] | None]] = [
    ("GET", "/api/feeds", list_feeds, None),
    ("POST", "/api/feeds", create_feed, FeedIn),
    ("GET", "/api/feeds/{id}", get_feed, None),
    ("DELETE", "/api/feeds/{id}", delete_feed, None),
    ("GET", "/api/anpr/events", search_events, None),
    ("GET", "/api/anpr/events/{id}", get_event, None),
    ("GET", "/api/anpr/events/{id}/{kind:plate|frame}.jpg", event_image, None),
    ("GET", "/api/anpr/watchlist", list_watch, None),
    ("POST", "/api/anpr/watchlist", add_watch, WatchIn),
    ("POST", "/api/anpr/watchlist/upload", upload_watch, None),
    ("DELETE", "/api/anpr/watchlist/{id}", delete_watch, None),
    ("GET", "/api/anpr/outbreaks", list_outbreaks, None),
    ("POST", "/api/anpr/outbreaks", add_outbreak, OutbreakIn),
    ("DELETE", "/api/anpr/outbreaks/{id}", delete_outbreak, None),
    ("GET", "/api/anpr/provinces", list_provinces, None),
]


def setup(app: web.Application) -> None:
    """Register the camera routes."""
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
