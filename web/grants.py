"""Grants over HTTP: a unit lets the hosts of a lower unit invite its sites."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from pydantic import Field

from conference.permissions import check_grant, require_role, require_scope
from conference.store import AccountRole, Grant
from web.auth import principal_of
from web.errors import ApiError
from web.keys import CONFERENCE
from web.request_body import StrictBody, json_body
from web.routes import Route


class GrantIn(StrictBody):
    """``POST /api/grants``: hosts of ``grantee_unit`` may invite ``unit_code``'s sites."""

    unit_code: str = Field(min_length=1, max_length=32)
    grantee_unit: str = Field(min_length=1, max_length=32)


def grant_json(grant: Grant) -> dict[str, Any]:
    """A grant on the wire."""
    return {
        "unit_code": grant.unit_code,
        "grantee_unit": grant.grantee_unit,
        "granted_by": grant.granted_by,
        "created_at": grant.created_at,
    }


async def list_grants(request: web.Request) -> web.Response:
    """``GET /api/grants``: grants the caller's unit received and gave."""
    principal = await principal_of(request)
    require_role(principal, AccountRole.HOST)
    store = request.app[CONFERENCE].store
    unit = request.query.get("unit") or principal.unit_code
    if unit is None:
        raise ApiError(400, "unit-required", "name a unit with ?unit=")
    await require_scope(store, principal, unit)
    return web.json_response(
        {
            "received": [grant_json(g) for g in await store.grants_to(unit)],
            "given": [grant_json(g) for g in await store.grants_from(unit)],
        }
    )


async def create_grant(request: web.Request) -> web.Response:
    """``POST /api/grants``: let hosts of a lower unit invite this unit's sites."""
    principal = await principal_of(request)
    data = await json_body(request, GrantIn)
    store = request.app[CONFERENCE].store
    await store.get_unit(data.unit_code)
    await store.get_unit(data.grantee_unit)
    await check_grant(store, principal, data.unit_code, data.grantee_unit)
    grant = Grant(data.unit_code, data.grantee_unit, principal.username, time.time())
    await store.add_grant(grant)
    return web.json_response({"grant": grant_json(grant)}, status=201)


async def delete_grant(request: web.Request) -> web.Response:
    """``DELETE /api/grants/{unit}/{grantee}``."""
    principal = await principal_of(request)
    store = request.app[CONFERENCE].store
    unit, grantee = request.match_info["unit"], request.match_info["grantee"]
    await check_grant(store, principal, unit, grantee)
    await store.remove_grant(unit, grantee)
    return web.Response(status=204)


ROUTES = [
    Route("GET", "/api/grants", list_grants),
    Route("POST", "/api/grants", create_grant, GrantIn),
    Route("DELETE", "/api/grants/{unit}/{grantee}", delete_grant),
]
