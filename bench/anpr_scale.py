"""Feeds per core: many checkpoint feeds in one process, with the gate and without.

Usage::

    flock /tmp/heavy.lock .venv/bin/python bench/anpr_scale.py [--feeds 4] [--seconds 48]
        [--modes baseline,gated,gated-watched] [--cache DIR] [--out FILE]

Each feed is a synthetic 720p25 checkpoint clip (:mod:`tests.support.synth`,
H.264) at a lane's realistic density: 15,000 vehicles a day is one every
5.8 s (10.4 a minute), and one feed in four is at the rush hour's 30 a
minute. The feeds are read in one process pinned to one core, round robin
(one frame of each feed in turn), every library single-threaded, in modes
one after the other over the same frames:

``baseline``
    today's pipeline, as the feed worker ran it while a meeting showed the
    feed: PyAV decode to BGR, :class:`anpr_feed.pipeline.Pipeline` on every
    frame, annotation and one VP8 encode (:class:`anpr_feed.encoder.FeedEncoder`);
``gated``
    the worker now, nobody watching: decode, the gate on the luma plane
    (:mod:`anpr_feed.gating`), BGR and the pipeline only on the frames the
    gate lets through, no annotation, no encode;
``gated-watched``
    the same with a viewer: every frame converted, annotated and encoded.

The reader is :class:`anpr_feed.reader.RapidOcrReader` (one thread), with no
CPU-time budget in any mode (``ocr_budget=None``, as ``conference anpr
read`` reads files): the passes then depend on the frames alone, and the
modes can be compared pass for pass. Reported per mode: CPU seconds (the
process's, ``time.process_time``) per stage and in all, media seconds, feeds
per core (media seconds / CPU seconds), CPU per vehicle, passes, vehicles of
the truth read exactly, false passes (plates of no vehicle), and for the
gated modes the vehicles the baseline read that they did not
(``vehicles_missed_vs_baseline``, target 0) and every pass on one side
only. Each feed's own CPU (the feeds take turns, so it is known) gives feeds
per core at the day's mean density and at the rush hour separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from anpr_parts.clips import FPS, Clip, ensure_clip  # noqa: E402
from anpr_parts.output import print_json  # noqa: E402

MEAN_PER_MINUTE = 15_000 / (24 * 60)  # 10.4: one vehicle every 5.8 s on average
RUSH_PER_MINUTE = 30.0
MODES = ("baseline", "gated", "gated-watched")


def feed_clips(feeds: int, seconds: float) -> list[Clip]:
    """``feeds`` clips: every fourth at the rush hour, every third of the rest at night."""
    clips = []
    for index in range(feeds):
        rush = index % 4 == 3
        night = not rush and index % 4 == 2
        per_minute = RUSH_PER_MINUTE if rush else round(MEAN_PER_MINUTE, 1)
        clips.append(Clip(41 + index, seconds, night, per_minute))
    return clips


def run_mode(mode: str, videos: list[Path], max_frames: int) -> dict[str, Any]:
    """Read every clip round robin in ``mode``; CPU per stage and every feed's passes."""
    import av
    import cv2

    from anpr_feed.encoder import FeedEncoder
    from anpr_feed.gating import GatedPipeline, small_gray
    from anpr_feed.pipeline import Pipeline, PipelineConfig
    from anpr_feed.reader import RapidOcrReader

    cv2.setNumThreads(1)
    reader = RapidOcrReader(threads=1)
    reader.warm_up()
    gated = mode != "baseline"
    watched = mode != "gated"
    config = replace(PipelineConfig(), ocr_budget=None)
    feeds = []
    for video in videos:
        container = av.open(str(video))
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # as the worker (one thread on one pinned core)
        feeds.append(
            {
                "container": container,
                "frames": container.decode(stream),
                "gated": GatedPipeline(Pipeline(reader, config), enabled=gated),
                "encoder": None,
                "passes": [],
                "n": 0,
                "cpu": 0.0,
            }
        )
    cpu = {"decode": 0.0, "gate": 0.0, "convert": 0.0, "encode": 0.0}
    started = time.process_time()
    live = list(feeds)
    while live:
        for feed in list(live):
            c0 = time.process_time()
            feed["cpu"] -= c0
            frame = next(feed["frames"], None) if feed["n"] < max_frames else None
            c1 = time.process_time()
            cpu["decode"] += c1 - c0
            if frame is None:
                feed["cpu"] += time.process_time()
                live.remove(feed)
                continue
            t = feed["n"] / FPS
            feed["n"] += 1
            small = small_gray(frame) if gated else None
            c2 = time.process_time()
            cpu["gate"] += c2 - c1
            bgr: list[Any] = []

            def to_bgr(frame: Any = frame, bgr: list[Any] = bgr) -> Any:
                if not bgr:
                    c = time.process_time()
                    bgr.append(frame.to_ndarray(format="bgr24"))
                    cpu["convert"] += time.process_time() - c
                return bgr[0]

            pipeline = feed["gated"]
            feed["passes"] += pipeline.process(small, to_bgr, t)
            if watched:
                annotated = pipeline.pipeline.annotate(to_bgr())
                c3 = time.process_time()
                if feed["encoder"] is None:
                    width, height = annotated.shape[1] & ~1, annotated.shape[0] & ~1
                    feed["encoder"] = FeedEncoder("vp8", width, height, FPS)
                feed["encoder"].encode(annotated, round(t * 90000))
                cpu["encode"] += time.process_time() - c3
            feed["cpu"] += time.process_time()
    for feed in feeds:
        feed["passes"] += feed["gated"].flush()
        feed["container"].close()
    total = time.process_time() - started
    stages: dict[str, float] = {k: round(v, 2) for k, v in cpu.items()}
    for feed in feeds:
        for stage, seconds in feed["gated"].pipeline.stats.cpu.items():
            stages[stage] = round(stages.get(stage, 0.0) + seconds, 2)
    # The gate's own decision (not its picture) is in no stage above: the rest.
    stages["other"] = round(total - sum(stages.values()), 2)
    return {
        "cpu_seconds": round(total, 2),
        "cpu_seconds_by_stage": stages,
        "feeds": [
            {
                "frames": feed["n"],
                "cpu_seconds": round(feed["cpu"], 2),
                "gate": feed["gated"].stats.as_dict(),
                "reader_calls": feed["gated"].pipeline.stats.reads,
                "passes": [
                    {
                        "plate": e.plate.normalized,
                        "start": round(e.started_at, 2),
                        "end": round(e.ended_at, 2),
                    }
                    for e in feed["passes"]
                ],
            }
            for feed in feeds
        ],
    }


def _by_density(per_feed: list[dict[str, Any]], densities: list[float]) -> dict[str, Any]:
    """Feeds per core of the feeds at the day's mean density, and of the rush-hour ones."""
    out: dict[str, Any] = {}
    for name, rush in (("mean_density", False), ("rush_hour", True)):
        rows = [
            f for f, d in zip(per_feed, densities, strict=True) if (d >= RUSH_PER_MINUTE) == rush
        ]
        cpu = sum(f["cpu_seconds"] for f in rows)
        media = sum(f["cpu_seconds"] * f["feeds_per_core"] for f in rows)
        out[f"feeds_per_core_{name}"] = round(media / cpu, 2) if cpu > 0 else None
    return out


def summarise(
    mode: str,
    result: dict[str, Any],
    truths: list[list[dict[str, Any]]],
    base: dict[str, Any],
    densities: list[float],
) -> dict[str, Any]:
    """Feeds per core, CPU per vehicle, and passes against the truth and the baseline."""
    frames = sum(f["frames"] for f in result["feeds"])
    media = frames / FPS
    cpu = result["cpu_seconds"]
    vehicles = exact = missed_vs_base = 0
    per_feed = []
    for feed, truth, base_feed in zip(result["feeds"], truths, base["feeds"], strict=True):
        seen_until = feed["frames"] / FPS
        # Vehicles whose plate was in view within the frames read.
        in_clip = [v for v in truth if v["entry"] < seen_until]
        plates = {p["plate"] for p in feed["passes"]}
        base_plates = {p["plate"] for p in base_feed["passes"]}
        vehicles += len(in_clip)
        feed_exact = sum(1 for v in in_clip if v["plate"] in plates)
        exact += feed_exact
        truth_plates = {v["plate"] for v in in_clip}
        # Vehicles the baseline read and this mode did not (the target: none).
        missing = sorted((base_plates & truth_plates) - plates)
        missed_vs_base += len(missing)
        per_feed.append(
            {
                "vehicles": len(in_clip),
                "exact": feed_exact,
                "passes": len(feed["passes"]),
                "cpu_seconds": feed["cpu_seconds"],
                "feeds_per_core": round(feed["frames"] / FPS / feed["cpu_seconds"], 2),
                "vehicles_missed_vs_baseline": missing,
                # Passes (of any plate, true or false) on one side only.
                "baseline_passes_not_here": sorted(base_plates - plates),
                "passes_not_in_baseline": sorted(plates - base_plates),
                "reader_calls": feed["reader_calls"],
                "gate": feed["gate"],
            }
        )
    return {
        "mode": mode,
        "feeds": len(result["feeds"]),
        "media_seconds": round(media, 1),
        "cpu_seconds": cpu,
        "feeds_per_core": round(media / cpu, 2) if cpu > 0 else None,
        "cpu_ms_per_frame": round(cpu * 1000 / max(frames, 1), 2),
        "cpu_seconds_per_vehicle": round(cpu / max(vehicles, 1), 3),
        "vehicles": vehicles,
        "exact": exact,
        "vehicles_missed_vs_baseline": missed_vs_base,
        "false_passes": sum(
            len({p["plate"] for p in f["passes"]} - {v["plate"] for v in t})
            for f, t in zip(result["feeds"], truths, strict=True)
        ),
        **_by_density(per_feed, densities),
        "cpu_seconds_by_stage": result["cpu_seconds_by_stage"],
        "per_feed": per_feed,
    }


def _spread(values: list[float]) -> dict[str, float] | None:
    """Least, median and most of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    return {
        "min": round(ordered[0], 2),
        "median": round(ordered[len(ordered) // 2], 2),
        "max": round(ordered[-1], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Generate the clips (cached), run every mode in a pinned child each, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=48.0, help="length of each clip")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "anpr-bench-clips"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--videos", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    max_frames = round(args.seconds * FPS)
    if args.child:
        videos = [Path(v) for v in args.videos.split(",")]
        print(json.dumps(run_mode(args.child, videos, max_frames)))
        return 0
    started = time.monotonic()
    clips = feed_clips(args.feeds, args.seconds)
    made = [ensure_clip(clip, args.cache) for clip in clips]
    videos = ",".join(str(video) for video, _ in made)
    truths = [truth for _, truth in made]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "baseline" not in modes:
        modes.insert(0, "baseline")  # the others are compared with it
    results: dict[str, dict[str, Any]] = {}
    for mode in modes:
        # A child per mode, pinned to one core: each mode starts from a cold process,
        # and the CPU it reports is one core's.
        command = [sys.executable, __file__, "--child", mode, "--videos", videos]
        command += ["--seconds", str(args.seconds)]
        if os.path.exists("/usr/bin/taskset"):
            command = ["taskset", "-c", "0", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        results[mode] = json.loads(done.stdout)
    base = results["baseline"]
    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "clips": [
            {"name": c.name, "per_minute": c.per_minute, "night": c.night, "vehicles": len(t)}
            for c, t in zip(clips, truths, strict=True)
        ],
        "frames_per_feed": max_frames,
        # How long a plate is in the picture: what skipping frames (keyframes only) would risk.
        "plate_in_view_seconds": _spread([v["exit"] - v["entry"] for t in truths for v in t]),
        "modes": {
            mode: summarise(mode, r, truths, base, [c.per_minute for c in clips])
            for mode, r in results.items()
        },
        "target": "feeds_per_core >= 8 with vehicles_missed_vs_baseline == 0",
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    print_json(out, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
