"""Plate-reading accuracy and speed on a labelled image set (the anpr-real-dev set by default).

Usage::

    .venv/bin/python bench/anpr_images.py [--data DIR] [--scenes DIR|none] [--limit N]
        [--threads N] [--no-baseline] [--video quick|full|none]
        [--perturb [all|scale0.5,rot+5,...]] [--synthetic N] [--out FILE]

``DIR`` holds ``labels.csv`` (``file,plate,lines,vehicle,source``; plates upper
case without separators, Đ written D) and ``images/``. The images are read
where they are (they carry no licence: never copy them into the repository);
perturbed versions are computed in memory only. ``--data`` is the set of
plate crops (anpr-real-dev), ``--scenes`` the set of whole road scenes
(anpr-real-scenes-dev), reported by plate type under ``scenes``.

Prints JSON:

* ``exact_rate``, ``char_accuracy`` (1 - edit distance / length), the same by
  rows/vehicle class, milliseconds per image (wall and process CPU, after a
  warm-up read with the models loaded), and every miss with its truth and
  reading;
* ``baseline``: RapidOCR's own pipeline (detection, angle classifier,
  recognition, default settings, the same ONNX models) on the raw image, its
  text upper-cased and stripped of separators: a row that is a plate on its
  own, or two stacked rows joined, compared to the label; measured in the
  same run;
* ``confident``: how many readings had confidence >= 0.9, and how often such a
  reading was wrong (for crops and for scenes);
* ``scenes``: the same for the whole road scenes, with its own baseline;
* ``video`` (``--video quick``, the default, or ``full``): the synthetic
  checkpoint clips of ``bench/anpr.py`` read by the pipeline, and plain
  RapidOCR on every 5th whole frame beside it (``anpr_parts/video_baseline.py``);
* ``perturbations`` (with ``--perturb``): the same on every image scaled 0.5x
  and 2x, rotated by +-5 degrees, placed loosely in a larger road scene,
  JPEG-compressed at quality 30, darker and brighter;
* ``synthetic`` (with ``--synthetic N``): N rendered plate crops per layout of
  :mod:`tests.support.synth`, at random sizes with blur, noise and JPEG.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anpr_parts.output import print_json
from anpr_parts.scoring import char_accuracy  # the same scoring as bench/anpr.py's

from anpr_feed.ocr_models import find_model, model_dir, quiet_rapidocr
from anpr_feed.reader import RapidOcrReader
from anpr_feed.types import Image
from tests.support import synth

DEFAULT_DATA = Path("/work/shared/data/anpr-real-dev")
DEFAULT_SCENES = Path("/work/shared/data/anpr-real-scenes-dev")
SURE = 0.9  # "a confident reading": how often is one wrong?


def load_rows(data: Path, limit: int | None = None, every: int = 1) -> list[dict[str, str]]:
    """The rows of ``labels.csv``: every ``every``-th, at most ``limit`` of them."""
    with (data / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:: max(1, every)]
    return rows[:limit] if limit else rows


def load_image(data: Path, name: str) -> Image:
    """One image of the set, BGR."""
    image = cv2.imread(str(data / "images" / name), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {name}")
    return np.asarray(image, np.uint8)


# ---------------------------------------------------------------- perturbations


def _rotate(img: Image, degrees: float) -> Image:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return np.asarray(
        cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE),
        np.uint8,
    )


def _jpeg(img: Image, quality: int) -> Image:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)


_SCENE: Image | None = None


def _road_scene() -> Image:
    """An empty frame of the synthetic checkpoint road (no vehicles, no signs)."""
    global _SCENE
    if _SCENE is None:
        scene = synth.CheckpointScene(1.0, fps=5, vehicles_per_minute=0.0, distractors=False)
        _SCENE = scene.frame(0)
    return _SCENE


def in_scene(img: Image, seed: int, max_side: int = 1600) -> Image:
    """``img`` on a bumper-coloured panel, loosely placed in a road scene 2.5x its size.

    Models a loose detector crop or a badly framed photo: the plate is a
    small part of the picture, off-centre, surrounded by other structure.
    """
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    sh, sw = round(h * 2.5), round(w * 2.5)
    road = _road_scene()
    # A random window of the road, resized to the scene size.
    rh, rw = road.shape[:2]
    win_w = int(rng.integers(rw // 4, rw // 2))
    win_h = min(rh, max(8, round(win_w * sh / sw)))
    x0 = int(rng.integers(0, rw - win_w + 1))
    y0 = int(rng.integers(0, rh - win_h + 1))
    out = cv2.resize(road[y0 : y0 + win_h, x0 : x0 + win_w], (sw, sh), cv2.INTER_LINEAR)
    # A vehicle's bumper around the plate, then the plate somewhere in it.
    bw, bh = round(w * 1.5), round(h * 1.4)
    bx = int(rng.integers(0, sw - bw + 1))
    by = int(rng.integers(0, sh - bh + 1))
    colour = tuple(int(c) for c in rng.integers(20, 200, 3))
    cv2.rectangle(out, (bx, by), (bx + bw, by + bh), colour, -1)
    px = bx + int(rng.integers(0, bw - w + 1))
    py = by + int(rng.integers(0, bh - h + 1))
    out[py : py + h, px : px + w] = img
    if max(sh, sw) > max_side:
        f = max_side / max(sh, sw)
        out = cv2.resize(out, (round(sw * f), round(sh * f)), interpolation=cv2.INTER_AREA)
    return np.asarray(out, np.uint8)


def _scaled(f: float) -> Callable[[Image, int], Image]:
    def apply(img: Image, seed: int) -> Image:
        h, w = img.shape[:2]
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
        size = (max(1, round(w * f)), max(1, round(h * f)))
        return np.asarray(cv2.resize(img, size, interpolation=interp), np.uint8)

    return apply


def _levels(alpha: float, beta: float) -> Callable[[Image, int], Image]:
    def apply(img: Image, seed: int) -> Image:
        return np.asarray(cv2.convertScaleAbs(img, alpha=alpha, beta=beta), np.uint8)

    return apply


PERTURBATIONS: dict[str, Callable[[Image, int], Image]] = {
    "scale0.5": _scaled(0.5),
    "scale2": _scaled(2.0),
    "rot+5": lambda img, seed: _rotate(img, 5.0),
    "rot-5": lambda img, seed: _rotate(img, -5.0),
    "scene": in_scene,
    "jpeg30": lambda img, seed: _jpeg(img, 30),
    "dark": _levels(0.4, 0.0),  # underexposed: everything at 40 %
    "bright": _levels(0.6, 110.0),  # washed out: contrast 60 %, lifted
}


# ---------------------------------------------------------------- scoring


class Tally:
    """Exact matches, per-character accuracy and time of one kind of reading."""

    def __init__(self) -> None:
        """Start empty."""
        self.n = 0
        self.exact = 0
        self.chars: list[float] = []
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.groups: dict[str, list[tuple[bool, float]]] = {}
        self.misses: list[dict[str, Any]] = []
        self.sure = 0
        self.sure_wrong = 0

    def add(
        self,
        truth: str,
        got: str,
        wall: float,
        cpu: float,
        group: str = "",
        confidence: float | None = None,
    ) -> bool:
        """Count one reading; True if exact."""
        ok = got == truth
        if confidence is not None and confidence >= SURE:
            self.sure += 1
            self.sure_wrong += not ok
        acc = char_accuracy(truth, got)
        self.n += 1
        self.exact += ok
        self.chars.append(acc)
        self.wall.append(wall)
        self.cpu.append(cpu)
        if group:
            self.groups.setdefault(group, []).append((ok, acc))
        return ok

    def summary(self) -> dict[str, Any]:
        """Rates and milliseconds (mean wall, mean process CPU, p95 wall)."""
        out: dict[str, Any] = {
            "n": self.n,
            "exact": self.exact,
            "exact_rate": round(self.exact / self.n, 4) if self.n else None,
            "char_accuracy": round(statistics.fmean(self.chars), 4) if self.chars else None,
            "ms_mean": round(1000 * statistics.fmean(self.wall), 1) if self.wall else None,
            "cpu_ms_mean": round(1000 * statistics.fmean(self.cpu), 1) if self.cpu else None,
            "ms_p95": round(1000 * float(np.percentile(self.wall, 95)), 1) if self.wall else None,
            "confident": {
                "threshold": SURE,
                "readings": self.sure,
                "wrong": self.sure_wrong,
                "wrong_rate": round(self.sure_wrong / self.sure, 4) if self.sure else None,
            },
        }
        if self.groups:
            out["by_class"] = {
                k: {
                    "n": len(v),
                    "exact_rate": round(sum(o for o, _ in v) / len(v), 4),
                    "char_accuracy": round(statistics.fmean(a for _, a in v), 4),
                }
                for k, v in sorted(self.groups.items())
            }
        return out


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def _warm(reader: RapidOcrReader) -> None:
    reader.warm_up()
    reader.read(np.full((60, 200, 3), 255, np.uint8))  # first-run allocations out of the timing


def run(data: Path, limit: int | None, reader: RapidOcrReader) -> dict[str, Any]:
    """Read every labelled image; return the summary."""
    rows = load_rows(data, limit)
    _warm(reader)
    tally = Tally()
    for row in rows:
        image = load_image(data, row["file"])
        readings, wall, cpu = _timed(partial(reader.read, image))
        got = readings[0].plate.normalized if readings else ""
        conf = readings[0].confidence if readings else None
        group = f"{row['lines']}-row {row['vehicle']}"
        if not tally.add(row["plate"], got, wall, cpu, group, conf):
            tally.misses.append(
                {
                    "file": row["file"],
                    "truth": row["plate"],
                    "read": got or None,
                    "raw": readings[0].raw_text if readings else None,
                    "confidence": readings[0].confidence if readings else None,
                    "others": [r.plate.normalized for r in readings[1:4]],
                }
            )
    s = tally.summary()
    return {
        "data": str(data),
        "images": s["n"],
        "exact": s["exact"],
        "exact_rate": s["exact_rate"],
        "char_accuracy": s["char_accuracy"],
        "by_class": s.get("by_class", {}),
        "confident": s["confident"],
        "ms_mean": s["ms_mean"],
        "cpu_ms_mean": s["cpu_ms_mean"],
        "ms_p95": s["ms_p95"],
        "ms_max": round(1000 * max(tally.wall), 1) if tally.wall else None,
        "reader": {
            "name": reader.name,
            "variants": list(reader.variants),
            "det_side": reader.det_side,
            "threads": reader.threads,
        },
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "misses": tally.misses,
    }


def run_perturbed(
    data: Path, limit: int | None, reader: RapidOcrReader, names: list[str], every: int = 1
) -> dict[str, Any]:
    """Every (``every``-th) image under each perturbation in ``names``: rates, time, misses."""
    rows = load_rows(data, limit, every)
    _warm(reader)
    out: dict[str, Any] = {}
    for name in names:
        fn = PERTURBATIONS[name]
        tally = Tally()
        for k, row in enumerate(rows):
            image = fn(load_image(data, row["file"]), k)
            readings, wall, cpu = _timed(partial(reader.read, image))
            got = readings[0].plate.normalized if readings else ""
            if not tally.add(row["plate"], got, wall, cpu):
                tally.misses.append({"file": row["file"], "truth": row["plate"], "read": got})
        out[name] = {**tally.summary(), "misses": tally.misses}
    return out


# ---------------------------------------------------------------- baseline

_PLATE_RE = re.compile(r"\d{2}[A-Z]{1,2}\d?\d{4,5}")


def _clean(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper().replace("Đ", "D"))


def naive_text(result: Any) -> str:
    """The plate naive RapidOCR gives: a row matching the plate pattern, or two rows joined.

    Rows are taken top to bottom; failing both, all the text joined.
    """
    txts = list(getattr(result, "txts", None) or ())
    boxes = getattr(result, "boxes", None)
    if not txts:
        return ""
    order = list(range(len(txts)))
    if boxes is not None and len(boxes) == len(txts):
        order.sort(key=lambda i: float(np.asarray(boxes[i])[:, 1].mean()))
    lines = [_clean(txts[i]) for i in order]
    for line in lines:
        if _PLATE_RE.fullmatch(line):
            return line
    for a, b in itertools.pairwise(lines):
        if _PLATE_RE.fullmatch(a + b):
            return a + b
    return "".join(lines)


def _naive_engine(threads: int | None) -> Any:
    quiet_rapidocr()
    from rapidocr import RapidOCR

    params: dict[str, Any] = {
        "Global.log_level": "error",
        "Det.model_path": str(find_model("det")),
        "Rec.model_path": str(find_model("rec")),
        "EngineConfig.onnxruntime.intra_op_num_threads": threads if threads else -1,
    }
    cls_model = next(iter(sorted(model_dir().glob("*cls*.onnx"))), None)
    if cls_model is not None:
        params["Cls.model_path"] = str(cls_model)
    engine = RapidOCR(params=params)
    quiet_rapidocr()
    return engine


def run_baseline(data: Path, limit: int | None, threads: int | None) -> dict[str, Any]:
    """Naive RapidOCR on the raw images (see the module docstring)."""
    rows = load_rows(data, limit)
    engine = _naive_engine(threads)
    engine(np.full((60, 200, 3), 255, np.uint8))
    tally = Tally()
    for row in rows:
        image = load_image(data, row["file"])
        result, wall, cpu = _timed(partial(engine, image))
        tally.add(
            row["plate"], naive_text(result), wall, cpu, f"{row['lines']}-row {row['vehicle']}"
        )
    return {"method": "RapidOCR(det+cls+rec, defaults) on the raw image", **tally.summary()}


# ---------------------------------------------------------------- synthetic crops


def synthetic_crop(rng: np.random.Generator, layout: str) -> tuple[str, Image]:
    """A rendered plate of ``layout`` as a camera would crop it, and its text."""
    spec = synth.random_plate(rng, layout)
    width_mm = synth.PLATE_MM[layout][0]
    target_w = float(rng.uniform(110, 420)) if width_mm > 300 else float(rng.uniform(70, 220))
    plate = synth.render_plate(spec, target_w / width_mm)
    h, w = plate.shape[:2]
    mx, my = round(w * rng.uniform(0.03, 0.15)), round(h * rng.uniform(0.05, 0.2))
    surround = tuple(int(c) for c in rng.integers(30, 200, 3))
    img = cv2.copyMakeBorder(plate, my, my, mx, mx, cv2.BORDER_CONSTANT, value=surround)
    angle = float(rng.uniform(-3, 3))
    img = _rotate(np.asarray(img, np.uint8), angle)
    sigma = float(rng.uniform(0.0, 1.0))
    if sigma > 0.2:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    noise = rng.normal(0, rng.uniform(1, 6), img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    img = _jpeg(img, int(rng.integers(40, 90)))
    return spec.normalized, img


def run_synthetic(reader: RapidOcrReader, per_layout: int, seed: int = 2026) -> dict[str, Any]:
    """``per_layout`` synthetic crops of each layout; rates per layout and overall."""
    _warm(reader)
    rng = np.random.default_rng(seed)
    total = Tally()
    by_layout: dict[str, Any] = {}
    for layout in synth.LAYOUTS:
        tally = Tally()
        for _ in range(per_layout):
            truth, img = synthetic_crop(rng, layout)
            readings, wall, cpu = _timed(partial(reader.read, img))
            got = readings[0].plate.normalized if readings else ""
            total.add(truth, got, wall, cpu)
            if not tally.add(truth, got, wall, cpu):
                tally.misses.append({"truth": truth, "read": got, "size": list(img.shape[:2])})
        by_layout[layout] = {**tally.summary(), "misses": tally.misses}
    return {**total.summary(), "by_layout": by_layout}


def run_video(
    which: str, cache: Path | None, threads: int | None, baseline: bool
) -> dict[str, Any]:
    """The synthetic clips (quick: two 12 s, full: six 40 s) and plain RapidOCR beside them."""
    import tempfile

    from anpr_parts.clips import FULL_CLIPS, QUICK_CLIPS
    from anpr_parts.video_baseline import video

    where = cache or Path(tempfile.gettempdir()) / "anpr-bench-clips"
    clips = QUICK_CLIPS if which == "quick" else FULL_CLIPS
    engine = _naive_engine(threads) if baseline else None
    return video(clips, where, threads, engine, naive_text)


def _cpus() -> int | None:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally write) the JSON summary."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="plate crops")
    parser.add_argument(
        "--scenes",
        default=str(DEFAULT_SCENES),
        help="whole road scenes (a folder like --data), or none",
    )
    parser.add_argument(
        "--video",
        choices=("quick", "full", "none"),
        default="quick",
        help="synthetic checkpoint clips through the pipeline (bench/anpr.py's)",
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="where the clips are kept (as bench/anpr.py)"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument(
        "--variants", default=None, help="comma-separated row variants (plain,clahe,margin,gray)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip naive RapidOCR")
    parser.add_argument(
        "--perturb",
        nargs="?",
        const="all",
        default=None,
        help=f"also read perturbed images: all, or some of {','.join(PERTURBATIONS)} (slow)",
    )
    parser.add_argument(
        "--perturb-every",
        type=int,
        default=1,
        metavar="K",
        help="perturb only every K-th image (faster)",
    )
    parser.add_argument(
        "--only-perturb", action="store_true", help="skip the plain run (with --perturb)"
    )
    parser.add_argument(
        "--synthetic", type=int, default=0, metavar="N", help="N synthetic crops per layout"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if not (args.data / "labels.csv").is_file():
        print(f"no labels.csv under {args.data}", file=sys.stderr)
        return 2
    kwargs: dict[str, Any] = {"threads": args.threads}
    if args.variants:
        kwargs["variants"] = tuple(v for v in args.variants.split(",") if v)
    reader = RapidOcrReader(**kwargs)
    summary: dict[str, Any] = {}
    if not (args.only_perturb and (args.perturb or args.synthetic)):
        summary = run(args.data, args.limit, reader)
    if not args.no_baseline and not args.only_perturb:
        summary["baseline"] = run_baseline(args.data, args.limit, args.threads)
    scenes = None if args.scenes == "none" else Path(args.scenes)
    if scenes is not None and not args.only_perturb:
        if (scenes / "labels.csv").is_file():
            summary["scenes"] = run(scenes, args.limit, reader)
            if not args.no_baseline:
                summary["scenes"]["baseline"] = run_baseline(scenes, args.limit, args.threads)
        else:
            summary["scenes"] = {"skipped": f"no labels.csv under {scenes}"}
    if args.video != "none" and not args.only_perturb:
        summary["video"] = run_video(args.video, args.cache, args.threads, not args.no_baseline)
    if args.perturb:
        names = list(PERTURBATIONS) if args.perturb == "all" else args.perturb.split(",")
        unknown = [n for n in names if n not in PERTURBATIONS]
        if unknown:
            print(f"unknown perturbation(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        summary["perturbations"] = run_perturbed(
            args.data, args.limit, reader, names, args.perturb_every
        )
    if args.synthetic:
        summary["synthetic"] = run_synthetic(reader, args.synthetic)
    print_json(summary, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
