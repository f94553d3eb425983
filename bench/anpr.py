"""Checkpoint-camera plate reading, end to end: accuracy, false alerts and real-time cost.

Usage::

    .venv/bin/python bench/anpr.py [--quick] [--jobs N] [--cache DIR] [--out FILE]

Prints one JSON document with three parts:

``synthetic``
    Day and night clips from :mod:`tests.support.synth` (several seeds, every
    plate layout, signs, a plate-auction billboard, truck lettering and the
    camera caption as distractors) through :class:`anpr_feed.pipeline.Pipeline`
    with the RapidOCR reader: per-vehicle exact rate, per-character accuracy
    (1 - edit distance / length, the best pass overlapping the vehicle's time
    in view), missed vehicles, false passes (plates not in the clip), duplicate
    passes. Then every pass goes through :class:`anpr_feed.watchlist.Matcher`
    with a watch list built from some true plates (exact entries, one wildcard
    entry, and the billboard's own plate-shaped number), plus an outbreak
    province: ``false_alerts`` counts alerts for vehicles that are on no list
    (target zero), ``missed_alerts`` listed vehicles that raised none.
``real_images``
    ``bench/anpr_images.py`` (labelled real photographs, read where they are)
    run as a subprocess, its JSON as it printed it; skipped with a note when
    the data folder is absent.
``realtime``
    A 720p 25 fps clip processed in a child process pinned to one core
    (``taskset -c 0``) with every library single-threaded, as the feed worker
    does it: PyAV decode to BGR, the pipeline, annotation, and one VP8 encode
    with the worker's own encoder settings. CPU milliseconds per frame per
    stage and in total against the 40 ms a frame has at 25 fps; and, in the
    same process, the naive approach for comparison: the reader on the whole
    frame (every frame, and every 5th frame).

Clips are generated once and cached (``--cache``, by default under the
system's temporary directory): generating is about 1 s of CPU per second of
video.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from anpr_images import edit_distance  # noqa: E402  (scoring shared with the image benchmark)

FPS = 25
BUDGET_MS = 1000 / FPS
REAL_DATA = Path("/work/shared/data/anpr-real-dev")
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENCV_FOR_THREADS_NUM": "1",
}


@dataclass(frozen=True)
class Clip:
    """One synthetic clip to generate and read."""

    seed: int
    seconds: float
    night: bool
    per_minute: float = 30.0

    @property
    def name(self) -> str:
        return f"{'night' if self.night else 'day'}-s{self.seed}-{self.seconds:g}s-{self.per_minute:g}pm"


FULL_CLIPS = (
    Clip(11, 40, False),
    Clip(12, 40, False),
    Clip(13, 40, False),
    Clip(21, 40, True),
    Clip(22, 40, True),
    Clip(23, 40, True),
)
QUICK_CLIPS = (Clip(11, 12, False), Clip(21, 12, True))


def char_accuracy(truth: str, read: str) -> float:
    """1 - edit distance / truth length, floored at 0 (0 for nothing read)."""
    if not read:
        return 0.0
    return max(0.0, 1.0 - edit_distance(truth, read) / max(1, len(truth)))


# ---------------------------------------------------------------------------- clips


def ensure_clip(clip: Clip, cache: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The clip's video and truth, generated on first use."""
    from tests.support import synth

    video = cache / f"{clip.name}.mp4"
    truth_file = cache / f"{clip.name}.json"
    if not (video.is_file() and truth_file.is_file() and _has_colours(truth_file)):
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{clip.name}.{os.getpid()}.mp4"
        truth = synth.generate(
            tmp,
            clip.seconds,
            fps=FPS,
            seed=clip.seed,
            night=clip.night,
            vehicles_per_minute=clip.per_minute,
        )
        rows = [
            {
                "id": v.id,
                "plate": v.plate.normalized,
                "province_code": v.plate.province_code,
                "layout": v.plate.layout,
                "colour": v.plate.colour,
                "kind": v.kind,
                "direction": v.direction,
                "entry": v.entry_frame / FPS,
                "exit": v.exit_frame / FPS,
                "readable": bool(v.full_frames),
                "max_width": v.max_plate_width,
            }
            for v in truth
        ]
        truth_file.write_text(json.dumps(rows), encoding="utf-8")
        tmp.replace(video)
    return video, json.loads(truth_file.read_text(encoding="utf-8"))


def _has_colours(truth_file: Path) -> bool:
    """Whether a cached truth file is recent enough to carry plate colours."""
    rows = json.loads(truth_file.read_text(encoding="utf-8"))
    return all("colour" in row for row in rows)


def read_clip(
    clip: Clip, cache: str, threads: int | None, budget: str = "default"
) -> dict[str, Any]:
    """Generate (if needed) and read one clip; the passes and the truth (a pool task)."""
    import av
    import cv2

    from anpr_feed.pipeline import Pipeline, PipelineConfig
    from anpr_feed.reader import RapidOcrReader

    if threads:
        cv2.setNumThreads(threads)
    video, truth = ensure_clip(clip, Path(cache))
    reader = RapidOcrReader(threads=threads)
    reader.warm_up()
    config = PipelineConfig()
    if budget != "default":
        config = replace(config, ocr_budget=None if budget == "none" else float(budget))
    pipeline = Pipeline(reader, config)
    events = []
    cpu = time.process_time()
    frames = 0
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            events += pipeline.process(image, frames / FPS)
            frames += 1
    events += pipeline.flush()
    cpu = time.process_time() - cpu
    return {
        "clip": clip.name,
        "night": clip.night,
        "frames": frames,
        "truth": truth,
        "passes": [
            {
                "plate": e.plate.normalized,
                "province_code": e.plate.province_code,
                "start": e.started_at,
                "end": e.ended_at,
                "confidence": e.confidence,
                "reads": e.reads,
                "attempts": e.attempts,
                "colour": e.colour,
            }
            for e in events
        ],
        "reader_calls": pipeline.stats.reads,
        "cpu_ms_per_frame": round(cpu * 1000 / max(frames, 1), 2),
    }


def colour_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Plate background colour of the vehicles that got a pass: right, wrong, or not seen."""
    passed = [v for v in rows if v.get("pass_colour", "missed") != "missed"]
    right = sum(1 for v in passed if v["pass_colour"] == v["colour"])
    unseen = sum(1 for v in passed if v["pass_colour"] is None)
    return {
        "colour_right": right,
        "colour_wrong": len(passed) - right - unseen,
        "colour_unseen": unseen,
        "colour_rate": round(right / len(passed), 4) if passed else None,
    }


def score_clip(result: dict[str, Any]) -> dict[str, Any]:
    """Match a clip's passes to its vehicles."""
    truth, passes = result["truth"], result["passes"]
    plates = {v["plate"] for v in truth}
    used: set[int] = set()
    vehicles = []
    # Exact matches first (a plate is unique in a clip), then the nearest overlapping pass.
    for v in truth:
        exact = [i for i, p in enumerate(passes) if p["plate"] == v["plate"] and i not in used]
        if exact:
            used.add(exact[0])
            vehicles.append({**v, "read": v["plate"], "pass": exact[0]})
        else:
            vehicles.append({**v, "read": None, "pass": None})
    for vehicle in vehicles:
        if vehicle["read"] is not None:
            continue
        overlapping = [
            i
            for i, p in enumerate(passes)
            if i not in used
            and p["plate"] not in plates
            and p["start"] <= vehicle["exit"] + 0.5
            and p["end"] >= vehicle["entry"] - 0.5
        ]
        if overlapping:
            best = min(
                overlapping, key=lambda i: edit_distance(vehicle["plate"], passes[i]["plate"])
            )
            used.add(best)
            vehicle["read"], vehicle["pass"] = passes[best]["plate"], best
    for vehicle in vehicles:
        index = vehicle["pass"]
        vehicle["pass_colour"] = "missed" if index is None else passes[index].get("colour")
    false_passes = [p["plate"] for p in passes if p["plate"] not in plates]
    duplicates = len(passes) - len({p["plate"] for p in passes})
    return {"vehicles": vehicles, "false_passes": false_passes, "duplicates": duplicates}


# ---------------------------------------------------------------------------- alerts

ALERT_DAY = date(2026, 11, 26)


def build_lists(all_truth: Sequence[dict[str, Any]]) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """A watch list from some true plates and an outbreak province (deterministic)."""
    from anpr_feed.events_store import Outbreak, WatchEntry
    from tests.support import synth

    plates = sorted({v["plate"] for v in all_truth})
    exact = plates[::7][:12]
    entries = [WatchEntry(f"w{i}", p, "xe theo dõi", "bench", 0.0) for i, p in enumerate(exact)]
    # One wildcard entry: a plate's area code and series, any number.
    wild_from = plates[3] if len(plates) > 3 else plates[0]
    wild = wild_from[:3] + "*"
    entries.append(WatchEntry("wild", wild, "xe theo dõi (mẫu)", "bench", 0.0))
    # The billboard's plate-shaped number: a static sign must never raise it.
    billboard = next(t for t in synth.scene_texts() if t.startswith("30K")).replace("-", "")
    billboard = billboard.replace(".", "")
    entries.append(WatchEntry("sign", billboard, "số trên biển quảng cáo", "bench", 0.0))
    codes: dict[str, int] = {}
    for v in all_truth:
        codes[v["province_code"]] = codes.get(v["province_code"], 0) + 1
    # An outbreak province that a few vehicles come from (not the most common one).
    ranked = sorted(codes, key=lambda c: (-codes[c], c))
    outbreak_code = ranked[min(2, len(ranked) - 1)]
    outbreaks = [
        Outbreak("o1", outbreak_code, "2026-11-01", "2026-12-31", "vùng dịch", "bench", 0.0)
    ]
    described = {
        "exact_entries": exact,
        "wildcard_entry": wild,
        "static_sign_entry": billboard,
        "outbreak_province": outbreak_code,
    }
    return entries, outbreaks, described


def score_alerts(scored: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Alerts raised by the passes vs the vehicles that are on a list."""
    from anpr_feed.watchlist import Matcher

    all_truth = [v for r in results for v in r["truth"]]
    entries, outbreaks, described = build_lists(all_truth)
    matcher = Matcher(entries, outbreaks)
    listed_vehicles = 0
    raised = 0
    false_alerts: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    fuzzy = 0
    for result, score in zip(results, scored, strict=True):
        passes = result["passes"]
        claimed: set[int] = set()
        for v in score["vehicles"]:
            on_list = bool(matcher.match(v["plate"], v["province_code"], ALERT_DAY))
            listed_vehicles += on_list
            alerts = []
            if v["pass"] is not None:
                claimed.add(v["pass"])
                p = passes[v["pass"]]
                alerts = matcher.match(p["plate"], p["province_code"], ALERT_DAY)
            raised += bool(alerts)
            fuzzy += sum(1 for a in alerts if a.fuzzy)
            if alerts and not on_list:
                false_alerts.append(
                    {
                        "clip": result["clip"],
                        "truth": v["plate"],
                        "read": v["read"],
                        "why": [a.describe() for a in alerts],
                    }
                )
            if on_list and not alerts:
                missed.append({"clip": result["clip"], "truth": v["plate"], "read": v["read"]})
        for i, p in enumerate(passes):  # passes that belong to no vehicle (false passes)
            if i in claimed:
                continue
            alerts = matcher.match(p["plate"], p["province_code"], ALERT_DAY)
            if alerts:
                false_alerts.append(
                    {
                        "clip": result["clip"],
                        "truth": None,
                        "read": p["plate"],
                        "why": [a.describe() for a in alerts],
                    }
                )
    return {
        "lists": described,
        "listed_vehicles": listed_vehicles,
        "alerts_raised": raised,
        "fuzzy_alerts": fuzzy,
        "false_alerts": len(false_alerts),
        "missed_alerts": len(missed),
        "false_alert_details": false_alerts,
        "missed_alert_details": missed,
    }


def synthetic(
    clips: Sequence[Clip], cache: Path, jobs: int, threads: int | None, budget: str = "default"
) -> dict[str, Any]:
    """Accuracy and alerts over the synthetic clips."""
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(
                pool.map(
                    read_clip,
                    clips,
                    [str(cache)] * len(clips),
                    [threads] * len(clips),
                    [budget] * len(clips),
                )
            )
    else:
        results = [read_clip(c, str(cache), threads, budget) for c in clips]
    scored = [score_clip(r) for r in results]

    def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(rows)
        exact = sum(1 for v in rows if v["read"] == v["plate"])
        return {
            "vehicles": n,
            "exact": exact,
            "exact_rate": round(exact / n, 4) if n else None,
            "char_accuracy": round(
                sum(char_accuracy(v["plate"], v["read"] or "") for v in rows) / n, 4
            )
            if n
            else None,
            "missed": sum(1 for v in rows if v["read"] is None),
            **colour_summary(rows),
        }

    every = [v for s in scored for v in s["vehicles"]]
    day = [v for r, s in zip(results, scored, strict=True) if not r["night"] for v in s["vehicles"]]
    night = [v for r, s in zip(results, scored, strict=True) if r["night"] for v in s["vehicles"]]
    layouts = sorted({v["layout"] for v in every})
    return {
        "clips": [
            {
                "clip": r["clip"],
                **summary(s["vehicles"]),
                "false_passes": s["false_passes"],
                "duplicates": s["duplicates"],
                "reader_calls": r["reader_calls"],
                "cpu_ms_per_frame": r["cpu_ms_per_frame"],
            }
            for r, s in zip(results, scored, strict=True)
        ],
        "all": summary(every),
        "day": summary(day),
        "night": summary(night),
        "by_layout": {name: summary([v for v in every if v["layout"] == name]) for name in layouts},
        "false_passes": sum(len(s["false_passes"]) for s in scored),
        "duplicates": sum(s["duplicates"] for s in scored),
        "misreads": [
            {
                "truth": v["plate"],
                "read": v["read"],
                "layout": v["layout"],
                "kind": v["kind"],
                "max_width": v["max_width"],
            }
            for v in every
            if v["read"] != v["plate"]
        ],
        "alerts": score_alerts(scored, results),
    }


# ---------------------------------------------------------------------------- real images


def real_images(quick: bool) -> dict[str, Any]:
    """bench/anpr_images.py's result (a subprocess), or a note why it was skipped."""
    script = ROOT / "bench" / "anpr_images.py"
    if not (REAL_DATA / "labels.csv").is_file():
        return {"skipped": f"no labelled images at {REAL_DATA}"}
    if not script.is_file():
        return {"skipped": f"{script} is missing"}
    command = [sys.executable, str(script), "--data", str(REAL_DATA)]
    if quick:
        command += ["--limit", "20"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"failed": done.returncode, "stderr": done.stderr[-2000:]}
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return {"failed": "not JSON", "stdout": done.stdout[-2000:]}
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result


# ---------------------------------------------------------------------------- real time


def realtime(clip: Clip, cache: Path, max_frames: int, baseline_frames: int) -> dict[str, Any]:
    """Run the real-time measurement in a child pinned to core 0, single-threaded."""
    video, truth = ensure_clip(clip, cache)
    env = {**os.environ, **SINGLE_THREAD_ENV}
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--realtime-child",
        str(video),
        "--max-frames",
        str(max_frames),
        "--baseline-frames",
        str(baseline_frames),
    ]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return {"failed": done.returncode, "stderr": done.stderr[-3000:]}
    result: dict[str, Any] = json.loads(done.stdout)
    result["clip"] = clip.name
    result["vehicles_in_clip"] = len(truth)
    result["pinned"] = "taskset -c 0" if shutil.which("taskset") else "not pinned (no taskset)"
    return result


def realtime_child(video: Path, max_frames: int, baseline_frames: int) -> dict[str, Any]:
    """Decode, pipeline, annotate, encode: CPU per stage (runs pinned, single-threaded)."""
    import av
    import cv2
    import numpy as np

    cv2.setNumThreads(1)
    from anpr_feed.encoder import FeedEncoder
    from anpr_feed.pipeline import Pipeline
    from anpr_feed.reader import RapidOcrReader

    reader = RapidOcrReader(threads=1)
    reader.warm_up()
    reader.read(np.full((60, 200, 3), 255, np.uint8))
    pipeline = Pipeline(reader)
    encoder: FeedEncoder | None = None
    decode_cpu = encode_cpu = 0.0
    frames: list[Any] = []  # a few frames kept for the baseline
    keep_every = max(1, max_frames // max(baseline_frames, 1))
    passes = 0
    encoded_bytes = 0
    total_cpu = time.process_time()
    total_wall = time.perf_counter()
    n = 0
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # as the worker sets it (one thread on one core)
        decoded = container.decode(stream)
        while n < max_frames:
            c0 = time.process_time()
            frame = next(decoded, None)
            if frame is None:
                break
            image = frame.to_ndarray(format="bgr24")
            decode_cpu += time.process_time() - c0
            passes += len(pipeline.process(image, n / FPS))
            annotated = pipeline.annotate(image)
            c0 = time.process_time()
            if encoder is None:
                encoder = FeedEncoder("vp8", image.shape[1] & ~1, image.shape[0] & ~1, FPS)
            for data, _, _ in encoder.encode(annotated, n * 3600):
                encoded_bytes += len(data)
            encode_cpu += time.process_time() - c0
            if n % keep_every == keep_every // 2 and len(frames) < baseline_frames:
                frames.append(image)
            n += 1
    passes += len(pipeline.flush())
    total_cpu = time.process_time() - total_cpu
    total_wall = time.perf_counter() - total_wall
    stats = pipeline.stats.per_frame_ms()["cpu"]
    stages = {
        "decode": round(decode_cpu * 1000 / n, 2),
        **{k: round(v, 2) for k, v in stats.items()},
        "encode": round(encode_cpu * 1000 / n, 2),
    }
    staged_total = round(sum(stages.values()), 2)
    # Baseline: the reader on the whole frame, in this same process.
    times = []
    found = 0
    for image in frames:
        c0 = time.process_time()
        found += len(reader.read(image))
        times.append(time.process_time() - c0)
    per_call = 1000 * sum(times) / max(len(times), 1)
    ours = total_cpu * 1000 / n
    return {
        "frames": n,
        "size": [int(frames[0].shape[1]), int(frames[0].shape[0])] if frames else None,
        "cpu_ms_per_frame": stages,
        "cpu_ms_per_frame_sum_of_stages": staged_total,
        "cpu_ms_per_frame_total": round(ours, 2),
        "budget_ms": BUDGET_MS,
        "real_time_on_one_core": ours < BUDGET_MS,
        "wall_ms_per_frame": round(total_wall * 1000 / n, 2),
        "reader_calls": pipeline.stats.reads,
        "reader_calls_per_second": round(pipeline.stats.reads * FPS / n, 2),
        "ms_per_reader_call": round(
            pipeline.stats.cpu["recognize"] * 1000 / max(pipeline.stats.reads, 1), 1
        ),
        "passes": passes,
        "vp8_kbit_per_s": round(encoded_bytes * 8 / (n / FPS) / 1000, 1),
        "baseline": {
            "what": "RapidOcrReader.read on the whole frame (no detector, no tracker)",
            "frames_sampled": len(times),
            "cpu_ms_per_call": round(per_call, 1),
            "every_frame_cpu_ms_per_frame": round(per_call, 1),
            "every_5th_frame_cpu_ms_per_frame": round(per_call / 5, 1),
            "plates_found_per_call": round(found / max(len(times), 1), 2),
            "ratio_every_frame_to_pipeline": round(per_call / ours, 1),
            "ratio_every_5th_to_pipeline": round(per_call / 5 / ours, 1),
        },
        "threads": {
            "onnxruntime": reader.threads,
            "opencv": cv2.getNumThreads(),
            "affinity": sorted(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
        },
    }


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two short clips, fewer images")
    parser.add_argument("--jobs", type=int, default=1, help="clips read in parallel")
    parser.add_argument(
        "--threads", type=int, default=1, help="reader/OpenCV threads per clip (0: library default)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "anpr-bench-clips",
        help="where generated clips are kept",
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: synthetic,real,realtime"
    )
    parser.add_argument(
        "--ocr-budget",
        default="default",
        help="the pipeline's ocr_budget for the accuracy part: a share of a core, 'none' (no"
        " limit) or 'default' (PipelineConfig's)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--realtime-child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--max-frames", type=int, default=500, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-frames", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.realtime_child is not None:
        print(
            json.dumps(realtime_child(args.realtime_child, args.max_frames, args.baseline_frames))
        )
        return 0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    clips = QUICK_CLIPS if args.quick else FULL_CLIPS
    threads = args.threads or None
    started = time.monotonic()
    out: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "2 cores shared with other work; speeds are CPU time on one pinned core",
        },
        "quick": args.quick,
        "ocr_budget": args.ocr_budget,
    }
    if "synthetic" not in skip:
        out["synthetic"] = synthetic(clips, args.cache, args.jobs, threads, args.ocr_budget)
    if "real" not in skip:
        out["real_images"] = real_images(args.quick)
    if "realtime" not in skip:
        out["realtime"] = {
            ("night" if clip.night else "day"): realtime(
                clip,
                args.cache,
                max_frames=150 if args.quick else 1000,
                baseline_frames=8 if args.quick else 20,
            )
            for clip in (clips[0], next(c for c in clips if c.night))
        }
    out["bench_seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(out, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
