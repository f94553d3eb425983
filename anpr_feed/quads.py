"""Text boxes as quadrilaterals: ordering, warping upright, geometry and overlap."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from anpr_feed.types import Image

Quad = npt.NDArray[np.float32]  # (4, 2): top-left, top-right, bottom-right, bottom-left


def order_quad(q: npt.NDArray[np.float32]) -> Quad:
    """Points as top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(q, dtype=np.float32).reshape(4, 2)
    s = pts.sum(axis=1)
    d = pts[:, 1] - pts[:, 0]
    return np.array(
        [pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
        dtype=np.float32,
    )


def bounding_quad(points: npt.NDArray[np.float32]) -> Quad:
    """The smallest rotated rectangle around ``points``."""
    rect = cv2.minAreaRect(points.astype(np.float32))
    return order_quad(cv2.boxPoints(rect))


def full_quad(img: Image) -> Quad:
    """The whole image as a quad."""
    h, w = img.shape[:2]
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)


def warp(img: Image, q: Quad) -> Image:
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


def quad_geometry(q: Quad) -> tuple[float, float, float, float, float, float]:
    """x0, x1, y0, y1 of the bounding box, and the row height and width."""
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    height = float((np.linalg.norm(q[0] - q[3]) + np.linalg.norm(q[1] - q[2])) / 2)
    width = float((np.linalg.norm(q[0] - q[1]) + np.linalg.norm(q[3] - q[2])) / 2)
    return float(x0), float(x1), float(y0), float(y1), height, width


def stacked(top: Quad, bottom: Quad) -> bool:
    """Could ``top`` and ``bottom`` be the two rows of one plate?"""
    tx0, tx1, ty0, ty1, th, tw = quad_geometry(top)
    bx0, bx1, by0, by1, bh, bw = quad_geometry(bottom)
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


def overlap(a: Quad, b: Quad) -> float:
    """Intersection over the smaller box's area (axis-aligned)."""
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    small = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return float(iw * ih / small) if small > 0 else 0.0


def box_of(q: Quad, width: int, height: int) -> tuple[int, int, int, int]:
    """The quad's bounding box (x, y, w, h), clipped to a ``width`` x ``height`` image."""
    x0 = int(max(0, math.floor(q[:, 0].min())))
    y0 = int(max(0, math.floor(q[:, 1].min())))
    x1 = int(min(width, math.ceil(q[:, 0].max())))
    y1 = int(min(height, math.ceil(q[:, 1].max())))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)
