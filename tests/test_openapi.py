"""The OpenAPI document lists every route the server answers under ``/api/``.

The document is the one the server serves at ``/api/openapi.json``, taken
from an application built the way ``serve`` builds it (``server/compose.py``); the routes are the
ones registered on that application's router, whichever module added them.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from conference.settings import Settings
from server.compose import build_app
from web.keys import SERVICES

DOCUMENT = "/api/openapi.json"

# What the document held before the recordings routes joined it: it must keep all of it.
EARLIER_OPERATIONS = {
    ("post", "/api/login"),
    ("post", "/api/logout"),
    ("get", "/api/me"),
    ("get", "/api/users"),
    ("post", "/api/users"),
    ("get", "/api/units"),
    ("get", "/api/units/{code}"),
    ("get", "/api/units/{code}/subtree"),
    ("get", "/api/meetings"),
    ("post", "/api/meetings"),
    ("get", "/api/meetings/{id}"),
    ("put", "/api/meetings/{id}"),
    ("delete", "/api/meetings/{id}"),
    ("get", "/api/meetings/{id}/links"),
    ("get", "/api/meetings/{id}/join"),
    ("get", "/api/meetings/{id}/calendar.ics"),
    ("get", "/api/sites/{id}/calendar.ics"),
    ("get", "/api/grants"),
    ("post", "/api/grants"),
    ("delete", "/api/grants/{unit}/{grantee}"),
    ("get", "/api/feeds"),
    ("post", "/api/feeds"),
    ("get", "/api/feeds/{id}"),
    ("delete", "/api/feeds/{id}"),
    ("get", "/api/anpr/events"),
    ("get", "/api/anpr/events/{id}"),
    ("get", "/api/anpr/events/{id}/{kind}.jpg"),
    ("get", "/api/anpr/watchlist"),
    ("post", "/api/anpr/watchlist"),
    ("post", "/api/anpr/watchlist/upload"),
    ("delete", "/api/anpr/watchlist/{id}"),
    ("get", "/api/anpr/outbreaks"),
    ("post", "/api/anpr/outbreaks"),
    ("delete", "/api/anpr/outbreaks/{id}"),
    ("get", "/api/anpr/provinces"),
    ("get", "/api/meetings/{id}/attendance"),
    ("get", "/api/meetings/{id}/attendance.csv"),
}
EARLIER_SCHEMAS = {"LoginIn", "UserIn", "MeetingIn", "GrantIn", "FeedIn", "WatchIn", "OutbreakIn"}
RECORDINGS_OPERATIONS = {
    ("post", "/api/meetings/{id}/recording"),
    ("get", "/api/recordings"),
    ("get", "/api/recordings/{id}"),
    ("delete", "/api/recordings/{id}"),
    ("get", "/api/recordings/{id}/files/{name}"),
    ("post", "/api/recordings/{id}/render"),
    ("get", "/api/recordings/{id}/render/events"),
}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[web.Application]:
    built = build_app(Settings(data_dir=tmp_path))
    yield built
    await built[SERVICES].close()


async def served_document(app: web.Application) -> dict[str, Any]:
    """What ``GET /api/openapi.json`` answers."""
    for route in app.router.routes():
        if route.method == "GET" and route.resource is not None:
            if route.resource.canonical == DOCUMENT:
                response = await route.handler(make_mocked_request("GET", DOCUMENT, app=app))
                assert isinstance(response, web.Response) and response.text is not None
                return dict(json.loads(response.text))
    raise AssertionError(f"{DOCUMENT} is not routed")


def registered_api_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/, as OpenAPI writes them."""
    operations = set()
    for route in app.router.routes():
        if route.resource is None or route.method in ("HEAD", "OPTIONS"):
            continue
        path = route.resource.canonical  # {name:regex} written as {name}
        if path.startswith("/api/") and path != DOCUMENT:
            operations.add((route.method.lower(), path))
    return operations


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }


async def test_every_registered_api_route_is_documented(app: web.Application) -> None:
    document = await served_document(app)
    registered = registered_api_operations(app)
    assert registered, "no API route registered"
    missing = registered - documented_operations(document)
    assert not missing, f"routes missing from the OpenAPI document: {sorted(missing)}"
    # Nothing documented that the server does not answer.
    assert documented_operations(document) == registered


async def test_the_document_keeps_what_it_had_and_adds_the_recordings(
    app: web.Application,
) -> None:
    document = await served_document(app)
    documented = documented_operations(document)
    assert EARLIER_OPERATIONS <= documented, sorted(EARLIER_OPERATIONS - documented)
    assert RECORDINGS_OPERATIONS <= documented, sorted(RECORDINGS_OPERATIONS - documented)
    schemas = document["components"]["schemas"]
    assert EARLIER_SCHEMAS | {"RecordingAction", "RenderRequest"} <= set(schemas)
    assert document["openapi"] == "3.1.0"
    assert document["security"] == [{"session": []}]
    assert document["components"]["securitySchemes"]["session"]["name"] == "conference_session"


async def test_each_operation_has_a_summary_parameters_and_its_body(
    app: web.Application,
) -> None:
    document = await served_document(app)
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            names = {p["name"] for p in operation.get("parameters", [])}
            assert names == set(re.findall(r"\{(\w+)\}", path)), (method, path)
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[-1] in schemas, (method, path)
    login = document["paths"]["/api/login"]["post"]["requestBody"]
    assert login["content"]["application/json"]["schema"]["$ref"].endswith("/LoginIn")
    recording = document["paths"]["/api/meetings/{id}/recording"]["post"]["requestBody"]
    assert recording["content"]["application/json"]["schema"]["$ref"].endswith("/RecordingAction")
