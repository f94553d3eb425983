"""Site simulator: N simulated sites in one meeting, the server's and our own cost measured.

    python bench/sites.py --sites N --profile province [--seconds S]
                          [--url BASE_URL --server-pid PID --data-dir DIR] [--serve-args "..."]

Each simulated site is a real WebRTC peer (ICE, DTLS, SRTP) that joins over
the meeting WebSocket protocol as a browser does (docs/protocol.md), publishes
a pre-encoded VP8 640x360 30 fps clip and Opus with RFC 6464 audio levels,
and receives what the SFU sends it (main + 8 thumbnails + 3 audio slots).
Profile ``province``: site 0 speaks, every other site is silent. Most sites
only count what they receive; ``--checking`` sites (default 2) also
reassemble every VP8 frame and compare its bytes with the clip. Sites are
spread over worker processes (``--per-worker``); their CPU is measured apart
from the server's (``/proc/<pid>/stat``).

Without ``--url`` it starts its own ``conference serve`` on a scratch data
directory (``--serve-args`` passed through; with ``--redis URL`` in them, under
a key prefix of its own, deleted at the end; ``--workers N`` gets free
``--worker-ports`` unless they are given). The server's CPU is its process and
every process below it (the workers); its counters are summed over its nodes
(``conference nodes``), and ``rooms_seen`` is how many rooms the meeting is in
across them (1: one meeting). Sites follow a ``redirect`` to the meeting's
home as the page does (``sites_redirected``). ``--place`` sends sites to given
nodes (workers) instead of the public port (bench/cascade.py part 2). The JSON
has each node's sites, CPU and relay figures (``nodes``) and the relay summed
(``relay_*``). With ``--url`` it uses a running
server: ``--server-pid`` is its process (for its CPU) and ``--data-dir`` its
data directory, from which the simulator reads the token key (``secret.key``,
or ``CONFERENCE_SECRET`` from the environment as the server has it) and where
it creates the room (``conference room create``) unless ``--room`` names one.

After the window the speaker changes (site 1 speaks, site 0 falls silent) and
the time until every site receives the new speaker's video is reported.

Layers: a site answers the server's simulcast offer (``a=simulcast:recv
q;h;f``) with three pre-encoded layers (320x180, 640x360, 1280x720), each
its own SSRC with the RID extension, and obeys ``publish``; ``--no-layers``
(or an offer without simulcast) sends one 640x360 stream. ``--link
NAME=RATE,RTT,LOSS,JITTER`` puts the last ``--link-sites`` sites behind a
link emulated in user space (this kernel has no netem; sites_parts/link.py),
where they send NACK, REMB (aiortc's estimator) and PLI as a browser does.
Counting sites read their sockets on a timer tick and decrypt almost
nothing (sites_parts/receive.py); checking and linked sites decrypt all.

Progress goes to stderr; the last line of stdout is one JSON object. Method
and results: docs/benchmarks.md, "Issue 10: the site simulator and the baseline".
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support and the server's packages

from forwarding_parts.clip import FPS, load_clip  # noqa: E402
from forwarding_parts.cpu import (  # noqa: E402
    machine_busy,
    process_cpu_seconds,
    process_cpu_times,
    tree_cpu_seconds,
    wait_for_quiet,
)
from forwarding_parts.progress import log  # noqa: E402
from sites_parts.batch_receive import (  # noqa: E402
    RECEIVE_ENV,
    load_reader,
    udp_receive_buffer_drops,
)
from sites_parts.layers import load_layers  # noqa: E402
from sites_parts.link import LinkSpec  # noqa: E402
from sites_parts.receive import TICK_ENV  # noqa: E402
from sites_parts.report import Sample, speaker_change, summarise  # noqa: E402
from sites_parts.site import SiteSpec  # noqa: E402
from sites_parts.target import ServerTarget, sum_metrics  # noqa: E402
from sites_parts.worker import SiteWorker  # noqa: E402

PROFILES = ("province",)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sites", type=int, required=True, help="simulated sites (N)")
    parser.add_argument("--profile", choices=PROFILES, default="province")
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    parser.add_argument("--url", help="base URL of a running server (default: start our own)")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's process id")
    parser.add_argument(
        "--data-dir", type=Path, help="with --url: the server's data directory (token key, room)"
    )
    parser.add_argument("--room", help="an existing room id (default: create one)")
    parser.add_argument(
        "--serve-args", default="", help="extra arguments for our own `conference serve`"
    )
    parser.add_argument("--per-worker", type=int, default=20, help="sites per worker process")
    parser.add_argument("--checking", type=int, default=2, help="sites that check every frame")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before the window")
    parser.add_argument("--clip-seconds", type=float, default=10.0, help="length of the clip")
    parser.add_argument(
        "--link",
        type=LinkSpec.parse,
        help="put sites behind an emulated link NAME=RATE,RTT,LOSS,JITTER[,QUEUE] "
        "(e.g. commune=1mbit,150ms,2%%,5ms; rate and loss each way, RTT split in two)",
    )
    parser.add_argument(
        "--link-sites",
        type=int,
        help="how many sites are behind --link (default: all but the speaker and the "
        "checking sites); the last ones",
    )
    parser.add_argument(
        "--no-layers",
        action="store_true",
        help="publish one 640x360 stream even when the server offers simulcast (the baseline)",
    )
    parser.add_argument(
        "--no-speaker-change", action="store_true", help="skip the speaker change at the end"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="first wait up to this many seconds for other processes to use < 25 %% of a core",
    )
    parser.add_argument(
        "--receive",
        choices=("recvmmsg", "recvfrom"),
        default="recvmmsg",
        help="how the sites read their sockets: many datagrams per call (recvmmsg, when "
        "cffi and libc have it) or one (recvfrom)",
    )
    parser.add_argument(
        "--read-tick-ms",
        type=float,
        default=10.0,
        help="how often counting sites read their sockets (one wake-up for all of a worker's)",
    )
    parser.add_argument(
        "--place",
        default="public",
        help="which node each site joins at: public (the server's port: with --workers the "
        "kernel picks the worker), node:I (all at the I-th node, by URL), split:K (sites "
        "0..K-1 at the first node, the rest at the second), spread (round robin)",
    )
    parser.add_argument(
        "--cprofile", type=Path, help="write each worker's cProfile stats into this directory"
    )
    args = parser.parse_args(argv)
    if args.sites < 2:
        parser.error("--sites must be at least 2")
    return args


def site_specs(target: ServerTarget, args: argparse.Namespace) -> list[SiteSpec]:
    """The province profile: site 0 speaks; sites 1.. are silent; a few check frames.

    With ``--link`` the last ``--link-sites`` sites (never the speaker or a
    checking site) are behind the emulated link.
    """
    frame = 1 / FPS
    eligible = [i for i in range(args.sites) if i != 0 and not 1 <= i <= args.checking]
    count = len(eligible) if args.link_sites is None else min(args.link_sites, len(eligible))
    linked = set(eligible[len(eligible) - count :]) if args.link else set()
    return [
        SiteSpec(
            index=i,
            name=f"Điểm cầu {i:03d}",
            token=target.token(f"Điểm cầu {i:03d}", f"site-{i:03d}"),
            speaking=i == 0,
            checking=1 <= i <= args.checking,
            phase=(i * 0.381966) % 1.0 * frame,  # spread over a frame interval, like real sites
            layers=not args.no_layers,
            link=args.link if i in linked else None,
        )
        for i in range(args.sites)
    ]


def place(specs: list[SiteSpec], target: ServerTarget, how: str) -> list[SiteSpec]:
    """Give each site the node it joins at (``--place``); ``public``: none (the public URL).

    With the cascade (``--workers N``) a site is served where its socket arrives, and
    the first site (the speaker) makes its node the meeting's home.
    """
    if how == "public":
        return specs
    kind, _, number = how.partition(":")
    nodes = target.wait_for_nodes()
    if kind == "node":
        urls = [nodes[int(number)]] * len(specs)
    elif kind == "split":
        urls = [nodes[0] if s.index < int(number) else nodes[1] for s in specs]
    elif kind == "spread":
        urls = [nodes[s.index % len(nodes)] for s in specs]
    else:
        raise SystemExit(f"--place {how}: public, node:I, split:K or spread")
    log(f"sites placed ({how}) over {len(nodes)} nodes")
    return [replace(s, url=url) for s, url in zip(specs, urls, strict=True)]


def worker_groups(specs: list[SiteSpec], per_worker: int) -> list[list[SiteSpec]]:
    """Sites per worker process: the speaker, checking and linked sites first, together.

    Those decrypt everything; the counting sites get the other workers, so the
    cost of a counting site (what 190 sites mostly are) is measured apart.
    """
    special = [s for s in specs if s.index == 0 or s.checking or s.link is not None]
    counting = [s for s in specs if s not in special]
    groups = [special[i : i + per_worker] for i in range(0, len(special), per_worker)]
    chunks = max(1, math.ceil(len(counting) / per_worker)) if counting else 0
    groups += [counting[i::chunks] for i in range(chunks)]
    return groups


def sample(target: ServerTarget, workers: list[SiteWorker]) -> Sample:
    per_node = target.node_metrics()
    return Sample(
        wall=time.time(),
        server_cpu=tree_cpu_seconds(target.pid),  # with --workers: every worker too
        workers_cpu=[process_cpu_seconds(w.pid) for w in workers],
        workers_sys=[process_cpu_times(w.pid)[1] for w in workers],
        metrics=sum_metrics(per_node),
        per_node=per_node,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start everything, measure one window, stop everything; the result."""
    clip, clip_file = load_clip(args.clip_seconds)
    layers_file = None if args.no_layers else load_layers(args.clip_seconds)[1]
    background_before = wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else None
    target = ServerTarget(args)
    os.environ[RECEIVE_ENV] = args.receive  # the workers (spawned below) inherit these
    os.environ[TICK_ENV] = str(args.read_tick_ms)
    context = multiprocessing.get_context("spawn")
    specs = place(site_specs(target, args), target, args.place)
    groups = worker_groups(specs, args.per_worker)
    count = len(groups)
    workers: list[SiteWorker] = []
    try:
        workers = [
            SiteWorker(f"sites-{i}", clip_file, layers_file, context, args.cprofile)
            for i in range(count)
        ]
        log(f"{args.sites} sites in {count} worker processes, room {target.room}")
        for worker in workers:
            worker.wait_ready()
        t0 = time.time() + 1.0
        started = time.time()
        # The speaker first, so the others find it speaking; then everyone else.
        workers[0].call("join", target.base_url, target.room, groups[0][:1], t0, timeout=90)
        for worker, group in zip(workers, groups, strict=True):
            worker.send(
                "join",
                target.base_url,
                target.room,
                group[1:] if worker is workers[0] else group,
                t0,
            )
        joins = [item for w in workers for item in w.result(60 + 2 * args.sites)]
        failed = [j for j in joins if j["error"]]
        log(
            f"{len(joins) - len(failed) + 1} sites joined in {time.time() - started:.1f} s"
            + (f"; {len(failed)} failed, e.g. {failed[0]['error']}" if failed else "")
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status: dict[str, Any] = {}
            for worker in workers:
                status.update(worker.call("status"))
            waiting = [n for n, s in status.items() if not s["error"] and s["video_frames"] == 0]
            if not waiting:
                break
            time.sleep(0.5)
        else:
            log(f"{len(waiting)} sites still receive no video; going on")
        time.sleep(args.warmup)
        background = _machine_sample()
        for worker in workers:
            worker.call("mark")
        drops_before = udp_receive_buffer_drops()
        first = sample(target, workers)
        log(f"measuring {args.seconds:.0f} s")
        time.sleep(args.seconds)
        last = sample(target, workers)
        receive_buffer_drops = udp_receive_buffer_drops() - drops_before
        machine = _machine_cpu_percent(background)
        reports = [r for w in workers for r in w.call("report", timeout=120)]
        result = summarise(args.sites, first, last, reports, os.cpu_count() or 1)
        result.update(_counting_cost(groups, first, last))
        result["server_nodes"] = len(target.nodes())  # its workers, with --workers N
        # Machine-wide (any process's UDP socket): full receive buffers in the window.
        result["udp_receive_buffer_drops"] = receive_buffer_drops
        ours = result["server_cpu_percent_of_core"] + result["simulator_cpu_percent_of_core"]
        result["other_processes_cpu_percent"] = round(max(0.0, machine - ours), 1)
        result["server_saturated"] = result["server_cpu_percent_of_core"] > 90
        if not args.no_speaker_change:
            result["speaker_change"] = _change_speaker(workers, specs, reports)
            video_all = result["speaker_change"]["video_all_ms"]
            result["new_speaker_video_s"] = None if video_all is None else video_all / 1000
    finally:
        for worker in workers:
            worker.stop()
        target.stop()
    result["profile"] = args.profile
    result["layers"] = not args.no_layers
    result["simulator_receive"] = load_reader(args.receive).mode  # recvfrom if it fell back
    result["simulator_read_tick_ms"] = args.read_tick_ms
    result["link"] = args.link.describe() if args.link else None
    result["background_cpu_percent_before"] = background_before
    result["server_log"] = target.log_problems()
    result["server"] = "own" if args.url is None else args.url
    result["clip"] = {"fps": FPS, "seconds": args.clip_seconds, **_clip_rate(clip)}
    if target.scratch is not None and not result["server_log"].get("problem_lines"):
        shutil.rmtree(target.scratch, ignore_errors=True)  # keep the log when it says something
    return result


def _counting_cost(groups: list[list[SiteSpec]], first: Sample, last: Sample) -> dict[str, Any]:
    """The simulator's CPU per counting site (the workers that hold only counting sites)."""
    window = last.wall - first.wall
    counting = [
        i for i, g in enumerate(groups) if all(s.index and not s.checking and not s.link for s in g)
    ]
    sites = sum(len(groups[i]) for i in counting)
    cpu = sum(last.workers_cpu[i] - first.workers_cpu[i] for i in counting)
    return {
        "counting_sites": sites,
        "simulator_cpu_ms_per_counting_site_per_s": (
            round(cpu * 1000 / window / sites, 2) if sites else None
        ),
    }


def _change_speaker(
    workers: list[SiteWorker], specs: list[SiteSpec], reports: list[dict[str, Any]]
) -> dict[str, Any]:
    """Site 1 starts speaking, site 0 stops: how long until every site sees site 1."""
    new = specs[1].name
    new_id = next(r["id"] for r in reports if r["name"] == new)
    switched = min(w.call("speak", {specs[0].name: False, new: True}) for w in workers)
    deadline = time.monotonic() + 15
    while True:
        arrivals: dict[str, Any] = {}
        for worker in workers:
            arrivals.update(worker.call("main_arrivals", new_id))
        change = speaker_change(arrivals, switched, new)
        if change["video_all_ms"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    log(f"speaker change: every site has the new speaker's video after {change['video_all_ms']} ms")
    return change


def _clip_rate(clip: Any) -> dict[str, Any]:
    sizes = [len(p) for p in clip.video.payloads]
    return {"video_kbps": round(sum(sizes) * 8 * FPS / len(sizes) / 1000)}


def _machine_sample() -> tuple[float, float, float]:
    busy, total = machine_busy()
    return busy, total, time.time()


def _machine_cpu_percent(before: tuple[float, float, float]) -> float:
    """Percent of one core the whole machine used since ``before``."""
    busy, total = machine_busy()
    cores = os.cpu_count() or 1
    return (busy - before[0]) / max(1.0, total - before[1]) * 100 * cores


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
