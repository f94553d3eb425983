"""Red-team findings on checkpoint cameras, against a real server (issue 8, items 9, 12, 13).

- 9: plate events are their camera's unit's for good: removing a camera
  must not make them everybody's (search, event, pictures).
- 12: every registration starts a worker process (some 180 MiB, a core at
  720p25): limits in all and per unit, at the API and the CLI, atomic; a
  camera that cannot be reached retries in its one process.
- 13: camera passwords are never shown (API, pages, CLI, status errors, log);
  a feed of no unit is for administrators only; ``/metrics`` needs the token
  (or an administrator) from anywhere but the machine itself; ``/healthz``
  says the status and nothing more.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import synth
from tests.support.accounts import PASSWORD, logins
from tests.support.api_client import ApiClient
from tests.support.feeds import feed_body
from tests.support.server import ServerProcess, server_env, start_server
from tests.support.waiting import eventually

TOKEN = "metrics-" + "k" * 40
SECRET = "Chot2021Secret"  # a camera's password, in the URLs below
LIMITS = {"CONFERENCE_MAX_FEEDS": "4", "CONFERENCE_MAX_FEEDS_PER_UNIT": "2"}
ENV = {
    **LIMITS,
    "CONFERENCE_METRICS_TOKEN": TOKEN,
    # The tests' cameras are closed ports on this machine: listed explicitly, as an
    # administrator would list a camera network.
    "CONFERENCE_CAMERA_NETWORKS": "10.0.0.0/8,127.0.0.1/32",
}
ACCOUNTS = {
    "admin": ("admin", None),
    "host.dinhhoa": ("host", "167"),  # district A: Định Hóa, and its communes (05536 ...)
    "operator.dinhhoa": ("operator", "167"),
    "host.tp": ("host", "164"),  # district B: Thái Nguyên city
    "operator.tp": ("operator", "164"),
}
CAMERA = f"rtsp://admin:{SECRET}@127.0.0.1:9/Streaming/Channels/101"
MASKED = "rtsp://admin:***@127.0.0.1:9/Streaming/Channels/101"


def outside_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))  # no packet is sent: only the route is chosen
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # On every interface, so that /metrics can be asked from another address than loopback.
    data = Path(tmp_path_factory.mktemp("feed-scope")) / "data"
    proc = start_server(data, "--host", "0.0.0.0", env=ENV)
    for username, (role, unit) in ACCOUNTS.items():
        proc.add_user(username, role, unit, password=PASSWORD)
    yield proc
    proc.stop()


@pytest.fixture
async def as_user(server: ServerProcess) -> AsyncIterator:
    async with logins(server) as login:
        yield login


async def remove_all_feeds(admin: ApiClient) -> None:
    for feed in (await admin.call("GET", "/api/feeds")).body["feeds"]:
        assert (await admin.call("DELETE", f"/api/feeds/{feed['id']}")).status == 204


def worker_pids(server: ServerProcess) -> set[int]:
    """The feed worker processes the server runs now (its spawned children)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server.process.pid and b"spawn_main" in cmdline:
            pids.add(int(entry.name))
    return pids


def resident_mib(pid: int) -> float:
    """A process's resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


# -- 13: passwords, feeds of no unit ---------------------------------------------------


async def test_camera_passwords_are_masked_everywhere(server, as_user):
    operator = await as_user("operator.dinhhoa")
    host = await as_user("host.dinhhoa")
    admin = await as_user("admin")
    neighbour = await as_user("operator.tp")
    try:
        created = await operator.call("POST", "/api/feeds", feed_body(CAMERA, unit_code="05536"))
        assert created.status == 201, created.body
        feed_id = created.body["id"]
        assert created.body["url"] == MASKED
        by_query = await operator.call(
            "POST",
            "/api/feeds",
            feed_body(f"http://127.0.0.1:9/video.cgi?user=admin&pwd={SECRET}", unit_code="167"),
        )
        assert by_query.status == 201, by_query.body
        assert by_query.body["url"].endswith("video.cgi?user=admin&pwd=***")

        async def offline() -> dict | None:
            feed = (await host.call("GET", f"/api/feeds/{feed_id}")).body
            return feed if feed["status"]["state"] == "offline" else None

        seen = await eventually(offline)  # the camera answered nothing: an error to show
        assert seen["url"] == MASKED and seen["status"]["error"]
        for client in (operator, host, admin):
            listing = await client.call("GET", "/api/feeds")
            assert {f["id"]: f["url"] for f in listing.body["feeds"]}[feed_id] == MASKED
            one = await client.call("GET", f"/api/feeds/{feed_id}")
            assert SECRET not in json.dumps(listing.body) + json.dumps(one.body)
            status, _, page = await client.text("/feeds")
            assert status == 200 and SECRET not in page
        # Another district sees neither the feed nor its address.
        assert feed_id not in json.dumps((await neighbour.call("GET", "/api/feeds")).body)
        assert (await neighbour.call("GET", f"/api/feeds/{feed_id}")).status == 404

        # The command line: the same field names, masked.
        async def listed() -> list[dict] | None:
            result = server.cli("feed", "list", "--json")
            assert result.returncode == 0, result.stderr
            rows = [json.loads(line) for line in result.stdout.splitlines()]
            return rows if all(r["status"] for r in rows) else None

        rows = await eventually(listed)
        assert {r["id"]: r["url"] for r in rows}[feed_id] == MASKED
        assert {"id", "name", "checkpoint", "url", "unit_code", "state", "status"} <= set(rows[0])
        plain = server.cli("feed", "list")
        assert MASKED in plain.stdout
        for text in (json.dumps(rows), plain.stdout, plain.stderr):
            assert SECRET not in text
        async with aiohttp.ClientSession() as http, http.get(server.base_url + "/metrics") as r:
            assert r.status == 200 and SECRET not in await r.text()

        # The worker alone has the real address: in the store, where it reads it.
        from conference.store import SqliteStore

        store = SqliteStore(server.data_dir / "conference.sqlite3")
        try:
            assert SECRET in (await store.get_feed(feed_id)).url
        finally:
            await store.close()
    finally:
        await remove_all_feeds(admin)
    assert SECRET not in server.log()


async def test_a_feed_of_no_unit_is_for_administrators_only(server, as_user):
    admin = await as_user("admin")
    try:
        created = await admin.call("POST", "/api/feeds", feed_body(CAMERA))  # no unit_code
        assert created.status == 201, created.body
        feed_id = created.body["id"]
        assert [f["id"] for f in (await admin.call("GET", "/api/feeds")).body["feeds"]] == [feed_id]
        for username in ("host.dinhhoa", "operator.dinhhoa", "host.tp", "operator.tp"):
            client = await as_user(username)
            assert (await client.call("GET", "/api/feeds")).body["feeds"] == [], username
            assert (await client.call("GET", f"/api/feeds/{feed_id}")).status == 404
            assert (await client.call("DELETE", f"/api/feeds/{feed_id}")).status == 404
    finally:
        await remove_all_feeds(admin)


# -- 9: plate events stay their unit's ------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "km52.mp4"
    assert synth.generate(path, 8, seed=11, vehicles_per_minute=30)
    return path


async def test_plate_events_stay_with_their_unit_when_the_camera_is_removed(
    server, as_user, checkpoint_clip
):
    admin = await as_user("admin")
    operator_a = await as_user("operator.dinhhoa")
    host_a = await as_user("host.dinhhoa")
    operator_b = await as_user("operator.tp")
    host_b = await as_user("host.tp")
    folder = server.data_dir / "feed-files"  # the only folder file feeds are read from
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / checkpoint_clip.name
    if not clip.exists():
        os.link(checkpoint_clip, clip)
    try:
        # District A's camera (a file feed: administrators register those) reads plates.
        created = await admin.call("POST", "/api/feeds", feed_body(str(clip), unit_code="05536"))
        assert created.status == 201, created.body
        camera_a = created.body["id"]

        async def read_in_a() -> list[dict] | None:
            found = (await operator_a.call("GET", "/api/anpr/events?limit=500")).body["events"]
            return [e for e in found if e["crop_url"]] or None

        events = await eventually(read_in_a, timeout=120)
        assert {e["feed_id"] for e in events} == {camera_a}
        # District B has a camera too, so that B sees "every feed there is" once A's is gone.
        camera_b = await operator_b.call(
            "POST", "/api/feeds", feed_body(CAMERA, name="Làn ra", unit_code="164")
        )
        assert camera_b.status == 201, camera_b.body
        assert (await admin.call("DELETE", f"/api/feeds/{camera_a}")).status == 204
        assert [f["id"] for f in (await operator_b.call("GET", "/api/feeds")).body["feeds"]] == [
            camera_b.body["id"]
        ]

        event = events[0]
        plate = event["plate"]
        for outsider in (operator_b, host_b):
            for query in ("", f"plate={plate}", f"plate={plate[-4:]}", "checkpoint=" + "Chốt"):
                found = (await outsider.call("GET", f"/api/anpr/events?{query}")).body["events"]
                assert found == [], query
            assert (await outsider.call("GET", f"/api/anpr/events/{event['id']}")).status == 404
            async with outsider.session.get(outsider.base_url + event["crop_url"]) as picture:
                assert picture.status == 404
        # District A (and the province above, and admins) still have them.
        for insider in (operator_a, host_a, admin):
            found = (await insider.call("GET", f"/api/anpr/events?plate={plate}")).body["events"]
            assert event["id"] in [e["id"] for e in found]
            async with insider.session.get(insider.base_url + event["crop_url"]) as picture:
                assert picture.status == 200
                assert (await picture.read())[:2] == b"\xff\xd8"  # a JPEG
        assert {e["unit_code"] for e in events} == {"05536"}  # whose each event is, on the wire
    finally:
        await remove_all_feeds(admin)


# -- 12: limits ------------------------------------------------------------------------


async def test_feed_registration_is_limited_per_unit_and_in_all(server, as_user):
    operator_a = await as_user("operator.dinhhoa")
    operator_b = await as_user("operator.tp")
    admin = await as_user("admin")

    async def register(client: ApiClient, unit: str, name: str = "Làn") -> tuple[int, object]:
        reply = await client.call(
            "POST", "/api/feeds", feed_body(CAMERA, name=name, unit_code=unit)
        )
        return reply.status, reply.code if reply.status != 201 else reply.body["id"]

    try:
        assert (await register(operator_a, "05536"))[0] == 201
        assert (await register(operator_a, "05536"))[0] == 201
        assert await register(operator_a, "05536") == (409, "too-many-unit-feeds")
        assert (await register(operator_a, "167"))[0] == 201  # another unit of A: its own limit
        status, last = await register(operator_b, "164")
        assert status == 201
        refused = await operator_b.call("POST", "/api/feeds", feed_body(CAMERA, unit_code="164"))
        assert (refused.status, refused.code) == (409, "too-many-feeds")
        assert "CONFERENCE_MAX_FEEDS" in refused.body["error"]["message"]
        cli = server.cli("feed", "add", "--name", "Cổng", "--checkpoint", "Chốt", "--url", CAMERA)
        assert cli.returncode == 3 and "too-many-feeds" in cli.stderr, cli.stderr
        assert SECRET not in cli.stderr + cli.stdout
        assert len((await admin.call("GET", "/api/feeds")).body["feeds"]) == 4

        # One place frees: of many registrations at once, exactly one takes it.
        assert (await operator_b.call("DELETE", f"/api/feeds/{last}")).status == 204
        results = await asyncio.gather(*(register(operator_b, "164", f"Làn {n}") for n in range(6)))
        assert sorted(status for status, _ in results) == [201] + [409] * 5, results
        feeds = (await admin.call("GET", "/api/feeds")).body["feeds"]
        assert len(feeds) == 4

        # A camera that cannot be reached retries inside its one process: one
        # worker per feed, none restarted, however long it has been failing.
        async def one_worker_each() -> set[int] | None:
            pids = worker_pids(server)
            return pids if len(pids) == 4 else None

        pids = await eventually(one_worker_each)

        async def all_offline() -> list[dict] | None:
            listed = (await admin.call("GET", "/api/feeds")).body["feeds"]
            return listed if all(f["status"]["state"] == "offline" for f in listed) else None

        for feed in await eventually(all_offline):
            assert feed["status"]["restarts"] == 0
        assert worker_pids(server) == pids
        # ... and without the reader's models, which load once a camera answers
        # (some 90 MiB against 185 with them).
        for pid in pids:
            assert resident_mib(pid) < 140, pid

        # Feeds registered past a limit lowered since (here: a CLI given a higher one)
        # are not started: shown stopped, with the reason.
        env = {**server_env(), **server.env, "CONFERENCE_MAX_FEEDS": "10"}
        command = [sys.executable, "-m", "conference", "feed", "add", "--name", "Cổng"]
        command += ["--checkpoint", "Chốt", "--url", CAMERA, "--unit", "19", "--json"]
        command += ["--data-dir", str(server.data_dir)]
        added = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, env=env, timeout=120
        )
        assert added.returncode == 0, added.stderr
        extra = json.loads(added.stdout)
        assert extra["url"] == MASKED

        async def held() -> dict | None:
            reply = await admin.call("GET", f"/api/feeds/{extra['id']}")
            error = reply.body["status"]["error"] or ""
            return reply.body if "CONFERENCE_MAX_FEEDS" in error else None

        assert (await eventually(held))["status"]["state"] == "stopped"
        assert worker_pids(server) == pids
    finally:
        await remove_all_feeds(admin)


# -- 13: /metrics and /healthz -------------------------------------------------------------


async def test_metrics_need_the_token_from_anywhere_but_the_machine_itself(server, as_user):
    port = server.base_url.rsplit(":", 1)[1]
    outside = outside_address()
    # Another machine: this one's network address, or a request relayed by a proxy.
    remote_urls = [f"http://{outside}:{port}"] if outside else []
    remote_headers = [{}] if outside else []
    remote_urls.append(server.base_url)
    remote_headers.append({"X-Forwarded-For": "203.0.113.7"})

    async with aiohttp.ClientSession() as http:
        async with http.get(server.base_url + "/metrics") as local:
            assert local.status == 200  # Prometheus on the machine itself
            assert "conference_peers" in await local.text()
        for base, headers in zip(remote_urls, remote_headers, strict=True):
            async with http.get(base + "/metrics", headers=headers) as refused:
                assert refused.status == 401
                assert refused.headers["WWW-Authenticate"].startswith("Bearer")
                body = await refused.json()
                assert body["error"]["code"] == "metrics-token-required"
            wrong = {**headers, "Authorization": "Bearer " + TOKEN[:-1] + "x"}
            async with http.get(base + "/metrics", headers=wrong) as refused:
                assert refused.status == 401
            right = {**headers, "Authorization": "Bearer " + TOKEN}
            async with http.get(base + "/metrics", headers=right) as allowed:
                assert allowed.status == 200
                # The version moved here from /healthz.
                assert 'conference_build_info{version="' in await allowed.text()
            # /healthz needs nothing and says nothing but the status.
            async with http.get(base + "/healthz", headers=headers) as health:
                assert health.status == 200 and await health.json() == {"status": "ok"}

    # A logged-in administrator may read them from a browser; nobody else.
    base, headers = remote_urls[0], remote_headers[0]
    for username, expected in (("admin", 200), ("host.dinhhoa", 403), ("operator.tp", 403)):
        client = ApiClient(base)
        try:
            assert (await client.login(username, PASSWORD)).status == 200
            async with client.session.get(base + "/metrics", headers=headers) as reply:
                assert reply.status == expected, username
        finally:
            await client.close()
