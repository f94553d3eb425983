"""The camera wall in Chromium: 16 live tiles, each feed encoded once for every wall and meeting.

Sixteen file feeds (one small synthetic checkpoint clip, 320x180 at 5 fps,
registered sixteen times) run real worker processes. A province host opens
a 4x4 wall from a URL; every tile must decode frames (``framesDecoded`` from
getStats, and the video's size). A second wall and a meeting then show one
of the feeds too: its worker still made one VP8 encoder, with two listeners
(the feed's one wall source, shared by both walls, and the meeting's
publisher). A wall brought into a meeting (``add-wall``) is one participant
whose composite decodes at a site in Chromium. The server's CPU with and without the wall is printed (and
recorded in docs/benchmarks.md), never asserted.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest
from playwright.async_api import Browser, Page

from tests.support import synth
from tests.support.accounts import PASSWORD, logins, start_with_accounts
from tests.support.api_client import ApiClient, meeting_body
from tests.support.browser import decoded_from, open_site, slot_stats
from tests.support.console import Console
from tests.support.feeds import FILES_ADMIN, LOCAL_CAMERAS, feed_file, register_feed
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess
from tests.support.waiting import eventually, wait_until

pytestmark = pytest.mark.browser

ACCOUNTS = {
    "host.tinh": ("host", "19"),  # the province's operations centre
    "host.dinhhoa": ("host", "167"),
    FILES_ADMIN: ("admin", None),
}
TILES = 16
CPU_SECONDS = 10.0


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "wall.mp4"
    synth.generate(path, 8, fps=5, width=320, height=180, seed=5, vehicles_per_minute=20)
    return path


@pytest.fixture
def wall_server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {**LOCAL_CAMERAS, "CONFERENCE_MAX_FEEDS_PER_UNIT": str(TILES)}
    server = start_with_accounts(tmp_path / "data", ACCOUNTS, env=env)
    yield server
    server.stop()


@pytest.fixture
async def api(wall_server: ServerProcess) -> AsyncIterator:
    async with logins(wall_server) as login:
        yield login


async def register_feeds(server: ServerProcess, admin: ApiClient, clip: Path, n: int) -> list[str]:
    """``n`` file feeds of Định Hóa district, all playing ``clip``; their ids once all run."""
    path = feed_file(server, clip)
    ids = []
    for index in range(n):
        feed = await register_feed(
            admin, path, name=f"Làn {index + 1}", unit_code="167", checkpoint=f"Chốt {index // 4}"
        )
        ids.append(str(feed["id"]))

    async def all_online() -> bool | None:
        feeds = (await admin.call("GET", "/api/feeds")).body["feeds"]
        return sum(f["status"]["state"] == "online" for f in feeds) == n or None

    await eventually(all_online, timeout=240)
    return ids


async def open_page(browser: Browser, base_url: str, username: str, path: str) -> Page:
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base_url}/login?next=/wall")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for_url("**/wall")
    await page.goto(base_url + path)
    return page


async def wait_all_decoding(page: Page, n: int, frames: int) -> None:
    """Every one of the ``n`` tiles has decoded at least ``frames`` frames."""
    await page.wait_for_function(
        """([n, frames]) => {
            const tiles = [...document.querySelectorAll('#wall .wall-tile')];
            return tiles.length === n && tiles.every((t) => Number(t.dataset.frames) >= frames);
        }""",
        arg=[n, frames],
        timeout=180_000,
        polling=1000,
    )


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds so far of the server process and of its children (the feed workers)."""
    server = psutil.Process(pid)
    own = server.cpu_times()
    children = 0.0
    for child in server.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        children += times.user + times.system
    return {"server": own.user + own.system, "workers": children}


async def cpu_share(pid: int, seconds: float) -> dict[str, float]:
    """Cores used over ``seconds`` by the server and by its workers."""
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    after, elapsed = cpu_seconds(pid), time.monotonic() - started
    return {k: round((after[k] - before[k]) / elapsed, 3) for k in before}


async def feed_status(client: ApiClient, feed_id: str) -> dict:
    return dict((await client.call("GET", f"/api/feeds/{feed_id}")).body["status"])


async def test_a_16_tile_wall_shows_every_feed_live_and_a_feed_is_encoded_once(
    wall_server: ServerProcess, browser: Browser, api, small_clip: Path
) -> None:
    admin = await api(FILES_ADMIN)
    ids = await register_feeds(wall_server, admin, small_clip, TILES)
    idle = await cpu_share(wall_server.process.pid, CPU_SECONDS)

    page = await open_page(
        browser, wall_server.base_url, "host.tinh", f"/wall?layout=16&feeds={','.join(ids)}"
    )
    await wait_all_decoding(page, TILES, 10)
    sizes = await page.eval_on_selector_all(
        "#wall .wall-tile video", "videos => videos.map((v) => [v.videoWidth, v.videoHeight])"
    )
    assert sizes == [[320, 180]] * TILES
    assert await page.locator('#wall .wall-tile[data-live="true"]').count() >= TILES - 2
    labels = await page.locator("#wall .wall-tile-label").all_inner_texts()
    assert labels[0] == "Chốt 0 – Làn 1"
    watched = await cpu_share(wall_server.process.pid, CPU_SECONDS)
    print(json.dumps({"wall_cpu_cores": {"idle": idle, "16_tiles": watched}}))

    # Saved under a name for this account, with its layout and feeds in tile order.
    await page.fill("#wall-save-name", "Trung tâm điều hành 16")
    await page.click("#wall-save")
    await page.locator("#wall-status", has_text="Đã lưu màn hình").wait_for()
    province = await api("host.tinh")
    saved = (await province.call("GET", "/api/wall/saved")).body["walls"]
    assert saved == [{"name": "Trung tâm điều hành 16", "layout": 16, "feeds": ids}]

    # Click to enlarge a tile, click again to go back.
    first = page.locator("#wall .wall-tile").first
    await first.click()
    assert await page.locator("#wall .wall-tile:visible").count() == 1
    box = await first.bounding_box()
    assert box is not None and box["width"] > 1000
    await first.click()
    assert await page.locator("#wall .wall-tile:visible").count() == TILES

    # A second wall shows the first two feeds, and a meeting shows the first feed.
    second = await open_page(
        browser, wall_server.base_url, "host.tinh", f"/wall?layout=16&feeds={ids[0]},{ids[1]}"
    )
    await wait_all_decoding(second, 2, 10)
    host = await api("host.dinhhoa")
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "05536"], start_in=0)
    )
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    links = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
    token = next(link["url"].split("token=")[1] for link in links if link["site"]["id"] == "05536")
    console = Console(
        await host.session.ws_connect(
            wall_server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
        )
    )
    viewer = SignalingClient(wall_server.base_url, meeting, token)
    camera = f"feed-{ids[0]}"
    try:
        await viewer.connect()
        await viewer.wait_for(lambda m: m["type"] == "offer")
        assert (await console.command("add-feed", ids[0]))["type"] == "result"
        assert (await console.command("spotlight", camera))["type"] == "result"
        await wait_until(lambda: viewer.current_slots().get("main") == camera, timeout=30)
        main = viewer.captures["main"]
        await wait_until(lambda: len(main.frames) >= 10, timeout=60)

        # One VP8 encoder in the feed's worker for both walls and the meeting.
        async def settled() -> dict | None:
            status = await feed_status(admin, ids[0])
            return status if status["encoded_frames"].get("vp8", 0) > 0 else None

        status = await eventually(settled, timeout=30)
        assert status["encoding"] == ["vp8"]
        assert status["encoders_made"] == 1, status
        assert status["listeners"] == {"vp8": 2}, status  # the wall source and the meeting
        assert len(status["watching"]) == 1  # the meeting's room
        for other in ids[1:]:
            assert (await feed_status(admin, other))["encoders_made"] == 1
    finally:
        await viewer.close()
        await console.close()

    # Closing the walls stops the encoding of the feeds no meeting shows.
    await page.evaluate("window.wallPage.close()")
    await second.evaluate("window.wallPage.close()")

    async def stopped() -> bool | None:
        return (await feed_status(admin, ids[5]))["encoding"] == [] or None

    await eventually(stopped, timeout=30)
    assert page.errors == [] and second.errors == []  # type: ignore[attr-defined]


async def test_a_wall_in_a_meeting_is_one_participant_that_decodes_at_a_site(
    wall_server: ServerProcess, browser: Browser, api, small_clip: Path
) -> None:
    admin = await api(FILES_ADMIN)
    ids = await register_feeds(wall_server, admin, small_clip, 4)
    other = await register_feed(admin, "rtsp://127.0.0.1:9/x", name="Làn TP", unit_code="164")
    host = await api("host.dinhhoa")
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "05536"], start_in=0)
    )
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    links = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
    path = next(link["url"] for link in links if link["site"]["id"] == "05536")
    url = path if path.startswith("http") else wall_server.base_url + path
    console = Console(
        await host.session.ws_connect(
            wall_server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
        )
    )
    try:
        site = await open_site(browser, url)
        # The host's own unit's cameras only: a wall with another district's is refused.
        refused = await console.command("add-wall", feeds=[*ids[:1], other["id"]])
        assert refused["type"] == "error" and refused["code"] == "out-of-scope", refused
        empty = await console.command("add-wall")
        assert empty["type"] == "error" and empty["code"] == "wall-empty", empty

        added = await console.command("add-wall", feeds=ids)
        assert added["type"] == "result", added
        await wait_until(lambda: any(s.startswith("wall-") for s in console.sites), timeout=20)
        walls = [s for s in console.sites if s.startswith("wall-")]
        assert len(walls) == 1
        wall = walls[0]
        assert console.sites[wall]["name"] == "Màn hình camera (4 camera)"
        assert (await console.command("spotlight", wall))["type"] == "result"

        async def decoded() -> int | None:
            return decoded_from(await slot_stats(site), wall) >= 15 or None

        await eventually(decoded, timeout=90)
        composite = await cpu_share(wall_server.process.pid, CPU_SECONDS)
        print(json.dumps({"wall_in_meeting_cpu_cores": composite}))
        # The composite is made of the workers' small pictures, asked of each feed once.
        for feed_id in ids:
            status = await feed_status(admin, feed_id)
            assert status["listeners"].get("tiles") == 1, status
        size = await site.evaluate(
            """() => { const v = [...document.querySelectorAll('video')]
                .filter((v) => v.videoWidth > 0).map((v) => [v.videoWidth, v.videoHeight]);
                return v; }"""
        )
        assert [1280, 720] in size, size

        # Out of the meeting: the feeds stop making pictures for it.
        assert (await console.command("remove-wall", wall))["type"] == "result"

        async def no_tiles() -> bool | None:
            statuses = [await feed_status(admin, f) for f in ids]
            return all("tiles" not in s["listeners"] for s in statuses) or None

        await eventually(no_tiles, timeout=30)
        assert site.errors == []  # type: ignore[attr-defined]
    finally:
        await console.close()


async def test_a_host_brings_a_saved_wall_and_ticked_cameras_in_from_the_console(
    wall_server: ServerProcess, browser: Browser, api, small_clip: Path
) -> None:
    admin = await api(FILES_ADMIN)
    ids = await register_feeds(wall_server, admin, small_clip, 4)
    host = await api("host.dinhhoa")
    body = {"name": "Cửa ngõ Định Hóa", "layout": 16, "feeds": ids}
    assert (await host.call("POST", "/api/wall/saved", body)).status == 201
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "05536"], start_in=0)
    )
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    links = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
    path = next(link["url"] for link in links if link["site"]["id"] == "05536")
    url = path if path.startswith("http") else wall_server.base_url + path

    console = await open_page(
        browser, wall_server.base_url, "host.dinhhoa", f"/meetings/{meeting}/console"
    )
    await console.wait_for_function(
        "() => window.consoleState.state === 'connected' && window.consoleState.roomLive",
        timeout=30_000,
    )
    site = await open_site(browser, url)
    assert await console.locator("#walls-empty").is_visible()

    # The picker offers the host's saved wall; one click brings it in as one participant.
    await console.click("#add-wall")
    saved = console.locator("#saved-wall-options button[data-saved-wall]")
    await saved.wait_for()
    assert "Cửa ngõ Định Hóa" in await saved.inner_text()
    assert "4 camera" in await saved.inner_text()
    await saved.click()
    listed = console.locator("#meeting-walls li.wall-item")
    await listed.wait_for(timeout=30_000)
    assert "Màn hình camera (4 camera)" in await listed.inner_text()
    assert await console.inner_text("#walls-count") == "1"
    assert "Đã đưa màn hình camera (4 camera) vào cuộc họp" in await console.inner_text(
        "#console-notice-text"
    )
    assert await console.locator("#wall-picker").is_hidden()
    wall = await listed.get_attribute("data-site-id")
    assert wall is not None and wall.startswith("wall-")
    spotlight = await console.evaluate(
        "(wall) => window.consoleState.command('spotlight', wall)", wall
    )
    assert spotlight["type"] == "result", spotlight

    async def decoded() -> int | None:
        return decoded_from(await slot_stats(site), wall) >= 15 or None

    await eventually(decoded, timeout=90)
    size = await site.evaluate(
        """() => [...document.querySelectorAll('video')]
            .filter((v) => v.videoWidth > 0).map((v) => [v.videoWidth, v.videoHeight])"""
    )
    assert [1280, 720] in size, size

    # Its remove button takes it out: the feeds stop making pictures for it.
    await console.click(f'#meeting-walls button[data-remove-wall="{wall}"]')
    await console.locator("#meeting-walls li.wall-item").wait_for(state="detached")
    assert await console.locator("#walls-empty").is_visible()
    assert "ra khỏi cuộc họp" in await console.inner_text("#console-notice-text")

    async def no_tiles() -> bool | None:
        statuses = [await feed_status(admin, f) for f in ids]
        return all("tiles" not in s["listeners"] for s in statuses) or None

    await eventually(no_tiles, timeout=30)

    # Or cameras ticked one by one, the tiles in the order of the ticks.
    await console.click("#add-wall")
    ticks = console.locator("#wall-feed-options input[data-wall-feed]")
    await ticks.first.wait_for()
    assert await ticks.count() == 4
    assert await console.locator("#wall-add-ticked").is_disabled()
    await console.check(f'#wall-feed-options input[data-wall-feed="{ids[2]}"]')
    await console.check(f'#wall-feed-options input[data-wall-feed="{ids[0]}"]')
    assert "2/36" in await console.inner_text("#wall-ticked-count")
    tiles = await console.locator("#wall-feed-options .wall-feed-tile").all_inner_texts()
    assert tiles == ["ô 2", "ô 1"]  # listed in the feeds' order, numbered in the ticks'
    await console.click("#wall-add-ticked")
    listed = console.locator("#meeting-walls li.wall-item")
    await listed.wait_for(timeout=30_000)
    assert "Màn hình camera (2 camera)" in await listed.inner_text()
    ticked = await listed.get_attribute("data-site-id")
    await console.click(f'#meeting-walls button[data-remove-wall="{ticked}"]')
    await console.locator("#meeting-walls li.wall-item").wait_for(state="detached")
    assert console.errors == [] and site.errors == []  # type: ignore[attr-defined]
