"""Garbage at every REST route, from every role: a clear 4xx error, never a 5xx.

The routes and their bodies come from the server's own OpenAPI document, so
a route added later is covered without touching this file. Each request is
one malformed thing: a strange path parameter, a body that is not JSON or
not an object, or one field of the right name with a value of the wrong kind.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.accounts import PASSWORD, start_with_accounts
from tests.support.server import ServerProcess

ACCOUNTS = {
    "admin": ("admin", None),
    "host.dinhhoa": ("host", "167"),
    "operator.dinhhoa": ("operator", "167"),
    "site.chochu": ("site", "05536"),
}
PATH_VALUES = ["x", "-1", "%2e%2e%2f", "a" * 3000, "Định Hóa", "%00", "167"]
FIELD_VALUES: list[Any] = [None, -1, 1e308, "", "𝕏" * 5000, [], {}, True, "2021-13-45", [1, "a"]]
RAW_BODIES = [b"", b"null", b"[]", b"{}", b"{not json", b'"text"', b"1e999", b"\xff\xfe"]
SKIPPED = {"/api/logout"}  # it would end the session the rest of the run needs
# Routes outside the OpenAPI document (WHIP/WHEP, pages), with the kind of body
# each takes.
EXTRA_ROUTES = [
    ("POST", "/whip/{room}", "sdp"),
    ("POST", "/whep/{room}", "sdp"),
    ("DELETE", "/whip/{room}/{session}", None),
    ("PATCH", "/whep/{room}/{session}", "sdp"),
    ("GET", "/join/{room}", None),
    ("GET", "/meetings/{id}", None),
    ("GET", "/meetings/{id}/console", None),
    ("GET", "/recordings/{id}", None),
]
SDP_BODIES = [b"", b"v=0\r\nnonsense", b"\xff" * 100, b"v=0\r\n" + b"a=x\r\n" * 5000]


@pytest.fixture(scope="module")
def garbage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_with_accounts(Path(tmp_path_factory.mktemp("garbage")) / "data", ACCOUNTS)
    yield server
    server.stop()


def requests_of(document: dict[str, Any]) -> Iterator[tuple[str, str, bytes | None]]:
    """(method, path, body) for every malformed request of every route."""
    schemas = document["components"]["schemas"]
    for route, operations in document["paths"].items():
        if route in SKIPPED:
            continue
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            paths = []
            for value in PATH_VALUES:
                path = route
                for name in names:
                    path = path.replace("{" + name + "}", value)
                paths.append(path)
            bodies: list[bytes | None] = [None]
            if method in ("post", "put", "patch"):
                bodies = list(RAW_BODIES)
                content = operation.get("requestBody", {}).get("content", {})
                ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
                fields = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
                bodies += [
                    json.dumps({name: value}).encode()
                    for name, value in itertools.product(fields, FIELD_VALUES)
                ]
            for path in dict.fromkeys(paths if names else [route]):
                for body in bodies:
                    yield method.upper(), path, body
    for method, route, kind in EXTRA_ROUTES:
        extra_bodies: list[bytes | None] = {"json": RAW_BODIES, "sdp": SDP_BODIES}.get(
            kind or "", [None]
        )
        for value in PATH_VALUES:
            path = route
            for name in ("id", "name", "room", "session"):
                path = path.replace("{" + name + "}", value)
            for body in extra_bodies:
                yield method, path, body


async def test_no_route_answers_garbage_with_a_server_error(garbage_server: ServerProcess):
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for username in ACCOUNTS:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.post(
                garbage_server.base_url + "/api/login",
                json={"username": username, "password": PASSWORD},
            ) as reply:
                assert reply.status == 200
                headers = {"X-CSRF-Token": (await reply.json())["csrf_token"]}
            async with session.get(garbage_server.base_url + "/api/openapi.json") as reply:
                document = await reply.json()
            for method, path, body in requests_of(document):
                sdp = path.startswith(("/whip/", "/whep/"))
                kind = "application/sdp" if sdp else "application/json"
                async with session.request(
                    method,
                    garbage_server.base_url + path,
                    data=body,
                    headers={**headers, "Content-Type": kind} if body is not None else headers,
                ) as response:
                    statuses[response.status] += 1
                    text = await response.text()
                    what = f"{username} {method} {path[:60]} {(body or b'')[:60]!r}"
                    if response.status >= 500:
                        failures.append(f"{what}: {response.status} {text[:200]}")
                    elif response.status >= 400 and response.content_type == "application/json":
                        # Our own refusals say what was wrong, in the one error shape.
                        error = json.loads(text).get("error", {})
                        if not (error.get("code") and error.get("message")):
                            failures.append(f"{what}: {response.status} without a code: {text}")
    assert not failures, "\n".join(failures[:20])
    assert sum(statuses.values()) > 3000
    # The bodies were read, not refused at the door: most were judged as bad input.
    assert statuses[400] > 1000, statuses
    # With a valid token for a real room, a WHIP or WHEP offer that is not SDP is a 400.
    room = garbage_server.create_room()
    async with aiohttp.ClientSession() as session:
        for kind, body in itertools.product(("whip", "whep"), SDP_BODIES):
            token = garbage_server.token(room, "Bộ mã hóa")
            async with session.post(
                f"{garbage_server.base_url}/{kind}/{room}",
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
            ) as response:
                assert response.status == 400, (kind, body[:40], await response.text())
    log = (garbage_server.data_dir / "server.log").read_text(encoding="utf-8")
    assert "Traceback" not in log
    async with aiohttp.ClientSession() as session:
        async with session.get(garbage_server.base_url + "/healthz") as health:
            assert (await health.json())["status"] == "ok"
