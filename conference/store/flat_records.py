"""Flat records (dataclasses of ``str``, ``float``, ``int`` and ``bool``) as JSON documents.

What the Redis engine keeps for the aggregates written in batches (speaking
intervals, meeting alerts): one compact JSON object per record, read back with
every field checked against its declared type, so a hand-edited or truncated
value fails loudly instead of becoming a record with a wrong type.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

R = TypeVar("R")

_TYPES: dict[str, type] = {"str": str, "float": float, "int": int, "bool": bool}


def record_json(record: Any) -> str:
    """The record's fields as one compact JSON object."""
    return json.dumps(dataclasses.asdict(record), ensure_ascii=False, separators=(",", ":"))


def record_from_json(cls: type[R], text: str) -> R:
    """A ``cls`` written by :func:`record_json`; ``ValueError``/``KeyError`` if it does not fit."""
    data: dict[str, Any] = json.loads(text)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = _TYPES[str(field.type)]  # declared as a string (postponed annotations)
        values[field.name] = kind(data[field.name])
    return cls(**values)
