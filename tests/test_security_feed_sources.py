"""Issue 8, items 2 and 3: what a camera's URL may reach, and Redis behind a password.

A feed's URL ends up in FFmpeg. These tests register the red team's URLs
against a real server (its state in the real Redis, database 15) and check
that nothing reached what it should not: no key written into Redis through a
``\\r\\n`` in an ``rtsp://`` URL, no camera on loopback, link-local, metadata
or public addresses unless configured, no HTTP redirect followed, the same
error whatever answered on a port, and file feeds only from the feed files
folder and only by administrators. A second redis-server, started here with
a password, an ACL user and TLS, serves the store, the bus and a whole
server, and its password must not show anywhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import av
import cv2
import numpy as np
import pytest
import redis
from aiohttp import web
from pydantic import ValidationError

from anpr_feed.sources import (
    CANNOT_CONNECT,
    FeedSourceError,
    SourcePolicy,
    address_refusal,
    check_source,
    connect_target,
    resolve,
)
from anpr_feed.worker import _open
from conference.bus.redis import RedisBus
from conference.settings import Settings
from conference.store import Feed
from conference.store.redis import RedisStore
from conference.tls import ensure_self_signed
from tests.support.accounts import PASSWORD, logins, start_with_accounts
from tests.support.api_client import ApiClient
from tests.support.feeds import feed_body, register_feed
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import ROOT, ServerProcess, free_port, server_env, start_server
from tests.support.waiting import eventually

# The server's camera LAN is one loopback address, listed explicitly (as an
# administrator would for a camera on the machine itself); 127.0.0.1, where
# Redis and the server answer, stays outside it.
CAMERA_HOST = "127.0.0.2"
ACCOUNTS = {"admin": ("admin", None), "operator.dinhhoa": ("operator", "167")}


@dataclass
class Guarded:
    """The module's server, its Redis key prefix and a client on that Redis."""

    server: ServerProcess
    prefix: str
    redis: redis.Redis
    redis_url: str


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Guarded]:
    prefix = unique_prefix()
    env = {
        "CONFERENCE_REDIS_URL": redis_url,
        "CONFERENCE_REDIS_PREFIX": prefix,
        "CONFERENCE_CAMERA_NETWORKS": f"{CAMERA_HOST}/32",
    }
    server = start_with_accounts(
        Path(tmp_path_factory.mktemp("guarded")) / "data", ACCOUNTS, env=env
    )
    client = redis.Redis.from_url(redis_url)
    try:
        yield Guarded(server, prefix, client, redis_url)
    finally:
        server.stop()
        client.close()
        asyncio.run(delete_prefixed(redis_url, prefix))


@pytest.fixture
async def as_user(guarded: Guarded) -> AsyncIterator:
    async with logins(guarded.server) as login:
        yield login


def injection(guarded: Guarded, host: str | None = None) -> str:
    """The red team's URL: an RTSP request whose next lines are commands for our Redis."""
    parts = urlsplit(guarded.redis_url)
    db = parts.path.strip("/") or "0"
    return (
        f"rtsp://{host or parts.hostname}:{parts.port}/cam\r\n"
        f"SELECT {db}\r\n"
        f"SET {guarded.prefix}injected 1\r\n"
        f'HSET {guarded.prefix}users intruder {{"role":"admin"}}\r\n'
    )


def nothing_injected(guarded: Guarded) -> bool:
    return not guarded.redis.exists(guarded.prefix + "injected") and not guarded.redis.hexists(
        guarded.prefix + "users", "intruder"
    )


def cli_add(server: ServerProcess, url: str) -> subprocess.CompletedProcess[str]:
    return server.cli("feed", "add", "--name", "Cam", "--checkpoint", "Chốt 1", "--url", url)


async def feed_urls(client: ApiClient) -> list[str]:
    reply = await client.call("GET", "/api/feeds")
    assert reply.status == 200
    return [f["url"] for f in reply.body["feeds"]]


# -- item 2: the URL's text ----------------------------------------------------------------------


async def test_a_url_with_line_breaks_is_refused_and_reaches_nothing(guarded, as_user):
    admin = await as_user("admin")
    operator = await as_user("operator.dinhhoa")
    attempts = [
        injection(guarded),
        injection(guarded, CAMERA_HOST),  # inside the camera network: refused for its text
        f"rtsp://{CAMERA_HOST}/cam\nSET {guarded.prefix}injected 1",
        f"http://{CAMERA_HOST}/video.mjpg HTTP/1.1\r\nX: y",
        f"rtsp://{CAMERA_HOST}/cam\tx",
        f"rtsp://{CAMERA_HOST}/cam\u2028x",  # a Unicode line separator
        f"rtsp://{CAMERA_HOST}/cam\x85x",
        f"rtsp://admin:mat khau@{CAMERA_HOST}/cam",
    ]
    for url in attempts:
        for client in (admin, operator):
            reply = await client.call("POST", "/api/feeds", feed_body(url, unit_code="167"))
            assert reply.status == 400 and reply.code == "bad-source", (url, reply.body)
            assert "control or space character" in reply.body["error"]["message"]
        refused = cli_add(guarded.server, url)
        assert refused.returncode == 2 and "control or space character" in refused.stderr
    assert await feed_urls(admin) == []
    assert nothing_injected(guarded)

    # Percent-encoded, the same characters are only text in the request line.
    escaped = f"rtsp://{CAMERA_HOST}/cam%0D%0ASET%20x%201?a=b c".replace(" ", "%20")
    created = await admin.call("POST", "/api/feeds", feed_body(escaped, unit_code="167"))
    assert created.status == 201, created.body
    stored = created.body["url"]
    assert stored == f"rtsp://{CAMERA_HOST}/cam%0D%0ASET%20x%201?a=b%20c"
    assert "\r" not in stored and "\n" not in stored and " " not in stored
    assert (await admin.call("DELETE", f"/api/feeds/{created.body['id']}")).status == 204


async def test_urls_are_rebuilt_from_their_parts():
    policy = SourcePolicy(Path("/nonexistent-feed-files"))
    assert (
        check_source("RTSP://admin:p@ss:w%rd@Cam-01.Chot-Km52.local:554/Streaming/101#x", policy)
        == "rtsp://admin:p%40ss%3Aw%25rd@cam-01.chot-km52.local:554/Streaming/101"
    )
    assert check_source("http://[FD00::21]:8080", policy) == "http://[fd00::21]:8080/"
    assert check_source("http://bãi-xe.vn/mjpg?q=ảnh", policy) == (
        "http://xn--bi-xe-9qa.vn/mjpg?q=%E1%BA%A3nh"
    )
    for bad in ("ftp://10.0.0.1/x", "udp://10.0.0.1:5000", "gopher://10.0.0.1/", "rtsp:///x"):
        with pytest.raises(FeedSourceError):
            check_source(bad, policy)
    with pytest.raises(FeedSourceError, match="port"):
        check_source("rtsp://10.0.0.1:99999/x", policy)


# -- item 2: where a camera may be -------------------------------------------------------------------


async def test_cameras_outside_the_camera_networks_are_refused(guarded, as_user):
    admin = await as_user("admin")
    operator = await as_user("operator.dinhhoa")
    refused = {
        "rtsp://127.0.0.1:6379/cam": "loopback",
        "http://localhost:6379/": "loopback",  # a name: refused for what it resolves to
        "rtsp://2130706433:6379/cam": "loopback",  # 127.0.0.1 written as a number
        "rtsp://0x7f.1:6379/cam": "loopback",
        "rtsp://[::1]/cam": "loopback",
        "rtsp://[::ffff:127.0.0.1]:6379/cam": "loopback",
        "http://169.254.169.254/latest/meta-data/iam/": "link-local",
        "http://[fe80::1]/": "link-local",
        "rtsp://0.0.0.0:6379/cam": "unspecified",
        "rtsp://224.0.0.251/cam": "multicast",
        "http://8.8.8.8/video.mjpg": "outside the camera networks",
        "rtsp://10.0.0.21/cam": "outside the camera networks",  # not this server's LAN
    }
    for url, why in refused.items():
        for client in (admin, operator):
            reply = await client.call("POST", "/api/feeds", feed_body(url, unit_code="167"))
            assert reply.status == 400 and reply.code == "bad-source", (url, reply.body)
            assert why in reply.body["error"]["message"], (url, reply.body)
    unknown = await admin.call("POST", "/api/feeds", feed_body("rtsp://camera.invalid/x"))
    assert unknown.status == 400 and "cannot resolve" in unknown.body["error"]["message"]
    for url in ("rtsp://127.0.0.1:6379/cam", "http://169.254.169.254/"):
        result = cli_add(guarded.server, url)
        assert result.returncode == 2 and "refused" in result.stderr, result.stderr
    assert await feed_urls(admin) == []
    assert nothing_injected(guarded)


def test_which_addresses_are_refused_by_default_and_how_to_allow_them():
    defaults = SourcePolicy(Path("/nonexistent")).networks
    ok = ["10.0.0.21", "172.20.1.5", "192.168.1.64", "100.64.3.9", "fd12:3456::21"]
    for text in ok:
        assert address_refusal(ipaddress.ip_address(text), defaults) is None, text
    refused = [
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "169.254.10.1",
        "fe80::1",
        "fd00:ec2::254",  # in fc00::/7, which is allowed, but the cloud's metadata service
        "0.0.0.0",
        "::",
        "239.255.255.250",
        "ff02::1",
        "8.8.8.8",
        "2001:4860:4860::8888",
    ]
    for text in refused:
        assert address_refusal(ipaddress.ip_address(text), defaults) is not None, text

    def networks(*cidrs: str) -> tuple:
        return tuple(ipaddress.ip_network(c) for c in cidrs)

    everything = networks("0.0.0.0/0", "::/0")
    assert address_refusal(ipaddress.ip_address("8.8.8.8"), everything) is None
    for text in ("127.0.0.1", "169.254.169.254", "fd00:ec2::254", "224.0.0.1"):
        assert address_refusal(ipaddress.ip_address(text), everything) is not None, text
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), networks("127.0.0.0/8")) is None
    link_local = networks("169.254.0.0/16")
    assert address_refusal(ipaddress.ip_address("169.254.10.1"), link_local) is None
    assert address_refusal(ipaddress.ip_address("169.254.169.254"), link_local) is not None


def test_camera_settings_are_validated(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFERENCE_CAMERA_NETWORKS", "10.1.0.0/16, 192.168.5.0/24")
    assert Settings().camera_networks == ["10.1.0.0/16", "192.168.5.0/24"]
    monkeypatch.setenv("CONFERENCE_CAMERA_NETWORKS", '["fd00:1::/64"]')
    assert Settings().camera_networks == ["fd00:1::/64"]
    for bad in ("10.0.0.1/8", "camera-lan", "10.0.0.0/33"):
        monkeypatch.setenv("CONFERENCE_CAMERA_NETWORKS", bad)
        with pytest.raises(ValidationError, match="not a network"):
            Settings()
    monkeypatch.delenv("CONFERENCE_CAMERA_NETWORKS")
    settings = Settings(data_dir=tmp_path)
    assert settings.feed_files == tmp_path / "feed-files"
    assert "127.0.0.0/8" not in settings.camera_networks
    for system in ("/proc", "/dev/shm", "/etc", "/"):
        with pytest.raises(ValidationError, match="system folder"):
            Settings(feed_files_dir=Path(system))


def test_other_urls_in_the_settings_have_no_line_breaks():
    """The same fault elsewhere: links people are sent, and the STUN/TURN servers."""
    with pytest.raises(ValidationError, match="control or space"):
        Settings(public_url="https://hop.thainguyen.gov.vn\r\nSet-Cookie: x=1")
    with pytest.raises(ValidationError, match="control or space"):
        Settings(ice_servers=[{"urls": "turn:turn.thainguyen.gov.vn:3478\r\nx"}])
    assert Settings(public_url="https://hop.thainguyen.gov.vn/").public_url == (
        "https://hop.thainguyen.gov.vn"
    )


# -- item 2: what a failure says, and where FFmpeg goes ---------------------------------------------


class RawPort:
    """An open port that is no camera: it answers every line like a Redis server would."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, CAMERA_HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readline()
            writer.write(b"-ERR unknown command\r\n")
            await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class Http:
    """A small HTTP server that counts its requests."""

    def __init__(self, host: str, handler: web.RequestHandler) -> None:
        self.host = host
        self.handler = handler
        self.requests: list[web.Request] = []
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def counted(request: web.Request) -> web.StreamResponse:
            self.requests.append(request)
            return await self.handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", counted)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def closed_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def test_a_closed_port_and_ports_that_are_no_camera_read_the_same(guarded, as_user):
    """The feed's status is no port scanner, and a redirect is not followed anywhere."""
    admin = await as_user("admin")

    async def not_found(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text="stolen")

    inside = Http("127.0.0.1", not_found)  # what a redirect would like to reach

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"http://127.0.0.1:{inside.port}/admin")

    redirector = Http(CAMERA_HOST, redirect)
    raw = RawPort()
    for part in (inside, redirector, raw):
        await part.start()
    feeds: dict[str, str] = {}
    try:
        for name, url in {
            "closed": f"rtsp://{CAMERA_HOST}:{closed_port(CAMERA_HOST)}/cam",
            "open, not a camera": f"rtsp://{CAMERA_HOST}:{raw.port}/cam",
            "a redirect": f"http://{CAMERA_HOST}:{redirector.port}/video.mjpg",
        }.items():
            feeds[name] = (await register_feed(admin, url, name=name, unit_code="167"))["id"]

        async def all_offline() -> dict[str, dict] | None:
            statuses = {}
            for name, feed_id in feeds.items():
                status = (await admin.call("GET", f"/api/feeds/{feed_id}")).body["status"]
                if status["state"] != "offline":
                    return None
                statuses[name] = status
            return statuses

        statuses = await eventually(all_offline, timeout=90)
        assert {name: s["error"] for name, s in statuses.items()} == {
            name: CANNOT_CONNECT for name in feeds
        }
        assert raw.connections >= 1 and redirector.requests  # they did answer
        assert inside.requests == []  # the redirect was not followed
    finally:
        for feed_id in feeds.values():
            await admin.call("DELETE", f"/api/feeds/{feed_id}")
        for part in (inside, redirector, raw):
            await part.stop()


async def test_ffmpeg_opens_the_address_that_was_checked(tmp_path, monkeypatch):
    """A name is resolved and checked, and FFmpeg is given that address (DNS rebinding gets
    nothing), not a proxy; the camera still sees its own name in the Host header."""
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port('127.0.0.1')}")
    addresses = resolve("localhost", 80)
    policy = SourcePolicy(tmp_path, tuple(ipaddress.ip_network(a) for a in addresses))
    seen: list[tuple[str | None, str | None]] = []

    async def mjpeg(request: web.Request) -> web.StreamResponse:
        seen.append((request.headers.get("Host"), request.remote))
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=frame"}
        )
        await response.prepare(request)
        data = cv2.imencode(".jpg", np.full((64, 64, 3), 90, np.uint8))[1].tobytes()
        for _ in range(5):
            await response.write(
                b"--frame\r\nContent-Type: image/jpeg\r\n"
                + f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data
                + b"\r\n"
            )
        return response

    app = web.Application()
    app.router.add_get("/video.mjpg", mjpeg)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    for address in addresses:
        await web.TCPSite(runner, str(address), port).start()
    try:
        target = connect_target(f"http://localhost:{port}/video.mjpg", policy)
        host = urlsplit(target.url).hostname
        assert host is not None and ipaddress.ip_address(host) in addresses
        assert target.options["max_redirects"] == "0"
        assert target.options["protocol_whitelist"] == "http,tcp"
        container, stream = await asyncio.to_thread(_open, target)
        try:
            assert container.format.name == "mpjpeg" and stream.codec_context.name == "mjpeg"
        finally:
            container.close()
        assert seen and seen[0][0] == f"localhost:{port}"
        assert seen[0][1] is not None and ipaddress.ip_address(seen[0][1]) in addresses
        # Were the name to lead elsewhere now, the connection would not be made at all.
        with pytest.raises(FeedSourceError, match="refused"):
            connect_target(
                f"http://localhost:{port}/video.mjpg",
                SourcePolicy(tmp_path, (ipaddress.ip_network("10.0.0.0/8"),)),
            )
    finally:
        await runner.cleanup()


async def test_the_worker_checks_a_stored_url_itself(guarded, as_user, tmp_path):
    """A URL that reached the store some other way (an older version, another node) is
    checked again by the feed's worker before anything is opened."""
    admin = await as_user("admin")
    outside = tmp_path / "recording-of-another-district.mp4"
    write_clip(outside)
    held = os.open(outside, os.O_RDONLY)  # a live recording, open in some process
    folder = guarded.server.data_dir / "feed-files"
    (folder / "escape.mp4").symlink_to(outside)
    stored = {
        "injection": (injection(guarded), "control or space character"),
        "loopback": (f"rtsp://127.0.0.1:{urlsplit(guarded.redis_url).port}/cam", "loopback"),
        "proc": (f"/proc/{os.getpid()}/fd/{held}", "feed files folder"),
        "shadow": ("/etc/shadow", "feed files folder"),
        "symlink": (str(folder / "escape.mp4"), "feed files folder"),
    }
    store = RedisStore(guarded.redis_url, prefix=guarded.prefix)
    ids = {name: "stored" + uuid.uuid4().hex[:6] for name in stored}
    try:
        for name, (url, _) in stored.items():
            await store.create_feed(
                Feed(ids[name], name, "Chốt cũ", "", url, "167", time.time(), "old-version")
            )

        async def all_failed() -> dict[str, dict] | None:
            statuses = {}
            for name, feed_id in ids.items():
                reply = await admin.call("GET", f"/api/feeds/{feed_id}")
                if reply.status != 200 or reply.body["status"]["state"] != "failed":
                    return None
                statuses[name] = reply.body["status"]
            return statuses

        statuses = await eventually(all_failed, timeout=90)
        for name, (_, why) in stored.items():
            assert why in statuses[name]["error"], (name, statuses[name])
            assert statuses[name]["frames"] == 0
        assert nothing_injected(guarded)
    finally:
        for feed_id in ids.values():
            await admin.call("DELETE", f"/api/feeds/{feed_id}")
        await store.close()
        os.close(held)


# -- item 3: file feeds ----------------------------------------------------------------------------


def write_clip(path: Path, frames: int = 25) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), index, np.uint8), "bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


async def test_file_feeds_come_from_the_folder_only_and_from_administrators_only(
    guarded, as_user, tmp_path
):
    admin = await as_user("admin")
    operator = await as_user("operator.dinhhoa")
    folder = guarded.server.data_dir / "feed-files"
    assert folder.is_dir()  # the server made it for the administrator
    write_clip(folder / "clip.mp4")
    outside = tmp_path / "elsewhere.mp4"
    write_clip(outside)
    (folder / "to-outside.mp4").symlink_to(outside)
    (folder / "to-passwd").symlink_to("/etc/passwd")
    (folder / "a-folder").mkdir()
    os.mkfifo(folder / "a-pipe.mp4")

    # Operators: refused before the path is even looked at.
    for path in ("clip.mp4", "/etc/shadow", "missing.mp4", str(folder / "clip.mp4")):
        reply = await operator.call("POST", "/api/feeds", feed_body(path, unit_code="167"))
        assert reply.status == 403 and reply.code == "admin-only", (path, reply.body)

    outside_folder = [
        "/etc/shadow",
        "file:///etc/shadow",
        "/proc/self/fd/0",
        "/proc/self/environ",
        "/dev/zero",
        "../secret.key",
        "../../../../etc/passwd",
        str(outside),
        "to-outside.mp4",
        "to-passwd",
    ]
    for path in outside_folder:
        reply = await admin.call("POST", "/api/feeds", feed_body(path))
        assert reply.status == 400 and "feed files folder only" in reply.body["error"]["message"]

    # Missing, a folder, a pipe (not even opened), unreadable: one answer, so nobody
    # learns which files exist.
    unreadable = folder / "unreadable.mp4"
    write_clip(unreadable)
    unreadable.chmod(0)
    names = ["missing.mp4", "a-folder", "a-pipe.mp4", "sub/missing.mp4"]
    if os.geteuid() != 0:  # root reads it all the same
        names.append("unreadable.mp4")
    answers = set()
    for path in names:
        reply = await admin.call("POST", "/api/feeds", feed_body(path))
        assert reply.status == 400, (path, reply.body)
        answers.add(reply.body["error"]["message"])
    assert answers == {"no readable video file by that name in the feed files folder"}
    assert await feed_urls(admin) == []

    real_clip = await asyncio.to_thread(os.path.realpath, folder / "clip.mp4")
    for path in ("clip.mp4", f"file://{folder / 'clip.mp4'}"):
        created = await admin.call("POST", "/api/feeds", feed_body(path, unit_code="167"))
        assert created.status == 201, created.body
        assert created.body["url"] == real_clip
        assert (await admin.call("DELETE", f"/api/feeds/{created.body['id']}")).status == 204

    # The machine's operator, on the command line, counts as an administrator; the folder
    # is the folder all the same.
    for path in ("/etc/shadow", "/proc/self/fd/0", "to-outside.mp4"):
        result = cli_add(guarded.server, path)
        assert result.returncode == 2 and "feed files folder only" in result.stderr, path
    result = cli_add(guarded.server, "missing.mp4")
    assert result.returncode == 2 and "no readable video file by that name" in result.stderr
    added = guarded.server.cli(
        "feed", "add", "--name", "Cam", "--checkpoint", "Chốt 1", "--url", "clip.mp4", "--json"
    )
    assert added.returncode == 0, added.stderr
    feed = json.loads(added.stdout)
    assert feed["url"] == real_clip
    assert guarded.server.cli("feed", "remove", feed["id"]).returncode == 0


# -- item 2: Redis behind a password -------------------------------------------------------------

ACL_USER = "conference-node"
ACL_PASSWORD = "Kh0ng-ai/biet#mat?khau@nay"  # needs percent-encoding in a URL
DEFAULT_PASSWORD = "mat-khau-mac-dinh-cua-redis-0123"


@dataclass
class LockedRedis:
    """A redis-server of the test's own: a password, an ACL user, and TLS on a second port."""

    port: int
    tls_port: int
    ca_file: Path

    def url(self, user: str | None = ACL_USER, password: str = ACL_PASSWORD) -> str:
        userinfo = (quote(user, safe="") if user else "") + ":" + quote(password, safe="")
        return f"redis://{userinfo}@127.0.0.1:{self.port}/0"

    def tls_url(self) -> str:
        userinfo = quote(ACL_USER, safe="") + ":" + quote(ACL_PASSWORD, safe="")
        return f"rediss://{userinfo}@127.0.0.1:{self.tls_port}/0?ssl_ca_certs={self.ca_file}"


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockedRedis]:
    server = shutil.which("redis-server")
    assert server, "redis-server is needed (scripts/test installs it)"
    folder = Path(tmp_path_factory.mktemp("locked-redis"))
    cert, key = ensure_self_signed(folder, ["127.0.0.1"])
    port, tls_port = free_port(), free_port()
    log = open(folder / "redis.log", "wb")
    process = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls-port",
            str(tls_port),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--requirepass",
            DEFAULT_PASSWORD,
            "--user",
            ACL_USER,
            "on",
            f">{ACL_PASSWORD}",
            "~*",
            "&*",
            "+@all",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    locked = LockedRedis(port, tls_port, cert)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (folder / "redis.log").read_text()
            try:
                redis.Redis(port=port, password=DEFAULT_PASSWORD, socket_timeout=2).ping()
                break
            except redis.RedisError:
                assert time.monotonic() < deadline, (folder / "redis.log").read_text()
                time.sleep(0.1)
        yield locked
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.mark.parametrize("which", ["default user", "ACL user", "ACL user over TLS"])
async def test_store_and_bus_work_on_a_redis_with_a_password(locked_redis, which):
    url = {
        "default user": locked_redis.url(None, DEFAULT_PASSWORD),
        "ACL user": locked_redis.url(),
        "ACL user over TLS": locked_redis.tls_url(),
    }[which]
    Settings(redis_url=url)  # valid as a setting
    prefix = unique_prefix()
    store = RedisStore(url, prefix=prefix)
    bus = RedisBus(url, prefix=prefix)
    try:
        room = await store.create_room("Họp giao ban", "vp8")
        assert [r.id for r in await store.list_rooms()] == [room.id]
        subscription = bus.subscribe("room:x")
        await subscription.ready()
        await bus.publish("room:x", {"type": "joined"})
        assert await asyncio.wait_for(anext(aiter(subscription)), 10) == {"type": "joined"}
    finally:
        await bus.close()
        await store.close()
        await delete_prefixed(url, prefix)


async def test_a_wrong_redis_password_is_not_repeated_in_the_error(locked_redis):
    wrong = "sai-mat-khau-" + uuid.uuid4().hex
    store = RedisStore(locked_redis.url(ACL_USER, wrong), prefix=unique_prefix())
    try:
        with pytest.raises(redis.AuthenticationError) as caught:
            await store.list_rooms()
        assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    finally:
        await store.close()


def test_a_server_on_a_redis_with_a_password_never_shows_it(locked_redis, tmp_path):
    secrets_shown = (ACL_PASSWORD, quote(ACL_PASSWORD, safe=""), "Kh0ng-ai")
    prefix = unique_prefix()
    env = {"CONFERENCE_REDIS_URL": locked_redis.tls_url(), "CONFERENCE_REDIS_PREFIX": prefix}
    server = start_server(tmp_path / "data", env=env)
    try:
        server.add_user("admin", "admin", password=PASSWORD)
        client = redis.Redis.from_url(locked_redis.url())
        assert client.hexists(prefix + "users", "admin")  # the accounts are in that Redis
        client.close()

        async def look() -> list[str]:
            api = ApiClient(server.base_url)
            try:
                assert (await api.login("admin", PASSWORD)).status == 200
                texts = []
                for path in ("/metrics", "/healthz", "/feeds", "/api/feeds"):
                    async with api.session.get(server.base_url + path) as response:
                        assert response.status == 200, path
                        texts.append(await response.text())
                return texts
            finally:
                await api.close()

        texts = asyncio.run(look())
        listed = server.cli("room", "list")
        assert listed.returncode == 0, listed.stderr
        texts += [listed.stdout, listed.stderr]
    finally:
        server.stop()
        asyncio.run(delete_prefixed(locked_redis.url(), prefix))
    texts.append(server.log())  # the banner and every log line, up to the shutdown
    for text in texts:
        for secret in secrets_shown:
            assert secret not in text

    # A wrong password, and a URL whose password was not percent-encoded: clear errors
    # that quote neither.
    env_base = {**server_env(), "CONFERENCE_REDIS_PREFIX": unique_prefix()}
    wrong = locked_redis.url(ACL_USER, "sai-" + ACL_PASSWORD)
    raw = f"redis://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{locked_redis.port}/0"
    for url, expected in ((wrong, "invalid username-password"), (raw, "percent-encode")):
        for args in (["room", "list"], ["serve", "--port", str(free_port())]):
            result = subprocess.run(
                [sys.executable, "-m", "conference", *args, "--data-dir", str(tmp_path / "x")],
                capture_output=True,
                text=True,
                env={**env_base, "CONFERENCE_REDIS_URL": url},
                cwd=ROOT,
                timeout=120,
            )
            output = result.stdout + result.stderr
            assert result.returncode != 0 and expected in output, output
            for secret in (*secrets_shown, quote("sai-" + ACL_PASSWORD, safe="")):
                assert secret not in output, (args, output)
