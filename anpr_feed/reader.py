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
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from anpr_feed import plates
from anpr_feed.ocr_decode import (
    Decoded,
    Vocabulary,
    area_codes,
    build_automaton,
    viterbi,
)
from anpr_feed.types import Image, Plate, Reading

log = logging.getLogger(__name__)

Quad = npt.NDArray[np.float32]  # (4, 2): top-left, top-right, bottom-right, bottom-left

REC_HEIGHT = 48  # the recognition model's input height
REC_MIN_WIDTH = 320  # PaddleOCR pads rows to at least this width (as in training)
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts", ".flv", ".m4v"})


def _model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def _find_model(kind: str) -> Path:
    """The wheel's ONNX model for ``kind`` ("det" or "rec"), preferring PP-OCRv6 small."""
    models = _model_dir()
    preferred = models / f"PP-OCRv6_{kind}_small.onnx"
    if preferred.is_file():
        return preferred
    found = sorted(models.glob(f"*{kind}*.onnx"))
    if not found:
        raise FileNotFoundError(f"no {kind} model in {models}: is rapidocr installed with models?")
    return found[-1]


@dataclass(frozen=True)
class _Pattern:
    """A layout the decoder can end in: how to rebuild the ``Plate``."""

    layout: plates.Layout
    series_len: int
    rows: int
    log_prior: float


class _Grammar:
    """The decoder's automata: one-row plates, top rows, bottom rows."""

    def __init__(self) -> None:
        codes = area_codes()
        digits = plates.DIGITS
        one: list[tuple[str, list[Any]]] = []
        top: list[tuple[str, list[Any]]] = []
        self.one_row: dict[str, _Pattern] = {}
        self.two_row: list[tuple[str, str, _Pattern]] = []  # top label, bottom label, pattern
        top_labels: dict[tuple[str, int, frozenset[str]], str] = {}
        for i, layout in enumerate(plates.LAYOUTS):
            prior = math.log(layout.prior)
            for slen in layout.series_lengths:
                words = [s for s in layout.series if len(s) == slen]
                if 1 in layout.rows:
                    label = f"{i}:{slen}"
                    one.append((label, [codes, words, *[digits] * layout.digits]))
                    self.one_row[label] = _Pattern(layout, slen, 1, prior)
                if 2 in layout.rows:
                    # Layouts that differ only in the number share their top row.
                    key = (layout.family, slen, frozenset(words))
                    if key not in top_labels:
                        top_labels[key] = f"top{len(top_labels)}"
                        top.append((top_labels[key], [codes, words]))
                    pattern = _Pattern(layout, slen, 2, prior)
                    self.two_row.append((top_labels[key], str(layout.digits), pattern))
        bottoms = sorted({layout.digits for layout in plates.LAYOUTS if 2 in layout.rows})
        self.one = build_automaton(one)
        self.top = build_automaton(top)
        self.bottom = build_automaton([(str(n), [digits] * n) for n in bottoms])


@dataclass
class _Engine:
    """The loaded models (one per reader, loaded on first use)."""

    detector: Any  # rapidocr.RapidOCR, used for detection only
    rec: Any  # onnxruntime.InferenceSession of the recognition model
    rec_input: str
    vocab: Vocabulary
    charset: list[str]
    grammar: _Grammar


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


def _quiet_rapidocr() -> None:
    # RapidOCR logs every model load at INFO through its own non-propagating
    # logger; a camera worker would print that for every process start.
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)


class RapidOcrReader:
    """Reads Vietnamese plates with RapidOCR's detection and recognition models.

    Thread-safe after loading; the models load on the first ``read``.
    """

    name = "rapidocr"

    def __init__(
        self,
        *,
        det_side: int = 320,
        scene_side: int = 1280,
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
        self.pad = pad
        self.min_confidence = min_confidence
        self.min_single_confidence = min_single_confidence
        self.retry_below = retry_below
        self.sure = sure
        self.variants = tuple(variants)
        self.threads = threads
        self._engine: _Engine | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading

    def _load(self) -> _Engine:
        if self._engine is not None:
            return self._engine
        with self._lock:
            if self._engine is None:
                self._engine = self._build_engine()
        return self._engine

    def _build_engine(self) -> _Engine:
        _quiet_rapidocr()
        import onnxruntime as ort
        from rapidocr import RapidOCR

        det_model = _find_model("det")
        rec_model = _find_model("rec")
        cls_model = next(iter(sorted(_model_dir().glob("*cls*.onnx"))), None)
        threads = self.threads if self.threads is not None else -1
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.use_rec": False,
            "Global.max_side_len": 4096,
            "Det.model_path": str(det_model),
            "Rec.model_path": str(rec_model),
            # We size the image ourselves; "max" with a large limit only rounds to 32 px.
            "Det.limit_type": "max",
            "Det.limit_side_len": 4096,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        }
        if cls_model is not None:
            params["Cls.model_path"] = str(cls_model)
        detector = RapidOCR(params=params)
        _quiet_rapidocr()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads is not None:
            options.intra_op_num_threads = self.threads
        rec = ort.InferenceSession(
            str(rec_model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        meta = rec.get_modelmeta().custom_metadata_map
        # PaddleOCR's CTC classes: blank, the dictionary, then a space.
        charset = ["", *meta["character"].splitlines(), " "]
        return _Engine(
            detector=detector,
            rec=rec,
            rec_input=rec.get_inputs()[0].name,
            vocab=Vocabulary(charset),
            charset=charset,
            grammar=_Grammar(),
        )

    def warm_up(self) -> None:
        """Load the models now (e.g. before timing, or in a worker's start-up)."""
        self._load()

    # ------------------------------------------------------------------ reading

    def read(self, image: Image) -> list[Reading]:
        """Every plate in ``image`` (BGR; a plate crop or a larger region), best first."""
        img = _as_bgr(image)
        if img.shape[0] < 8 or img.shape[1] < 8:
            return []
        engine = self._load()
        h, w = img.shape[:2]
        quads = self._detect(engine, img, self.det_side)
        readings = self._read_quads(engine, img, quads)
        if readings and readings[0].confidence >= self.retry_below:
            return readings
        # Nothing, or nothing sure: look again at a second scale and let the boxes
        # of both vote together.
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

    def _pad_px(self, img: Image) -> int:
        return max(4, round(self.pad * max(img.shape[:2])))

    def _detect(self, engine: _Engine, img: Image, side: int) -> list[Quad]:
        """Text boxes in ``img`` coordinates, from a padded copy resized to ``side``."""
        pad = self._pad_px(img)
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
            quads.append(_order_quad(q))
        return quads

    def _read_quads(self, engine: _Engine, img: Image, quads: list[Quad]) -> list[Reading]:
        rows: list[_Row] = []
        candidates: list[_Candidate] = []
        for q in quads:
            crop = _warp(img, q)
            if crop.shape[0] < 4 or crop.shape[1] < 4:
                continue
            rows.append(_Row(crop, q))
            candidates.append(_Candidate([len(rows) - 1], q, "det"))
        n = len(rows)
        paired: set[int] = set()
        for i in range(n):
            for j in range(n):
                if i != j and _stacked(rows[i].quad, rows[j].quad):
                    both = np.vstack([rows[i].quad, rows[j].quad])
                    candidates.append(_Candidate([i, j], _bounding_quad(both), "det2"))
                    paired.update((i, j))
        for i in range(n):
            # A box shaped like a two-row plate that is not one of a stacked pair:
            # the detector may have taken both rows as one text region (large or
            # upscaled text). Split it at the emptiest line, as for a whole crop.
            for parts in _split_rows(img, rows[i].quad) if i not in paired else []:
                idx = []
                for crop, q in parts:
                    rows.append(_Row(crop, q))
                    idx.append(len(rows) - 1)
                candidates.append(_Candidate(idx, rows[i].quad, "split2"))
        whole = _whole_image_candidates(img)
        for kind, parts in whole:
            idx = []
            for crop, q in parts:
                rows.append(_Row(crop, q))
                idx.append(len(rows) - 1)
            candidates.append(_Candidate(idx, _full_quad(img), kind))
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
        self, engine: _Engine, images: list[Image], variants: Sequence[str]
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

    def _run_rec(self, engine: _Engine, images: list[Image]) -> list[npt.NDArray[np.float32]]:
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
        self, engine: _Engine, cand: _Candidate, projected: list[list[npt.NDArray[np.float64]]]
    ) -> list[tuple[str, _Pattern, float, float, str]]:
        """Per variant: (text, pattern, score, confidence, greedy text)."""
        g = engine.grammar
        out: list[tuple[str, _Pattern, float, float, str]] = []
        if len(cand.rows) == 1:
            for p in projected[cand.rows[0]]:
                res = viterbi(g.one, p)
                best = _best_one(res, g)
                if best is not None:
                    d, pat = best
                    conf = d.confidence * _forcing_factor(_free_score(p) - d.score)
                    out.append((d.text, pat, d.score, conf, _greedy(p)))
        else:
            top_rows, bottom_rows = projected[cand.rows[0]], projected[cand.rows[1]]
            for pt, pb in zip(top_rows, bottom_rows, strict=True):
                tres = viterbi(g.top, pt)
                bres = viterbi(g.bottom, pb)
                best2: tuple[float, str, _Pattern, float] | None = None
                free = _free_score(pt) + _free_score(pb)
                for tlabel, blabel, pat in g.two_row:
                    if tlabel not in tres or blabel not in bres:
                        continue
                    dt, db = tres[tlabel], bres[blabel]
                    score = dt.score + db.score + pat.log_prior
                    if best2 is None or score > best2[0]:
                        conf = _combine_conf(dt, db) * _forcing_factor(free - dt.score - db.score)
                        best2 = (score, dt.text + db.text, pat, conf)
                if best2 is not None:
                    raw = _greedy(pt) + "/" + _greedy(pb)
                    out.append((best2[1], best2[2], best2[0], best2[3], raw))
        return out

    def _decide(
        self,
        engine: _Engine,
        img: Image,
        rows: list[_Row],
        candidates: list[_Candidate],
        projected: list[list[npt.NDArray[np.float64]]],
    ) -> list[Reading]:
        votes: dict[str, _Vote] = {}
        for cand in candidates:
            for text, pat, _score, conf, raw in self._decode(engine, cand, projected):
                plate = plates.make_plate(text, pat.layout, pat.series_len, lines=pat.rows)
                repaired = _repairs(raw, text)
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
            if any(_overlap(v.quad, k.quad) > 0.3 for k in kept):
                continue  # the same plate region already has a better-supported reading
            kept.append(v)
        readings: list[Reading] = []
        for v in kept:
            if v.confidence < self.min_confidence:
                continue
            if v.votes == 1 and v.confidence < self.min_single_confidence:
                continue  # one box in one variant, and not sure: a guess, not a reading
            box = _box_of(v.quad, img.shape[1], img.shape[0])
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


def read_file(
    path: str | Path, reader: RapidOcrReader | None = None, *, every: int = 5
) -> list[Reading]:
    """``RapidOcrReader().read_file(path)`` with a shared default reader."""
    return (reader or _default_reader()).read_file(path, every=every)


_DEFAULT: RapidOcrReader | None = None


def _default_reader() -> RapidOcrReader:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = RapidOcrReader()
    return _DEFAULT


def iter_video_frames(path: Path, *, every: int = 5, max_frames: int = 2000) -> Iterator[Image]:
    """Every ``every``-th decoded frame of a video as BGR (at most ``max_frames`` of them).

    Raises ``ValueError`` if the file is not a video PyAV can decode.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise ValueError(f"not an image or a video: {path} ({exc})") from exc
    with container:
        if not container.streams.video:
            raise ValueError(f"not an image or a video: {path} (no video stream)")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        n = yielded = 0
        try:
            for frame in container.decode(stream):
                if n % max(1, every) == 0:
                    yield np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
                    yielded += 1
                    if yielded >= max_frames:
                        return
                n += 1
        except av.FFmpegError as exc:
            if yielded == 0:
                raise ValueError(f"not an image or a video: {path} (cannot decode: {exc})") from exc


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


def _order_quad(q: npt.NDArray[np.float32]) -> Quad:
    """Points as top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(q, dtype=np.float32).reshape(4, 2)
    s = pts.sum(axis=1)
    d = pts[:, 1] - pts[:, 0]
    return np.array(
        [pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
        dtype=np.float32,
    )


def _bounding_quad(points: npt.NDArray[np.float32]) -> Quad:
    rect = cv2.minAreaRect(points.astype(np.float32))
    return _order_quad(cv2.boxPoints(rect))


def _full_quad(img: Image) -> Quad:
    h, w = img.shape[:2]
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)


def _warp(img: Image, q: Quad) -> Image:
    """The quad's content as an upright rectangle (deskews rotated boxes)."""
    w = round(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[3] - q[2])))
    h = round(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    if w < 2 or h < 2:
        return np.zeros((0, 0, 3), np.uint8)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    return cv2.warpPerspective(
        img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def _quad_geometry(q: Quad) -> tuple[float, float, float, float, float, float]:
    """x0, x1, y0, y1 of the bounding box, and the row height and width."""
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    height = float((np.linalg.norm(q[0] - q[3]) + np.linalg.norm(q[1] - q[2])) / 2)
    width = float((np.linalg.norm(q[0] - q[1]) + np.linalg.norm(q[3] - q[2])) / 2)
    return float(x0), float(x1), float(y0), float(y1), height, width


def _stacked(top: Quad, bottom: Quad) -> bool:
    """Could ``top`` and ``bottom`` be the two rows of one plate?"""
    tx0, tx1, ty0, ty1, th, tw = _quad_geometry(top)
    bx0, bx1, by0, by1, bh, bw = _quad_geometry(bottom)
    tcy, bcy = (ty0 + ty1) / 2, (by0 + by1) / 2
    hmean = (th + bh) / 2
    if not 0.45 * hmean < bcy - tcy < 2.2 * hmean:
        return False
    if not 0.45 < th / max(bh, 1e-6) < 2.2:
        return False
    if not 0.3 < tw / max(bw, 1e-6) < 1.6:
        return False
    overlap = min(tx1, bx1) - max(tx0, bx0)
    return overlap > 0.5 * min(tx1 - tx0, bx1 - bx0)


def _whole_image_candidates(img: Image) -> list[tuple[str, list[tuple[Image, Quad]]]]:
    """The whole image as one plate, for images shaped like one (tight crops)."""
    h, w = img.shape[:2]
    aspect = w / h
    out: list[tuple[str, list[tuple[Image, Quad]]]] = []
    if max(h, w) > 1200:
        return out
    full = _full_quad(img)
    if 2.2 <= aspect <= 7.5:
        out.append(("whole1", [(img, full)]))
    if 0.8 <= aspect <= 2.6:
        for split in _row_splits(img):
            top = img[:split]
            bottom = img[split:]
            qt = np.array([[0, 0], [w, 0], [w, split], [0, split]], dtype=np.float32)
            qb = np.array([[0, split], [w, split], [w, h], [0, h]], dtype=np.float32)
            out.append(("whole2", [(top, qt), (bottom, qb)]))
    return out


def _split_rows(img: Image, q: Quad) -> list[list[tuple[Image, Quad]]]:
    """A plate-shaped box's two rows (image and quad each), per candidate split line.

    Empty if the box is not shaped like a two-row plate. The box is widened a
    little first: a detector box around two rows of text tends to clip the top
    of the first row and the foot of the second.
    """
    _, _, _, _, height, width = _quad_geometry(q)
    if height < 16 or not 0.8 <= width / height <= 2.6:
        return []
    centre = q.mean(axis=0)
    down = (q[3] - q[0] + q[2] - q[1]) / 2
    across = (q[1] - q[0] + q[2] - q[3]) / 2
    grow = np.array(
        [
            -0.04 * across - 0.08 * down,
            0.04 * across - 0.08 * down,
            0.04 * across + 0.08 * down,
            -0.04 * across + 0.08 * down,
        ]
    )
    h, w = img.shape[:2]
    big = np.clip(q - centre + grow + centre, [0, 0], [w, h]).astype(np.float32)
    crop = _warp(img, big)
    if crop.shape[0] < 16 or crop.shape[1] < 8:
        return []
    out = []
    for split in _row_splits(crop):
        f = split / crop.shape[0]
        left = big[0] + (big[3] - big[0]) * f
        right = big[1] + (big[2] - big[1]) * f
        top_q = np.array([big[0], big[1], right, left], dtype=np.float32)
        bottom_q = np.array([left, right, big[2], big[3]], dtype=np.float32)
        out.append([(crop[:split], top_q), (crop[split:], bottom_q)])
    return out


def _row_splits(img: Image) -> list[int]:
    """Where a two-row plate's rows may part: one or two candidate lines near the middle.

    Two cues, each the emptiest line between 30 % and 70 % of the height: the
    ink profile (Otsu, text taken as the minority colour), and the profile of
    horizontal gradients (strokes), which does not depend on which colour is
    the text and so survives a box that holds more car body than plate. Both
    are returned when they disagree by more than 4 % of the height.
    """
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    lo, hi = int(h * 0.3), int(h * 0.7)
    if hi - lo < 2:
        return [h // 2]
    cols = slice(int(w * 0.1), max(int(w * 0.9), int(w * 0.1) + 1))
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary == 0 if (binary == 0).mean() < 0.5 else binary > 0
    strokes = np.abs(cv2.Sobel(gray.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3))
    k = max(3, h // 25) | 1
    out: list[int] = []
    for profile, width in ((ink[:, cols].mean(axis=1), 3), (strokes[:, cols].mean(axis=1), k)):
        smooth = np.convolve(profile, np.ones(width) / width, mode="same")
        split = lo + int(np.argmin(smooth[lo:hi]))
        if all(abs(split - o) > 0.04 * h for o in out):
            out.append(split)
    return out


def _clahe(row: Image) -> Image:
    lab = cv2.cvtColor(row, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def _best_one(res: dict[str, Decoded], g: _Grammar) -> tuple[Decoded, _Pattern] | None:
    best: tuple[float, Decoded, _Pattern] | None = None
    for label, d in res.items():
        pat = g.one_row[label]
        score = d.score + pat.log_prior
        if best is None or score > best[0]:
            best = (score, d, pat)
    return None if best is None else (best[1], best[2])


def _free_score(projected: npt.NDArray[np.float64]) -> float:
    """Log-probability of the best unconstrained path (every frame's most likely class)."""
    return float(np.log(np.maximum(projected.max(axis=1), 1e-12)).sum())


# How much of the model's own reading the grammar may overrule before the
# confidence suffers (in nats of path log-probability), and how fast it falls
# after that. A plate read with a look-alike or two costs a few nats; text that
# only fits the grammar by dropping confident characters (a phone number
# "0208.3855.123" read as 20B-855.23) costs ten or more per character dropped.
FORCING_SLACK = 3.0
FORCING_SCALE = 6.0


def _forcing_factor(gap: float) -> float:
    """Confidence multiplier for a grammar path ``gap`` nats below the free reading."""
    return math.exp(-max(0.0, gap - FORCING_SLACK) / FORCING_SCALE)


def _combine_conf(a: Decoded, b: Decoded) -> float:
    probs = a.char_probs + b.char_probs
    return float(np.exp(np.mean(np.log(np.maximum(probs, 1e-12)))))


def _greedy(projected: npt.NDArray[np.float64]) -> str:
    """Greedy CTC text over the plate symbols (blank-like classes dropped)."""
    idx = projected.argmax(axis=1)
    out: list[str] = []
    prev = 0
    for i in idx:
        if i != prev and i != 0:
            out.append((plates.DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ")[i - 1])
        prev = int(i)
    return "".join(out)


def _repairs(raw: str, text: str) -> tuple[str, ...]:
    """Substitutions between the greedy text and the decoded one, when they align."""
    flat = raw.replace("/", "")
    if len(flat) != len(text) or flat == text:
        return ()
    return tuple(
        f"{a}->{b} at {i}" for i, (a, b) in enumerate(zip(flat, text, strict=True)) if a != b
    )


def _overlap(a: Quad, b: Quad) -> float:
    """Intersection over the smaller box's area (axis-aligned)."""
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    small = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return float(iw * ih / small) if small > 0 else 0.0


def _box_of(q: Quad, width: int, height: int) -> tuple[int, int, int, int]:
    x0 = int(max(0, math.floor(q[:, 0].min())))
    y0 = int(max(0, math.floor(q[:, 1].min())))
    x1 = int(min(width, math.ceil(q[:, 0].max())))
    y1 = int(min(height, math.ceil(q[:, 1].max())))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def plate_colour(img: Image, box: tuple[int, int, int, int]) -> str | None:
    """The plate's background colour ("white", "yellow", "blue", "red") or None if unclear.

    Looks at the middle band of the box, where the characters are and the car
    around a loosely boxed plate is not, and splits it into ink and
    background (Otsu). Vietnamese plates have black characters (white and
    yellow plates) or white ones (blue and red plates), so the ink tells
    which side is the background: black ink, the brighter side; white ink on
    a coloured side, the darker side; otherwise the larger side. The
    background's hue and saturation then name the colour.
    """
    x, y, w, h = box
    region = img[max(y, 0) : y + h, max(x, 0) : x + w]
    if region.size == 0:
        return None
    band = region[region.shape[0] // 4 : region.shape[0] - region.shape[0] // 4 or None]
    mx = region.shape[1] // 12
    band = band[:, mx : region.shape[1] - mx or None]
    if band.size == 0:
        band = region
    hsv = cv2.cvtColor(band, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32)
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY).reshape(-1)
    thr, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = gray > thr
    if bright.all() or not bright.any():
        return None
    light = np.median(hsv[bright], axis=0)
    dark = np.median(hsv[~bright], axis=0)
    if dark[2] < 90 and dark[1] < 110:
        bg = light  # black characters
    elif light[1] < 60 and light[2] > 150 and dark[1] >= 60:
        bg = dark  # white characters on a coloured plate
    else:
        bg = light if bright.mean() >= 0.5 else dark
    hue, sat, val = (float(v) for v in bg)
    if val < 60:
        return None
    if sat < 60:
        return "white" if val > 80 else None  # a dim grey plate is a white one in poor light
    if 15 <= hue <= 40:
        return "yellow"
    if 95 <= hue <= 135:
        return "blue"
    if hue <= 8 or hue >= 165:
        return "red"
    return None


def timed_read(reader: RapidOcrReader, image: Image) -> tuple[list[Reading], float]:
    """``reader.read(image)`` and the seconds it took (for benchmarks)."""
    t0 = time.perf_counter()
    out = reader.read(image)
    return out, time.perf_counter() - t0
