"""The administrative units over HTTP: province, districts, communes, and their sites."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from conference.store import Site, Unit
from web.auth import principal_of
from web.keys import CONFERENCE
from web.routes import Route


def unit_json(unit: Unit, leaf: bool | None = None) -> dict[str, Any]:
    """A unit on the wire."""
    out: dict[str, Any] = {
        "code": unit.code,
        "name": unit.name,
        "type": unit.type,
        "parent": unit.parent,
        "depth": unit.depth,
    }
    if leaf is not None:
        out["leaf"] = leaf
    return out


def site_json(site: Site) -> dict[str, Any]:
    """A site on the wire."""
    return {"id": site.id, "unit_code": site.unit_code, "name": site.name}


async def list_units(request: web.Request) -> web.Response:
    """``GET /api/units[?parent=CODE]``: roots, or a unit's children, each with ``leaf``."""
    await principal_of(request)
    store = request.app[CONFERENCE].store
    parent = request.query.get("parent") or None
    if parent is not None:
        await store.get_unit(parent)
    units = await store.children(parent)
    leaves = []
    for unit in units:
        leaves.append(not await store.children(unit.code))
    return web.json_response(
        {"units": [unit_json(u, leaf) for u, leaf in zip(units, leaves, strict=True)]}
    )


async def get_unit(request: web.Request) -> web.Response:
    """``GET /api/units/{code}``: the unit, its ancestors and its sites."""
    await principal_of(request)
    store = request.app[CONFERENCE].store
    code = request.match_info["code"]
    unit = await store.get_unit(code)
    return web.json_response(
        {
            "unit": unit_json(unit),
            "ancestors": [unit_json(u) for u in await store.ancestors(code)],
            "sites": [site_json(s) for s in await store.sites_of([code])],
        }
    )


async def unit_subtree(request: web.Request) -> web.Response:
    """``GET /api/units/{code}/subtree``: the unit and everything below, parents first."""
    await principal_of(request)
    units = await request.app[CONFERENCE].store.subtree(request.match_info["code"])
    return web.json_response({"units": [unit_json(u) for u in units]})


ROUTES = [
    Route("GET", "/api/units", list_units),
    Route("GET", "/api/units/{code}", get_unit),
    Route("GET", "/api/units/{code}/subtree", unit_subtree),
]
