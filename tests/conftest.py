"""Fixtures: a real server and a room on it, each store and bus engine, a browser, and a
browser behind a thin link (``thin_link``, ``open_server``, ``thin_browser``).

The helpers they use live in ``tests/support/`` (server, Redis keys, media,
API clients, ...), where tests and benchmarks import them from.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from redis.asyncio import Redis

from conference import slot as slot_module
from conference.bus import EventBus, MemoryBus
from conference.cluster.registry import open_redis
from conference.media import fast_send
from conference.store import SqliteStore, Store
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.own_redis import OwnRedis
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import ServerProcess, start_server
from tests.support.thin_link import ThinLink

SERVER_LOG_LINES = 120  # of each server's log, printed under a failed test


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """A failed test shows the end of each server's log it used: a CI run keeps no files,
    and "did not connect" alone does not say why."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        if isinstance(value, ServerProcess):
            try:
                lines = value.log().splitlines()[-SERVER_LOG_LINES:]
            except OSError as exc:
                lines = [f"(log unreadable: {exc})"]
            report.sections.append((f"server log ({name}, last lines)", "\n".join(lines)))


@pytest.fixture
def stamp_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], int]], None]]:
    """Set where slots take their abs-send-time values, on the Python path and in the
    compiled fan-out alike (conference.media.fast_send); the real clock again after."""

    def use(clock: Callable[[], int]) -> None:
        monkeypatch.setattr(slot_module, "abs_send_time_now", clock)
        fast_send.set_stamp_clock(clock)

    yield use
    fast_send.set_stamp_clock(None)


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


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium for one test.

    A test that also takes ``thin_link`` names it first: this browser then starts
    after the veth's address exists, so no "network changed" reaches a join.
    """
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, headless=True
        )
        yield instance
        await instance.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[tuple[Redis, str]]:
    """An asyncio client of the test Redis and a key prefix of this test's own (deleted after)."""
    prefix = unique_prefix()
    client = open_redis(redis_url)
    try:
        yield client, prefix
    finally:
        await client.aclose(close_connection_pool=True)
        await delete_prefixed(redis_url, prefix)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A redis-server of one test's own, which the test may freeze or kill (its outages)."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = OwnRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def thin_link() -> Iterator[ThinLink]:
    """A network namespace behind a veth whose downlink can be shaped (needs root)."""
    link = ThinLink()
    yield link
    link.close()


@pytest.fixture
def open_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server listening on every address, so that the namespace reaches it over the veth."""
    server = start_server(tmp_path / "data", "--host", "0.0.0.0")
    yield server
    server.stop()


@pytest.fixture
async def thin_browser(
    thin_link: ThinLink, open_server: ServerProcess, tmp_path: Path
) -> AsyncIterator[Browser]:
    """Headless Chromium inside the thin link's namespace, for a page of ``open_server``."""
    origin = f"http://{thin_link.host_address}:{open_server.base_url.rsplit(':', 1)[1]}"
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(thin_link.chromium(tmp_path)),
            # The page is http:// on a non-loopback address: let it open the camera
            # (without this, it joins with no camera and no microphone, silently).
            args=[*FLAGS, f"--unsafely-treat-insecure-origin-as-secure={origin}"],
            headless=True,
        )
        yield instance
        await instance.close()
