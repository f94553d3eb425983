"""The REST API under ``/api/``: accounts, units, meetings, grants.

Requests and responses are JSON. A logged-in browser authenticates with its
session cookie and sends ``X-CSRF-Token`` on every request that changes
something. Errors are ``{"error": {"code", "message"}}`` with the HTTP status
the service layer's exception maps to (see ``web/errors.py``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from conference import client_json
from conference.accounts import AccountError, check_password, check_username
from conference.ics import calendar
from conference.meetings import MeetingRequest, MeetingService
from conference.passwords import PasswordsBusy
from conference.permissions import Forbidden, Principal, check_grant, require_role, require_scope
from conference.store import AccountRole, Grant, Meeting, NotFound, Site, Unit, User
from web.auth import LoginRefused, authenticate, csrf_ok, current_login, end_login, start_login
from web.errors import ApiError, json_error
from web.keys import CONFERENCE, SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- request bodies ------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Body):
    """``POST /api/login``."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class MeetingIn(_Body):
    """``POST /api/meetings`` and ``PUT /api/meetings/{id}``.

    Times are ISO 8601; without an offset they are in the server's time zone
    (``CONFERENCE_TIMEZONE``, Asia/Ho_Chi_Minh by default).
    """

    title: str = Field(min_length=1, max_length=200)
    agenda: str = Field("", max_length=10_000)
    start: datetime
    end: datetime
    host_site: str = Field(min_length=1, max_length=64)
    units: list[str] = Field(
        default_factory=list, max_length=20_000, description="every site of these units"
    )
    sites: list[str] = Field(default_factory=list, max_length=20_000, description="and these sites")
    auto_record: bool = False


class GrantIn(_Body):
    """``POST /api/grants``: hosts of ``grantee_unit`` may invite ``unit_code``'s sites."""

    unit_code: str = Field(min_length=1, max_length=32)
    grantee_unit: str = Field(min_length=1, max_length=32)


class UserIn(_Body):
    """``POST /api/users`` (administrators)."""

    username: str
    display_name: str = Field(min_length=1, max_length=120)
    role: AccountRole
    unit_code: str | None = Field(None, max_length=64)
    password: str = Field(min_length=1, max_length=256)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        try:
            return check_username(value)
        except AccountError as exc:
            raise ValueError(str(exc)) from exc


# -- helpers -------------------------------------------------------------------------------


def _service(request: web.Request) -> MeetingService:
    conference = request.app[CONFERENCE]
    return conference.meetings


async def principal_of(request: web.Request) -> Principal:
    """The caller, or 401; for a state-changing method, also the CSRF check (403)."""
    current = await current_login(request)
    if current is None:
        raise ApiError(401, "login-required", "log in first")
    principal, login = current
    if request.method not in ("GET", "HEAD", "OPTIONS") and not csrf_ok(
        login, request.headers.get("X-CSRF-Token")
    ):
        raise ApiError(403, "csrf", "missing or wrong X-CSRF-Token header")
    return principal


async def body(request: web.Request, model: type[BaseModel]) -> Any:
    """Parse and validate the JSON body."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported-media-type", "send application/json")
    try:
        data = client_json.loads(await request.read())
    except client_json.ClientJsonError as exc:
        raise ApiError(400, exc.code, f"the body is not usable JSON: {exc.message}") from exc
    return model.model_validate(data)


def zone(request: web.Request) -> ZoneInfo:
    """The server's time zone (used for times given without an offset)."""
    return ZoneInfo(request.app[SETTINGS].timezone)


def epoch(moment: datetime, tz: ZoneInfo) -> float:
    """Seconds since the epoch; a naive time is read in ``tz``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def iso(seconds: float, tz: ZoneInfo) -> str:
    """ISO 8601 with the server's offset."""
    return datetime.fromtimestamp(seconds, tz).isoformat(timespec="seconds")


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


def meeting_json(meeting: Meeting, tz: ZoneInfo) -> dict[str, Any]:
    """A meeting on the wire (times as ISO strings and as epoch seconds)."""
    return {
        "id": meeting.id,
        "title": meeting.title,
        "agenda": meeting.agenda,
        "start": iso(meeting.start, tz),
        "end": iso(meeting.end, tz),
        "start_ts": meeting.start,
        "end_ts": meeting.end,
        "host_site": meeting.host_site,
        "created_by": meeting.created_by,
        "room_id": meeting.room_id,
        "auto_record": meeting.auto_record,
        "cancelled": meeting.cancelled_at is not None,
        "status": meeting_status(meeting, time.time()),
    }


def meeting_status(meeting: Meeting, now: float) -> str:
    """scheduled, open (joinable), live, ended or cancelled."""
    from conference.meetings import OPEN_LEAD_SECONDS

    if meeting.cancelled_at is not None:
        return "cancelled"
    if now >= meeting.end:
        return "ended"
    if now >= meeting.start:
        return "live"
    if now >= meeting.start - OPEN_LEAD_SECONDS:
        return "open"
    return "scheduled"


def user_json(principal: Principal) -> dict[str, Any]:
    """The caller's own account."""
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "unit_code": principal.unit_code,
    }


def join_url(request: web.Request, meeting: Meeting, token: str) -> str:
    """The join link of a site (relative: the page's origin is the server's)."""
    return f"/join/{meeting.room_id}?token={token}"


def _window(request: web.Request) -> tuple[float, float]:
    tz = zone(request)
    now = time.time()
    try:
        start = (
            epoch(datetime.fromisoformat(request.query["from"]), tz)
            if "from" in request.query
            else now - 86400
        )
        end = (
            epoch(datetime.fromisoformat(request.query["to"]), tz)
            if "to" in request.query
            else now + 60 * 86400
        )
    except ValueError as exc:
        raise ApiError(400, "bad-time", "from and to must be ISO 8601 times") from exc
    if end <= start or end - start > 400 * 86400:
        raise ApiError(400, "bad-time", "to must be after from, at most 400 days later")
    return start, end


# -- accounts ------------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    """``POST /api/login`` {username, password}: sets the session cookie."""
    data: LoginIn = await body(request, LoginIn)
    try:
        principal = await authenticate(request, data.username.strip().lower(), data.password)
    except LoginRefused as exc:
        message = (
            "too many login attempts: try again after Retry-After seconds"
            if exc.status == 429
            else "the server is checking many logins: try again after Retry-After seconds"
        )
        return json_error(
            exc.status, exc.code, message, headers={"Retry-After": str(exc.retry_after)}
        )
    if principal is None:
        raise ApiError(401, "invalid-credentials", "wrong username or password")
    response = web.Response(content_type="application/json")
    session = await start_login(request, response, principal)
    response.text = json.dumps(
        {"user": user_json(principal), "csrf_token": session.csrf_token}, ensure_ascii=False
    )
    return response


async def logout(request: web.Request) -> web.Response:
    """``POST /api/logout``."""
    await principal_of(request)
    response = web.Response(status=204)
    await end_login(request, response)
    return response


async def me(request: web.Request) -> web.Response:
    """``GET /api/me``: the caller and the CSRF token for its requests."""
    current = await current_login(request)
    if current is None:
        raise ApiError(401, "login-required", "log in first")
    principal, session = current
    return web.json_response({"user": user_json(principal), "csrf_token": session.csrf_token})


async def list_users(request: web.Request) -> web.Response:
    """``GET /api/users`` (administrators)."""
    require_role(await principal_of(request))
    users = await request.app[CONFERENCE].store.list_users()
    return web.json_response(
        {"users": [user_json(Principal.of(u)) | {"disabled": u.disabled} for u in users]}
    )


async def create_user(request: web.Request) -> web.Response:
    """``POST /api/users`` (administrators)."""
    require_role(await principal_of(request))
    data: UserIn = await body(request, UserIn)
    store = request.app[CONFERENCE].store
    try:
        check_password(data.password)
    except AccountError as exc:
        raise ApiError(400, "weak-password", str(exc)) from exc
    if data.role is not AccountRole.ADMIN:
        if not data.unit_code:
            raise ApiError(400, "unit-required", f"a {data.role.value} account needs a unit")
        if data.role is AccountRole.SITE:
            await store.get_site(data.unit_code)
        else:
            await store.get_unit(data.unit_code)
    try:
        password_hash = await request.app[CONFERENCE].passwords.hash(data.password)
    except PasswordsBusy as exc:
        return json_error(
            503,
            "busy",
            "the server is checking many passwords: try again after Retry-After seconds",
            headers={"Retry-After": str(exc.retry_after)},
        )
    user = User(
        data.username,
        data.display_name.strip(),
        data.role,
        data.unit_code if data.role is not AccountRole.ADMIN else None,
        password_hash,
        time.time(),
    )
    await store.create_user(user)
    return web.json_response({"user": user_json(Principal.of(user))}, status=201)


# -- units ---------------------------------------------------------------------------------


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


# -- meetings ------------------------------------------------------------------------------


def _meeting_request(data: MeetingIn, tz: ZoneInfo) -> MeetingRequest:
    return MeetingRequest(
        title=data.title,
        agenda=data.agenda,
        start=epoch(data.start, tz),
        end=epoch(data.end, tz),
        host_site=data.host_site,
        units=data.units,
        sites=data.sites,
        auto_record=data.auto_record,
    )


async def list_meetings(request: web.Request) -> web.Response:
    """``GET /api/meetings[?from=&to=]``: meetings the caller may see."""
    principal = await principal_of(request)
    start, end = _window(request)
    meetings = await _service(request).visible(principal, start, end)
    tz = zone(request)
    store = request.app[CONFERENCE].store
    names: dict[str, str] = {}
    for host in {m.host_site for m in meetings}:
        try:
            names[host] = (await store.get_site(host)).name
        except NotFound:
            names[host] = host
    return web.json_response(
        {"meetings": [meeting_json(m, tz) | {"host_name": names[m.host_site]} for m in meetings]}
    )


async def create_meeting(request: web.Request) -> web.Response:
    """``POST /api/meetings``: schedule (hosts, within their scope)."""
    principal = await principal_of(request)
    data: MeetingIn = await body(request, MeetingIn)
    tz = zone(request)
    view = await _service(request).schedule(principal, _meeting_request(data, tz))
    return web.json_response(_view_json(view, tz), status=201)


async def get_meeting(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}``: the meeting and its invited sites."""
    principal = await principal_of(request)
    view = await _service(request).view(principal, request.match_info["id"])
    return web.json_response(_view_json(view, zone(request)))


async def update_meeting(request: web.Request) -> web.Response:
    """``PUT /api/meetings/{id}``."""
    principal = await principal_of(request)
    data: MeetingIn = await body(request, MeetingIn)
    tz = zone(request)
    view = await _service(request).update(
        principal, request.match_info["id"], _meeting_request(data, tz)
    )
    await request.app[CONFERENCE].meeting_updated(view.meeting)
    return web.json_response(_view_json(view, tz))


async def cancel_meeting(request: web.Request) -> web.Response:
    """``DELETE /api/meetings/{id}``: cancel it (it stays listed as cancelled)."""
    principal = await principal_of(request)
    meeting = await _service(request).cancel(principal, request.match_info["id"])
    await request.app[CONFERENCE].meeting_cancelled(meeting)
    return web.json_response({"meeting": meeting_json(meeting, zone(request))})


async def meeting_links(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/links``: every invited site's join link (managers)."""
    principal = await principal_of(request)
    service = _service(request)
    view = await service.view(principal, request.match_info["id"])
    if not view.can_manage:
        raise Forbidden("not-your-meeting", "only the meeting's hosts see every site's link")
    links = [
        {
            "site": site_json(site),
            "url": join_url(request, view.meeting, service.site_token(view.meeting, site)),
        }
        for site in view.invited
    ]
    return web.json_response({"links": links})


async def meeting_join(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/join[?site=]``: the caller's join link ({url})."""
    principal = await principal_of(request)
    meeting, token = await _service(request).join_token(
        principal, request.match_info["id"], request.query.get("site")
    )
    return web.json_response({"url": join_url(request, meeting, token)})


async def meeting_ics(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/calendar.ics``."""
    principal = await principal_of(request)
    view = await _service(request).view(principal, request.match_info["id"])
    text = calendar(
        [(view.meeting, view.host.name, view.meeting.agenda)], view.meeting.title, _host(request)
    )
    return _ics_response(text, f"{view.meeting.id}.ics")


async def site_ics(request: web.Request) -> web.Response:
    """``GET /api/sites/{id}/calendar.ics``: a site's meetings for the next 60 days."""
    principal = await principal_of(request)
    store = request.app[CONFERENCE].store
    site = await store.get_site(request.match_info["id"])
    if principal.role is AccountRole.SITE:
        if principal.unit_code != site.id:
            raise Forbidden("not-your-site", "a site account sees only its own calendar")
    else:
        require_role(principal, AccountRole.HOST, AccountRole.VIEWER)
        await require_scope(store, principal, site.unit_code)
    now = time.time()
    meetings = await store.meetings_for_site(site.id, now - 30 * 86400, now + 60 * 86400)
    hosts = {m.host_site for m in meetings}
    names = {}
    for host in hosts:
        try:
            names[host] = (await store.get_site(host)).name
        except NotFound:
            names[host] = host
    text = calendar(
        ((m, names[m.host_site], m.agenda) for m in meetings), site.name, _host(request)
    )
    return _ics_response(text, f"{site.id}.ics")


def _ics_response(text: str, filename: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _view_json(view: Any, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "meeting": meeting_json(view.meeting, tz),
        "host": site_json(view.host),
        "invited": [site_json(s) for s in view.invited],
        "can_manage": view.can_manage,
    }


# -- grants --------------------------------------------------------------------------------


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
            "received": [_grant_json(g) for g in await store.grants_to(unit)],
            "given": [_grant_json(g) for g in await store.grants_from(unit)],
        }
    )


async def create_grant(request: web.Request) -> web.Response:
    """``POST /api/grants``: let hosts of a lower unit invite this unit's sites."""
    principal = await principal_of(request)
    data: GrantIn = await body(request, GrantIn)
    store = request.app[CONFERENCE].store
    await store.get_unit(data.unit_code)
    await store.get_unit(data.grantee_unit)
    await check_grant(store, principal, data.unit_code, data.grantee_unit)
    grant = Grant(data.unit_code, data.grantee_unit, principal.username, time.time())
    await store.add_grant(grant)
    return web.json_response({"grant": _grant_json(grant)}, status=201)


async def delete_grant(request: web.Request) -> web.Response:
    """``DELETE /api/grants/{unit}/{grantee}``."""
    principal = await principal_of(request)
    store = request.app[CONFERENCE].store
    unit, grantee = request.match_info["unit"], request.match_info["grantee"]
    await check_grant(store, principal, unit, grantee)
    await store.remove_grant(unit, grantee)
    return web.Response(status=204)


def _grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "unit_code": grant.unit_code,
        "grantee_unit": grant.grantee_unit,
        "granted_by": grant.granted_by,
        "created_at": grant.created_at,
    }


ROUTES: list[tuple[str, str, Handler, type[BaseModel] | None]] = [
    ("POST", "/api/login", login, LoginIn),
    ("POST", "/api/logout", logout, None),
    ("GET", "/api/me", me, None),
    ("GET", "/api/users", list_users, None),
    ("POST", "/api/users", create_user, UserIn),
    ("GET", "/api/units", list_units, None),
    ("GET", "/api/units/{code}", get_unit, None),
    ("GET", "/api/units/{code}/subtree", unit_subtree, None),
    ("GET", "/api/meetings", list_meetings, None),
    ("POST", "/api/meetings", create_meeting, MeetingIn),
    ("GET", "/api/meetings/{id}", get_meeting, None),
    ("PUT", "/api/meetings/{id}", update_meeting, MeetingIn),
    ("DELETE", "/api/meetings/{id}", cancel_meeting, None),
    ("GET", "/api/meetings/{id}/links", meeting_links, None),
    ("GET", "/api/meetings/{id}/join", meeting_join, None),
    ("GET", "/api/meetings/{id}/calendar.ics", meeting_ics, None),
    ("GET", "/api/sites/{id}/calendar.ics", site_ics, None),
    ("GET", "/api/grants", list_grants, None),
    ("POST", "/api/grants", create_grant, GrantIn),
    ("DELETE", "/api/grants/{unit}/{grantee}", delete_grant, None),
]


def openapi() -> dict[str, Any]:
    """An OpenAPI 3.1 document of :data:`ROUTES`, bodies from the pydantic models."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    from web import anpr, attendance

    for method, route, handler, model in [*ROUTES, *anpr.ROUTES, *attendance.ROUTES]:
        # aiohttp's {name:regex} is {name} in OpenAPI.
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route)
        operation: dict[str, Any] = {
            "summary": (handler.__doc__ or "").strip().splitlines()[0],
            "responses": {"200": {"description": "OK"}, "4XX": {"description": "JSON error"}},
        }
        params = re.findall(r"\{(\w+)\}", path)
        if params:
            operation["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        if model is not None:
            schemas[model.__name__] = model.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                    }
                },
            }
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "conference API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "conference_session"}
            },
        },
        "security": [{"session": []}],
    }


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /api/openapi.json``."""
    return web.json_response(openapi())


def setup(app: web.Application) -> None:
    """Register the API routes."""
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
    app.router.add_get("/api/openapi.json", openapi_document)


def _host(request: web.Request) -> str:
    """The server's host name without the port, for iCalendar UIDs."""
    return request.host.rsplit(":", 1)[0] if request.host.count(":") == 1 else request.host
