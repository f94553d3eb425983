"""Administrative units: reading the GSO catalogue format into :class:`Unit` records.

The format (see ``conference/data/thai-nguyen-units-2021-11-01.json``) is a
tree: ``{"units": [{"code", "name", "type", "children": [...]}, ...]}`` with
``levels`` naming the tiers. Nothing here assumes three tiers: a unit's depth
is its distance from a root, whatever the file nests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from conference.store import Unit

SEED_FILE = "thai-nguyen-units-2021-11-01.json"
MAX_DEPTH = 16  # far beyond any real hierarchy; stops a malicious file from recursing forever


class UnitFileError(ValueError):
    """The file is not a unit catalogue; the message says where it went wrong."""


def read_catalogue(path: Path) -> list[Unit]:
    """Parse a catalogue file into units, parents before children."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UnitFileError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise UnitFileError(f"{path} is not JSON: {exc}") from exc
    return parse_catalogue(data)


def parse_catalogue(data: Any) -> list[Unit]:
    """Validate and flatten a parsed catalogue."""
    if not isinstance(data, dict) or not isinstance(data.get("units"), list):
        raise UnitFileError('expected an object with a "units" list')
    units: list[Unit] = []
    seen: set[str] = set()
    for position, node in enumerate(data["units"]):
        units.extend(_walk(node, None, 0, position, f"units[{position}]", seen))
    if not units:
        raise UnitFileError("the file has no units")
    return units


def _walk(
    node: Any, parent: str | None, depth: int, position: int, where: str, seen: set[str]
) -> Iterator[Unit]:
    if depth > MAX_DEPTH:
        raise UnitFileError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict):
        raise UnitFileError(f"{where}: expected an object")
    values = {}
    for key in ("code", "name", "type"):
        value = node.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise UnitFileError(f"{where}: {key!r} must be a non-empty string")
        values[key] = value.strip()
    code = values["code"]
    if code in seen:
        raise UnitFileError(f"{where}: code {code!r} appears twice")
    seen.add(code)
    yield Unit(code, values["name"], values["type"], parent, depth, position)
    children = node.get("children", [])
    if not isinstance(children, list):
        raise UnitFileError(f"{where}: 'children' must be a list")
    for index, child in enumerate(children):
        yield from _walk(child, code, depth + 1, index, f"{where}.children[{index}]", seen)


def seed_units() -> list[Unit]:
    """The units a first start seeds: Thai Nguyen province (GSO, 2021-11-01)."""
    text = resources.files("conference.data").joinpath(SEED_FILE).read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text))
