"""Synthetic video for ``bench/anpr_images.py``: the pipeline's passes, and plain RapidOCR's.

The pipeline side is :func:`anpr_parts.synthetic.read_clip` (every frame
through ``Pipeline`` with the project's reader). The baseline is RapidOCR's
own pipeline on the whole frame, every ``every``-th frame: each plate it reads
(a row that is a plate, or two stacked rows joined, accepted by the plate
grammar) is a pass from the first to the last time it was seen. Both are
scored by :func:`anpr_parts.scoring.score_clip`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from anpr_parts.clips import FPS, Clip, ensure_clip
from anpr_parts.scoring import score_clip
from anpr_parts.synthetic import read_clip


def baseline_clip(
    clip: Clip, cache: Path, engine: Any, naive_text: Callable[[Any], str], every: int = 5
) -> dict[str, Any]:
    """Plain RapidOCR on every ``every``-th frame of one clip, as passes."""
    import av

    from anpr_feed import plates

    video, truth = ensure_clip(clip, cache)
    seen: dict[str, list[float]] = {}
    frames = 0
    cpu = time.process_time()
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frames % every == 0:
                plate = plates.parse(naive_text(engine(frame.to_ndarray(format="bgr24"))))
                if plate is not None:
                    t = frames / FPS
                    span = seen.setdefault(plate.normalized, [t, t])
                    span[1] = t
            frames += 1
    cpu = time.process_time() - cpu
    passes = [{"plate": p, "start": s, "end": e, "colour": None} for p, (s, e) in seen.items()]
    return {
        "clip": clip.name,
        "truth": truth,
        "passes": passes,
        "cpu_ms_per_read": round(cpu * 1000 / max(1, frames // every), 1),
    }


def _tally(results: list[dict[str, Any]]) -> dict[str, Any]:
    vehicles = 0
    exact = 0
    false_passes = 0
    for r in results:
        scored = score_clip(r)
        vehicles += len(scored["vehicles"])
        exact += sum(1 for v in scored["vehicles"] if v["read"] == v["plate"])
        false_passes += len(scored["false_passes"])
    return {
        "vehicles": vehicles,
        "exact": exact,
        "exact_rate": round(exact / vehicles, 4) if vehicles else None,
        "false_passes": false_passes,
    }


def video(
    clips: Sequence[Clip],
    cache: Path,
    threads: int | None,
    engine: Any | None,
    naive_text: Callable[[Any], str],
) -> dict[str, Any]:
    """The clips read by the pipeline, and (with ``engine``) by plain RapidOCR beside it."""
    ours = [read_clip(c, str(cache), threads) for c in clips]
    out: dict[str, Any] = {
        "clips": [c.name for c in clips],
        **_tally(ours),
        "cpu_ms_per_frame": [r["cpu_ms_per_frame"] for r in ours],
    }
    if engine is not None:
        base = [baseline_clip(c, cache, engine, naive_text) for c in clips]
        out["baseline"] = {
            "method": "RapidOCR(defaults) on the whole frame, every 5th frame",
            **_tally(base),
            "cpu_ms_per_read": [r["cpu_ms_per_read"] for r in base],
        }
    return out
