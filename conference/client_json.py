"""JSON from clients: parsed only when it is shallow enough to be safe.

Python's ``json`` module recurses once per nesting level, so a body of a few
hundred kilobytes of ``[`` reaches the interpreter's recursion limit and
raises :class:`RecursionError` (not :class:`ValueError`) from deep inside the
parser; anything that walks the result later (pydantic, ``json.dumps``) can
fail the same way. Nothing the service accepts nests more than a few levels,
so every place that decodes JSON a client sent (REST bodies, WebSocket
messages, uploads, tokens) goes through :func:`loads`, which measures the
nesting with a flat scan first and refuses anything deeper than
:data:`MAX_DEPTH` before the recursive parser ever sees it.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; the API's own documents need 4."""

_STRUCTURE = re.compile(r'["\[\]{}]')
# The rest of a string after its opening quote. Possessive quantifiers: no
# backtracking, so an unterminated string costs one linear pass, not n².
_STRING_REST = re.compile(r'(?:[^"\\]++|\\.)*+"', re.DOTALL)


class ClientJsonError(ValueError):
    """The text is not JSON the service accepts; ``code`` is stable, for error replies."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def nesting_depth(text: str, stop_above: int | None = None) -> int:
    """How deeply arrays and objects nest in ``text`` (strings skipped), without recursion.

    With ``stop_above``, the scan stops as soon as the depth exceeds it (the
    returned depth is then ``stop_above + 1``). Malformed text gets a best
    effort answer; the parser reports what is wrong with it.
    """
    depth = deepest = 0
    search = _STRUCTURE.search
    string_rest = _STRING_REST.match
    position = 0
    while (found := search(text, position)) is not None:
        char = found.group()
        position = found.end()
        if char == '"':
            rest = string_rest(text, position)
            if rest is None:
                break  # an unterminated string: nothing after it is structure
            position = rest.end()
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


def loads(data: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON a client sent; raise :class:`ClientJsonError` (a ``ValueError``) if unfit.

    Bytes are read as UTF-8 (a byte-order mark is allowed). The result is
    what :func:`json.loads` gives.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ClientJsonError("bad-json", "the JSON is not UTF-8 text") from exc
    else:
        text = data
    # Cheap first: text with few brackets cannot nest deeply.
    if text.count("[") + text.count("{") > max_depth:
        if nesting_depth(text, stop_above=max_depth) > max_depth:
            raise ClientJsonError("json-too-deep", f"the JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError as exc:  # not reachable within MAX_DEPTH; kept as a last line
        raise ClientJsonError("json-too-deep", "the JSON nests too deeply") from exc
    except ValueError as exc:
        raise ClientJsonError("bad-json", f"not valid JSON: {exc}") from exc
