"""Join tokens have one spelling and stay out of sight; the data directory is the service's own.

Issue 8, items 14 and 15: the SQLite file (with raw session ids) and the
recordings were world-readable; a signature with ``!!~`` inserted still
verified (lenient base64); join tokens stayed in the address bar and the
history; and the first-start banner printed a 12-hour host link.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser
from yarl import URL

from anpr_feed.manager import FeedManager
from conference.keys import load_or_create_secret
from conference.store import Login, SqliteStore, Store, User, login_key
from conference.store.base import AccountRole
from conference.store.sqlite.migrations import MIGRATIONS, Migration
from conference.tls import ensure_self_signed
from conference.tokens import TokenError, issue_token, verify_token
from recorder.manifest import read_manifest
from tests.support.api_client import ApiClient, meeting_body
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess, free_port, server_env, start_server
from tests.support.waiting import wait_until

PASSWORD = "mat-khau-kiem-thu"
SECRET = b"k" * 40


# -- strict token decoding -----------------------------------------------------------------


def _tampered(token: str) -> dict[str, str]:
    """Spellings of ``token`` that a lenient base64 decoder reads as the same signature."""
    header, payload, signature = token.split(".")
    last = signature[-1]
    # 32 bytes are 43 characters; the last one carries 4 bits and 2 unused ones.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(last)
    twin = alphabet[value ^ 0b01]  # differs only in an unused bit
    return {
        "junk inside": f"{header}.{payload}.{signature[:10]}!!~{signature[10:]}",
        "junk at the end": f"{header}.{payload}.{signature}~",
        "padding": f"{header}.{payload}.{signature}=",
        "space": f"{header}.{payload}.{signature[:5]} {signature[5:]}",
        "newline": f"{header}.{payload}.{signature}\n",
        "unused bits": f"{header}.{payload}.{signature[:-1]}{twin}",
        "standard alphabet": f"{header}.{payload}."
        + signature.replace("-", "+").replace("_", "/")
        + ("" if ("-" in signature or "_" in signature) else "+"),
    }


def _token_with_dash_or_underscore() -> str:
    while True:  # about 2 in 3 signatures have one; keep the test meaningful
        token = issue_token(SECRET, room="phong-1", name="Xã Yên Bình")
        if "-" in token.split(".")[2] or "_" in token.split(".")[2]:
            return token


TAMPERINGS = [
    "junk inside",
    "junk at the end",
    "padding",
    "space",
    "newline",
    "unused bits",
    "standard alphabet",
]


@pytest.mark.parametrize("how", TAMPERINGS)
def test_a_signature_has_one_spelling(how: str) -> None:
    token = _token_with_dash_or_underscore()
    assert verify_token(SECRET, token).room == "phong-1"
    with pytest.raises(TokenError) as refused:
        verify_token(SECRET, _tampered(token)[how])
    assert refused.value.code == "token-malformed"


def test_header_and_claims_decode_strictly_too() -> None:
    header, payload, signature = issue_token(SECRET, room="phong-1", name="Xã").split(".")
    for bad in (f"{header}=.{payload}.{signature}", f"{header}.{payload}!.{signature}"):
        with pytest.raises(TokenError):
            verify_token(SECRET, bad)


async def test_the_server_refuses_a_tampered_join_link(server: ServerProcess, room: str) -> None:
    token = server.token(room, "Xã Yên Bình")
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:10]}!!~{signature[10:]}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base_url}/join/{room}", params={"token": token}) as ok:
            assert ok.status == 200
            assert ok.headers["Referrer-Policy"] == "no-referrer"
        async with http.get(f"{server.base_url}/join/{room}", params={"token": tampered}) as bad:
            assert bad.status == 401
            assert bad.headers["Referrer-Policy"] == "no-referrer"
            assert "token-malformed" in await bad.text()
        async with http.post(
            f"{server.base_url}/whip/{room}",
            data="v=0\r\n",
            headers={"Authorization": f"Bearer {tampered}", "Content-Type": "application/sdp"},
        ) as whip:
            assert whip.status == 401


# -- the first-start banner ----------------------------------------------------------------


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_the_first_start_banner_prints_no_host_link(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "conference", "serve"),
            *("--port", str(port), "--data-dir", str(tmp_path / "data")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=server_env(),
        text=True,
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        while not any(line.startswith("Serving on") for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    tokens = re.findall(r"/join/[a-z0-9-]+\?token=([A-Za-z0-9_.-]+)", "".join(lines))
    assert len(tokens) == 3, lines
    for token in tokens:
        claims = _claims(token)
        assert claims["role"] == "participant", claims
        assert claims["exp"] - claims["iat"] <= 2 * 3600, claims
    assert any("--role host" in line for line in lines), lines


# -- the token leaves the address bar ------------------------------------------------------


@pytest.mark.browser
async def test_the_join_page_takes_the_token_out_of_the_address_bar(
    server: ServerProcess, room: str, browser: Browser
) -> None:
    token = server.token(room, "Xã Yên Bình")
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.base_url}/join/{room}?token={token}&lang=vi")
    await page.wait_for_selector("#join-button:not([disabled])")
    assert token not in page.url and "token=" not in page.url, page.url
    assert page.url.endswith(f"/join/{room}?lang=vi")
    # The page's own script still has it: it joins.
    await page.click("#join-button")
    await page.wait_for_function(
        "() => window.conference && window.conference.state === 'connected'", timeout=30_000
    )
    # A reload joins again, and the address stays clean.
    await page.reload()
    await page.wait_for_selector("#join-button:not([disabled])")
    assert "token=" not in page.url, page.url
    assert await page.evaluate("() => document.body.classList.contains('page-meeting')")
    await page.click("#join-button")
    await page.wait_for_function(
        "() => window.conference && window.conference.state === 'connected'", timeout=30_000
    )
    # Another tab with the same address gets no token from this one.
    other = await context.new_page()
    response = await other.goto(f"{server.base_url}/join/{room}")
    assert response is not None and response.status == 401
    assert "Thiếu mã tham gia" in await other.inner_text("body")
    # A link that does not work loses its token too.
    bad = await context.new_page()
    await bad.goto(f"{server.base_url}/join/{room}?token={token}x")
    await bad.wait_for_function("() => !location.search.includes('token')")
    assert not errors, errors
    await context.close()


# -- private files -------------------------------------------------------------------------


def _loose(root: Path, skip: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Everything under ``root`` (and root) that group or others may read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        if path.name in skip:
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return found


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


async def test_the_server_keeps_its_data_to_itself(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as an administrator might have made it
    server = start_server(data)
    try:
        server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
        client = ApiClient(server.base_url)
        assert (await client.login("host.dinhhoa", PASSWORD)).status == 200
        jar = client.session.cookie_jar
        cookie = jar.filter_cookies(URL(server.base_url))["conference_session"]
        await client.close()
        assert (data / "conference.sqlite3-wal").exists()  # WAL files exist while it runs
        # server.log is the test's own file, made before the server started.
        assert _loose(data, {"server.log"}) == []
        stored = b"".join(p.read_bytes() for p in data.glob("conference.sqlite3*"))
        assert cookie.value.encode() not in stored
        with sqlite3.connect(data / "conference.sqlite3") as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM logins")]
        assert ids == [sha256(cookie.value.encode()).hexdigest()]
    finally:
        server.stop()


async def test_a_recording_is_the_services_own(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    host = ApiClient(server.base_url)
    try:
        server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
        await host.login("host.dinhhoa", PASSWORD)
        created = await host.call(
            "POST", "/api/meetings", meeting_body("167", ["167", "05536"], start_in=0)
        )
        meeting = created.body["meeting"]["id"]
        links = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
        token = next(li["url"] for li in links if li["site"]["id"] == "05536").split("token=")[1]
        clips = encode_vp8(frames=120, gop=30), encode_opus(4.0)
        publisher = SignalingClient(
            server.base_url,
            meeting,
            token,
            publish={"video": PacketTrack(clips[0]), "audio": PacketTrack(clips[1])},
        )
        try:
            await publisher.connect()
            await publisher.wait_for(lambda m: m["type"] == "offer")
            reply = await host.call(
                "POST", f"/api/meetings/{meeting}/recording", {"action": "start"}
            )
            assert reply.status in (200, 201), reply.body
            root = server.data_dir / "recordings"

            def tracks_written() -> bool:
                dirs = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
                return bool(dirs) and any(
                    f.suffix in (".webm", ".mkv") and f.stat().st_size > 0
                    for f in dirs[0].iterdir()
                )

            await wait_until(tracks_written, timeout=40)
            await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "stop"})
            [directory] = [p for p in root.iterdir() if p.is_dir()]
            await wait_until(lambda: read_manifest(directory).status.value != "recording")
        finally:
            await publisher.close()
        assert _loose(server.data_dir, {"server.log"}) == []
    finally:
        await host.close()
        server.stop()


async def test_files_are_private_under_a_loose_umask(tmp_path: Path, monkeypatch) -> None:
    """The code asks for 0600/0700 itself: a library use or a test runs under any umask."""
    monkeypatch.delenv("CONFERENCE_SECRET", raising=False)
    root = tmp_path / "data"
    with umask(0o022):
        store = SqliteStore(root / "conference.sqlite3")
        await store.create_room("Phòng", "vp8")
        await store.close()
        load_or_create_secret(root)
        ensure_self_signed(root)
        manager = FeedManager(store, root)
        name = manager._save("2024-01-01", "x-plate.jpg", b"\xff\xd8jpeg")
        assert name == "2024-01-01/x-plate.jpg"
    assert sorted(p.name for p in root.iterdir()) == [
        "anpr",
        "conference.sqlite3",
        "secret.key",
        "tls",
    ]
    assert _loose(root) == []


async def test_an_existing_loose_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "data" / "conference.sqlite3"
    with umask(0o022):
        store = SqliteStore(path)
        await store.close()
    path.chmod(0o644)
    path.parent.chmod(0o755)
    store = SqliteStore(path)
    await store.close()
    assert _loose(path.parent) == []


# -- session ids are kept hashed -----------------------------------------------------------


async def test_logins_are_kept_by_the_hash_of_their_id(any_store: Store) -> None:
    await any_store.create_user(User("admin", "Quản trị", AccountRole.ADMIN, None, "scrypt$x", 1.0))
    raw = secrets.token_urlsafe(32)
    now = time.time()
    await any_store.create_login(Login(raw, "admin", "csrf-1", now, now + 600))
    login = await any_store.get_login(raw, now)
    assert login is not None and (login.id, login.csrf_token) == (raw, "csrf-1")
    assert await any_store.get_login(login_key(raw), now) is None  # the hash opens nothing
    stored = await _everything_stored(any_store)
    assert raw not in stored
    assert login_key(raw) in stored
    await any_store.delete_login(raw)
    assert await any_store.get_login(raw, now) is None


async def _everything_stored(store: Store) -> str:
    """Every key and value the engine holds, as one string."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            rows = conn.execute("SELECT * FROM logins").fetchall()
        return repr(rows) + store.path.read_bytes().decode("latin-1")
    from conference.store.redis import RedisStore

    assert isinstance(store, RedisStore)
    client = store._redis
    parts = []
    async for key in client.scan_iter(match=store.prefix + "*"):
        kind = await client.type(key)
        value = await client.get(key) if kind == "string" else await client.hgetall(key)
        parts.append(f"{key}={value!r}")
    return "\n".join(parts)


def tables_made_by(steps: list[Migration]) -> list[str]:
    """The tables the SQL steps of ``steps`` create."""
    made = []
    for step in steps:
        if isinstance(step, str):
            made += re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", step)
    return made


async def test_old_logins_are_dropped_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = SqliteStore(path)
    await store.create_user(User("admin", "Quản trị", AccountRole.ADMIN, None, "scrypt$x", 1.0))
    await store.close()
    with sqlite3.connect(path) as conn:  # a login row as an older version kept it: the raw id
        # Version 7: before logins were hashed (migration 8), and so before what came after.
        conn.execute("PRAGMA user_version = 7")
        conn.execute(
            "INSERT INTO logins VALUES ('raw-session-id', 'admin', 'c', 1, ?)", (time.time() + 600,)
        )
        # What later versions made: gone, as a version 7 file never had it (read from the
        # migrations themselves, so that a new one cannot leave its table behind here).
        for table in ["attendance", *tables_made_by(MIGRATIONS[7:])]:  # 8 is a Python step
            conn.execute(f"DROP TABLE {table}")
    store = SqliteStore(path)
    try:
        assert await store.get_login("raw-session-id", time.time()) is None
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM logins").fetchone()[0] == 0
    finally:
        await store.close()


async def test_old_redis_logins_are_swept(redis_url: str) -> None:
    from conference.store.redis import RedisStore
    from tests.support.redis_keys import delete_prefixed, unique_prefix

    prefix = unique_prefix()
    store = RedisStore(redis_url, prefix=prefix)
    try:
        await store._redis.set(prefix + "login:raw-session-id", '{"id": "raw-session-id"}')
        assert await store.get_login("raw-session-id", time.time()) is None
        assert await store._redis.exists(prefix + "login:raw-session-id") == 0
    finally:
        await store.close()
        await delete_prefixed(redis_url, prefix)


# -- recordings: the periodic manifest save waits for the disk off the event loop -----------


async def test_an_older_manifest_snapshot_never_lands_after_a_newer_one(tmp_path: Path) -> None:
    from recorder.manifest import Manifest, RecordingStatus
    from recorder.session import RoomRecorder

    manifest = Manifest(id="r1", room_id="phong", room_name="Phòng", started_at=time.time())
    recorder = RoomRecorder(tmp_path / "r1", manifest, min_free_bytes=0)
    older = recorder._snapshot()  # as the upkeep task takes it, then hands it to a thread
    await recorder.stop()  # the final manifest, written at once
    await asyncio.to_thread(recorder._write, *older)  # the thread gets to it only now
    on_disk = read_manifest(tmp_path / "r1")
    assert on_disk.status is RecordingStatus.COMPLETE and on_disk.ended_at is not None
    assert _loose(tmp_path / "r1") == []
