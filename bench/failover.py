"""Failover over repetitions: kill -9 a meeting's home, kill -9 a camera feed's reader.

Usage::

    .venv/bin/python bench/failover.py [--repeat 10] [--redis URL] [--part home|feed|cascade|both]

Real ``conference serve`` node processes on loopback sharing one real Redis
(a key prefix of the run's own per repetition, deleted afterwards, as the
tests do). Each repetition starts its own two nodes. Every time is seconds
from the ``kill -9``, found by polling every :data:`POLL` s; nothing is
asserted about it. Prints one JSON document.

``home``
    A meeting (Định Hóa's host, three invited units) with two headless
    Chromium sites (the tests' :data:`~tests.support.browser.FLAGS`) joined
    at node A, its home (the node whose scheduler settled it first). Once
    both pages know node B (the ``nodes`` message), A is killed. Measured
    per repetition: when A's registry record expired
    (``record_gone``), when B held the meeting's home lease
    (``lease_at_b``), when B's join page served the meeting itself instead
    of a 307 to A (``join_page_at_b``, what ``bench/nodes.py`` measures), and
    per site when its page was loaded from B (``page_at_b``) and
    ``window.conference.state === 'connected'`` again there (``connected``).
    ``lost`` compares the meeting's attendance read at A just before the
    kill with the one read at B after both sites are back: each site still
    listed, connected, and with the same first join time.
``cascade`` (not in ``both``)
    With ``CONFERENCE_CASCADE=spread``: the node carrying a site killed, then
    a meeting's home killed while another node carries sites (see
    :func:`cascade_once`).
``feed``
    A camera feed (a small local video file in the nodes' shared feed files
    folder, as ``tests/test_feed_leases.py`` uses) read by one of two nodes;
    that reader is killed. Measured: when its lease left the dead node
    (``lease_free``), when the other node held it (``lease_at_b``), when the
    other node's ``/metrics`` listed the feed (its worker process exists,
    ``worker_at_b``) and when that series said 1 (``online_at_b``: the worker
    decodes frames, i.e. the camera is being read again). ``online_at_b`` is
    the headline: it is the first moment a pass could be read again, and it
    is seen on the new reader itself, not on a status another node copies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio
from playwright.async_api import Browser, Page, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anpr_feed.manager import SYNC_SECONDS
from conference.cluster.node import HEARTBEAT_INTERVAL
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.browser import CHROMIUM, FLAGS, open_site
from tests.support.media import plain_clip
from tests.support.meetings import open_meeting
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import ServerProcess, start_server

POLL = 0.1  # seconds between two looks at Redis and the nodes' HTTP
PAGE_POLL = 0.2  # and at a page's state and address
GIVE_UP = 90.0  # a step not reached by then counts as failed (null), the run goes on
HOME_TARGET_S = 15.0  # issue 11: another instance takes the meeting over within 15 s
SITES = ("05536", "05539")  # the two Chromium sites
PROBE = "167"  # the host's own site: its token asks B's join page, it never joins
ADMIN = "admin.failover"  # reads the feed's status through B's API

Check = Callable[[], Awaitable[bool]]


async def _first_true(check: Check, start: float, interval: float = POLL) -> float | None:
    """Seconds from ``start`` (monotonic) until ``check`` is first true; None after GIVE_UP."""
    while True:
        try:
            if await check():
                return round(time.monotonic() - start, 2)
        except Exception:  # a page mid-navigation, a node not answering yet
            pass
        if time.monotonic() - start > GIVE_UP:
            return None
        await asyncio.sleep(interval)


def _summary(values: list[float | None], target: float | None = None) -> dict[str, Any]:
    """min/median/max over the repetitions that got there, all values, and failures."""
    got = [v for v in values if v is not None]
    out: dict[str, Any] = {
        "min": min(got) if got else None,
        "median": round(statistics.median(got), 2) if got else None,
        "max": max(got) if got else None,
        "all": values,
        "not_reached": len(values) - len(got),
    }
    if target is not None:
        out[f"within_{target:g}_s"] = sum(1 for v in got if v <= target)
    return out


class Nodes:
    """The nodes of one repetition, one key prefix; all stopped and the keys deleted at exit."""

    def __init__(self, redis_url: str, folder: Path, **extra_env: str) -> None:
        self.redis_url = redis_url
        self.folder = folder
        self.prefix = unique_prefix()
        self.env = {
            "CONFERENCE_REDIS_URL": redis_url,
            "CONFERENCE_REDIS_PREFIX": self.prefix,
            **extra_env,
        }
        self.started: list[ServerProcess] = []
        self.redis = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)

    async def start(self, node_id: str) -> ServerProcess:
        node = await asyncio.to_thread(
            start_server, self.folder / node_id, "--node-id", node_id, env=self.env
        )
        self.started.append(node)
        return node

    async def get(self, key: str) -> str | None:
        value = await self.redis.get(self.prefix + key)
        return value if isinstance(value, str) else None

    async def close(self) -> None:
        for node in self.started:
            await asyncio.to_thread(node.stop, signal.SIGKILL)
        await self.redis.aclose()
        await delete_prefixed(self.redis_url, self.prefix)


# -- a meeting's home killed ------------------------------------------------------------


async def _state(page: Page) -> tuple[str, str | None]:
    state = await page.evaluate("() => window.conference ? window.conference.state : null")
    return page.url, state


async def _attendance(base_url: str, meeting: str) -> dict[str, Any]:
    """The meeting's attendance as its host reads it at ``base_url``."""
    host = ApiClient(base_url)
    try:
        reply = await host.login("host.dinhhoa", PASSWORD)
        if reply.status != 200:
            raise RuntimeError(f"host login at {base_url}: {reply.status} {reply.body}")
        reply = await host.call("GET", f"/api/meetings/{meeting}/attendance")
        if reply.status != 200:
            raise RuntimeError(f"attendance at {base_url}: {reply.status} {reply.body}")
        return dict(reply.body)
    finally:
        await host.close()


def _rows(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["site_id"]: row for row in record["sites"] if row["site_id"] in SITES}


async def home_once(redis_url: str, browser: Browser) -> dict[str, Any]:
    """One repetition of the home failover (see the module docstring)."""
    pages: list[Page] = []
    with tempfile.TemporaryDirectory() as folder:
        nodes = Nodes(redis_url, Path(folder))
        try:
            started = {name: await nodes.start(name) for name in ("node-a", "node-b")}
            host, meeting, tokens = await open_meeting(started["node-a"], [PROBE, *SITES])
            await host.close()
            # Either node's scheduler makes itself (or by placement, another) the
            # meeting's home, whose room opens before any site comes (a meeting's room
            # has its id): A is that node, B the other.
            while (a_id := await nodes.get(f"home:{meeting}")) is None:
                await asyncio.sleep(POLL)
            b_id = next(name for name in started if name != a_id)
            a, b = started[a_id], started[b_id]
            # A page learns the other nodes once, from its `nodes` message after welcome,
            # and may fetch only the origins its page's CSP named when it loaded: both
            # come from A's list of live nodes, refreshed by A's heartbeat. Join only
            # once a heartbeat of A's has seen B (as tests/test_nodes.py does).
            while await nodes.get(f"node:{b_id}") is None:
                await asyncio.sleep(POLL)
            await asyncio.sleep(HEARTBEAT_INTERVAL * 1.5)
            for code in SITES:
                pages.append(
                    await open_site(browser, f"{a.base_url}/join/{meeting}?token={tokens[code]}")
                )
            joined = time.monotonic()

            async def both_saved() -> bool:
                raw = await nodes.redis.hget(nodes.prefix + "attendance", meeting)
                rows = json.loads(raw)["sites"] if isinstance(raw, str) else []
                return {r["site_id"] for r in rows if r["first_joined_at"]} >= set(SITES)

            # The home saves who came with its scheduler's next pass: kill after that, so
            # that `attendance` checks what the design keeps (a kill within ~2 s of a
            # first join loses that join; see docs/architecture.md).
            saved_after = await _first_true(both_saved, joined)
            # A page knows where to go only once a heartbeat of A's listed B (`nodes`).
            for page in pages:
                await page.wait_for_function(
                    f"() => window.conference.peers.includes('{b.base_url}')", timeout=5_000
                )
            before = await _attendance(a.base_url, meeting)
            room = before["meeting"]["room_id"]
            if await nodes.get(f"home:{room}") != a_id:
                raise RuntimeError(f"{a_id} is not the meeting's home before the kill")

            async def record_gone() -> bool:
                return await nodes.get(f"node:{a_id}") is None

            async def lease_at_b() -> bool:
                return await nodes.get(f"home:{room}") == b_id

            probe = f"{b.base_url}/join/{meeting}?token={tokens[PROBE]}"

            async def join_page_at_b() -> bool:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(probe, allow_redirects=False) as response,
                ):
                    return response.status == 200

            def at_b(page: Page, connected: bool) -> Check:
                async def check() -> bool:
                    url, state = await _state(page)
                    return url.startswith(b.base_url + "/") and (
                        not connected or state == "connected"
                    )

                return check

            # The roll call is saved by the scheduler's pass, in step with the heartbeat
            # (both every 2 s from the start): a kill right after the save would always
            # fall just after a heartbeat, the record's longest life. Any phase instead.
            await asyncio.sleep(random.uniform(0, HEARTBEAT_INTERVAL))
            since_join = round(time.monotonic() - joined, 2)
            killed = time.monotonic()
            a.process.send_signal(signal.SIGKILL)
            checks: dict[str, Check] = {
                "record_gone": record_gone,
                "lease_at_b": lease_at_b,
                "join_page_at_b": join_page_at_b,
            }
            for code, page in zip(SITES, pages, strict=True):
                checks[f"page_at_b_{code}"] = at_b(page, connected=False)
                checks[f"connected_{code}"] = at_b(page, connected=True)
            # The pages are asked less often: each look runs script in the browser.
            found = await asyncio.gather(
                *(
                    _first_true(
                        check, killed, PAGE_POLL if name.startswith(("page", "conn")) else POLL
                    )
                    for name, check in checks.items()
                )
            )
            times = dict(zip(checks, found, strict=True))
            await asyncio.to_thread(a.process.wait)

            lost: dict[str, Any] = {}
            if all(times[f"connected_{code}"] is not None for code in SITES):
                after = _rows(await _attendance(b.base_url, meeting))
                for code, row in _rows(before).items():
                    now = after.get(code) or {}
                    lost[code] = {
                        "listed_at_b": bool(now),
                        "status_at_b": now.get("status"),
                        "first_joined_at_a": row["first_joined_at"],
                        "first_joined_at_b": now.get("first_joined_at"),
                        "first_join_kept": now.get("first_joined_at") == row["first_joined_at"],
                    }
            errors = [e for page in pages for e in getattr(page, "errors", [])]
            return {
                **times,
                "roll_call_saved_s_after_joins": saved_after,
                "killed_s_after_joins": since_join,
                "attendance": lost,
                "page_errors": errors,
            }
        finally:
            for page in pages:
                with contextlib.suppress(Exception):
                    await page.context.close()
            await nodes.close()


Repetition = Callable[[str, Browser], Awaitable[dict[str, Any]]]


async def _in_browser(
    name: str, once: Repetition, redis_url: str, repeat: int
) -> list[dict[str, Any]]:
    """``repeat`` runs of ``once`` with one headless Chromium for all, each printed."""
    runs: list[dict[str, Any]] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, headless=True
        )
        try:
            for index in range(repeat):
                run = await once(redis_url, browser)
                print(f"{name} {index + 1}/{repeat}: {run}", file=sys.stderr, flush=True)
                runs.append(run)
        finally:
            await browser.close()
    return runs


async def home(redis_url: str, repeat: int) -> dict[str, Any]:
    """``repeat`` home failovers, one browser for all."""
    runs = await _in_browser("home", home_once, redis_url, repeat)
    connected = [
        max(r[f"connected_{c}"] for c in SITES)
        if all(r[f"connected_{c}"] is not None for c in SITES)
        else None
        for r in runs
    ]
    keys = [
        k
        for k in runs[0]
        if k
        not in (
            "killed_s_after_joins",
            "attendance",
            "page_errors",
            "roll_call_saved_s_after_joins",
        )
    ]
    return {
        "repetitions": repeat,
        "both_sites_connected_at_b": _summary(connected, HOME_TARGET_S),
        **{key: _summary([r[key] for r in runs]) for key in keys},
        "first_join_kept": sum(
            1 for r in runs for row in r["attendance"].values() if row["first_join_kept"]
        ),
        "sites_listed_connected_at_b": sum(
            1
            for r in runs
            for row in r["attendance"].values()
            if row["listed_at_b"] and row["status_at_b"] == "connected"
        ),
        "sites_total": repeat * len(SITES),
        "runs": runs,
    }


# -- a camera feed's reader killed ------------------------------------------------------


async def _feed_series(node: ServerProcess, feed_id: str) -> str | None:
    """The value of ``conference_feed_up`` for the feed at ``node`` (None: no worker there)."""
    async with aiohttp.ClientSession() as http, http.get(f"{node.base_url}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(f'conference_feed_up{{feed="{feed_id}"'):
            return line.rsplit(" ", 1)[1]
    return None


async def feed_once(redis_url: str) -> dict[str, Any]:
    """One repetition of the feed failover (see the module docstring)."""
    with tempfile.TemporaryDirectory() as folder:
        files = Path(folder) / "feed-files"
        files.mkdir()
        nodes = Nodes(redis_url, Path(folder), CONFERENCE_FEED_FILES_DIR=str(files))
        try:
            a = await nodes.start("node-a")
            # B's sync passes at any phase of A's (a fixed startup gap would make the wait
            # from the lease's expiry to B's next pass the same in every repetition).
            await asyncio.sleep(random.uniform(0, SYNC_SECONDS))
            by_id = {"node-a": a, "node-b": await nodes.start("node-b")}
            clip = plain_clip(files / "plain.mp4")
            added = await asyncio.to_thread(
                by_id["node-a"].cli,
                *("feed", "add", "--name", "Làn vào", "--checkpoint", "Chốt Km 52"),
                *("--url", str(clip)),
            )
            if added.returncode != 0:
                raise RuntimeError(f"feed add: {added.stderr}")
            feed_id = added.stdout.strip()

            async def read_by_one() -> bool:
                holder = await nodes.get(f"feed:{feed_id}")
                return holder in by_id and await _feed_series(by_id[holder], feed_id) == "1"

            if await _first_true(read_by_one, time.monotonic(), 0.5) is None:
                raise RuntimeError("no node read the feed")
            dead_id = await nodes.get(f"feed:{feed_id}")
            assert dead_id is not None
            survivor_id = "node-b" if dead_id == "node-a" else "node-a"
            dead, survivor = by_id[dead_id], by_id[survivor_id]
            if await _feed_series(survivor, feed_id) is not None:
                raise RuntimeError("both nodes run the feed before the kill")
            survivor.add_user(ADMIN, "admin", password=PASSWORD)
            admin = ApiClient(survivor.base_url)
            if (await admin.login(ADMIN, PASSWORD)).status != 200:
                raise RuntimeError("admin login failed")

            async def status_at_b() -> bool:
                reply = await admin.call("GET", "/api/feeds")
                [status] = [f["status"] for f in reply.body["feeds"] if f["id"] == feed_id]
                return bool(status) and (status["state"], status["node"]) == ("online", survivor_id)

            async def lease_free() -> bool:
                return await nodes.get(f"feed:{feed_id}") != dead_id

            async def lease_at_b() -> bool:
                return await nodes.get(f"feed:{feed_id}") == survivor_id

            async def worker_at_b() -> bool:
                return await _feed_series(survivor, feed_id) is not None

            async def online_at_b() -> bool:
                return await _feed_series(survivor, feed_id) == "1"

            # Any phase of the dead node's lease renewals (every sync pass).
            await asyncio.sleep(random.uniform(0, SYNC_SECONDS))
            killed = time.monotonic()
            dead.process.send_signal(signal.SIGKILL)
            checks: dict[str, Check] = {
                "lease_free": lease_free,
                "lease_at_b": lease_at_b,
                "worker_at_b": worker_at_b,
                "online_at_b": online_at_b,
                "status_online_at_b": status_at_b,
            }
            try:
                found = await asyncio.gather(*(_first_true(c, killed) for c in checks.values()))
            finally:
                await admin.close()
            await asyncio.to_thread(dead.process.wait)
            return {**dict(zip(checks, found, strict=True)), "killed": dead_id}
        finally:
            await nodes.close()


async def feed(redis_url: str, repeat: int) -> dict[str, Any]:
    """``repeat`` feed failovers."""
    runs = []
    for index in range(repeat):
        run = await feed_once(redis_url)
        print(f"feed {index + 1}/{repeat}: {run}", file=sys.stderr, flush=True)
        runs.append(run)
    keys = ("lease_free", "lease_at_b", "worker_at_b", "online_at_b", "status_online_at_b")
    return {
        "repetitions": repeat,
        **{key: _summary([r[key] for r in runs]) for key in keys},
        "runs": runs,
    }


# -- a meeting spread over two nodes (the cascade) -------------------------------------------


async def cascade_once(redis_url: str, browser: Browser) -> dict[str, Any]:
    """One repetition with ``CONFERENCE_CASCADE=spread``: kill the carrier, then the home.

    Two nodes: the meeting's home H (its scheduler's choice) and the carrier C.
    First one Chromium site at C and one at H, and C is killed:
    ``site_at_home`` is when C's site's page is connected at H (it asked H
    where its meeting is). Then, with two new nodes, two Chromium sites at C,
    and H is killed: ``lease_at_carrier`` is when C holds the meeting's lease
    (C's copy becomes the home), and ``carrier_sites_stayed`` whether both
    pages were still at C and connected then (they never had to move).
    """
    return {
        **await _spread_kill(redis_url, browser, "carrier"),
        **await _spread_kill(redis_url, browser, "home"),
    }


async def _spread_kill(redis_url: str, browser: Browser, kill: str) -> dict[str, Any]:
    """Two spread nodes, Chromium sites, ``kill`` ("carrier" or "home") killed: what was seen."""
    out: dict[str, Any] = {}
    pages: list[Page] = []
    with tempfile.TemporaryDirectory() as folder:
        nodes = Nodes(redis_url, Path(folder), CONFERENCE_CASCADE="spread")
        try:
            started = {name: await nodes.start(name) for name in ("node-a", "node-b")}
            host, meeting, tokens = await open_meeting(started["node-a"], [PROBE, *SITES])
            await host.close()
            while (h_id := await nodes.get(f"home:{meeting}")) is None:
                await asyncio.sleep(POLL)
            c_id = next(name for name in started if name != h_id)
            h, c = started[h_id], started[c_id]
            while await nodes.get(f"node:{c_id}") is None:
                await asyncio.sleep(POLL)
            await asyncio.sleep(HEARTBEAT_INTERVAL * 1.5)  # each node lists the other
            at = {"carrier": {SITES[0]: c, SITES[1]: h}, "home": {SITES[0]: c, SITES[1]: c}}
            for code, node in at[kill].items():
                pages.append(
                    await open_site(browser, f"{node.base_url}/join/{meeting}?token={tokens[code]}")
                )
            for page in pages:
                await page.wait_for_function(
                    "() => window.conference.peers.length === 1", timeout=10_000
                )
            await asyncio.sleep(random.uniform(1.0, 1.0 + HEARTBEAT_INTERVAL))
            killed = time.monotonic()
            if kill == "carrier":
                c.process.send_signal(signal.SIGKILL)
                page = pages[0]

                async def at_home() -> bool:
                    url, state = await _state(page)
                    return url.startswith(h.base_url + "/") and state == "connected"

                out["site_at_home"] = await _first_true(at_home, killed, PAGE_POLL)
                await asyncio.to_thread(c.process.wait)
            else:
                h.process.send_signal(signal.SIGKILL)

                async def lease_at_carrier() -> bool:
                    return await nodes.get(f"home:{meeting}") == c_id

                out["lease_at_carrier"] = await _first_true(lease_at_carrier, killed)
                states = [await _state(page) for page in pages]
                out["carrier_sites_stayed"] = all(
                    url.startswith(c.base_url + "/") and state == "connected"
                    for url, state in states
                )
                await asyncio.to_thread(h.process.wait)
            out[f"page_errors_{kill}"] = [e for page in pages for e in getattr(page, "errors", [])]
        finally:
            for page in pages:
                with contextlib.suppress(Exception):
                    await page.context.close()
            await nodes.close()
    return out


async def cascade(redis_url: str, repeat: int) -> dict[str, Any]:
    """``repeat`` repetitions of :func:`cascade_once`, one browser for all."""
    runs = await _in_browser("cascade", cascade_once, redis_url, repeat)
    return {
        "repetitions": repeat,
        "carrier_killed_site_at_home": _summary([r["site_at_home"] for r in runs], 10.0),
        "home_killed_lease_at_carrier": _summary(
            [r["lease_at_carrier"] for r in runs], HOME_TARGET_S
        ),
        "home_killed_carrier_sites_stayed": sum(1 for r in runs if r["carrier_sites_stayed"]),
        "runs": runs,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--part", choices=("home", "feed", "cascade", "both"), default="both")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    # SIGTERM (a timeout, an operator) cancels the run so that every `finally` kills the
    # nodes and deletes the keys; SIGINT does the same through KeyboardInterrupt.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if args.part in ("home", "both"):
        result["home_killed"] = await home(args.redis, args.repeat)
    if args.part in ("feed", "both"):
        result["feed_moved"] = await feed(args.redis, args.repeat)
    if args.part == "cascade":
        result["cascade"] = await cascade(args.redis, args.repeat)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
