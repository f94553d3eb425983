"""A logged-in HTTP client for the REST API, as a browser script would use it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def iso_in(minutes: float) -> str:
    """An ISO time ``minutes`` from now, with the +07:00 offset."""
    return (datetime.datetime.now(VN) + datetime.timedelta(minutes=minutes)).isoformat(
        timespec="seconds"
    )


@dataclass
class Reply:
    """Status and JSON body of a call."""

    status: int
    body: Any

    @property
    def code(self) -> str | None:
        """The error code, if it is an error."""
        if isinstance(self.body, dict) and "error" in self.body:
            return str(self.body["error"]["code"])
        return None


class ApiClient:
    """Keeps the session cookie (IP hosts need the 'unsafe' jar) and the CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf: str | None = None

    async def login(self, username: str, password: str) -> Reply:
        reply = await self.call("POST", "/api/login", {"username": username, "password": password})
        if reply.status == 200:
            self.csrf = reply.body["csrf_token"]
        return reply

    async def call(self, method: str, path: str, body: Any = None, csrf: bool = True) -> Reply:
        headers = {}
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        async with self.session.request(
            method, self.base_url + path, json=body, headers=headers, allow_redirects=False
        ) as response:
            text = await response.text()
            try:
                data: Any = await response.json(content_type=None) if text else None
            except ValueError:
                data = text
            return Reply(response.status, data)

    async def text(self, path: str) -> tuple[int, str, str]:
        async with self.session.get(self.base_url + path, allow_redirects=False) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()

    async def close(self) -> None:
        await self.session.close()


def meeting_body(
    host_site: str, units: list[str], start_in: float = 1, minutes: float = 60, **extra: Any
) -> dict[str, Any]:
    """A meeting request starting ``start_in`` minutes from now."""
    return {
        "title": extra.pop("title", "Họp giao ban"),
        "agenda": extra.pop("agenda", "1. Tình hình phòng chống dịch\n2. Ý kiến các điểm cầu"),
        "start": iso_in(start_in),
        "end": iso_in(start_in + minutes),
        "host_site": host_site,
        "units": units,
        **extra,
    }
