"""A node's address as browsers and WHIP clients reach it, and its default id."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

# Node ids go into Redis key names, metrics labels and log lines: a plain word.
NODE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NODE_ID = re.compile(NODE_ID_PATTERN)


class AdvertiseError(ValueError):
    """An advertise URL or node id that cannot be used."""


def check_advertise(url: str) -> str:
    """``url`` as a base URL (``http(s)://host[:port]``, no trailing slash), or :class:`AdvertiseError`.

    Sites are redirected to it with the path appended, so it must be a bare
    origin: no path, query, fragment or user info, nothing a redirect could
    smuggle elsewhere.
    """
    if not url.isascii() or any(not ch.isprintable() or ch.isspace() for ch in url):
        raise AdvertiseError("the advertise URL has a space, control or non-ASCII character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AdvertiseError(f"the advertise URL is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise AdvertiseError("the advertise URL must start with http:// or https://")
    if not parts.hostname:
        raise AdvertiseError("the advertise URL has no host")
    if "@" in parts.netloc:
        raise AdvertiseError("the advertise URL must not carry a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        raise AdvertiseError("the advertise URL is a base URL: no path, query or fragment")
    if port == 0:
        raise AdvertiseError("the advertise URL has port 0")
    return f"{parts.scheme}://{parts.netloc}"


def check_node_id(node_id: str) -> str:
    """``node_id`` if it is a plain word (letters, digits, ``.``, ``_``, ``-``; 64 at most)."""
    if not _NODE_ID.match(node_id):
        raise AdvertiseError(
            "a node id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return node_id


def default_node_id(port: int) -> str:
    """``HOSTNAME-PORT``: unique per machine and port, stable across restarts."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()).strip(".-_") or "node"
    return check_node_id(f"{host[:56]}-{port}")
