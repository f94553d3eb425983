"""Plate events over HTTP: search the plates the cameras read, and their pictures.

Hosts and operators see the events, and their pictures, that were kept for a
unit of their subtree: the unit of the camera when it read the plate,
whatever became of the camera since (``conference/permissions.py``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from anpr_feed.events_store import PlateEvent, plate_query
from anpr_feed.provinces import province_name
from conference.permissions import can_see_plate_event, plate_event_scope
from web.auth import feed_principal
from web.errors import ApiError
from web.keys import CONFERENCE, FEED_MANAGER
from web.routes import Route
from web.times import iso, query_time, zone

SEARCH_MAX = 500


def event_json(request: web.Request, event: PlateEvent) -> dict[str, Any]:
    """A plate event on the wire, with links to its pictures."""
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


async def search_events(request: web.Request) -> web.Response:
    """``GET /api/anpr/events?plate=&from=&to=&checkpoint=&limit=``: newest first.

    ``plate`` matches any part of the plate, separators ignored (``123.45``,
    ``20A``, ``A-123``).
    """
    principal = await feed_principal(request)
    conference = request.app[CONFERENCE]
    try:
        limit = max(1, min(int(request.query.get("limit", "50")), SEARCH_MAX))
    except ValueError as exc:
        raise ApiError(400, "bad-limit", "limit must be a number") from exc
    plate = request.query.get("plate", "")
    if plate and not plate_query(plate):
        raise ApiError(400, "bad-plate", "a plate search needs letters or digits")
    start = query_time(request, "from", seconds=True)
    end = query_time(request, "to", seconds=True)
    events = await request.app[FEED_MANAGER].plates.search_plate_events(
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
    principal = await feed_principal(request)
    conference = request.app[CONFERENCE]
    event = await request.app[FEED_MANAGER].plates.get_plate_event(request.match_info["id"])
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
    path = request.app[FEED_MANAGER].image_path(name) if name else None
    if path is None:
        raise ApiError(404, "not-found", "this picture is not kept (or was deleted by retention)")
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"}
    )


ROUTES = [
    Route("GET", "/api/anpr/events", search_events),
    Route("GET", "/api/anpr/events/{id}", get_event),
    Route("GET", "/api/anpr/events/{id}/{kind:plate|frame}.jpg", event_image),
]
