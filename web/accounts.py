"""Accounts over HTTP: log in and out, who am I, and the administrators' user list.

Requests and responses are JSON. A logged-in browser authenticates with its
session cookie and sends ``X-CSRF-Token`` on every request that changes
something (see ``web/auth.py``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web
from pydantic import Field, field_validator

from conference.accounts import AccountError, check_password, check_username
from conference.passwords import PasswordsBusy
from conference.permissions import Principal, require_role
from conference.store import AccountRole, User
from web.auth import (
    LoginRefused,
    authenticate,
    current_login,
    end_login,
    principal_of,
    start_login,
)
from web.errors import ApiError
from web.keys import CONFERENCE
from web.request_body import StrictBody, json_body
from web.routes import Route


class LoginIn(StrictBody):
    """``POST /api/login``."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserIn(StrictBody):
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


def user_json(principal: Principal) -> dict[str, Any]:
    """An account on the wire (the caller's own, or one of the administrators' list)."""
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "unit_code": principal.unit_code,
    }


async def login(request: web.Request) -> web.Response:
    """``POST /api/login`` {username, password}: sets the session cookie."""
    data = await json_body(request, LoginIn)
    try:
        principal = await authenticate(request, data.username.strip().lower(), data.password)
    except LoginRefused as exc:
        message = (
            "too many login attempts: try again after Retry-After seconds"
            if exc.status == 429
            else "the server is checking many logins: try again after Retry-After seconds"
        )
        raise ApiError(
            exc.status, exc.code, message, headers={"Retry-After": str(exc.retry_after)}
        ) from exc
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
    data = await json_body(request, UserIn)
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
        raise ApiError(
            503,
            "busy",
            "the server is checking many passwords: try again after Retry-After seconds",
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
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


ROUTES = [
    Route("POST", "/api/login", login, LoginIn),
    Route("POST", "/api/logout", logout),
    Route("GET", "/api/me", me),
    Route("GET", "/api/users", list_users),
    Route("POST", "/api/users", create_user, UserIn),
]
