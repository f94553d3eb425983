"""The alert lists over HTTP: the plate watch list and the outbreak provinces.

Both are read by everyone who works with the cameras (hosts and operators),
and changed by the operators' supervisors (hosts) and administrators; an
entry belongs to the unit that listed it, whose supervisors (and those
above) may remove it (``conference/permissions.py``). Every change has the
cameras reload the lists.
"""

from __future__ import annotations

import secrets
import time
from datetime import date
from typing import Any

from aiohttp import web
from pydantic import Field, field_validator

from anpr_feed.events_store import Outbreak, WatchEntry
from anpr_feed.provinces import all_provinces, province_name
from anpr_feed.watchlist import WatchListError, normalize_pattern, parse_upload
from conference.permissions import Forbidden, Principal, can_remove_listing
from conference.store import Conflict
from web.auth import feed_principal, supervisor_of
from web.errors import ApiError
from web.keys import CONFERENCE, FEED_MANAGER
from web.request_body import StrictBody, json_body, max_bytes
from web.routes import Route

UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # a watch list of some 100 000 plates


class WatchIn(StrictBody):
    """``POST /api/anpr/watchlist``."""

    pattern: str = Field(min_length=1, max_length=40, description="20A12345, 29A*, *8888, 30?1234")
    reason: str = Field(min_length=1, max_length=300)


class OutbreakIn(StrictBody):
    """``POST /api/anpr/outbreaks``: a province is an outbreak zone from ``start`` to ``end``."""

    province_code: str = Field(min_length=2, max_length=2)
    start: date
    end: date
    reason: str = Field("", max_length=300)

    @field_validator("province_code")
    @classmethod
    def _known_province(cls, value: str) -> str:
        if province_name(value) is None:
            raise ValueError(f"{value!r} is not a province code (Circular 58/2020/TT-BCA)")
        return value


async def _lists_changed(request: web.Request, response: web.Response) -> web.Response:
    """Have the cameras reload the watch list and outbreak provinces, then answer."""
    await request.app[FEED_MANAGER].reload_lists()
    return response


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
    principal = await feed_principal(request)
    entries = await request.app[FEED_MANAGER].plates.list_watch()
    listings = await _Listings.of(request, principal, entries)
    return web.json_response({"entries": [watch_json(e, listings) for e in entries]})


async def add_watch(request: web.Request) -> web.Response:
    """``POST /api/anpr/watchlist`` {pattern, reason}."""
    principal = await supervisor_of(request)
    data = await json_body(request, WatchIn)
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
    await request.app[FEED_MANAGER].plates.add_watch(entry)
    listings = await _Listings.of(request, principal, [entry])
    return await _lists_changed(request, web.json_response(watch_json(entry, listings), status=201))


@max_bytes(UPLOAD_MAX_BYTES)
async def upload_watch(request: web.Request) -> web.Response:
    """``POST /api/anpr/watchlist/upload``: a CSV (pattern,reason) or JSON list; all or nothing."""
    principal = await supervisor_of(request)
    data = await request.read()  # whole: web/request_body.py read it, in time
    if len(data) > UPLOAD_MAX_BYTES:
        raise ApiError(413, "too-large", f"the file is over {UPLOAD_MAX_BYTES // 1024 // 1024} MB")
    try:
        rows = parse_upload(data, request.content_type or "")
    except WatchListError as exc:
        raise ApiError(400, "bad-upload", str(exc)) from exc
    plates = request.app[FEED_MANAGER].plates
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
    principal = await supervisor_of(request)
    plates = request.app[FEED_MANAGER].plates
    await plates.delete_watch(
        await _removable_listing(request, principal, await plates.list_watch())
    )
    return await _lists_changed(request, web.Response(status=204))


def outbreak_json(outbreak: Outbreak, listings: _Listings) -> dict[str, Any]:
    """An outbreak marking on the wire, with its unit and whether the caller may remove it."""
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
    principal = await feed_principal(request)
    outbreaks = await request.app[FEED_MANAGER].plates.list_outbreaks()
    listings = await _Listings.of(request, principal, outbreaks)
    return web.json_response({"outbreaks": [outbreak_json(o, listings) for o in outbreaks]})


async def add_outbreak(request: web.Request) -> web.Response:
    """``POST /api/anpr/outbreaks`` {province_code, start, end, reason}."""
    principal = await supervisor_of(request)
    data = await json_body(request, OutbreakIn)
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
    plates = request.app[FEED_MANAGER].plates
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
    principal = await supervisor_of(request)
    plates = request.app[FEED_MANAGER].plates
    outbreaks = await plates.list_outbreaks()
    await plates.delete_outbreak(await _removable_listing(request, principal, outbreaks))
    return await _lists_changed(request, web.Response(status=204))


async def list_provinces(request: web.Request) -> web.Response:
    """``GET /api/anpr/provinces``: plate codes and provinces (Circular 58/2020/TT-BCA)."""
    await feed_principal(request)
    return web.json_response(
        {"provinces": [{"code": code, "name": name} for code, name in all_provinces()]}
    )


ROUTES = [
    Route("GET", "/api/anpr/watchlist", list_watch),
    Route("POST", "/api/anpr/watchlist", add_watch, WatchIn),
    Route("POST", "/api/anpr/watchlist/upload", upload_watch),
    Route("DELETE", "/api/anpr/watchlist/{id}", delete_watch),
    Route("GET", "/api/anpr/outbreaks", list_outbreaks),
    Route("POST", "/api/anpr/outbreaks", add_outbreak, OutbreakIn),
    Route("DELETE", "/api/anpr/outbreaks/{id}", delete_outbreak),
    Route("GET", "/api/anpr/provinces", list_provinces),
]
