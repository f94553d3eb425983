"""Where a camera feed may read from: checked URLs, allowed networks, the feed files folder.

A feed's URL is typed by a person and ends up in FFmpeg, which opens sockets
and files with it. Left alone that is a way to talk to anything the server can
reach (a ``\\r\\n`` in an ``rtsp://`` URL reached Redis as commands), to scan
ports through the feed's error text, and to read any file (``/etc/shadow``,
another meeting's recording through ``/proc/PID/fd/N``). So:

- a URL has no control or space characters and is rebuilt from its parsed
  parts, percent-encoded, with one of the schemes we read (rtsp, rtsps, http,
  https); a local file is a path inside one folder (``CONFERENCE_FEED_FILES_DIR``);
- the camera's host is resolved and every address must be in the configured
  camera networks (``CONFERENCE_CAMERA_NETWORKS``, private LANs by default);
  loopback, link-local, cloud metadata, unspecified and multicast addresses
  are refused unless a network listed explicitly names them;
- the worker resolves and checks again each time it connects and hands FFmpeg
  the address it checked (DNS rebinding gets nothing), with FFmpeg's protocol
  and format whitelists and no HTTP redirects;
- what users see of a failure is one message; the details go to the log.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import stat
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from conference.settings import DEFAULT_CAMERA_NETWORKS

if TYPE_CHECKING:
    from conference.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https")
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}


# Refused even inside an allowed network, unless a listed network lies within one of these.
SPECIAL_NETWORKS: tuple[tuple[str, Network], ...] = tuple(
    (kind, ipaddress.ip_network(net))
    for kind, net in (
        ("loopback", "127.0.0.0/8"),
        ("loopback", "::1/128"),
        ("link-local", "169.254.0.0/16"),
        ("link-local", "fe80::/10"),
        ("cloud metadata", "169.254.169.254/32"),
        ("cloud metadata", "fd00:ec2::254/128"),
        ("unspecified", "0.0.0.0/8"),
        ("unspecified", "::/128"),
        ("multicast", "224.0.0.0/4"),
        ("multicast", "ff00::/8"),
        ("broadcast", "255.255.255.255/32"),
    )
)

# What FFmpeg may open, by the feed's scheme: a redirect, a playlist or a nested
# URL cannot switch to another protocol (file, concat, subfile, data, ...).
PROTOCOL_WHITELISTS = {
    "rtsp": "tcp",
    "rtsps": "tcp,tls",
    "http": "http,tcp",
    "https": "https,tls,tcp",
    "file": "file",
}
# Plain containers only: no playlists (hls, dash), no lists of files (concat),
# no image sequences, which open further URLs of their own.
FORMAT_WHITELIST = "rtsp,mpjpeg,mjpeg,mov,matroska,mpegts,mpeg,h264,hevc,avi,flv,ivf,yuv4mpegpipe"

# What users are shown when a camera cannot be used: the same whatever answered.
CANNOT_CONNECT = "cannot connect to the camera"
FILE_UNREADABLE = "cannot decode the file as video"

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
_HEX = frozenset(string.hexdigits)


class FeedSourceError(ValueError):
    """A source we will not read (bad URL, scheme, address or file); the message is for users."""


@dataclass(frozen=True)
class SourcePolicy:
    """Where feeds may read from (picklable: it goes to each feed's worker process)."""

    files_dir: Path
    networks: tuple[Network, ...] = field(
        default_factory=lambda: tuple(ipaddress.ip_network(n) for n in DEFAULT_CAMERA_NETWORKS)
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> SourcePolicy:
        """The policy the server's settings describe."""
        return cls(
            files_dir=settings.feed_files,
            networks=tuple(ipaddress.ip_network(n) for n in settings.camera_networks),
        )


@dataclass(frozen=True)
class Target:
    """What the worker hands FFmpeg: the URL to open (pinned to a checked address) and options."""

    url: str
    options: dict[str, str]
    is_file: bool = False


# -- the URL's text ----------------------------------------------------------------------------


def _refuse_invisible(text: str, spaces: bool) -> None:
    """Refuse control characters (and, in a URL, spaces): they end lines in FFmpeg's requests."""
    for char in text:
        category = unicodedata.category(char)
        # C: control, format, surrogate, private, unassigned; Z: spaces, line and paragraph breaks.
        if category[0] == "C" or (spaces and category[0] == "Z"):
            raise FeedSourceError(
                f"the source has a control or space character (U+{ord(char):04X}): "
                "percent-encode it or remove it"
            )


def _encode(text: str, safe: Iterable[str]) -> str:
    """Percent-encode ``text`` except unreserved and ``safe`` characters; keep valid escapes."""
    keep = _UNRESERVED | frozenset(safe)
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%" and len(text) >= index + 3 and set(text[index + 1 : index + 3]) <= _HEX:
            out.append(text[index : index + 3].upper())
            index += 3
            continue
        if char in keep:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        index += 1
    return "".join(out)


def scheme_of(url: str) -> str:
    """``rtsp``, ``http``, ...; ``file`` for a local path (with or without ``file:``)."""
    text = url.strip()
    if "://" not in text and not text.lower().startswith("file:"):
        return "file"
    scheme = urlsplit(text).scheme.lower()
    return "file" if scheme in ("", "file") or len(scheme) == 1 else scheme


def is_file_source(url: str) -> bool:
    """Whether ``url`` names a local file (which only administrators may register)."""
    return scheme_of(url) == "file"


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if not host:
        raise FeedSourceError("the source URL has no host")
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = None
    if address is not None:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise FeedSourceError(f"{host!r} is not a host name") from exc
    labels = ascii_host.rstrip(".").split(".")
    allowed = frozenset(string.ascii_lowercase + string.digits + "-_")
    if not all(label and len(label) <= 63 and set(label) <= allowed for label in labels):
        raise FeedSourceError(f"{host!r} is not a host name")
    return ascii_host.rstrip(".")


def normalize_url(url: str) -> str:
    """A network source rebuilt from its parts: scheme, userinfo, host, port, path, query."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in NETWORK_SCHEMES:
        raise FeedSourceError(
            f"unsupported source {scheme!r}: use rtsp://, rtsps://, http(s):// "
            "(MJPEG or a video file) or a file in the feed files folder"
        )
    host = _host(parts)
    try:
        port = parts.port
    except ValueError as exc:
        raise FeedSourceError("the source URL's port is not a number from 1 to 65535") from exc
    if port == 0:
        raise FeedSourceError("the source URL's port is not a number from 1 to 65535")
    userinfo = ""
    if parts.username is not None:
        userinfo = _encode(parts.username, _SUB_DELIMS)
        if parts.password is not None:
            userinfo += ":" + _encode(parts.password, _SUB_DELIMS)
        userinfo += "@"
    netloc = userinfo + host + (f":{port}" if port is not None else "")
    path = _encode(parts.path, _SUB_DELIMS | {":", "@", "/"}) or "/"
    query = _encode(parts.query, _SUB_DELIMS | {":", "@", "/", "?"})
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


# -- files ----------------------------------------------------------------------------------


def _real_folder(policy: SourcePolicy) -> str:
    return os.path.realpath(policy.files_dir)


def check_file(source: str, policy: SourcePolicy) -> str:
    """The real path of a readable regular file inside the feed files folder.

    Missing, unreadable and not-a-file give one message, so registering a feed
    cannot tell which files exist.
    """
    text = source.strip()
    if text.lower().startswith("file:"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise FeedSourceError("a file: URL names a local path only (file:///path)")
        text = unquote(parts.path)
    folder = _real_folder(policy)
    path = os.path.realpath(os.path.join(folder, text))  # an absolute ``text`` stays absolute
    if (
        os.path.commonpath([path, folder]) != folder
        or path == folder
        or path.startswith(("/proc/", "/dev/", "/sys/"))
    ):
        raise FeedSourceError(
            f"file feeds are read from the feed files folder only ({folder}, "
            "CONFERENCE_FEED_FILES_DIR): put the video there"
        )
    try:
        # A regular file before anything is opened (a pipe or a device is not read at all),
        # then opened, as FFmpeg will, to know it can be read.
        readable = stat.S_ISREG(os.lstat(path).st_mode)
        if readable:
            os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK))
    except OSError:
        readable = False
    if not readable:
        raise FeedSourceError("no readable video file by that name in the feed files folder")
    return path


# -- addresses ------------------------------------------------------------------------------


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_refusal(address: Address, networks: Sequence[Network]) -> str | None:
    """Why a camera may not be at ``address`` (None: it may)."""
    address = _plain(address)
    listed = [n for n in networks if n.version == address.version and address in n]
    for kind, special in SPECIAL_NETWORKS:
        if special.version != address.version or address not in special:
            continue
        # Allowed only when the administrator listed this kind of address itself,
        # not as part of something wider (0.0.0.0/0, fc00::/7 around fd00:ec2::254).
        if not any(n.subnet_of(special) for n in listed):  # type: ignore[arg-type]
            return (
                f"{address} is a {kind} address: cameras there are refused unless "
                "CONFERENCE_CAMERA_NETWORKS names that range"
            )
    if not listed:
        return f"{address} is outside the camera networks (CONFERENCE_CAMERA_NETWORKS)"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (a literal is its own); raises OSError."""
    bare = host.strip("[]")
    try:
        return [ipaddress.ip_address(bare)]
    except ValueError:
        pass
    found: list[Address] = []
    for info in socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise OSError(f"{bare} has no address")
    return found


def check_destination(url: str, policy: SourcePolicy) -> list[Address]:
    """Resolve a normalized network URL's host; every address must be allowed.

    Raises :class:`FeedSourceError` naming the refused address, or OSError
    when the name does not resolve.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    addresses = resolve(host, port)
    for address in addresses:
        why = address_refusal(address, policy.networks)
        if why is not None:
            raise FeedSourceError(f"refused: {why}")
    return addresses


# -- registration and connection ----------------------------------------------------------------


def check_source(url: str, policy: SourcePolicy) -> str:
    """Validate a feed source when it is registered; returns what to store.

    A network URL comes back rebuilt (its host still a name: the worker
    resolves it each time it connects); a file comes back as its real path.
    The destination is not resolved here: see :func:`check_destination`.
    """
    text = url.strip()
    if not text:
        raise FeedSourceError("the source URL is empty")
    if is_file_source(text):
        _refuse_invisible(text, spaces=False)  # a file's name may have spaces, not line breaks
        return check_file(text, policy)
    _refuse_invisible(text, spaces=True)
    return normalize_url(text)


def register(url: str, policy: SourcePolicy) -> str:
    """:func:`check_source` and :func:`check_destination` (blocking: resolves the host)."""
    source = check_source(url, policy)
    if not is_file_source(source):
        try:
            check_destination(source, policy)
        except OSError as exc:
            raise FeedSourceError(
                f"cannot resolve the camera's host {urlsplit(source).hostname!r}"
            ) from exc
    return source


def connect_target(source: str, policy: SourcePolicy, timeout_us: int = 5_000_000) -> Target:
    """Check ``source`` again now and say how FFmpeg opens it.

    The host is resolved and checked at every connection, and FFmpeg gets
    the checked address, not the name, so a name that resolves elsewhere a
    moment later (DNS rebinding) changes nothing. Raises FeedSourceError
    (refused) or OSError (the name does not resolve).
    """
    common = {"format_whitelist": FORMAT_WHITELIST}
    if is_file_source(source):
        path = check_file(source, policy)
        return Target(path, {**common, "protocol_whitelist": PROTOCOL_WHITELISTS["file"]}, True)
    url = check_source(source, policy)
    parts = urlsplit(url)
    address = _plain(check_destination(url, policy)[0])
    pinned = f"[{address.compressed}]" if address.version == 6 else address.compressed
    netloc = parts.netloc.rsplit("@", 1)
    hostport = pinned + (f":{parts.port}" if parts.port is not None else "")
    netloc[-1] = hostport
    options = {
        **common,
        "protocol_whitelist": PROTOCOL_WHITELISTS[parts.scheme],
        "rw_timeout": str(timeout_us),
        "timeout": str(timeout_us),
    }
    name = parts.hostname or ""
    if parts.scheme in ("rtsp", "rtsps"):
        options["rtsp_transport"] = "tcp"
    else:
        options["max_redirects"] = "0"  # a redirect would go to an address nobody checked
        options["http_proxy"] = ""  # nor a proxy from the environment (it resolves names itself)
        if _is_name(name):
            host_header = name + (f":{parts.port}" if parts.port is not None else "")
            options["headers"] = f"Host: {host_header}\r\n"
    # rtsps and https go to the address too, so FFmpeg sends no TLS server name (SNI); it
    # does not verify cameras' certificates anyway (most are self-signed).
    return Target(parts._replace(netloc="@".join(netloc)).geturl(), options)


def _is_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False
