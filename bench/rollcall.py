"""Roll call at national scale: thousands of sites join one meeting (signaling only).

One server, the national unit list imported, an administrator schedules one
meeting inviting whole provinces until at least N sites are invited, opens
the host console, and N simulated sites join through their own links over
the signaling socket (each gets its welcome and the server's SDP offer; none
answers, so no media flows). Reported per run:

* join throughput: sites per second from the first join to the last offer;
* how long a status change takes to reach the host console: from the site
  receiving its ``welcome`` (the server has it in the roll call) to the
  console receiving that site's row as present (p50/p95), and the same for
  leaving (a sample of sites closes its socket);
* server memory per site: growth of the server's resident memory divided by N.

The baseline, in the same run, is the same server with the large-room policy
off (``CONFERENCE_LARGE_ROOM_SITES`` = 100000): every join and leave is then
sent to every site, as a naive implementation would.

    .venv/bin/python bench/rollcall.py [--sites 2000] [--baseline-sites 500] [--no-baseline]

Progress goes to stderr, one JSON document to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.api_client import ApiClient, meeting_body  # noqa: E402
from tests.support.server import ServerProcess, start_server  # noqa: E402

NATIONAL = ROOT / "tests" / "data" / "vn-admin-units-2021-11-01.json"
PASSWORD = "mat-khau-quan-tri-bench"
CONCURRENCY = 40  # joins in flight at once


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


async def invite_provinces(admin: ApiClient, wanted: int) -> tuple[list[str], int]:
    """Whole provinces, largest first, until at least ``wanted`` sites are invited."""
    provinces = (await admin.call("GET", "/api/units")).body["units"]
    sizes = []
    for province in provinces:
        subtree = (await admin.call("GET", f"/api/units/{province['code']}/subtree")).body["units"]
        sizes.append((len(subtree), province["code"], [u["code"] for u in subtree]))
    sizes.sort(reverse=True)
    chosen: list[str] = []
    for _size, _code, codes in sizes:
        if len(chosen) >= wanted:
            break
        chosen.extend(codes)
    return chosen, len(chosen)


class ConsoleWatch:
    """The host console; notes when each site's row first shows a status."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.present_at: dict[str, float] = {}
        self.left_at: dict[str, float] = {}
        self.rows = 0
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.time()
            message = json.loads(raw.data)
            rows = []
            if message["type"] == "console":
                rows = message["state"]["sites"]
                self.rows = len(rows)
            elif message["type"] == "roll-call":
                rows = message["sites"]
            for row in rows:
                status = row["status"]
                if status in ("connecting", "connected", "poor"):
                    self.present_at.setdefault(row["site_id"], now)
                elif status == "left":
                    self.left_at.setdefault(row["site_id"], now)


class Site:
    """A simulated site: joins over the socket, takes the offer, never answers it."""

    def __init__(self, base: str, room: str, site_id: str, token: str) -> None:
        self.base, self.room, self.site_id, self.token = base, room, site_id, token
        self.sent = self.welcome = self.offer = self.closed_at = 0.0
        self.messages = 0
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None

    async def join(self, session: aiohttp.ClientSession) -> None:
        self.ws = await session.ws_connect(
            self.base.replace("http", "ws", 1) + f"/ws/{self.room}", heartbeat=None
        )
        self.sent = time.time()
        await self.ws.send_str(
            json.dumps(
                {
                    "type": "join",
                    "token": self.token,
                    "publish_audio": False,
                    "publish_video": False,
                }
            )
        )
        got_offer = asyncio.Event()

        async def read() -> None:
            assert self.ws is not None
            async for raw in self.ws:
                self.messages += 1
                kind = json.loads(raw.data)["type"]
                if kind == "welcome":
                    self.welcome = time.time()
                elif kind == "offer":
                    self.offer = time.time()
                    got_offer.set()
                elif kind == "error":
                    log(f"site {self.site_id}: {raw.data}")
                    got_offer.set()

        self.reader = asyncio.ensure_future(read())
        await asyncio.wait_for(got_offer.wait(), 120)

    async def leave(self) -> None:
        self.closed_at = time.time()
        if self.ws is not None:
            await self.ws.close()


async def run(sites_wanted: int, large_room: int, label: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-rollcall-{label}-") as tmp:
        env = {
            "CONFERENCE_LARGE_ROOM_SITES": str(large_room),
            "CONFERENCE_LOG_LEVEL": "WARNING",
            # Every simulated site is 127.0.0.1: no limit of 200 connections per address.
            "CONFERENCE_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "0",
        }
        server: ServerProcess = start_server(Path(tmp) / "data", env=env)
        try:
            imported = server.cli("units", "import", str(NATIONAL))
            assert imported.returncode == 0, imported.stderr
            server.add_user("admin", "admin", password=PASSWORD)
            admin = ApiClient(server.base_url)
            await admin.login("admin", PASSWORD)
            units, invited = await invite_provinces(admin, sites_wanted)
            host_site = units[0]
            created = await admin.call(
                "POST",
                "/api/meetings",
                meeting_body(host_site, units, start_in=0, minutes=120, title="Họp toàn quốc"),
            )
            assert created.status == 201, created.body
            meeting = created.body["meeting"]["id"]
            links = (await admin.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
            log(f"{label}: meeting {meeting} invites {len(links)} sites")
            console = ConsoleWatch(
                await admin.session.ws_connect(
                    server.base_url.replace("http", "ws", 1) + f"/ws/console/{meeting}"
                )
            )
            while console.rows == 0:
                await asyncio.sleep(0.1)

            pid = server.process.pid
            rss_before = rss_bytes(pid)
            cpu_before = cpu_seconds(pid)
            sites = [
                Site(server.base_url, meeting, link["site"]["id"], link["url"].split("token=")[1])
                for link in links[:sites_wanted]
            ]
            gate = asyncio.Semaphore(CONCURRENCY)
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:

                async def one(site: Site) -> None:
                    async with gate:
                        await site.join(session)

                started = time.time()
                await asyncio.gather(*(one(site) for site in sites))
                finished = max(site.offer for site in sites)
                cpu_joins = cpu_seconds(pid) - cpu_before
                log(f"{label}: {len(sites)} joined in {finished - started:.1f} s")
                # Let the last roll-call batch reach the console.
                deadline = time.time() + 10
                while len(console.present_at) < len(sites) and time.time() < deadline:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(2)
                rss_after = rss_bytes(pid)
                leavers = sites[:: max(1, len(sites) // 200)]
                for site in leavers:
                    await site.leave()
                deadline = time.time() + 10
                while (
                    any(s.site_id not in console.left_at for s in leavers)
                    and time.time() < deadline
                ):
                    await asyncio.sleep(0.1)
                messages_to_sites = sum(s.messages for s in sites)
                for site in sites:
                    if site.closed_at == 0:
                        await site.leave()
            present_latency = [
                (console.present_at[s.site_id] - s.welcome) * 1000
                for s in sites
                if s.site_id in console.present_at
            ]
            left_latency = [
                (console.left_at[s.site_id] - s.closed_at) * 1000
                for s in leavers
                if s.site_id in console.left_at
            ]
            join_latency = [(s.offer - s.sent) * 1000 for s in sites]
            await admin.close()
            return {
                "label": label,
                "large_room_sites": large_room,
                "sites": len(sites),
                "invited": invited,
                "join_seconds": round(finished - started, 2),
                "joins_per_second": round(len(sites) / (finished - started), 1),
                "join_to_offer_ms": {
                    "p50": percentile(join_latency, 0.5),
                    "p95": percentile(join_latency, 0.95),
                },
                "server_cpu_seconds_for_joins": round(cpu_joins, 2),
                "server_cpu_ms_per_join": round(cpu_joins / len(sites) * 1000, 2),
                "status_to_console_ms": {
                    "present": {
                        "p50": percentile(present_latency, 0.5),
                        "p95": percentile(present_latency, 0.95),
                        "seen": len(present_latency),
                    },
                    "left": {
                        "p50": percentile(left_latency, 0.5),
                        "p95": percentile(left_latency, 0.95),
                        "seen": len(left_latency),
                        "of": len(leavers),
                    },
                },
                "server_rss_mb": {
                    "before": round(rss_before / 2**20, 1),
                    "after": round(rss_after / 2**20, 1),
                },
                "server_memory_per_site_kb": round((rss_after - rss_before) / len(sites) / 1024, 1),
                "messages_to_sites": messages_to_sites,
                "messages_per_site": round(messages_to_sites / len(sites), 1),
            }
        finally:
            server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument(
        "--baseline-sites",
        type=int,
        default=500,
        help="sites for the comparison of ours and the naive broadcast (0: skip)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    runs = [await run(args.sites, 50, f"ours-{args.sites}")]
    if not args.no_baseline and args.baseline_sites:
        runs.append(await run(args.baseline_sites, 50, f"ours-{args.baseline_sites}"))
        runs.append(
            await run(args.baseline_sites, 100_000, f"naive-broadcast-{args.baseline_sites}")
        )
    result = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "method": "signaling only; sites join over the socket and take the offer without answering",
        "runs": runs,
    }
    if len(runs) == 3:
        ours, naive = runs[1], runs[2]
        result["baseline_over_ours"] = {
            "server_cpu_ms_per_join": round(
                naive["server_cpu_ms_per_join"] / ours["server_cpu_ms_per_join"], 2
            ),
            "messages_per_site": round(naive["messages_per_site"] / ours["messages_per_site"], 2),
        }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
