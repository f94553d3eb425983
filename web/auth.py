"""Logins: the session cookie, CSRF tokens and login throttling.

The cookie holds only a random id of a login stored in the Store (so logout
and expiry take effect everywhere); it is HttpOnly, SameSite=Lax, and Secure
on HTTPS. Every state-changing request must carry the login's CSRF token:
forms as a hidden ``csrf_token`` field, scripts as an ``X-CSRF-Token``
header. The login form itself is protected by a double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict

from aiohttp import web

from conference.accounts import dummy_verify, verify_password
from conference.permissions import Principal
from conference.store import Login, Store
from web.keys import CONFERENCE, SETTINGS

COOKIE = "conference_session"
PRELOGIN_COOKIE = "conference_prelogin"
LOGIN_SECONDS = 12 * 3600
FAILURES_BEFORE_DELAY = 5
LOCKOUT_SECONDS = 300
_PRINCIPAL = "principal"
_LOGIN = "login"


class LoginThrottle:
    """After a few failed logins for a username, refuse it for a while."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = defaultdict(list)

    def locked(self, username: str, now: float) -> bool:
        recent = [t for t in self._failures.get(username, []) if now - t < LOCKOUT_SECONDS]
        self._failures[username] = recent
        return len(recent) >= FAILURES_BEFORE_DELAY

    def failed(self, username: str, now: float) -> None:
        self._failures[username].append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)


THROTTLE = LoginThrottle()


def _secure(request: web.Request) -> bool:
    return request.secure or request.app[SETTINGS].tls


def _store(request: web.Request) -> Store:
    return request.app[CONFERENCE].store


async def authenticate(store: Store, username: str, password: str) -> Principal | None:
    """The principal for valid credentials of an enabled account, else None."""
    now = time.time()
    if THROTTLE.locked(username, now):
        return None
    user = await store.get_user(username)
    if user is None or user.disabled:
        dummy_verify()  # the same time for unknown and known usernames
        THROTTLE.failed(username, now)
        return None
    if not verify_password(password, user.password_hash):
        THROTTLE.failed(username, now)
        return None
    THROTTLE.succeeded(username)
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


def csrf_ok(login: Login, supplied: str | None) -> bool:
    """Constant-time comparison of the request's CSRF token with the login's."""
    return bool(supplied) and hmac.compare_digest(login.csrf_token, supplied or "")


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
    return bool(cookie) and bool(supplied) and hmac.compare_digest(cookie or "", supplied or "")
