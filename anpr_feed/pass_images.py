"""Pictures of a pass: the plate's crop, the frame's thumbnail, as JPEG and back."""

from __future__ import annotations

import cv2
import numpy as np

from anpr_feed.detector import Box
from anpr_feed.types import Image


def crop_with_margin(frame: Image, box: Box, margin: tuple[float, float]) -> tuple[Image, Box]:
    """The plate with a margin (RapidOCR's detector finds text badly when it fills the image)."""
    x, y, w, h = box
    mx, my = max(6, round(w * margin[0])), max(6, round(h * margin[1]))
    x0, y0 = max(0, x - mx), max(0, y - my)
    x1, y1 = min(frame.shape[1], x + w + mx), min(frame.shape[0], y + h + my)
    return frame[y0:y1, x0:x1], (x0, y0, x1 - x0, y1 - y0)


def thumbnail(frame: Image, box: Box, width: int) -> Image:
    """``frame`` scaled down to ``width`` at most, the plate boxed in red."""
    scale = min(1.0, width / frame.shape[1])
    small = (
        cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if scale < 1
        else frame.copy()
    )
    x, y, w, h = (round(v * scale) for v in box)
    cv2.rectangle(small, (x - 2, y - 2), (x + w + 2, y + h + 2), (0, 0, 255), 2)
    return small


def jpeg(image: Image, quality: int) -> bytes:
    """``image`` as JPEG bytes (empty if it cannot be encoded)."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else b""


def image_from_jpeg(data: bytes) -> Image:
    """Decode a crop or thumbnail of a :class:`anpr_feed.pass_event.PassEvent` (BGR)."""
    image: Image | None = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a JPEG image")
    return image
