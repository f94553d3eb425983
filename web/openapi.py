"""The OpenAPI 3.1 document of the REST API, built from the routes themselves.

Every endpoint module lists its routes (``ROUTES``, see ``web/routes.py``);
``web/api.py`` hands the same list to :func:`document` that it registers, so
each route the server answers under ``/api/`` is in the document, with the
first line of its handler's docstring as the summary and its pydantic body
model as the request body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from web.routes import Route

PATH = "/api/openapi.json"


def document(routes: Iterable[Route]) -> dict[str, Any]:
    """An OpenAPI 3.1 document of ``routes``, bodies from their pydantic models."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for route in routes:
        # aiohttp's {name:regex} is {name} in OpenAPI.
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)
        operation: dict[str, Any] = {
            "summary": (route.handler.__doc__ or "").strip().splitlines()[0],
            "responses": {"200": {"description": "OK"}, "4XX": {"description": "JSON error"}},
        }
        params = re.findall(r"\{(\w+)\}", path)
        if params:
            operation["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        if route.body is not None:
            name = route.body.__name__
            schemas[name] = route.body.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                },
            }
        paths.setdefault(path, {})[route.method.lower()] = operation
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


def document_route(routes: Iterable[Route]) -> Route:
    """``GET /api/openapi.json``: the document of ``routes``, built once."""
    built = document(routes)

    async def openapi_document(request: web.Request) -> web.Response:
        """``GET /api/openapi.json``."""
        return web.json_response(built)

    return Route("GET", PATH, openapi_document)
