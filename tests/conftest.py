"""Fixtures: a real server process on a free port, rooms and tokens for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from conference.bus import EventBus, MemoryBus
from conference.store import SqliteStore, Store
from conference.tokens import Role, issue_token

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-" + "x" * 40


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A ``conference serve`` child process and how to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)  # extra environment (e.g. the Redis engine)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``conference ARGS`` against this server's data (same store, same key)."""
        return subprocess.run(
            [sys.executable, "-m", "conference", *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            input=stdin,
            env={**server_env(), **self.env},
            timeout=120,
        )

    def add_user(
        self,
        username: str,
        role: str,
        unit: str | None = None,
        name: str | None = None,
        password: str = "mat-khau-kiem-thu",
    ) -> str:
        """Create an account with the CLI; returns its password."""
        args = ["user", "add", username, "--role", role, "--password-stdin"]
        if unit:
            args += ["--unit", unit]
        if name:
            args += ["--name", name]
        result = self.cli(*args, stdin=password + "\n")
        assert result.returncode == 0, result.stderr
        return password

    def create_room(self, name: str = "Phòng họp kiểm thử", codec: str = "vp8") -> str:
        """Create a room through the CLI, as an operator would."""
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "conference",
                "room",
                "create",
                name,
                "--codec",
                codec,
                "--data-dir",
                str(self.data_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
            env=server_env(),
        )
        return result.stdout.strip()

    def token(
        self,
        room: str,
        name: str,
        role: Role = Role.PARTICIPANT,
        ttl: timedelta = timedelta(hours=1),
        site_id: str | None = None,
        issued_at: float | None = None,
    ) -> str:
        """A token signed with the server's key (``issued_at`` in the past makes it stale)."""
        return issue_token(
            TEST_SECRET.encode(),
            room=room,
            name=name,
            role=role,
            ttl=ttl,
            site_id=site_id,
            now=issued_at,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CONFERENCE_SECRET"] = TEST_SECRET
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("CONFERENCE_REDIS_URL", None)
    return env


def start_server(
    data_dir: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None
) -> ServerProcess:
    """Start ``conference serve`` and wait until /healthz answers."""
    port = port or free_port()
    log_path = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conference",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**server_env(), **(env or {})},
        cwd=ROOT,
    )
    scheme = "https" if "--self-signed" in extra else "http"
    base_url = f"{scheme}://127.0.0.1:{port}"
    server = ServerProcess(process, base_url, data_dir, log_path, dict(env or {}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if scheme == "http":
                urllib.request.urlopen(f"{base_url}/healthz", timeout=1).read()
                return server
            import ssl

            context = ssl._create_unverified_context()
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1, context=context).read()
            return server
        except OSError:
            time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not start:\n{server.log()}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server with its own data directory."""
    proc = start_server(tmp_path / "data")
    yield proc
    proc.stop()


@pytest.fixture
def room(server: ServerProcess) -> str:
    """A VP8 room on the test server."""
    return server.create_room()


STORE_ENGINES = ["sqlite", "redis"]
BUS_ENGINES = ["memory", "redis"]


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the tests use: database 15 by default, away from other users' data.

    Fails (never skips) when no server answers, so a CI without Redis is red,
    not silently green; ``scripts/test`` starts one on 127.0.0.1:6379.
    """
    import redis

    url = os.environ.get("CONFERENCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"no Redis server answers PING at {url} ({exc}); start one "
            "(scripts/test does) or point CONFERENCE_TEST_REDIS_URL at one",
            pytrace=False,
        )
    finally:
        client.close()
    return url


def unique_prefix() -> str:
    """A key prefix of its own for one test, so tests never see each other's keys."""
    return f"test:{uuid.uuid4().hex}:"


async def delete_prefixed(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (SCAN, then DEL in batches)."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.delete(*batch)
                batch.clear()
        if batch:
            await client.delete(*batch)
    finally:
        await client.aclose()


@pytest.fixture(params=STORE_ENGINES)
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each Store engine in turn, empty."""
    if request.param == "sqlite":
        the_store: Store = SqliteStore(tmp_path / "contract.sqlite3")
        yield the_store
        await the_store.close()
    elif request.param == "redis":
        from conference.store.redis import RedisStore

        # Asked for here, not as an argument, so the SQLite half runs without Redis.
        url: str = request.getfixturevalue("redis_url")
        prefix = unique_prefix()
        the_store = RedisStore(url, prefix=prefix)
        try:
            yield the_store
        finally:
            await the_store.close()
            await delete_prefixed(url, prefix)
    else:
        raise AssertionError(request.param)


@pytest.fixture(params=BUS_ENGINES)
async def any_bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    """Each EventBus engine in turn, with no subscriber."""
    if request.param == "memory":
        the_bus: EventBus = MemoryBus()
    elif request.param == "redis":
        from conference.bus.redis import RedisBus

        the_bus = RedisBus(request.getfixturevalue("redis_url"), prefix=unique_prefix())
    else:
        raise AssertionError(request.param)
    try:
        yield the_bus
    finally:
        await the_bus.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An embedded store in a temporary directory."""
    the_store = SqliteStore(tmp_path / "store.sqlite3")
    yield the_store
    await the_store.close()


# The Chromium fixture, shared by every browser test module.
from tests.browser_support import browser  # noqa: E402, F401
