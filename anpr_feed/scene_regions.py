"""Where plates may be in a whole road scene, each cut out upright to be read as a crop.

A scene (a street photo, a whole camera frame) holds plates 25-60 px wide among
much other text. The reader reads tight crops almost perfectly, so a scene is
turned into crops: the text detector's boxes (found on the picture enlarged,
as RapidOCR's own pipeline does) and the classical plate finder's blobs give
regions; the two rows of a two-row plate found as separate boxes become one
region; each region is cut out along its (possibly tilted) rectangle with a
margin, upright, and remembered with the transform back to the scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from anpr_feed.quads import Quad, bounding_quad, overlap, quad_geometry, stacked
from anpr_feed.types import Image

# A plate row is at least this tall in the scene (px): below it no model reads it.
MIN_ROW_PX = 5.0
# The widest text box that can be a plate (width / height): a one-row plate is ~4.7.
MAX_ASPECT = 9.0
# A lone text box narrower than this (width / height) may be one row of a two-row plate.
ROW_OF_TWO = 3.8


@dataclass
class Region:
    """A place in the scene that may hold one plate."""

    quad: Quad  # the plate's (or its rows') rectangle in scene coordinates
    source: str  # "det" (one text box), "det2" (two stacked boxes), "blob" (plate finder)
    rows: int  # 1 or 2: how many text boxes made it (0 for a blob)
    grow: float = 0.25  # margin cut out around it, as a fraction of its height
    # The two rows of a "det2" region (top first) as the scene's detector drew
    # them: read in place, they need no second detection in the cut-out.
    parts: tuple[Quad, ...] = ()


def _plausible(q: Quad, width: int, height: int) -> bool:
    _, _, _, _, h, w = quad_geometry(q)
    if h < MIN_ROW_PX or w < MIN_ROW_PX:
        return False
    return w / max(h, 1e-6) <= MAX_ASPECT and h <= 0.4 * height and w <= 0.6 * width


def regions_from_boxes(
    quads: list[Quad], blobs: list[tuple[int, int, int, int]], width: int, height: int
) -> list[Region]:
    """Plate regions from text boxes and plate-finder blobs (scene coordinates)."""
    boxes = [q for q in quads if _plausible(q, width, height)]
    out: list[Region] = []
    paired: set[int] = set()
    for i, top in enumerate(boxes):
        for j, bottom in enumerate(boxes):
            if i != j and stacked(top, bottom):
                out.append(
                    Region(bounding_quad(np.vstack([top, bottom])), "det2", 2, parts=(top, bottom))
                )
                paired.update((i, j))
    for i, q in enumerate(boxes):
        if i not in paired:
            _, _, _, _, h, w = quad_geometry(q)
            # A lone row shorter than a one-row plate may be one row of a two-row
            # plate whose other row the detector missed: cut out room for it.
            grow = 1.1 if w / max(h, 1e-6) < ROW_OF_TWO else 0.25
            out.append(Region(q, "det", 1, grow))
    for x, y, w, h in blobs:
        q = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)
        if not any(overlap(q, r.quad) > 0.6 for r in out):
            out.append(Region(q, "blob", 0))
    # The same place found twice (at two sizes, or a pair and a blob around it):
    # keep the first (pairs come first).
    kept: list[Region] = []
    for r in out:
        if not any(overlap(r.quad, k.quad) > 0.85 and _similar(r.quad, k.quad) for k in kept):
            kept.append(r)
    return kept


def _similar(a: Quad, b: Quad) -> bool:
    area_a = quad_geometry(a)[4] * quad_geometry(a)[5]
    area_b = quad_geometry(b)[4] * quad_geometry(b)[5]
    return 0.5 <= area_a / max(area_b, 1e-6) <= 2.0


def cut_out(
    img: Image, q: Quad, grow: float = 0.25, min_margin: float = 4.0
) -> tuple[Image, npt.NDArray[np.float64]]:
    """The region upright with a margin, and the 3x3 transform from the cut-out back to ``img``.

    The margin is ``grow`` of the region's height on every side (at least
    ``min_margin`` px): the crop reader wants a border around the plate, and a
    detector box tends to clip the characters' ends.
    """
    centre = q.mean(axis=0)
    across = (q[1] - q[0] + q[2] - q[3]) / 2
    down = (q[3] - q[0] + q[2] - q[1]) / 2
    w = float(np.linalg.norm(across))
    h = float(np.linalg.norm(down))
    ux = across / max(w, 1e-6)
    uy = down / max(h, 1e-6)
    m = max(min_margin, grow * h)
    half_w, half_h = w / 2 + m, h / 2 + m
    src = np.array(
        [
            centre - ux * half_w - uy * half_h,
            centre + ux * half_w - uy * half_h,
            centre + ux * half_w + uy * half_h,
            centre - ux * half_w + uy * half_h,
        ],
        dtype=np.float32,
    )
    out_w, out_h = max(2, round(2 * half_w)), max(2, round(2 * half_h))
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    forward = cv2.getPerspectiveTransform(src, dst)
    crop = cv2.warpPerspective(
        img, forward, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    back = cv2.getPerspectiveTransform(dst, src).astype(np.float64)
    return np.asarray(crop, np.uint8), back


def box_back(
    box: tuple[int, int, int, int], back: npt.NDArray[np.float64], width: int, height: int
) -> tuple[int, int, int, int]:
    """A box in a cut-out, as the bounding box of its place in the scene (clipped)."""
    x, y, w, h = box
    corners = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], dtype=np.float64)
    pts = cv2.perspectiveTransform(corners, back)[0]
    x0 = int(max(0, np.floor(pts[:, 0].min())))
    y0 = int(max(0, np.floor(pts[:, 1].min())))
    x1 = int(min(width, np.ceil(pts[:, 0].max())))
    y1 = int(min(height, np.ceil(pts[:, 1].max())))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)
