"""The real-time part: CPU per stage of a feed's work, in a child pinned to one core."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from anpr_parts.clips import FPS, Clip, ensure_clip

# The child is ``bench/anpr.py --realtime-child``: its command line stays the script's.
SCRIPT = Path(__file__).resolve().parents[1] / "anpr.py"
BUDGET_MS = 1000 / FPS
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENCV_FOR_THREADS_NUM": "1",
}


def realtime(clip: Clip, cache: Path, max_frames: int, baseline_frames: int) -> dict[str, Any]:
    """Run the real-time measurement in a child pinned to core 0, single-threaded."""
    video, truth = ensure_clip(clip, cache)
    env = {**os.environ, **SINGLE_THREAD_ENV}
    command = [
        sys.executable,
        str(SCRIPT),
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
    from anpr_feed.pipeline import Pipeline, PipelineConfig
    from anpr_feed.pipeline_config import LIVE_OCR_BUDGET
    from anpr_feed.reader import RapidOcrReader

    reader = RapidOcrReader(threads=1)
    reader.warm_up()
    reader.read(np.full((60, 200, 3), 255, np.uint8))
    # A live feed's CPU budget, as the worker runs it: this part measures time, not passes.
    pipeline = Pipeline(reader, PipelineConfig(ocr_budget=LIVE_OCR_BUDGET))
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
