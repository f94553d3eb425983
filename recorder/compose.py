"""Painting the composite picture: layouts, tiles and name labels, straight in YUV 4:2:0.

The decoders give yuv420p and the H.264 encoder takes yuv420p, so the canvas
is kept in that format: scaled pictures are copied plane by plane and no
colour conversion of the whole frame ever happens. Rectangles are aligned to
even pixels so the half-resolution chroma planes line up. Colours are BT.601
limited range, which is what VP8 (and the browsers' H.264) produce, and the
output is tagged accordingly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation, VideoReformatter

from recorder.fonts import text_mask

UInt8Array = npt.NDArray[np.uint8]

GAP = 4
"""Pixels between tiles."""

BACKGROUND = (12, 12, 14)
"""RGB between and around tiles."""

ABSENT = (38, 42, 50)
"""RGB of the tile of a site that shows no video (not joined, left, camera off)."""

LETTERBOX = (0, 0, 0)
"""RGB around a picture whose shape differs from its tile's."""


def yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited-range Y, U, V of an RGB colour."""
    r, g, b = rgb
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    return round(y), round(u), round(v)


def _even(value: float) -> int:
    return int(value) // 2 * 2


@dataclass(frozen=True)
class Rect:
    """A rectangle of the canvas; x, y, w and h are even."""

    x: int
    y: int
    w: int
    h: int


def fit(width: int, height: int, box: Rect) -> Rect:
    """The largest rectangle of ``width:height`` shape centred in ``box`` (letterboxing)."""
    scale = min(box.w / width, box.h / height)
    w = max(2, min(box.w, _even(width * scale + 1)))
    h = max(2, min(box.h, _even(height * scale + 1)))
    return Rect(box.x + _even((box.w - w) / 2), box.y + _even((box.h - h) / 2), w, h)


def _tiles_in(area: Rect, count: int, columns: int, aspect: float) -> list[Rect]:
    """``count`` tiles of ``aspect`` (w/h) in rows of ``columns``, centred in ``area``."""
    rows = math.ceil(count / columns)
    cell_w = (area.w - GAP * (columns - 1)) / columns
    cell_h = (area.h - GAP * (rows - 1)) / rows
    w = _even(min(cell_w, cell_h * aspect))
    h = _even(min(cell_h, w / aspect))
    top = area.y + _even((area.h - rows * h - (rows - 1) * GAP) / 2)
    rects = []
    for row in range(rows):
        in_row = min(columns, count - row * columns)
        left = area.x + _even((area.w - in_row * w - (in_row - 1) * GAP) / 2)
        for column in range(in_row):
            rects.append(Rect(left + column * (w + GAP), top + row * (h + GAP), w, h))
    return rects


def grid_rects(count: int, width: int, height: int) -> list[Rect]:
    """Tiles for ``count`` sites in a near-square grid of 16:9 tiles filling the canvas."""
    if count <= 0:
        return []
    canvas = Rect(GAP, GAP, width - 2 * GAP, height - 2 * GAP)
    # The number of columns that gives the largest tiles (for 16:9 tiles on a
    # 16:9 canvas this is ceil(sqrt(n)); other canvas shapes differ).
    best = max(
        range(1, count + 1),
        key=lambda c: _tiles_in(canvas, count, c, 16 / 9)[0].w,
    )
    return _tiles_in(canvas, count, best, 16 / 9)


def speaker_rects(others: int, width: int, height: int) -> tuple[Rect, list[Rect]]:
    """The featured site's large tile and a strip of ``others`` thumbnails below it."""
    if others == 0:
        return _tiles_in(Rect(0, 0, width, height), 1, 1, 16 / 9)[0], []
    rows = 1 if others <= 6 else 2
    strip_h = _even(height * (0.2 if rows == 1 else 0.3))
    main = _tiles_in(Rect(0, 0, width, height - strip_h - GAP), 1, 1, 16 / 9)[0]
    strip = Rect(GAP, height - strip_h, width - 2 * GAP, strip_h - GAP)
    return main, _tiles_in(strip, others, math.ceil(others / rows), 16 / 9)


@dataclass(frozen=True)
class Overlay:
    """A small picture with transparency, ready to blend onto the canvas."""

    y: UInt8Array
    u: UInt8Array
    v: UInt8Array
    # 0-255; 32-bit so that blending arithmetic cannot overflow.
    alpha: npt.NDArray[np.uint32]  # full resolution
    alpha_c: npt.NDArray[np.uint32]  # chroma resolution

    @property
    def width(self) -> int:
        """Width in pixels (even)."""
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels (even)."""
        return int(self.y.shape[0])


def _overlay(
    text: UInt8Array, padding: int, text_rgb: tuple[int, int, int], box_rgba: tuple[int, ...]
) -> Overlay:
    """Text coverage over a translucent box, as an even-sized YUV overlay."""
    h = _even(text.shape[0] + 2 * padding + 1)
    w = _even(text.shape[1] + 2 * padding + 1)
    coverage = np.zeros((h, w), dtype=np.float32)
    top = (h - text.shape[0]) // 2
    coverage[top : top + text.shape[0], padding : padding + text.shape[1]] = text / 255.0
    box_alpha = box_rgba[3] / 255.0
    alpha = coverage + box_alpha * (1.0 - coverage)
    ty, tu, tv = yuv(text_rgb)
    by, bu, bv = yuv((box_rgba[0], box_rgba[1], box_rgba[2]))
    # Colour of text over box, un-premultiplied so blending by ``alpha`` gives it back.
    share = np.divide(coverage, alpha, out=np.zeros_like(alpha), where=alpha > 0)
    y = by + (ty - by) * share
    chroma_share = share.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    alpha_c = alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    u = bu + (tu - bu) * chroma_share
    v = bv + (tv - bv) * chroma_share
    return Overlay(
        np.rint(y).astype(np.uint8),
        np.rint(u).astype(np.uint8),
        np.rint(v).astype(np.uint8),
        np.rint(alpha * 255).astype(np.uint32),
        np.rint(alpha_c * 255).astype(np.uint32),
    )


def label_font_size(tile_h: int) -> int:
    """Pixel size of the name label for a tile of this height."""
    return max(11, min(24, round(tile_h * 0.065)))


@lru_cache(maxsize=512)
def name_label(name: str, tile_w: int, tile_h: int) -> Overlay:
    """The name label of a tile of this size (rendered once, then reused)."""
    size = label_font_size(tile_h)
    padding = max(3, size // 3)
    text = text_mask(name, size, max_width=max(8, tile_w - 4 * padding - 8))
    return _overlay(text, padding, (255, 255, 255), (0, 0, 0, 165))


@lru_cache(maxsize=512)
def absent_tile(name: str, tile_w: int, tile_h: int) -> tuple[UInt8Array, UInt8Array, UInt8Array]:
    """The Y, U, V planes of a site's dark tile: its name, centred (rendered once)."""
    y0, u0, v0 = yuv(ABSENT)
    y = np.full((tile_h, tile_w), y0, dtype=np.uint8)
    u = np.full((tile_h // 2, tile_w // 2), u0, dtype=np.uint8)
    v = np.full((tile_h // 2, tile_w // 2), v0, dtype=np.uint8)
    size = max(12, min(40, round(tile_h * 0.1)))
    text = text_mask(name, size, max_width=max(8, tile_w - 2 * size))
    label = _overlay(text, 2, (235, 235, 235), (*ABSENT, 0))
    x = _even(max(0, tile_w - label.width) / 2)
    top = _even(max(0, tile_h - label.height) / 2)
    _blend(y, u, v, label, x, top)
    return y, u, v


def _blend(y: UInt8Array, u: UInt8Array, v: UInt8Array, overlay: Overlay, x: int, top: int) -> None:
    """Blend ``overlay`` onto the planes with its top-left corner at (x, top), clipped."""
    h = min(overlay.height, y.shape[0] - top)
    w = min(overlay.width, y.shape[1] - x)
    if h <= 0 or w <= 0:
        return
    h -= h % 2
    w -= w % 2
    hc, wc, xc, tc = h // 2, w // 2, x // 2, top // 2
    for plane, src, alpha, (py, px, ph, pw) in (
        (y, overlay.y, overlay.alpha, (top, x, h, w)),
        (u, overlay.u, overlay.alpha_c, (tc, xc, hc, wc)),
        (v, overlay.v, overlay.alpha_c, (tc, xc, hc, wc)),
    ):
        region = plane[py : py + ph, px : px + pw]
        a = alpha[:ph, :pw]
        mixed = (region * (255 - a) + src[:ph, :pw] * a + 127) // 255
        region[...] = mixed.astype(np.uint8)


def frame_planes(frame: av.VideoFrame) -> tuple[UInt8Array, UInt8Array, UInt8Array]:
    """Views of a yuv420p frame's planes (no copy; row padding cut off)."""
    views = []
    for plane in frame.planes:
        data = np.frombuffer(memoryview(plane), dtype=np.uint8)
        rows = data.reshape(-1, plane.line_size)[: plane.height]
        views.append(rows[:, : plane.width])
    return views[0], views[1], views[2]


class Canvas:
    """The output picture, one reusable yuv420p buffer."""

    def __init__(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError("the output size must be even")
        self.width = width
        self.height = height
        # I420 in one array, the layout VideoFrame.from_ndarray takes: Y rows,
        # then U and V each as height/4 rows of the full width.
        self.buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)
        self.y = self.buffer[:height]
        self.u = self.buffer[height : height * 5 // 4].reshape(height // 2, width // 2)
        self.v = self.buffer[height * 5 // 4 :].reshape(height // 2, width // 2)
        self._scalers: dict[str, VideoReformatter] = {}

    def clear(self) -> None:
        """Paint the background everywhere."""
        self.fill(Rect(0, 0, self.width, self.height), BACKGROUND)

    def fill(self, rect: Rect, rgb: tuple[int, int, int]) -> None:
        """Paint ``rect`` one colour."""
        y, u, v = yuv(rgb)
        self.y[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = y
        cx, cy, cw, ch = rect.x // 2, rect.y // 2, rect.w // 2, rect.h // 2
        self.u[cy : cy + ch, cx : cx + cw] = u
        self.v[cy : cy + ch, cx : cx + cw] = v

    def paste(self, rect: Rect, planes: tuple[UInt8Array, UInt8Array, UInt8Array]) -> None:
        """Copy Y, U, V planes of exactly ``rect``'s size into it."""
        y, u, v = planes
        self.y[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = y
        cx, cy, cw, ch = rect.x // 2, rect.y // 2, rect.w // 2, rect.h // 2
        self.u[cy : cy + ch, cx : cx + cw] = u
        self.v[cy : cy + ch, cx : cx + cw] = v

    def blend(self, overlay: Overlay, x: int, top: int) -> None:
        """Blend an overlay (a label) with its top-left corner at (x, top)."""
        _blend(self.y, self.u, self.v, overlay, x, top)

    def picture(self, key: str, frame: av.VideoFrame, tile: Rect) -> Rect:
        """Scale ``frame`` into ``tile``, letterboxed; returns where the picture went.

        ``key`` names a reusable scaler (one per tile).
        """
        inner = fit(frame.width, frame.height, tile)
        if inner != tile:
            self.fill(tile, LETTERBOX)
        scaler = self._scalers.get(key)
        if scaler is None:
            # One scaler per tile: swscale keeps its context while sizes stay the same.
            scaler = self._scalers[key] = VideoReformatter()
        scaled = scaler.reformat(
            frame,
            width=inner.w,
            height=inner.h,
            format="yuv420p",
            interpolation=Interpolation.AREA if inner.w < frame.width else Interpolation.BILINEAR,
            threads=1,
        )
        self.paste(inner, frame_planes(scaled))
        return inner

    def label(self, name: str, tile: Rect, picture: Rect | None = None) -> None:
        """The site's name in the bottom-left corner of the picture (else of the tile).

        Sized for the tile, so a narrow picture (4:3, portrait) gets the same
        label as its neighbours, moved left as far as needed to stay in the tile.
        """
        overlay = name_label(name, tile.w, tile.h)
        margin = _even(max(4, tile.h * 0.03))
        area = picture or tile
        x = max(tile.x, min(area.x + margin, tile.x + tile.w - overlay.width - margin))
        top = max(tile.y, area.y + area.h - overlay.height - margin)
        self.blend(overlay, _even(x), _even(top))

    def absent(self, name: str, tile: Rect) -> None:
        """The dark tile of a site with no picture."""
        self.paste(tile, absent_tile(name, tile.w, tile.h))

    def to_frame(self) -> av.VideoFrame:
        """A new VideoFrame with the canvas's current content (copied)."""
        return av.VideoFrame.from_ndarray(self.buffer, format="yuv420p")
