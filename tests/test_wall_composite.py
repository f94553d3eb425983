"""A wall's composite: tiles in their cells, encoded once, and tiles asked for only while watched.

The feed readers are small fakes of :class:`anpr_feed.manager.FeedRunner`'s
tile side (``watch_tiles``/``unwatch_tiles``); the source, the encoder and
the packetiser are the real ones, and the picture is checked by decoding
the composite's VP8.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import av
import numpy as np

from anpr_feed.wall_composite import (
    COMPOSITE_FPS,
    COMPOSITE_SIZE,
    EMPTY_TILE,
    WallComposite,
    grid_of,
)
from conference.sfu import MediaPacket, SfuMetrics, Source
from tests.support.waiting import wait_until


class TileRunner:
    """A feed reader's tile side: who listens, and a way to send them a picture."""

    def __init__(self) -> None:
        self.listeners: list[Any] = []

    def watch_tiles(self, listener: Any) -> None:
        self.listeners.append(listener)

    def unwatch_tiles(self, listener: Any) -> None:
        self.listeners.remove(listener)

    def send(self, colour: tuple[int, int, int]) -> None:
        tile = np.full((180, 320, 3), colour, np.uint8)
        for listener in list(self.listeners):
            listener(320, 180, tile.tobytes())


class Readers:
    def __init__(self, n: int) -> None:
        self.runners = {f"cam{i}": TileRunner() for i in range(n)}


class KeptPackets:
    """A sink that keeps what the composite's source forwards."""

    def __init__(self) -> None:
        self.packets: list[MediaPacket] = []

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        self.packets.append(packet)

    def on_source_ended(self, source: Source) -> None:
        pass


def composite_of(readers: Readers) -> WallComposite:
    return WallComposite(
        "w1", "Màn hình", list(readers.runners), cast(Any, readers), "vp8", SfuMetrics()
    )


def decode(frames: list[bytes]) -> np.ndarray:
    codec = av.CodecContext.create("libvpx", "r")
    pictures = [f for data in frames for f in codec.decode(av.Packet(data))]
    assert pictures
    return pictures[-1].to_ndarray(format="bgr24")


def test_the_grid_is_square_for_each_wall_size() -> None:
    assert [grid_of(n) for n in (1, 4, 16, 25, 36, 10)] == [1, 2, 4, 5, 6, 4]


def test_each_tile_is_in_its_cell_and_a_missing_one_is_dark() -> None:
    readers = Readers(4)
    composite = composite_of(readers)
    colours = {"cam0": (0, 0, 200), "cam1": (0, 200, 0), "cam2": (200, 0, 0)}  # cam3: none
    tiles = {f: np.full((180, 320, 3), c, np.uint8) for f, c in colours.items()}
    packets = composite._render(tiles) + composite._render(tiles)
    assert packets[0][2] is True  # starts on a keyframe
    picture = decode([data for data, _, _ in packets])
    width, height = COMPOSITE_SIZE
    assert picture.shape == (height, width, 3)
    cells = {"cam0": (0, 0), "cam1": (0, 1), "cam2": (1, 0), "cam3": (1, 1)}
    for feed_id, (row, column) in cells.items():
        centre = picture[row * height // 2 + height // 4, column * width // 2 + width // 4]
        expected = colours.get(feed_id, EMPTY_TILE)
        assert np.abs(centre.astype(int) - np.array(expected)).max() < 30, (feed_id, centre)


async def test_tiles_are_asked_for_only_while_someone_watches() -> None:
    readers = Readers(2)
    composite = composite_of(readers)
    composite.start()
    try:
        await asyncio.sleep(3 / COMPOSITE_FPS)  # a few of its ticks, with nobody watching
        assert composite.frames == 0 and not composite.watching
        assert all(not r.listeners for r in readers.runners.values())

        sink = KeptPackets()
        composite.source.add_sink(sink)
        await wait_until(lambda: composite.watching, timeout=10)
        assert all(len(r.listeners) == 1 for r in readers.runners.values())
        readers.runners["cam0"].send((0, 0, 200))
        await wait_until(lambda: any(p.keyframe for p in sink.packets), timeout=20)
        assert "cam0" in composite.tiles

        composite.source.remove_sink(sink)
        await wait_until(lambda: not composite.watching, timeout=20)
        assert all(not r.listeners for r in readers.runners.values())
    finally:
        composite.stop()
    assert composite.source.ended
