"""The synthetic clips the plate-reading benchmark reads, and their truth (generated once, cached)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FPS = 25


@dataclass(frozen=True)
class Clip:
    """One synthetic clip to generate and read."""

    seed: int
    seconds: float
    night: bool
    per_minute: float = 30.0

    @property
    def name(self) -> str:
        """The clip's file name in the cache (without its suffix)."""
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
