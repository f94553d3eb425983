"""Issue 11: one meeting over several workers (nodes) of this machine, against one.

    python bench/cascade.py [--part 1|2|3|all] [--redis URL] [--sites 190] [--seconds 20]
                            [--publishers 4] [--subscribers 4,16] [--national-sites 2000]
                            [--national-nodes 4]

Every part compares, in the same run, the cascade (``conference serve
--workers N``: N nodes in one cluster, a meeting's sites served where their
socket arrived, media relayed between the nodes once per stream per link)
with the same load on one node. Redis is the one at ``--redis``, under a key
prefix of each run's own (deleted at the end).

1. The province profile (``bench/sites.py --sites 190 --profile province``)
   with ``--workers 2`` against ``--workers 1``: server CPU per site (every
   worker process), delivery, added latency, rooms seen (1: one meeting) and
   how the sites split over the workers (the kernel gives each connection on
   the shared port to one worker).
2. The relay's cost: K sites at node A (the speaker and the first sites), M at
   node B (``--place split:K``), for each M of ``--subscribers``, against the
   same K + M sites all at node A (``--place node:0``; B idle). Reported: bytes
   and media packets on the link each way (from each node's /metrics) against
   what the sites at the sending node published (the most the link should
   carry: each stream at most once), the bytes per relayed packet, and the
   extra server CPU per relayed packet (both ends) against the one-node run.
3. Signaling and roll call at national scale (``bench/rollcall.py``'s sites:
   they join over the socket and take the offer without answering, so no
   media flows): N sites of a scheduled meeting over ``--national-nodes``
   workers against one: join time, server CPU and memory (summed over the
   workers), the roll call the host console sees (it lists every site
   present), and errors.

Heavy: run it under ``flock /tmp/heavy.lock``. Progress goes to stderr; stdout
is one JSON document. Results: docs/benchmarks.md, "Issue 11: the cascade".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from forwarding_parts.cpu import tree_cpu_seconds  # noqa: E402
from forwarding_parts.progress import log  # noqa: E402
from sites_parts.nodes_report import room_participants  # noqa: E402
from sites_parts.target import read_metrics  # noqa: E402

# What part 1 keeps of each bench/sites.py run.
PART1_KEYS = (
    "sites",
    "sites_joined",
    "sites_lost",
    "sites_redirected",
    "rooms_seen",
    "rooms_open_summed",
    "server_nodes",
    "server_cpu_ms_per_site_per_s",
    "server_cpu_percent_of_core",
    "server_packets_received_per_s",
    "server_packets_forwarded_per_s",
    "server_cpu_us_per_forwarded_packet",
    "delivery_min",
    "delivery_mean",
    "sites_below_delivery_target",
    "added_latency_p50_ms",
    "added_latency_p95_ms",
    "server_fanout_p50_ms",
    "server_fanout_p95_ms",
    "server_fanout_p99_ms",
    "server_loop_wait_p50_ms",
    "server_loop_wait_p95_ms",
    "server_loop_stalls",
    "byte_identical_ratio",
    "new_speaker_video_s",
    "relay_remote_sites",
    "relay_links",
    "relay_streams_exported",
    "relay_kbps",
    "relay_media_received_per_s",
    "relay_media_sent",
    "relay_dropped",
    "delivery_loss_breakdown",
    "delivery_worst_sites",
    "simulator_cpu_percent_of_core",
    "other_processes_cpu_percent",
    "udp_receive_buffer_drops",
    "site_errors",
    "window_s",
    "layers_sent",
    "layers_received_by_checking_sites",
    "downlink_kbps_p50",
    "server_keyframe_requests",
)


def sites_run(redis: str, workers: int, sites: int, seconds: float, *extra: str) -> dict[str, Any]:
    """One bench/sites.py run against its own ``serve --workers N``; its JSON."""
    command = [
        sys.executable,
        str(BENCH / "sites.py"),
        "--sites",
        str(sites),
        "--profile",
        "province",
        "--seconds",
        str(seconds),
        "--serve-args",
        f"--workers {workers} --redis {redis}",
        *extra,
    ]
    log("running " + shlex.join(command[1:]))
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"failed": f"exit {done.returncode}", "command": shlex.join(command[1:])}
    result: dict[str, Any] = json.loads(lines[-1])
    result["command"] = "bench/" + shlex.join(command[1:])[len(str(BENCH)) + 1 :]
    return result


def _part1_view(result: dict[str, Any]) -> dict[str, Any]:
    if "failed" in result:
        return result
    view = {key: result.get(key) for key in PART1_KEYS}
    view["command"] = result["command"]
    view["server_log_problem_lines"] = result["server_log"].get("problem_lines")
    view["nodes"] = [
        {
            k: n.get(k)
            for k in (
                "sites_here",
                "remote_sites",
                "room_participants",
                "cpu_percent_of_core",
                "relay_media_sent",
                "relay_media_received",
                "relay_dropped",
            )
        }
        for n in result["nodes"]
    ]
    return view


def part1(args: argparse.Namespace) -> dict[str, Any]:
    """The province profile on two workers against one."""
    extra = ("--per-worker", "32")  # as the earlier 190-site runs in docs/benchmarks.md
    one = _part1_view(sites_run(args.redis, 1, args.sites, args.seconds, *extra))
    two = _part1_view(sites_run(args.redis, 2, args.sites, args.seconds, *extra))
    out: dict[str, Any] = {"one_worker": one, "two_workers": two}
    if "failed" not in one and "failed" not in two:
        out["two_over_one"] = {
            key: _ratio(two[key], one[key])
            for key in (
                "server_cpu_ms_per_site_per_s",
                "added_latency_p95_ms",
                "server_loop_wait_p95_ms",
            )
        }
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


def _link_view(result: dict[str, Any], publishers: int) -> dict[str, Any]:
    """Node A (the first K sites, the home) and node B: the link each way, the CPU."""
    if "failed" in result:
        return result
    window = result["window_s"]
    nodes = sorted(result["nodes"], key=lambda n: str(n["url"]))  # --place orders them so
    a = nodes[0]
    b = nodes[1] if len(nodes) > 1 else None
    view: dict[str, Any] = {
        "command": result["command"],
        "sites": result["sites"],
        "sites_joined": result["sites_joined"],
        "rooms_seen": result["rooms_seen"],
        "server_cpu_percent_of_core": result["server_cpu_percent_of_core"],
        "delivery_min": result["delivery_min"],
        "added_latency_p95_ms": result["added_latency_p95_ms"],
        "relay_streams_exported": result["relay_streams_exported"],
        "nodes": result["nodes"],
    }
    if b is None or not b["sites_here"]:
        return view  # all at node A: no link
    relayed = a["relay_media_received"] + b["relay_media_received"]
    view["link"] = {
        "a_to_b": _direction(a, b, window),
        "b_to_a": _direction(b, a, window),
        "relayed_packets_per_s": round(relayed / window),
    }
    view["publishers_at_a"] = publishers
    return view


def _direction(origin: dict[str, Any], far: dict[str, Any], window: float) -> dict[str, Any]:
    """One direction of the link against what the sites at its origin published.

    The link carries at most each stream once: at most every packet the origin's
    sites sent (``published_packets_per_s``), whatever the number of subscribers
    at the far end; the far end fans each out to its own sites.
    """
    packets = far["relay_media_received"] / window
    return {
        "streams": origin["relay_streams_exported"],
        "kbps": round(origin["relay_bytes_sent"] * 8 / window / 1000, 1),
        "packets_per_s": round(packets),
        "published_packets_per_s": origin["packets_received_per_s"],
        "published_kbps": origin["published_kbps"],
        "share_of_published": _ratio(packets, origin["packets_received_per_s"]),
        "bytes_per_packet": (
            round(origin["relay_bytes_sent"] / far["relay_media_received"])
            if far["relay_media_received"]
            else None
        ),
        "far_forwarded_per_s": far["packets_forwarded_per_s"],
    }


def part2(args: argparse.Namespace) -> dict[str, Any]:
    """K sites at node A, M at node B, against all of them at node A."""
    k = args.publishers
    runs = []
    for m in (int(x) for x in args.subscribers.split(",")):
        common = ("--no-speaker-change", "--per-worker", "10")
        split = _link_view(
            sites_run(args.redis, 2, k + m, args.seconds, "--place", f"split:{k}", *common), k
        )
        alone = _link_view(
            sites_run(args.redis, 2, k + m, args.seconds, "--place", "node:0", *common), k
        )
        entry: dict[str, Any] = {"at_a": k, "at_b": m, "split": split, "one_node": alone}
        if "link" in split and "failed" not in alone:
            extra = split["server_cpu_percent_of_core"] - alone["server_cpu_percent_of_core"]
            relayed = split["link"]["relayed_packets_per_s"]
            # CPU-% of a core is 10 ms of CPU per second: per relayed packet, both ends.
            entry["extra_server_cpu_percent_of_core"] = round(extra, 1)
            entry["extra_cpu_us_per_relayed_packet"] = (
                round(extra * 10_000 / relayed, 1) if relayed else None
            )
        runs.append(entry)
    return {"runs": runs}


async def national(sites_wanted: int, workers: int, redis: str) -> dict[str, Any]:
    """N sites of one scheduled meeting join over ``workers`` nodes; the console's roll call."""
    import aiohttp
    from rollcall import NATIONAL, PASSWORD, ConsoleWatch, Site, invite_provinces

    from tests.support.api_client import ApiClient, meeting_body
    from tests.support.redis_keys import delete_prefixed
    from tests.support.server import free_port, start_server

    prefix = f"bench-cascade-{uuid.uuid4().hex}:"
    env = {
        "CONFERENCE_REDIS_URL": redis,
        "CONFERENCE_REDIS_PREFIX": prefix,
        "CONFERENCE_LARGE_ROOM_SITES": "50",
        "CONFERENCE_LOG_LEVEL": "WARNING",
        # Every simulated site comes from 127.0.0.1: without this a node closes the
        # connections of one address beyond 200 (as behind a reverse proxy).
        "CONFERENCE_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "0",
    }
    ports = ",".join(str(free_port()) for _ in range(workers))
    label = f"{workers}-nodes"
    with tempfile.TemporaryDirectory(prefix="bench-cascade-") as tmp:
        server = start_server(
            Path(tmp) / "data",
            *("--workers", str(workers), "--redis", redis, "--worker-ports", ports),
            env=env,
        )
        admin = ApiClient(server.base_url)
        try:
            nodes = _wait_nodes(server, workers)
            imported = server.cli("units", "import", str(NATIONAL))
            assert imported.returncode == 0, imported.stderr
            server.add_user("admin", "admin", password=PASSWORD)
            await admin.login("admin", PASSWORD)
            units, invited = await invite_provinces(admin, sites_wanted)
            created = await admin.call(
                "POST",
                "/api/meetings",
                meeting_body(units[0], units, start_in=0, minutes=120, title="Họp toàn quốc"),
            )
            assert created.status == 201, created.body
            meeting = created.body["meeting"]["id"]
            links = (await admin.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
            log(f"{label}: meeting {meeting} invites {len(links)} sites over {len(nodes)} nodes")
            console = ConsoleWatch(
                await admin.session.ws_connect(
                    server.base_url.replace("http", "ws", 1) + f"/ws/console/{meeting}"
                )
            )
            while console.rows == 0:
                await asyncio.sleep(0.1)
            before = await asyncio.to_thread(_nodes_now, nodes)
            cpu_before = tree_cpu_seconds(server.process.pid)
            sites = [
                Site(server.base_url, meeting, link["site"]["id"], link["url"].split("token=")[1])
                for link in links[:sites_wanted]
            ]
            errors: list[str] = []
            gate = asyncio.Semaphore(40)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

                async def one(site: Site) -> None:
                    async with gate:
                        try:
                            await site.join(session)
                        except Exception as exc:  # counted, the others go on
                            errors.append(f"{type(exc).__name__}: {exc}")

                started = time.time()
                await asyncio.gather(*(one(site) for site in sites))
                offered = [s for s in sites if s.offer]
                finished = max((s.offer for s in offered), default=time.time())
                cpu_joins = tree_cpu_seconds(server.process.pid) - cpu_before
                log(
                    f"{label}: {len(offered)} of {len(sites)} offered in {finished - started:.1f} s"
                )
                deadline = time.time() + 20
                while len(console.present_at) < len(offered) and time.time() < deadline:
                    await asyncio.sleep(0.2)
                present = len(console.present_at)
                # Each node's copy of the room holds every site (its own and the others'
                # as remote sites) once the nodes' site lists (sent on change, and every
                # 3 s) have gone round: how long after the last offer.
                deadline = time.time() + 30
                while True:
                    after = await asyncio.to_thread(_nodes_now, nodes)
                    counts = [n["rooms"].get(meeting, 0) for n in after.values()]
                    if min(counts) >= len(offered) or time.time() > deadline:
                        break
                    await asyncio.sleep(0.5)
                copies_complete_s = (
                    round(time.time() - finished, 1) if min(counts) >= len(offered) else None
                )
                for site in sites:
                    with contextlib.suppress(OSError, aiohttp.ClientError):
                        await site.leave()
            join_ms = sorted((s.offer - s.sent) * 1000 for s in offered)
            return {
                "label": label,
                "nodes": len(nodes),
                "sites": len(sites),
                "invited": invited,
                "sites_offered": len(offered),
                "join_errors": len(errors),
                "join_error_examples": sorted(set(errors))[:3],
                "join_seconds": round(finished - started, 2),
                "joins_per_second": round(len(offered) / max(0.001, finished - started), 1),
                "join_to_offer_ms": {
                    "p50": _nearest(join_ms, 0.5),
                    "p95": _nearest(join_ms, 0.95),
                },
                "server_cpu_seconds_for_joins": round(cpu_joins, 2),
                "server_cpu_ms_per_join": round(cpu_joins / max(1, len(offered)) * 1000, 2),
                "server_rss_mb": {
                    "before": round(sum(n["rss"] for n in before.values()) / 2**20, 1),
                    "after": round(sum(n["rss"] for n in after.values()) / 2**20, 1),
                },
                "server_memory_per_site_kb": round(
                    sum(after[u]["rss"] - before[u]["rss"] for u in after) / len(sites) / 1024, 1
                ),
                "console_sites_present": present,
                "console_rows": console.rows,
                "copies_complete_after_last_offer_s": copies_complete_s,
                "per_node": [
                    {
                        "sites_here": n["sites_here"],
                        "remote_sites": n["remote_sites"],
                        "room_participants": n["rooms"].get(meeting),
                        "rss_mb": round(n["rss"] / 2**20, 1),
                    }
                    for n in after.values()
                ],
                "rooms_seen": len({r for n in after.values() for r in n["rooms"]}),
                "server_log_problems": _log_problems(server.log()),
            }
        finally:
            await admin.close()
            server.stop()
            await delete_prefixed(redis, prefix)


def _nearest(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def _wait_nodes(server: Any, count: int) -> list[str]:
    """The workers' base URLs once all have registered."""
    deadline = time.monotonic() + 30
    while True:
        listed = server.cli("nodes", "--json").stdout.splitlines()
        urls = sorted(json.loads(line)["advertise"] for line in listed)
        if len(urls) >= count or time.monotonic() > deadline:
            return urls
        time.sleep(0.5)


def _nodes_now(urls: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for url in urls:
        metrics = read_metrics(url)
        out[url] = {
            "rss": metrics.get("process_resident_memory_bytes", 0.0),
            "sites_here": int(metrics.get('conference_peers{client="browser"}', 0)),
            "remote_sites": int(metrics.get("conference_cascade_remote_sites", 0)),
            "rooms": room_participants(metrics),
        }
    return out


def _log_problems(text: str) -> dict[str, Any]:
    lines = [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
    return {"error_lines": len(lines), "examples": lines[:3]}


def part3(args: argparse.Namespace) -> dict[str, Any]:
    """National scale: N sites over several nodes against one."""
    runs = []
    for workers in (1, args.national_nodes):
        try:
            runs.append(asyncio.run(national(args.national_sites, workers, args.redis)))
        except Exception as exc:  # say what broke and go on with the other
            runs.append({"nodes": workers, "failed": f"{type(exc).__name__}: {exc}"})
            log(f"{workers} nodes: {runs[-1]['failed']}")
    return {"runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--part", choices=("1", "2", "3", "all"), default="all")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--sites", type=int, default=190, help="part 1: sites")
    parser.add_argument("--seconds", type=float, default=20.0, help="parts 1-2: window")
    parser.add_argument("--publishers", type=int, default=4, help="part 2: sites at node A")
    parser.add_argument(
        "--subscribers", default="4,16", help="part 2: sites at node B, one run per value"
    )
    parser.add_argument("--national-sites", type=int, default=2000, help="part 3: sites")
    parser.add_argument("--national-nodes", type=int, default=4, help="part 3: workers")
    args = parser.parse_args(argv)
    parts = ("1", "2", "3") if args.part == "all" else (args.part,)
    result: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "command": "bench/cascade.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
    }
    runners = {"1": part1, "2": part2, "3": part3}
    for part in parts:
        result[f"part{part}"] = runners[part](args)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
