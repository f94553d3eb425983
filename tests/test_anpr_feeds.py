"""Checkpoint camera feeds end to end: registration, status, bad sources, lists, the CLI.

One server for the module; the feeds run real worker processes with the
real plate reader.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.accounts import logins, start_with_accounts
from tests.support.feeds import LOCAL_CAMERAS, feed_body
from tests.support.server import ServerProcess
from tests.support.waiting import eventually

ACCOUNTS = {
    "admin": ("admin", None),
    "host.tinh": ("host", "19"),
    "host.dinhhoa": ("host", "167"),
    "host.tp": ("host", "164"),
    "operator.dinhhoa": ("operator", "167"),
    "operator.tp": ("operator", "164"),
    "site.chochu": ("site", "05536"),
    "viewer.dinhhoa": ("viewer", "167"),
}


@pytest.fixture(scope="module")
def anpr_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_with_accounts(
        Path(tmp_path_factory.mktemp("anpr")) / "data", ACCOUNTS, env=LOCAL_CAMERAS
    )
    yield server
    server.stop()


@pytest.fixture
async def as_user(anpr_server: ServerProcess) -> AsyncIterator:
    async with logins(anpr_server) as login:
        yield login


async def test_sources_we_cannot_use_are_refused_with_a_clear_error(as_user, tmp_path):
    admin = await as_user("admin")
    reply = await admin.call("POST", "/api/feeds", feed_body("ftp://camera.local/stream"))
    assert reply.status == 400 and reply.code == "bad-source"
    assert "unsupported" in reply.body["error"]["message"]
    reply = await admin.call("POST", "/api/feeds", feed_body("missing.mp4"))  # in the folder
    assert reply.status == 400 and "no readable video file" in reply.body["error"]["message"]
    reply = await admin.call("POST", "/api/feeds", feed_body(str(tmp_path / "elsewhere.mp4")))
    assert reply.status == 400 and "feed files" in reply.body["error"]["message"]
    reply = await admin.call("POST", "/api/feeds", feed_body("  "))
    assert reply.status == 400
    reply = await admin.call("POST", "/api/feeds", feed_body("rtsp://x", unit_code="nope"))
    assert reply.status == 404
    assert (await admin.call("GET", "/api/feeds")).body["feeds"] == []


async def test_who_may_register_and_see_feeds(as_user, anpr_server):
    operator = await as_user("operator.dinhhoa")
    other = await as_user("operator.tp")
    reply = await operator.call("POST", "/api/feeds", feed_body("rtsp://127.0.0.1:9/cam"))
    assert reply.status == 403 and reply.code == "unit-required"
    reply = await operator.call(
        "POST", "/api/feeds", feed_body("rtsp://127.0.0.1:9/cam", unit_code="164")
    )
    assert reply.status == 403 and reply.code == "out-of-scope"
    for username in ("site.chochu", "viewer.dinhhoa"):
        outsider = await as_user(username)
        assert (await outsider.call("GET", "/api/feeds")).status == 403
        assert (await outsider.call("GET", "/api/anpr/events?plate=20A")).status == 403

    # An unreachable camera: registered, retried, shown offline with the reason.
    created = await operator.call(
        "POST", "/api/feeds", feed_body("rtsp://127.0.0.1:9/cam", unit_code="05536")
    )
    assert created.status == 201, created.body
    feed_id = created.body["id"]

    async def offline() -> dict | None:
        feed = (await operator.call("GET", f"/api/feeds/{feed_id}")).body
        return feed if feed["status"]["state"] == "offline" else None

    feed = await eventually(offline)
    assert feed["status"]["error"] == "cannot connect to the camera"
    async with operator.session.get(anpr_server.base_url + "/metrics") as response:
        metrics = await response.text()
    assert f'conference_feed_up{{feed="{feed_id}",' in metrics

    # Another district's operator neither sees nor deletes it.
    assert [f["id"] for f in (await other.call("GET", "/api/feeds")).body["feeds"]] == []
    assert (await other.call("GET", f"/api/feeds/{feed_id}")).status == 404
    assert (await other.call("DELETE", f"/api/feeds/{feed_id}")).status == 404
    assert (await operator.call("DELETE", f"/api/feeds/{feed_id}")).status == 204
    assert (await operator.call("GET", f"/api/feeds/{feed_id}")).status == 404


async def test_watch_list_and_outbreaks_are_edited_by_supervisors(as_user):
    operator = await as_user("operator.dinhhoa")
    host = await as_user("host.tinh")
    entry = {"pattern": "30A-999.99", "reason": "Khai báo sai nơi đi"}
    assert (await operator.call("POST", "/api/anpr/watchlist", entry)).status == 403
    created = await host.call("POST", "/api/anpr/watchlist", entry)
    assert created.status == 201 and created.body["pattern"] == "30A99999"
    assert (await host.call("POST", "/api/anpr/watchlist", entry)).status == 409
    bad = await host.call("POST", "/api/anpr/watchlist", {"pattern": "**", "reason": "x"})
    assert bad.status == 400 and bad.code == "bad-pattern"
    listed = (await operator.call("GET", "/api/anpr/watchlist")).body["entries"]
    assert [e["pattern"] for e in listed] == ["30A99999"]

    async def upload(data: bytes, content_type: str) -> tuple[int, dict]:
        async with host.session.post(
            host.base_url + "/api/anpr/watchlist/upload",
            data=data,
            headers={"X-CSRF-Token": host.csrf or "", "Content-Type": content_type},
        ) as response:
            return response.status, await response.json()

    status, body = await upload(b"", "text/csv")
    assert status == 400 and body["error"]["code"] == "bad-upload"
    status, body = await upload(b"pattern,reason\n29A12345,ok\n$$$,broken\n", "text/csv")
    assert status == 400 and "line 3" in body["error"]["message"]
    status, body = await upload(b'[{"pattern": 5}]', "application/json")
    assert status == 400 and "item 1" in body["error"]["message"]
    status, body = await upload(b"{not json", "application/json")
    assert status == 400 and "malformed" in body["error"]["message"]
    listed = (await host.call("GET", "/api/anpr/watchlist")).body["entries"]
    assert len(listed) == 1  # nothing of a bad upload was taken
    status, body = await upload(
        "biển số,lý do\n29A-123.45,Xe từ vùng dịch\n30A99999,trùng\n99*,Bắc Ninh\n".encode(),
        "text/csv",
    )
    assert status == 201 and body == {"added": 2, "already_listed": 1}
    listed = (await host.call("GET", "/api/anpr/watchlist")).body["entries"]
    assert sorted(e["pattern"] for e in listed) == ["29A12345", "30A99999", "99*"]
    for item in listed:
        assert (await host.call("DELETE", f"/api/anpr/watchlist/{item['id']}")).status == 204

    outbreak = {"province_code": "99", "start": "2021-07-01", "end": "2021-07-31", "reason": "F0"}
    assert (await operator.call("POST", "/api/anpr/outbreaks", outbreak)).status == 403
    bad = await host.call("POST", "/api/anpr/outbreaks", {**outbreak, "province_code": "13"})
    assert bad.status == 400 and "province" in bad.body["error"]["message"]
    bad = await host.call("POST", "/api/anpr/outbreaks", {**outbreak, "end": "2021-06-01"})
    assert bad.status == 400 and bad.code == "bad-dates"
    created = await host.call("POST", "/api/anpr/outbreaks", outbreak)
    assert created.status == 201 and created.body["province"] == "Bắc Ninh"
    again = await host.call("POST", "/api/anpr/outbreaks", {**outbreak, "reason": "lần nữa"})
    assert again.status == 409 and again.code == "conflict"  # entered twice: said, not doubled
    listed = (await operator.call("GET", "/api/anpr/outbreaks")).body["outbreaks"]
    assert [(o["province_code"], o["start"], o["end"]) for o in listed] == [
        ("99", "2021-07-01", "2021-07-31")
    ]
    assert (await host.call("DELETE", f"/api/anpr/outbreaks/{created.body['id']}")).status == 204
    provinces = (await operator.call("GET", "/api/anpr/provinces")).body["provinces"]
    assert {"code": "20", "name": "Thái Nguyên"} in provinces


async def test_a_listing_is_removed_by_its_unit_and_the_units_above(as_user):
    """Every checkpoint alerts on every entry, but a neighbouring district cannot remove one."""
    admin = await as_user("admin")
    province = await as_user("host.tinh")
    district = await as_user("host.dinhhoa")
    neighbour = await as_user("host.tp")
    operator = await as_user("operator.dinhhoa")

    async def removable(client, path: str, key: str) -> dict[str, bool]:
        reply = await client.call("GET", path)
        return {e.get("pattern") or e["province_code"]: e["can_remove"] for e in reply.body[key]}

    created = await district.call(
        "POST", "/api/anpr/watchlist", {"pattern": "20B11111", "reason": "xe trốn chốt"}
    )
    assert created.status == 201
    assert created.body["unit_code"] == "167" and created.body["can_remove"] is True
    assert created.body["unit"] and "Định Hóa" in created.body["unit"]
    ours = created.body["id"]
    by_admin = await admin.call("POST", "/api/anpr/watchlist", {"pattern": "29C*", "reason": "Bộ"})
    assert by_admin.status == 201 and by_admin.body["unit_code"] is None

    path = "/api/anpr/watchlist"
    assert await removable(district, path, "entries") == {"20B11111": True, "29C*": False}
    assert await removable(neighbour, path, "entries") == {"20B11111": False, "29C*": False}
    assert await removable(province, path, "entries") == {"20B11111": True, "29C*": False}
    assert await removable(operator, path, "entries") == {"20B11111": False, "29C*": False}
    assert await removable(admin, path, "entries") == {"20B11111": True, "29C*": True}

    refused = await neighbour.call("DELETE", f"{path}/{ours}")
    assert refused.status == 403 and refused.code == "out-of-scope"
    assert (await province.call("DELETE", f"{path}/{by_admin.body['id']}")).status == 403
    assert {e["pattern"] for e in (await operator.call("GET", path)).body["entries"]} == {
        "20B11111",
        "29C*",
    }
    assert (await province.call("DELETE", f"{path}/{ours}")).status == 204  # the unit above
    assert (await admin.call("DELETE", f"{path}/{by_admin.body['id']}")).status == 204
    assert (await admin.call("DELETE", f"{path}/{ours}")).status == 404

    outbreak = {"province_code": "98", "start": "2021-08-01", "end": "2021-08-31", "reason": "F0"}
    marked = await district.call("POST", "/api/anpr/outbreaks", outbreak)
    assert marked.status == 201 and marked.body["unit_code"] == "167"
    refused = await neighbour.call("DELETE", f"/api/anpr/outbreaks/{marked.body['id']}")
    assert refused.status == 403 and refused.code == "out-of-scope"
    assert await removable(neighbour, "/api/anpr/outbreaks", "outbreaks") == {"98": False}
    assert (await district.call("DELETE", f"/api/anpr/outbreaks/{marked.body['id']}")).status == 204


def test_feed_cli_add_list_remove(anpr_server, tmp_path):
    refused = anpr_server.cli(
        "feed", "add", "--name", "Cam", "--checkpoint", "Chốt 1", "--url", "udp://1.2.3.4:5"
    )
    assert refused.returncode == 2 and "unsupported source" in refused.stderr
    added = anpr_server.cli(
        "feed",
        "add",
        "--name",
        "Cổng 2",
        "--checkpoint",
        "Chốt Sơn Cẩm",
        "--url",
        "rtsp://127.0.0.1:9/cli",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    feed = json.loads(added.stdout)
    assert feed["checkpoint"] == "Chốt Sơn Cẩm" and feed["url"] == "rtsp://127.0.0.1:9/cli"

    def listed() -> dict:
        result = anpr_server.cli("feed", "list", "--json")
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        return next(r for r in rows if r["id"] == feed["id"])

    # The running server picks the new feed up and reports its status back.
    import time

    deadline = time.monotonic() + 40
    while listed()["state"] != "offline":
        assert time.monotonic() < deadline, listed()
        time.sleep(0.5)
    assert listed()["status"]["error"] == "cannot connect to the camera"
    plain = anpr_server.cli("feed", "list")
    assert feed["id"] in plain.stdout and "offline" in plain.stdout
    removed = anpr_server.cli("feed", "remove", feed["id"])
    assert removed.returncode == 0
    assert feed["id"] not in anpr_server.cli("feed", "list").stdout
    missing = anpr_server.cli("feed", "remove", feed["id"])
    assert missing.returncode == 2
