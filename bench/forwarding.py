"""Forwarding benchmark: one WHIP publisher, N WHEP subscribers, our SFU vs aiortc's MediaRelay.

Run by hand (it is not a test)::

    .venv/bin/python bench/forwarding.py [--n 1 10 20 40] [--seconds 20] [--no-baseline]

For every N it starts a fresh server as a subprocess (``conference serve``
through ``tests.support.server.start_server``; then ``bench/baseline_relay.py``, the
MediaRelay fan-out a plain aiortc user writes), one publisher process sending
a pre-encoded VP8 640x360@30 fps ~800 kbps clip plus Opus over WHIP, and N
WHEP subscribers spread over ceil(N/10) worker processes. Subscribers never
decode: they capture each reassembled encoded frame (SHA-1, RTP timestamp,
arrival of its last packet).

Per run it reports server CPU per forwarded RTP packet and per forwarded video
frame (``/proc/<pid>/stat`` utime+stime over the measurement window divided by
the deltas of ``conference_rtp_packets_forwarded_total`` and
``conference_video_frames_forwarded_total`` from ``/metrics``), the delivery
ratio, the byte-identical ratio, publish-to-receive latency p50/p95, the part
of it the server adds (compared with a direct publisher -> client connection
measured at the same time) and the time to first frame of a late joiner.

Progress goes to stderr; one JSON document goes to stdout at the end (and a
copy to ``bench/results/``). The encoded clip is cached in ``bench/.cache/``.
``--repeat K`` runs our server K times per N and reports the median run;
``--py-spy`` profiles it during each window. Method, caveats and the latest
results: ``docs/benchmarks.md``.

The parts are in ``bench/forwarding_parts/``, one noun a module; this script
is their command line.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support and the server's packages

# The pieces live next to this script (its folder is sys.path[0] when it runs).
from forwarding_parts.children import kill_children  # noqa: E402
from forwarding_parts.clip import load_clip  # noqa: E402
from forwarding_parts.machine import machine_info  # noqa: E402
from forwarding_parts.paths import RESULTS  # noqa: E402
from forwarding_parts.progress import log  # noqa: E402
from forwarding_parts.run import code_version, measure, median_run  # noqa: E402
from forwarding_parts.run_config import RunConfig  # noqa: E402
from forwarding_parts.server_under_test import FRAMES, PACKETS  # noqa: E402
from forwarding_parts.summary import direct_summary, ratios, targets  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for every N; print the JSON document and keep a copy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, nargs="+", default=[1, 10, 20, 40], help="subscriber counts"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window per run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the MediaRelay baseline")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds after all subscribers receive"
    )
    parser.add_argument("--per-worker", type=int, default=10, help="subscribers per client process")
    parser.add_argument(
        "--late-joiners", type=int, default=3, help="late joiners per run (median reported)"
    )
    parser.add_argument(
        "--clip-seconds", type=float, default=40.0, help="length of the encoded clip"
    )
    parser.add_argument(
        "--py-spy", action="store_true", help="profile our server with py-spy during each window"
    )
    parser.add_argument(
        "--py-spy-rate",
        type=int,
        default=250,
        help="py-spy samples per second (py-spy pauses the server for each: profiled runs' "
        "latency is not representative)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run our server this many times per N and report the median (CPU per packet)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each run, wait up to this long for other processes to go quiet",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="run again when other processes were busy during the window",
    )
    parser.add_argument(
        "--media-port",
        help="CONFERENCE_MEDIA_PORT for our server (0: one shared socket on a port the system "
        "picks; default: unset, a socket per connection)",
    )
    parser.add_argument(
        "--burner",
        action="store_true",
        help="run a busy loop per core but one during the window (the loaded machine; "
        "implies --retries 0)",
    )
    parser.add_argument(
        "--output", type=Path, help="also write the JSON here (default bench/results/)"
    )
    args = parser.parse_args(argv)

    def on_sigterm(*_: Any) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    config = RunConfig(
        seconds=args.seconds,
        warmup=args.warmup,
        tail=1.0,
        per_worker=args.per_worker,
        ready_timeout=45.0,
        py_spy=args.py_spy,
        py_spy_rate=args.py_spy_rate,
        late_joiners=args.late_joiners,
        burner=args.burner,
        media_port=args.media_port,
    )
    if args.burner:
        args.retries = 0  # the burner is the load: a busy window is the point
    context = multiprocessing.get_context("spawn")
    code_at_start = code_version()
    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    try:
        clip, clip_file = load_clip(args.clip_seconds)
        for n in args.n:
            kinds = ["sfu"] if args.no_baseline else ["sfu", "baseline"]
            for kind in kinds:
                repeats = args.repeat if kind == "sfu" else 1
                try:
                    results = [
                        measure(kind, n, config, clip, clip_file, context, args)
                        for _ in range(repeats)
                    ]
                except Exception:
                    # One broken run (a server that would not start...) should not
                    # cost the others: record it and go on.
                    log(f"{kind} N={n} failed:\n{traceback.format_exc()}")
                    kill_children()
                    runs.append(
                        {
                            "n": n,
                            "server": "sfu" if kind == "sfu" else "baseline-mediarelay",
                            "error": traceback.format_exc(limit=3),
                        }
                    )
                    continue
                result = median_run(results)
                runs.append(result)
                log(
                    f"{result['server']} N={n}: {result['cpu_us_per_packet']} us/packet "
                    f"({result['cpu_us_per_packet_exact']} by the scheduler's clock), "
                    f"{result['cpu_us_per_frame']} us/frame, "
                    f"CPU {result['server_cpu_percent']} %, "
                    f"delivery {result['delivery_ratio']}, "
                    f"identical {result['byte_identical_ratio']}, "
                    f"latency {result['latency_ms']}, added {result['latency_added_ms']}, "
                    f"late join {result['late_join_first_frame_ms']} ms, "
                    f"datagrams/wake-up {result['media_socket']['datagrams_per_wakeup']}"
                    + (f" (median of {len(results)})" if len(results) > 1 else "")
                )
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        kill_children()
        return 130
    finally:
        kill_children()

    document = {
        "machine": machine_info(),
        "code": code_at_start,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "duration_seconds": round(time.monotonic() - started, 1),
        "clip": clip.describe(),
        "method": {
            "cpu": "utime+stime of the server process (all threads) from /proc/<pid>/stat "
            "over the window",
            "packets_frames": f"deltas of {PACKETS} and {FRAMES} from /metrics "
            "over the same window",
            "warmup_seconds": config.warmup,
            "window_tail_excluded_seconds": config.tail,
            "latency": "publisher hand-over to aiortc -> arrival of the frame's last RTP "
            "packet at the subscriber (before the jitter buffer's one-frame hold; "
            "*_incl_jitter_buffer adds it)",
            "latency_added": "ours minus a direct publisher->client peer connection "
            "running at the same time",
            "frame_matching": {
                "sfu": "SHA-1 of the frame bytes",
                "baseline-mediarelay": "RTP timestamp (re-encoded)",
            },
            "subscribers_per_process": config.per_worker,
        },
        "runs": runs,
        "direct_latency_ms": direct_summary(runs),
        "ratios": ratios(runs),
        "targets": targets(runs),
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    output = args.output or RESULTS / f"forwarding-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    log(f"done in {time.monotonic() - started:.0f} s; JSON also in {output}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
