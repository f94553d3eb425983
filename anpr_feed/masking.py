"""A camera's address as people see it: never with its password.

A feed's URL often carries the camera's credentials
(``rtsp://admin:matkhau@10.0.0.21/Streaming/Channels/101``,
``http://cam/video.cgi?user=admin&pwd=matkhau``). Only the worker that opens
the camera is given the URL as registered; the API, the pages, the console,
``conference feed list`` and the status and error texts a worker reports
show :func:`mask_url` of it, or pass through :func:`redact`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "***"

# Query parameters that carry a secret in the cameras' and NVRs' own URL
# conventions (Axis, Foscam, Dahua, Hikvision ISAPI, signed HTTP links).
SECRET_PARAMS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "psw",
        "pw",
        "secret",
        "token",
        "access_token",
        "auth",
        "authorization",
        "key",
        "apikey",
        "api_key",
        "sig",
        "signature",
        "credential",
        "credentials",
    }
)

# ``scheme://user:password@`` anywhere in a text (an FFmpeg error quotes the URL).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:'\"]*):[^\s/?#'\"]*@")
# ``name=value`` in a query string (or a text quoting one), ``&`` or ``;`` separated.
_PARAM = re.compile(r"(?i)(^|[?&;\s])([^=&;#\s]+)=([^&;#\s'\"]*)")


def mask_url(url: str) -> str:
    """``url`` with the password and secret query values replaced by ``***``.

    ``rtsp://user:pw@host/s`` reads ``rtsp://user:***@host/s``; a local file
    path (no ``//`` authority) is returned as it is. A URL that does not parse
    keeps its scheme only.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme = url.split(":", 1)[0] if "://" in url else ""
        return f"{scheme}://{MASK}" if scheme.isalnum() else MASK
    if not parts.netloc and not parts.query:
        return url  # a file path
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else netloc
    query = _PARAM.sub(_mask_param, parts.query) if parts.query else ""
    return parts._replace(netloc=netloc, query=query).geturl()


def secrets_of(url: str) -> list[str]:
    """The secret parts of ``url`` (its password, secret query values), as typed and decoded."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url] if url else []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    for match in _PARAM.finditer(parts.query):
        if match.group(2).lower() in SECRET_PARAMS:
            found.append(match.group(3))
    found += [unquote(value) for value in found]
    # Longest first, so that a secret holding another is replaced whole.
    return sorted({value for value in found if value}, key=len, reverse=True)


# A secret shorter than this is not looked for in free text ("exit code 1"
# with a password "1"): it guards nothing, and the message would be garbled.
# Inside a URL it is masked whatever its length.
_SHORTEST_SECRET = 4


def redact(text: str | None, url: str = "") -> str | None:
    """``text`` (an error, a status) without ``url``'s secrets or any URL's password."""
    if not text:
        return text
    if url:
        text = text.replace(url, mask_url(url))
        for secret in secrets_of(url):
            if len(secret) >= _SHORTEST_SECRET:
                text = text.replace(secret, MASK)
    text = _USERINFO.sub(rf"\1:{MASK}@", text)
    return _PARAM.sub(_mask_param, text)


def _mask_param(match: re.Match[str]) -> str:
    if match.group(2).lower() not in SECRET_PARAMS:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}={MASK}"
