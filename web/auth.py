"""Logins: the session cookie, CSRF tokens and login throttling.

The cookie holds only a random id of a login stored in the Store (so logout
and expiry take effect everywhere; the store keeps its SHA-256, not the id
itself); it is HttpOnly, SameSite=Lax, and Secure
on HTTPS. Every state-changing request must carry the login's CSRF token:
forms as a hidden ``csrf_token`` field, scripts as an ``X-CSRF-Token``
header. The login form itself is protected by a double-submit cookie.

API handlers take their caller from :func:`principal_of` (401 without a
login, 403 without the CSRF token), or from :func:`feed_principal` and
:func:`supervisor_of` for the camera routes.
"""

from __future__ import annotations

import hmac
import secrets
import time

from aiohttp import web

from conference.accounts import MAX_PASSWORD_LENGTH
from conference.login_throttle import TooManyAttempts
from conference.passwords import PasswordsBusy
from conference.permissions import FEED_ROLES, Principal, check_supervisor, require_role
from conference.store import Login, Store
from conference.store.base import USERNAME_PATTERN
from web.errors import ApiError
from web.keys import CONFERENCE, SETTINGS

COOKIE = "conference_session"
PRELOGIN_COOKIE = "conference_prelogin"
LOGIN_SECONDS = 12 * 3600
_PRINCIPAL = "principal"
_LOGIN = "login"


class LoginRefused(Exception):
    """A login that was not checked: too many attempts (429) or too many waiting (503)."""

    def __init__(self, status: int, code: str, retry_after: int) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.retry_after = retry_after


def _secure(request: web.Request) -> bool:
    return request.secure or request.app[SETTINGS].tls


def _store(request: web.Request) -> Store:
    return request.app[CONFERENCE].store


async def authenticate(request: web.Request, username: str, password: str) -> Principal | None:
    """The principal for valid credentials of an enabled account, else None.

    The attempt is counted (see :mod:`conference.login_throttle`) before the
    password is checked, and the check runs on the password threads, never on
    the event loop. Raises :class:`LoginRefused` when the attempt is not
    checked at all.
    """
    if not USERNAME_PATTERN.match(username) or len(password) > MAX_PASSWORD_LENGTH:
        return None  # no such account can exist: nothing to count or check
    conference = request.app[CONFERENCE]
    passwords, throttle = conference.passwords, conference.login_throttle
    try:
        passwords.admit()  # refuse early, before anything is counted
        reservation = await throttle.reserve(username, request.remote)
    except PasswordsBusy as exc:
        raise LoginRefused(503, "busy", exc.retry_after) from exc
    except TooManyAttempts as exc:
        raise LoginRefused(429, "too-many-attempts", exc.retry_after) from exc
    try:
        user = await conference.store.get_user(username)
        if user is None or user.disabled:
            await passwords.dummy_verify()  # the same time for unknown and known usernames
            return None
        if not await passwords.verify(password, user.password_hash):
            return None
    except PasswordsBusy as exc:
        await throttle.abandoned(reservation)
        raise LoginRefused(503, "busy", exc.retry_after) from exc
    await throttle.succeeded(reservation)
    return Principal.of(user)


async def start_login(
    request: web.Request, response: web.StreamResponse, principal: Principal
) -> Login:
    """Store a new login and set its cookie on ``response``."""
    now = time.time()
    login = Login(
        id=secrets.token_urlsafe(32),
        username=principal.username,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + LOGIN_SECONDS,
    )
    await _store(request).create_login(login)
    response.set_cookie(
        COOKIE,
        login.id,
        max_age=LOGIN_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
        path="/",
    )
    response.del_cookie(PRELOGIN_COOKIE, path="/")
    return login


async def end_login(request: web.Request, response: web.StreamResponse) -> None:
    """Forget the login and clear its cookie."""
    login_id = request.cookies.get(COOKIE)
    if login_id:
        await _store(request).delete_login(login_id)
    response.del_cookie(COOKIE, path="/")


async def current_login(request: web.Request) -> tuple[Principal, Login] | None:
    """The logged-in principal of this request, if any (cached on the request)."""
    if _PRINCIPAL in request:
        cached = request[_PRINCIPAL]
        return None if cached is None else (cached, request[_LOGIN])
    request[_PRINCIPAL] = None
    login_id = request.cookies.get(COOKIE)
    if not login_id or len(login_id) > 100:
        return None
    store = _store(request)
    login = await store.get_login(login_id, time.time())
    if login is None:
        return None
    user = await store.get_user(login.username)
    if user is None or user.disabled:
        return None
    principal = Principal.of(user)
    request[_PRINCIPAL] = principal
    request[_LOGIN] = login
    return principal, login


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


async def feed_principal(request: web.Request) -> Principal:
    """The caller, who must hold a role that works with the cameras (403 otherwise)."""
    principal = await principal_of(request)
    require_role(principal, *FEED_ROLES)
    return principal


async def supervisor_of(request: web.Request) -> Principal:
    """The caller, who must supervise the camera operators (a host or an admin; 403 otherwise)."""
    principal = await principal_of(request)
    check_supervisor(principal)
    return principal


def csrf_ok(login: Login, supplied: str | None) -> bool:
    """Constant-time comparison of the request's CSRF token with the login's."""
    return bool(supplied) and _same(login.csrf_token, supplied or "")


def _same(expected: str, supplied: str) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError,
    # so a 500 for any client that sends one).
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogateescape"), supplied.encode("utf-8", "surrogateescape")
    )


def prelogin_token(request: web.Request, response: web.StreamResponse) -> str:
    """The login form's double-submit token: reuse the cookie's, or set a new one."""
    token = request.cookies.get(PRELOGIN_COOKIE)
    if not token or len(token) > 64:
        token = secrets.token_urlsafe(24)
        response.set_cookie(
            PRELOGIN_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="Strict",
            secure=_secure(request),
            path="/",
        )
    return token


def prelogin_ok(request: web.Request, supplied: str | None) -> bool:
    """Whether the login form came with the token of its own cookie."""
    cookie = request.cookies.get(PRELOGIN_COOKIE)
    return bool(cookie) and bool(supplied) and _same(cookie or "", supplied or "")
