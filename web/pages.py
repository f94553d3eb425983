"""Browser pages: the meeting page and the front page."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web
from yarl import URL

from conference.meetings import MeetingError
from conference.permissions import Forbidden, Principal
from conference.store import AccountRole, NotFound, RoomNotFound
from conference.tokens import TokenError
from web.auth import (
    LoginRefused,
    authenticate,
    csrf_ok,
    current_login,
    end_login,
    prelogin_ok,
    prelogin_token,
    start_login,
)
from web.errors import PageError
from web.html import connect_origins, content_security_policy, render
from web.keys import CONFERENCE, SERVICES, SETTINGS
from web.placement import redirect_to_home


async def join_page(request: web.Request) -> web.Response:
    """``GET /join/{room}?token=...[&failover=1]``: the meeting page.

    ``failover=1``: served here even if the meeting's home is elsewhere (see below).
    """
    token = request.query.get("token", "")
    if not token:
        raise PageError(401, "token-missing", join_link=True)
    try:
        claims, record = await request.app[CONFERENCE].authorize(token, request.match_info["room"])
    except TokenError as exc:
        raise PageError(401, exc.code, join_link=True) from exc
    except Forbidden as exc:
        status = 404 if exc.code == "meeting-not-found" else 403
        raise PageError(status, exc.code, join_link=True) from exc
    except RoomNotFound as exc:
        raise PageError(404, "room-not-found", join_link=True) from exc
    if request.query.get("failover") != "1":
        # The page (and its socket) is served by the site's node: the meeting's home,
        # or with the cascade its unit's node or this one (web/placement.py).
        await redirect_to_home(request, record.id, claims.sub)
    # else: a page whose node died came here unasked (it could not fetch from us,
    # see static/meeting/failover.js). The home we know of may be that dead node,
    # its record not expired yet: a 307 there would strand the tab on an error
    # page. Served here, the page asks us and our peers until one is the home.
    cluster = request.app[SERVICES].cluster
    connect = connect_origins(cluster.peers) if cluster is not None else []
    config = {
        "room": {"id": record.id, "name": record.name},
        "site": {"name": claims.name, "role": claims.role.value},
        "expires": claims.exp,
        # The other nodes the page's CSP lets it fetch from (the rest it can only go to).
        "connect": connect,
    }
    response = render(
        request,
        "meeting.html",
        room=record,
        site=claims,
        config_json=json.dumps(config, ensure_ascii=False),
    )
    if connect:
        # The page may ask the other nodes where its meeting went (web/placement.py).
        response.headers["Content-Security-Policy"] = content_security_policy(connect)
    return response


async def index_page(request: web.Request) -> web.Response:
    """``GET /``: what this server is and how to join."""
    return render(request, "index.html")


# -- logged-in pages ---------------------------------------------------------------------


def _login_redirect(request: web.Request) -> web.HTTPFound:
    target = request.path_qs if request.method == "GET" else "/meetings"
    return web.HTTPFound(f"/login?next={quote(target, safe='')}")


async def _page_user(request: web.Request) -> tuple[Principal, str]:
    current = await current_login(request)
    if current is None:
        raise _login_redirect(request)
    principal, login = current
    return principal, login.csrf_token


def _page_context(principal: Principal, csrf_token: str, **extra: Any) -> dict[str, Any]:
    user = {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "unit_code": principal.unit_code,
    }
    return {
        "user": user,
        "csrf_token": csrf_token,
        "page_json": json.dumps(
            {"user": user, "csrf_token": csrf_token, **extra}, ensure_ascii=False
        ),
        **extra,
    }


_SAFE_PATH_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?%"
)


def safe_next(value: str | None, default: str = "/meetings") -> str:
    r"""``value`` if it is a path on this site, rebuilt; else ``default``.

    An open redirect would let a phishing link bounce through us. Browsers
    drop tabs and newlines from URLs and read a backslash as a slash, so
    ``/\t/evil.example`` or ``/\evil.example`` would leave the site: only a
    path of plain URL characters (no control character, space, backslash or
    fragment) that starts with exactly one ``/`` is kept, and it is rebuilt
    from its parsed path and query so nothing else rides along.
    """
    if (
        not value
        or len(value) > 2000
        or not value.startswith("/")
        or value[1:2] in ("/", "\\")
        or not set(value) <= _SAFE_PATH_CHARS
    ):
        return default
    url = URL(value, encoded=True)
    if url.is_absolute() or url.scheme or url.raw_host or not url.raw_path.startswith("/"):
        return default
    rebuilt = url.raw_path + (f"?{url.raw_query_string}" if url.raw_query_string else "")
    if rebuilt != value or rebuilt.startswith("//"):
        return default
    return rebuilt


async def login_page(request: web.Request) -> web.Response:
    """``GET /login``: the login form."""
    return _login_form(request, 200, safe_next(request.query.get("next")), None)


def _login_form(
    request: web.Request,
    status: int,
    target: str,
    error: str | None,
    username: str = "",
    retry_after: int | None = None,
) -> web.Response:
    response = web.Response()
    token = prelogin_token(request, response)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return render(
        request,
        "login.html",
        status=status,
        response=response,
        next=target,
        error=error,
        form_token=token,
        username=username,
        retry_after=retry_after,
    )


async def login_submit(request: web.Request) -> web.Response:
    """``POST /login``: check the form, set the session cookie, go on."""
    form = await request.post()
    target = safe_next(str(form.get("next") or ""))
    if not prelogin_ok(request, str(form.get("form_token") or "")):
        return _login_form(request, 403, target, "form-expired")
    username = str(form.get("username") or "").strip().lower()[:64]
    password = str(form.get("password") or "")
    try:
        principal = await authenticate(request, username, password)
    except LoginRefused as exc:
        return _login_form(
            request, exc.status, target, exc.code, username, retry_after=exc.retry_after
        )
    if principal is None:
        return _login_form(request, 401, target, "invalid-credentials", username)
    if target == "/meetings" and principal.role is AccountRole.OPERATOR:
        target = "/anpr"  # operators have no meetings: their start page is the plate search
    response = web.HTTPFound(target)
    await start_login(request, response, principal)
    raise response


async def logout_submit(request: web.Request) -> web.Response:
    """``POST /logout`` (with the CSRF token)."""
    current = await current_login(request)
    form = await request.post()
    if current is not None and not csrf_ok(current[1], str(form.get("csrf_token") or "")):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")
    response = web.HTTPFound("/login")
    await end_login(request, response)
    raise response


async def meetings_page(request: web.Request) -> web.Response:
    """``GET /meetings``: the calendar/list of meetings the user may see."""
    principal, csrf = await _page_user(request)
    return render(request, "meetings.html", **_page_context(principal, csrf))


async def meeting_form_page(request: web.Request) -> web.Response:
    """``GET /meetings/new`` and ``/meetings/{id}/edit``: the scheduling form."""
    principal, csrf = await _page_user(request)
    if principal.role not in (AccountRole.HOST, AccountRole.ADMIN):
        raise PageError(403, "role-forbidden")
    meeting_id = request.match_info.get("id")
    return render(
        request, "meeting_form.html", **_page_context(principal, csrf, meeting_id=meeting_id)
    )


async def meeting_detail_page(request: web.Request) -> web.Response:
    """``GET /meetings/{id}``: a meeting, its invitations and links."""
    principal, csrf = await _page_user(request)
    try:
        await request.app[CONFERENCE].meetings.view(principal, request.match_info["id"])
    except Forbidden as exc:
        raise PageError(403, "not-invited") from exc
    except NotFound as exc:
        raise PageError(404, "meeting-not-found") from exc
    return render(
        request,
        "meeting_detail.html",
        **_page_context(principal, csrf, meeting_id=request.match_info["id"]),
    )


async def console_page(request: web.Request) -> web.Response:
    """``GET /meetings/{id}/console``: roll call and floor control."""
    principal, csrf = await _page_user(request)
    try:
        await request.app[CONFERENCE].console_room(principal, request.match_info["id"])
    except Forbidden as exc:
        raise PageError(403, "not-your-meeting") from exc
    except NotFound as exc:
        raise PageError(404, "meeting-not-found") from exc
    return render(
        request,
        "console.html",
        **_page_context(
            principal,
            csrf,
            meeting_id=request.match_info["id"],
            timezone=request.app[SETTINGS].timezone,
        ),
    )


async def meeting_join_page(request: web.Request) -> web.Response:
    """``GET /meetings/{id}/join[?site=]``: straight to the meeting page with a fresh link."""
    principal, _ = await _page_user(request)
    try:
        meeting, token = await request.app[CONFERENCE].meetings.join_token(
            principal, request.match_info["id"], request.query.get("site")
        )
    except Forbidden as exc:
        raise PageError(403, "not-invited") from exc
    except NotFound as exc:
        raise PageError(404, "meeting-not-found") from exc
    except MeetingError as exc:
        raise PageError(409, exc.code) from exc
    raise web.HTTPFound(f"/join/{meeting.room_id}?token={token}")


async def recordings_page(request: web.Request) -> web.Response:
    """``GET /recordings``: the library of recordings the user may see."""
    principal, csrf = await _page_user(request)
    return render(request, "recordings.html", **_page_context(principal, csrf))


async def recording_page(request: web.Request) -> web.Response:
    """``GET /recordings/{id}``: one recording: play the composite or any track."""
    principal, csrf = await _page_user(request)
    return render(
        request,
        "recording.html",
        **_page_context(principal, csrf, recording_id=request.match_info["id"]),
    )


# -- checkpoint cameras ------------------------------------------------------------------

ANPR_ROLES = (AccountRole.ADMIN, AccountRole.HOST, AccountRole.OPERATOR)


async def _anpr_user(request: web.Request) -> tuple[Principal, str]:
    """The logged-in user of a camera page (the error page for other roles)."""
    principal, csrf = await _page_user(request)
    if principal.role not in ANPR_ROLES:
        raise PageError(403, "role-forbidden")
    return principal, csrf


async def feeds_page(request: web.Request) -> web.Response:
    """``GET /feeds``: the checkpoint cameras in scope and their live status."""
    return render(request, "feeds.html", **_page_context(*await _anpr_user(request)))


async def wall_page(request: web.Request) -> web.Response:
    """``GET /wall``: many live checkpoint feeds on one screen (the operations centre's)."""
    return render(request, "wall.html", **_page_context(*await _anpr_user(request)))


async def anpr_page(request: web.Request) -> web.Response:
    """``GET /anpr``: plate search for checkpoint officers (phone-first)."""
    return render(request, "anpr.html", **_page_context(*await _anpr_user(request)))


async def anpr_lists_page(request: web.Request) -> web.Response:
    """``GET /anpr/lists``: the watch list and outbreak provinces (read-only for operators)."""
    principal, csrf = await _anpr_user(request)
    can_edit = principal.role in (AccountRole.ADMIN, AccountRole.HOST)
    return render(request, "anpr_lists.html", **_page_context(principal, csrf, can_edit=can_edit))


async def declarations_page(request: web.Request) -> web.Response:
    """``GET /anpr/declarations``: travel declaration alerts for checkpoint officers (phone-first).

    Supervisors (hosts, admins: the roles ``POST /api/anpr/declarations/upload``
    allows) also get the file import, the declarations list and the cameras' rules.
    """
    principal, csrf = await _anpr_user(request)
    can_supervise = principal.role in (AccountRole.ADMIN, AccountRole.HOST)
    return render(
        request, "declarations.html", **_page_context(principal, csrf, can_supervise=can_supervise)
    )


def setup(app: web.Application) -> None:
    """Register the page routes."""
    app.router.add_get("/", index_page)
    app.router.add_get("/join/{room}", join_page)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout_submit)
    app.router.add_get("/meetings", meetings_page)
    app.router.add_get("/meetings/new", meeting_form_page)
    app.router.add_get("/meetings/{id}", meeting_detail_page)
    app.router.add_get("/meetings/{id}/edit", meeting_form_page)
    app.router.add_get("/meetings/{id}/console", console_page)
    app.router.add_get("/meetings/{id}/join", meeting_join_page)
    app.router.add_get("/recordings", recordings_page)
    app.router.add_get("/recordings/{id}", recording_page)
    app.router.add_get("/feeds", feeds_page)
    app.router.add_get("/wall", wall_page)
    app.router.add_get("/anpr", anpr_page)
    app.router.add_get("/anpr/lists", anpr_lists_page)
    app.router.add_get("/anpr/declarations", declarations_page)
