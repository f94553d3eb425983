"""The synthetic part: every clip read through the pipeline, scored, summarised."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from anpr_parts.alerts import score_alerts
from anpr_parts.clips import FPS, Clip, ensure_clip
from anpr_parts.scoring import char_accuracy, colour_summary, score_clip


def read_clip(clip: Clip, cache: str, threads: int | None, budget: str = "none") -> dict[str, Any]:
    """Generate (if needed) and read one clip; the passes and the truth (a pool task).

    ``budget`` is the pipeline's ``read_rate`` (reader calls per second of video) or
    "none": counted in calls, never in CPU time, so a run gives the same passes on a
    loaded machine as on an idle one.
    """
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
    if budget not in ("none", "default"):
        config = replace(config, read_rate=float(budget))
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


def synthetic(
    clips: Sequence[Clip], cache: Path, jobs: int, threads: int | None, budget: str = "none"
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
