"""Plate reading with RapidOCR's models: text detection, then grammar-constrained recognition.

Pipeline for one image (a tight plate crop or a larger region):

1. **Pad and detect.** The text detector finds nothing when a plate fills the
   frame, so the image gets a replicated border first (a constant border would
   itself look like a plate edge). Small crops are upscaled to the detector's
   working size; large regions are detected at up to ``scene_side``.
2. **Rows and plates.** Each detected text box is a row. Two boxes stacked
   with overlapping columns are also tried as the two rows of one plate (top
   then bottom). A box shaped like a two-row plate that is not part of such a
   pair (the detector took both rows as one region) is split into two rows,
   and so is the whole image when it is shaped like a plate (a fallback for
   when detection misses or cuts a row). The split is the emptiest line near
   the middle by two cues (ink, and horizontal strokes, which do not care
   which colour the text is); both are tried when they disagree.
3. **Recognise rows, several ways.** Every row is cut out along its (possibly
   rotated) box and run through the recognition model directly, in a few
   variants: as is, with contrast equalised (CLAHE, for dark or flat images),
   and with a little more margin. The first variant goes alone first; the
   others only when its readings leave doubt (a plate below ``sure``
   confidence, or read from one box only). Rows go through the model in batches.
4. **Decode under the grammar.** The model's per-step character probabilities
   are decoded by :mod:`anpr_feed.ocr_decode` into the best string the plate
   grammar accepts (area code, series, number), instead of greedy decoding
   and repairing afterwards. The grammar may overrule the model only a little:
   a reading whose path is far less likely than the model's own unconstrained
   reading (it had to drop confident characters, as a phone number does to
   fit) loses confidence accordingly.
5. **Vote.** Readings of the same plate from different boxes and variants add
   up their confidences; overlapping readings that disagree keep the best.
6. **Second look.** If nothing was read, or nothing with ``retry_below``
   confidence, the detector runs again at a second scale (the picture's own
   size for a small or a large one, half the working size otherwise), and the
   boxes of both scales vote together.

RapidOCR's models ship in its wheel; the reader gives their paths explicitly,
so RapidOCR never takes its download path, and silences its INFO logging.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anpr_feed import plates
from anpr_feed.ocr_decode import viterbi
from anpr_feed.ocr_models import Engine, load_engine
from anpr_feed.plate_colour import plate_colour
from anpr_feed.plate_grammar import (
    Pattern,
    best_one,
    combine_conf,
    forcing_factor,
    free_score,
    greedy,
    repairs,
)
from anpr_feed.plate_rows import split_rows, whole_image_candidates
from anpr_feed.quads import (
    Quad,
    bounding_quad,
    box_of,
    full_quad,
    order_quad,
    overlap,
    stacked,
    warp,
)
from anpr_feed.scene_regions import Region, box_back, cut_out, regions_from_boxes
from anpr_feed.types import Image, Plate, Reading
from anpr_feed.video_files import VIDEO_SUFFIXES, iter_video_frames

__all__ = ["VIDEO_SUFFIXES", "RapidOcrReader", "plate_colour"]

log = logging.getLogger(__name__)


REC_HEIGHT = 48  # the recognition model's input height
REC_MIN_WIDTH = 320  # PaddleOCR pads rows to at least this width (as in training)
# A small crop's one plate read this sure from the first variant is not read again from
# the others (RapidOcrReader._read_quads, give_up).
SURE_ALONE = 0.99


@dataclass
class _Row:
    """One row image to recognise, and where it came from."""

    image: Image
    quad: Quad  # in the caller's image coordinates


@dataclass
class _Candidate:
    """A plate hypothesis: one row, or a top and a bottom row."""

    rows: list[int]  # indices into the row list, top first
    quad: Quad
    source: str


@dataclass
class _Vote:
    plate: Plate
    score: float
    confidence: float
    quad: Quad
    raw: str
    votes: int
    notes: set[str]


class RapidOcrReader:
    """Reads Vietnamese plates with RapidOCR's detection and recognition models.

    Thread-safe after loading; the models load on the first ``read``.
    """

    name = "rapidocr"

    def __init__(
        self,
        *,
        det_side: int = 320,
        scene_side: int = 1600,
        scene_min: int = 736,
        crop_fill: float = 0.3,
        max_regions: int = 8,
        pad: float = 0.2,
        min_confidence: float = 0.5,
        min_single_confidence: float = 0.75,
        retry_below: float = 0.9,
        sure: float | None = 0.95,
        variants: Sequence[str] = ("plain", "clahe", "margin"),
        threads: int | None = None,
    ) -> None:
        """Configure; nothing is loaded until the first read.

        ``det_side``: the detector's working size for crops (longer side, px).
        ``scene_side``: the largest working size for bigger regions.
        ``pad``: border added before detection, as a fraction of the longer side.
        ``min_confidence``: readings below it are dropped (0..1).
        ``min_single_confidence``: a reading only one box and variant gave needs this.
        ``retry_below``: a best reading below this confidence (or none) makes the
        detector look again at a second scale.
        ``variants``: row preprocessing variants voted over.
        ``sure``: when every plate read from the first variant alone has this
        confidence and at least two boxes agreeing on it, the other variants
        are skipped (about 40 % less time); None always runs them all.
        ``threads``: onnxruntime intra-op threads (default: all cores).
        """
        self.det_side = det_side
        self.scene_side = scene_side
        self.scene_min = scene_min
        self.crop_fill = crop_fill
        self.max_regions = max_regions
        self.pad = pad
        self.min_confidence = min_confidence
        self.min_single_confidence = min_single_confidence
        self.retry_below = retry_below
        self.sure = sure
        self.variants = tuple(variants)
        self.threads = threads
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading

    def _load(self) -> Engine:
        if self._engine is not None:
            return self._engine
        with self._lock:
            if self._engine is None:
                self._engine = load_engine(self.threads)
        return self._engine

    def warm_up(self) -> None:
        """Load the models now (e.g. before timing, or in a worker's start-up)."""
        self._load()

    # ------------------------------------------------------------------ reading

    def read(self, image: Image) -> list[Reading]:
        """Every plate in ``image`` (BGR; a plate crop or a whole scene), best first."""
        img = _as_bgr(image)
        if img.shape[0] < 8 or img.shape[1] < 8:
            return []
        engine = self._load()
        h, w = img.shape[:2]
        native = max(h, w) + 2 * self._pad_px(img)
        if native <= self.det_side * 1.25:
            return self._read_crop(engine, img, give_up=True)
        # A big picture: a crop whose plate fills it is read; anything else
        # (a scene, a loose crop, an unsure reading) is looked at as a scene.
        readings = self._read_quads(engine, img, self._detect(engine, img, self.det_side))
        if readings and readings[0].confidence >= self.retry_below:
            if readings[0].box[2] >= self.crop_fill * w:
                return readings
        return self._read_scene(engine, img, readings)

    def _read_crop(self, engine: Engine, img: Image, give_up: bool = False) -> list[Reading]:
        """A plate crop (or a small region): the first look, and a second if unsure.

        ``give_up``: see :meth:`_read_quads` (a live feed's small crops).
        """
        quads = self._detect(engine, img, self.det_side)
        readings = self._read_quads(engine, img, quads, give_up=give_up)
        if readings and readings[0].confidence >= self.retry_below:
            return readings
        return self._second_look(engine, img, quads, readings)

    def _second_look(
        self, engine: Engine, img: Image, quads: list[Quad], readings: list[Reading]
    ) -> list[Reading]:
        # Nothing, or nothing sure: look again at a second scale and let the boxes
        # of both vote together.
        h, w = img.shape[:2]
        native = max(h, w) + 2 * self._pad_px(img)
        if native > self.det_side * 1.25:
            # A big region: small plates need more pixels than the coarse size gives.
            side = min(self.scene_side, native)
        elif native < self.det_side * 0.75:
            # A small picture blown up to the detector's size: at its own size the
            # detector sees the rows of a small plate apart, not as one blob.
            side = max(256, native)
        else:
            side = self.det_side // 2
        if abs(side - self.det_side) <= 0.2 * self.det_side:
            return readings
        more = self._detect(engine, img, side)
        if not more:
            return readings
        return self._read_quads(engine, img, quads + more) or readings

    def _read_scene(self, engine: Engine, img: Image, first: list[Reading]) -> list[Reading]:
        """A whole scene: plate regions found at several sizes, each cut out and read as a crop.

        The text detector misses small text at one size and finds it at another
        (a plate 40 px wide is found at the picture's own size and lost when
        enlarged, or the other way round), so it looks at the picture as it is
        and enlarged as RapidOCR does (the shorter side to ``scene_min``).
        """
        h, w = img.shape[:2]
        pad = max(8, round(0.05 * max(h, w)))
        quads: list[Quad] = []
        for scale in self._scene_scales(h, w):
            quads += self._detect(engine, img, round((max(h, w) + 2 * pad) * scale), pad=pad)
        regions = regions_from_boxes(quads, [], w, h)[: self.max_regions]
        found = self._read_regions(engine, img, regions)
        first = first + self._read_in_place(engine, img, regions, found)
        ranked = _rank_scene(found, first, w, h)
        if ranked and ranked[0].confidence >= self.retry_below:
            return ranked
        # Nothing sure: the smallest plates are found only larger still (3x).
        big = min(self.scene_side / max(h, w), 3.0)
        if big <= self._scene_scales(h, w)[-1] * 1.2:
            return ranked
        more = self._detect(engine, img, round((max(h, w) + 2 * pad) * big), pad=pad)
        new = [
            r
            for r in regions_from_boxes(more, [], w, h)
            if not any(overlap(r.quad, old.quad) > 0.6 for old in regions)
        ][: self.max_regions]
        if not new:
            return ranked
        found = found + self._read_regions(engine, img, new)
        first = first + self._read_in_place(engine, img, new, found)
        return _rank_scene(found, first, w, h)

    def _read_in_place(
        self,
        engine: Engine,
        img: Image,
        regions: list[Region],
        found: list[tuple[Reading, Region]],
    ) -> list[Reading]:
        """The two rows of each stacked pair read straight from the scene.

        A small two-row plate's cut-out is detected again by :meth:`_read_crop`,
        and at 25-40 px the detector there often misses or clips a row (the top
        row of a small tilted plate read as "1"). The scene's detector found
        both rows already: warping them from the scene costs only recognition.
        Lone boxes are not read so: a one-row plate's cut-out is read well, and
        its box read in place (the detector's box clips the characters' ends)
        dropped or changed digits.

        These readings only fill in: pairs whose cut-out gave a reading
        (``found``) are not read again, and a reading where a cut-out read a
        plate is dropped, as the cut-out's is the better one (more pixels for
        its own detector, several variants voting). Letting both compete
        fixed as many plates as it broke on the development scenes.
        """
        quads: list[Quad] = []
        for region in regions:
            if any(done is region for _, done in found):
                continue
            for q in region.parts:
                if not any(q is old for old in quads):
                    quads.append(q)
        if not quads:
            return []
        taken = [r.box for r, _ in found]
        return [
            r
            for r in self._read_quads(engine, img, quads, whole=False)
            if not any(_boxes_meet(r.box, b) for b in taken)
        ]

    def _read_regions(
        self, engine: Engine, img: Image, regions: list[Region]
    ) -> list[tuple[Reading, Region]]:
        """Each region cut out upright and read as a crop; boxes in ``img`` coordinates."""
        h, w = img.shape[:2]
        found: list[tuple[Reading, Region]] = []
        for region in regions:
            crop, back = cut_out(img, region.quad, grow=region.grow)
            for r in self._read_crop(engine, crop):
                box = box_back(r.box, back, w, h)
                found.append((replace(r, box=box, colour=plate_colour(img, box)), region))
        return found

    def _scene_scales(self, h: int, w: int) -> list[float]:
        """The picture's own size (at most ``scene_side``), and enlarged as RapidOCR does."""
        own = min(1.0, self.scene_side / max(h, w))
        big = min(self.scene_side / max(h, w), self.scene_min / min(h, w))
        return [own, big] if big > own * 1.3 else [own]

    def _pad_px(self, img: Image) -> int:
        return max(4, round(self.pad * max(img.shape[:2])))

    def _detect(self, engine: Engine, img: Image, side: int, pad: int | None = None) -> list[Quad]:
        """Text boxes in ``img`` coordinates, from a padded copy resized to ``side``."""
        pad = self._pad_px(img) if pad is None else pad
        padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        ph, pw = padded.shape[:2]
        scale = side / max(ph, pw)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        work = cv2.resize(padded, (round(pw * scale), round(ph * scale)), interpolation=interp)
        result = engine.detector(work, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(result, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        quads: list[Quad] = []
        for box in np.asarray(boxes, dtype=np.float32):
            q = box / scale - pad
            quads.append(order_quad(q))
        return quads

    def _read_quads(
        self,
        engine: Engine,
        img: Image,
        quads: list[Quad],
        give_up: bool = False,
        whole: bool = True,
    ) -> list[Reading]:
        """The plates the rows of ``quads`` (and of the whole picture) read as, best first.

        ``give_up`` (a small crop, as a live feed reads a tracked plate): the
        other variants are not tried when the first reads no plate at all from
        any box (tracked text that is not a plate: a lamp, a sticker), nor when
        it reads one plate only, at ``SURE_ALONE`` or more, however few boxes
        agree on it (a two-row plate whose other boxes gave no plate). The other variants
        cost twice the first look and, on the benchmark's crops, changed none
        of those readings (docs/benchmarks.md, issue 13: feeds per core).
        ``whole``: also try the whole picture as one plate (a crop; not a scene).
        """
        rows: list[_Row] = []
        candidates: list[_Candidate] = []
        for q in quads:
            crop = warp(img, q)
            if crop.shape[0] < 4 or crop.shape[1] < 4:
                continue
            rows.append(_Row(crop, q))
            candidates.append(_Candidate([len(rows) - 1], q, "det"))
        n = len(rows)
        paired: set[int] = set()
        for i in range(n):
            for j in range(n):
                if i != j and stacked(rows[i].quad, rows[j].quad):
                    both = np.vstack([rows[i].quad, rows[j].quad])
                    candidates.append(_Candidate([i, j], bounding_quad(both), "det2"))
                    paired.update((i, j))
        for i in range(n):
            # A box shaped like a two-row plate that is not one of a stacked pair:
            # the detector may have taken both rows as one text region (large or
            # upscaled text). Split it at the emptiest line, as for a whole crop.
            for parts in split_rows(img, rows[i].quad) if i not in paired else []:
                idx = []
                for crop, q in parts:
                    rows.append(_Row(crop, q))
                    idx.append(len(rows) - 1)
                candidates.append(_Candidate(idx, rows[i].quad, "split2"))
        for kind, parts in whole_image_candidates(img) if whole else []:
            idx = []
            for crop, q in parts:
                rows.append(_Row(crop, q))
                idx.append(len(rows) - 1)
            candidates.append(_Candidate(idx, full_quad(img), kind))
        if not candidates:
            return []
        images = [r.image for r in rows]
        first, rest = self.variants[:1], self.variants[1:]
        if self.sure is None or not rest:
            projected = self._recognise(engine, images, self.variants)
            return self._decide(engine, img, rows, candidates, projected)
        # The first variant alone, then the others only if that leaves any doubt:
        # most plates are read the same from every box and variant.
        projected = self._recognise(engine, images, first)
        readings = self._decide(engine, img, rows, candidates, projected)
        if readings and all(r.confidence >= self.sure and r.votes >= 2 for r in readings):
            return readings
        if give_up and (
            not readings or (len(readings) == 1 and readings[0].confidence >= SURE_ALONE)
        ):
            return readings
        more = self._recognise(engine, images, rest)
        projected = [a + b for a, b in zip(projected, more, strict=True)]
        return self._decide(engine, img, rows, candidates, projected)

    # ------------------------------------------------------------ recognition

    def _row_variants(self, row: Image, variants: Sequence[str]) -> list[Image]:
        out: list[Image] = []
        for v in variants:
            if v == "plain":
                out.append(row)
            elif v == "clahe":
                out.append(_clahe(row))
            elif v == "margin":
                m = max(2, round(row.shape[0] * 0.12))
                out.append(cv2.copyMakeBorder(row, m, m, m, m, cv2.BORDER_REPLICATE))
            elif v == "gray":
                g = cv2.cvtColor(row, cv2.COLOR_BGR2GRAY)
                out.append(cv2.cvtColor(g, cv2.COLOR_GRAY2BGR))
        return out or [row]

    def _recognise(
        self, engine: Engine, images: list[Image], variants: Sequence[str]
    ) -> list[list[npt.NDArray[np.float64]]]:
        """Projected (T, 37) probabilities for each of ``variants`` of every row."""
        flat: list[Image] = []
        owners: list[int] = []
        for k, im in enumerate(images):
            for v in self._row_variants(im, variants):
                flat.append(v)
                owners.append(k)
        probs = self._run_rec(engine, flat)
        out: list[list[npt.NDArray[np.float64]]] = [[] for _ in images]
        for k, p in zip(owners, probs, strict=True):
            out[k].append(engine.vocab.project(p))
        return out

    def _run_rec(self, engine: Engine, images: list[Image]) -> list[npt.NDArray[np.float32]]:
        """The recognition model's (T, classes) output per image, batched by width."""
        widths = [
            min(REC_HEIGHT * 25, max(16, round(REC_HEIGHT * im.shape[1] / max(1, im.shape[0]))))
            for im in images
        ]
        order = sorted(range(len(images)), key=lambda k: widths[k])
        results: list[npt.NDArray[np.float32]] = [np.zeros((0, 0), np.float32)] * len(images)
        batch = 8
        for start in range(0, len(order), batch):
            ids = order[start : start + batch]
            width = max(REC_MIN_WIDTH, max(widths[k] for k in ids))
            x = np.zeros((len(ids), 3, REC_HEIGHT, width), dtype=np.float32)
            for b, k in enumerate(ids):
                resized = cv2.resize(
                    images[k],
                    (widths[k], REC_HEIGHT),
                    interpolation=cv2.INTER_AREA
                    if images[k].shape[0] > REC_HEIGHT
                    else cv2.INTER_CUBIC,
                )
                x[b, :, :, : widths[k]] = (resized.astype(np.float32) / 127.5 - 1.0).transpose(
                    2, 0, 1
                )
            out = engine.rec.run(None, {engine.rec_input: x})[0]
            for b, k in enumerate(ids):
                # Steps past the row's own width only saw padding.
                steps = min(out.shape[1], math.ceil(widths[k] / (width / out.shape[1])) + 1)
                results[k] = out[b, :steps]
        return results

    # ------------------------------------------------------------ decoding

    def _decode(
        self, engine: Engine, cand: _Candidate, projected: list[list[npt.NDArray[np.float64]]]
    ) -> list[tuple[str, Pattern, float, float, str]]:
        """Per variant: (text, pattern, score, confidence, greedy text)."""
        g = engine.grammar
        out: list[tuple[str, Pattern, float, float, str]] = []
        if len(cand.rows) == 1:
            for p in projected[cand.rows[0]]:
                res = viterbi(g.one, p)
                best = best_one(res, g)
                if best is not None:
                    d, pat = best
                    conf = d.confidence * forcing_factor(free_score(p) - d.score)
                    out.append((d.text, pat, d.score, conf, greedy(p)))
        else:
            top_rows, bottom_rows = projected[cand.rows[0]], projected[cand.rows[1]]
            for pt, pb in zip(top_rows, bottom_rows, strict=True):
                tres = viterbi(g.top, pt)
                bres = viterbi(g.bottom, pb)
                best2: tuple[float, str, Pattern, float] | None = None
                free = free_score(pt) + free_score(pb)
                for tlabel, blabel, pat in g.two_row:
                    if tlabel not in tres or blabel not in bres:
                        continue
                    dt, db = tres[tlabel], bres[blabel]
                    score = dt.score + db.score + pat.log_prior
                    if best2 is None or score > best2[0]:
                        conf = combine_conf(dt, db) * forcing_factor(free - dt.score - db.score)
                        best2 = (score, dt.text + db.text, pat, conf)
                if best2 is not None:
                    raw = greedy(pt) + "/" + greedy(pb)
                    out.append((best2[1], best2[2], best2[0], best2[3], raw))
        return out

    def _decide(
        self,
        engine: Engine,
        img: Image,
        rows: list[_Row],
        candidates: list[_Candidate],
        projected: list[list[npt.NDArray[np.float64]]],
    ) -> list[Reading]:
        votes: dict[str, _Vote] = {}
        for cand in candidates:
            for text, pat, _score, conf, raw in self._decode(engine, cand, projected):
                plate = plates.make_plate(text, pat.layout, pat.series_len, lines=pat.rows)
                repaired = repairs(raw, text)
                if repaired:
                    plate = replace(plate, repaired=repaired)
                key = plate.normalized
                v = votes.get(key)
                if v is None:
                    votes[key] = _Vote(plate, conf, conf, cand.quad, raw, 1, {cand.source})
                else:
                    v.score += conf
                    v.votes += 1
                    v.notes.add(cand.source)
                    if conf > v.confidence:
                        v.confidence, v.quad, v.raw = conf, cand.quad, raw
                        v.plate = plate
        ranked = sorted(votes.values(), key=lambda v: v.score, reverse=True)
        kept: list[_Vote] = []
        for v in ranked:
            if any(overlap(v.quad, k.quad) > 0.3 for k in kept):
                continue  # the same plate region already has a better-supported reading
            kept.append(v)
        readings: list[Reading] = []
        for v in kept:
            if v.confidence < self.min_confidence:
                continue
            if v.votes == 1 and v.confidence < self.min_single_confidence:
                continue  # one box in one variant, and not sure: a guess, not a reading
            box = box_of(v.quad, img.shape[1], img.shape[0])
            readings.append(
                Reading(
                    plate=v.plate,
                    confidence=round(float(v.confidence), 4),
                    box=box,
                    raw_text=v.raw,
                    colour=plate_colour(img, box),
                    notes=tuple(sorted(v.notes)),
                    votes=v.votes,
                )
            )
        readings.sort(key=lambda r: r.confidence, reverse=True)
        return readings

    # ------------------------------------------------------------ files

    def read_file(
        self, path: str | Path, *, every: int = 5, max_frames: int = 2000
    ) -> list[Reading]:
        """Plates in an image file, or in every ``every``-th frame of a video file.

        For a video the same plate seen in several frames is returned once,
        with its best confidence (its box is from that frame). Raises
        ``OSError``/``ValueError`` if the file cannot be read.
        """
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"no such file: {p}")
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            data = np.fromfile(str(p), dtype=np.uint8)
            image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
            if image is not None:
                return self.read(image)
        best: dict[str, Reading] = {}
        for frame in iter_video_frames(p, every=every, max_frames=max_frames):
            for r in self.read(frame):
                old = best.get(r.plate.normalized)
                if old is None or r.confidence > old.confidence:
                    best[r.plate.normalized] = r
        return sorted(best.values(), key=lambda r: r.confidence, reverse=True)


# ---------------------------------------------------------------- helpers


def _as_bgr(image: Image) -> Image:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    elif arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected a BGR image, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _clahe(row: Image) -> Image:
    lab = cv2.cvtColor(row, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def _boxes_meet(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Do two (x, y, w, h) boxes share half of the smaller one's area?"""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return smaller > 0 and ix * iy >= 0.5 * smaller


def _rank_scene(
    found: list[tuple[Reading, Region]], first: list[Reading], width: int, height: int
) -> list[Reading]:
    """One reading per plate text, best first; readings of overlapping places keep the best."""
    best: dict[str, Reading] = {}
    votes: dict[str, int] = {}
    for r in [*(f for f, _ in found), *first]:
        key = r.plate.normalized
        votes[key] = votes.get(key, 0) + 1
        old = best.get(key)
        if old is None or r.confidence > old.confidence:
            best[key] = r
    ranked = sorted(best.values(), key=lambda r: r.confidence, reverse=True)
    return [replace(r, votes=max(r.votes, votes[r.plate.normalized])) for r in ranked]
