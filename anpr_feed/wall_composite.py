"""A camera wall in a meeting: one participant whose picture is the wall's tiles in a grid.

The tiles are the feed workers' own annotated pictures, made small in the
worker (``("tile", ...)`` on the pipe, :data:`anpr_feed.worker.TILE_SIZE`)
while a composite asks for them: nothing is decoded from an encoded stream.
Here they are pasted into one 1280x720 picture :data:`COMPOSITE_FPS` times a
second and encoded once in the room's codec (in a thread: never on the event
loop), then packetised into an SFU :class:`~conference.sfu.Source` like a
feed's frames, so the meeting forwards, spotlights and records the wall like
any site.

Only while watched: with no sink on the source (no slot shows the wall, no
recording), the workers are told to stop sending tiles and nothing is
composed or encoded; a sink's keyframe request starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

import numpy as np

from anpr_feed.encoder import FeedEncoder
from anpr_feed.manager import FeedManager, FeedRunner
from anpr_feed.participant import CODECS, FramePacketizer, camera_site
from conference.sfu import SfuMetrics

logger = logging.getLogger(__name__)

COMPOSITE_SIZE = (1280, 720)
COMPOSITE_FPS = 5
GAP = 2  # pixels between tiles
EMPTY_TILE = (40, 40, 40)  # BGR: a feed with no picture yet (or not running here)
UNWATCHED_SECONDS = 2.0  # with no sink this long, the workers stop sending tiles


def wall_site_id(wall_id: str) -> str:
    """The site id a wall has in a meeting."""
    return f"wall-{wall_id}"


def grid_of(tiles: int) -> int:
    """Columns (and rows) of the square grid for ``tiles`` (16 -> 4, 25 -> 5, 36 -> 6)."""
    return max(1, math.ceil(math.sqrt(tiles)))


class WallComposite:
    """One wall in one room: its tiles composed and encoded once, while someone watches."""

    def __init__(
        self,
        wall_id: str,
        name: str,
        feed_ids: list[str],
        feeds: FeedManager,
        room_codec: str,
        metrics: SfuMetrics,
    ) -> None:
        if room_codec not in CODECS:
            raise ValueError(f"unknown room codec {room_codec!r}")
        self.id = wall_id
        self.feed_ids = list(feed_ids)
        self.feeds = feeds
        self.codec, sfu_codec = CODECS[room_codec]
        self.source, self.participant = camera_site(
            wall_site_id(wall_id), name, sfu_codec, metrics, self._keyframe_wanted
        )
        self.packetizer = FramePacketizer(self.source)
        width, height = COMPOSITE_SIZE
        self.canvas = np.zeros((height, width, 3), np.uint8)
        self.columns = grid_of(len(feed_ids))
        self.tiles: dict[str, np.ndarray] = {}  # feed id -> its newest small picture
        self.frames = 0  # composites encoded
        self._encoder: FeedEncoder | None = None
        self._keyframe = True
        self._watched: dict[str, tuple[FeedRunner, Any]] = {}  # feed id -> (runner, listener)
        self._task: asyncio.Task[None] | None = None
        self._last_sink = 0.0

    @property
    def watching(self) -> bool:
        """Whether the workers send tiles for this composite now."""
        return bool(self._watched)

    def start(self) -> None:
        """Compose while watched, from now until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        """Out of the room: no more tiles asked, the source ends."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._follow_runners(False)
        self.source.end()

    def _keyframe_wanted(self) -> None:
        self._keyframe = True

    def _follow_runners(self, want: bool) -> None:
        """Ask each feed's current reader for tiles (want) or stop asking (not)."""
        for feed_id in self.feed_ids:
            runner = self.feeds.runners.get(feed_id) if want else None
            held = self._watched.get(feed_id)
            if held is not None and held[0] is not runner:
                held[0].unwatch_tiles(held[1])
                del self._watched[feed_id]
                self.tiles.pop(feed_id, None)
                held = None
            if held is None and runner is not None:
                listener = self._tile_listener(feed_id)
                runner.watch_tiles(listener)
                self._watched[feed_id] = (runner, listener)

    def _tile_listener(self, feed_id: str) -> Any:
        def on_tile(width: int, height: int, data: bytes) -> None:
            if len(data) == width * height * 3:
                self.tiles[feed_id] = np.frombuffer(data, np.uint8).reshape(height, width, 3)

        return on_tile

    async def _run(self) -> None:
        period = 1.0 / COMPOSITE_FPS
        while True:
            started = time.monotonic()
            if self.source.sinks:
                self._last_sink = started
            watched = started - self._last_sink < UNWATCHED_SECONDS
            self._follow_runners(watched)
            if watched:
                try:
                    packets = await asyncio.to_thread(self._render, dict(self.tiles))
                except Exception:
                    logger.exception("wall %s: composing failed", self.id)
                    packets = []
                for data, pts, key in packets:
                    self.packetizer.write(data, pts, key, self.codec)
            else:
                self._encoder = None  # a new viewer starts on a fresh keyframe
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))

    def _render(self, tiles: dict[str, np.ndarray]) -> list[tuple[bytes, int, bool]]:
        """Paste the tiles into the canvas and encode it (in a worker thread)."""
        import cv2

        width, height = COMPOSITE_SIZE
        cell_w, cell_h = width // self.columns, height // self.columns
        inner_w, inner_h = (cell_w - GAP) & ~1, (cell_h - GAP) & ~1
        self.canvas[:] = 0
        for index, feed_id in enumerate(self.feed_ids):
            row, column = divmod(index, self.columns)
            x, y = column * cell_w, row * cell_h
            tile = tiles.get(feed_id)
            if tile is None:
                self.canvas[y : y + inner_h, x : x + inner_w] = EMPTY_TILE
                continue
            if tile.shape[1] != inner_w or tile.shape[0] != inner_h:
                tile = cv2.resize(tile, (inner_w, inner_h), interpolation=cv2.INTER_AREA)
            self.canvas[y : y + inner_h, x : x + inner_w] = tile
        if self._encoder is None:
            self._encoder = FeedEncoder(self.codec, width, height, COMPOSITE_FPS)
        if self._keyframe:
            self._encoder.force_keyframe = True
            self._keyframe = False
        self.frames += 1
        return self._encoder.encode(self.canvas, int(time.monotonic() * 90000))

    def close_quietly(self) -> None:
        """:meth:`stop`, whatever a reader's pipe says."""
        with contextlib.suppress(Exception):
            self.stop()
