"""What the per-site link series cost a ``/metrics`` scrape with 2,000 sites present.

In one process, N real peer sessions (aiortc peer connections with a main
slot, two thumbnails and an audio slot, no network) join 10 rooms as the
server's connections, each with a roll-call quality figure. Then, best and
median of R runs:

* ``site_links_ms``: :meth:`QualitySampler.site_links` (on the event loop:
  it reads the live slots);
* ``render_ms``: :func:`web.site_metrics.site_links_text` (in a worker thread
  in ``/metrics``);
* baseline, same run: ``link_metrics_ms``, the per-room aggregate that
  ``/metrics`` already computed over the same connections.

    .venv/bin/python bench/site_metrics.py [--sites 2000] [--runs 7]

Progress goes to stderr, one JSON document to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conference.connections import Connection, Connections  # noqa: E402
from conference.extensions import Extensions  # noqa: E402
from conference.peer import PeerSession, SlotLayout  # noqa: E402
from conference.quality import QualitySampler  # noqa: E402
from conference.rooms.participant import Participant  # noqa: E402
from conference.rooms.roll_call import Quality  # noqa: E402
from conference.rooms.room import Room  # noqa: E402
from conference.settings import Settings  # noqa: E402
from conference.sfu import SfuMetrics  # noqa: E402
from conference.store import Room as RoomRecord  # noqa: E402
from conference.tokens import Role, TokenClaims  # noqa: E402
from web.site_metrics import site_links_text  # noqa: E402

ROOMS = 10


def timed(call: Callable[[], Any], runs: int) -> dict[str, float]:
    """Best and median milliseconds of ``runs`` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"best": round(min(times), 2), "median": round(statistics.median(times), 2)}


async def main(sites: int, runs: int) -> dict[str, Any]:
    """Build the connections, measure, close them."""

    async def no_room(record: RoomRecord) -> Room:
        raise AssertionError("rooms are made here")

    with tempfile.TemporaryDirectory() as data:
        metrics = SfuMetrics()
        connections = Connections(Settings(data_dir=Path(data)), metrics, no_room, Extensions())
        rooms = [Room(f"room-{i}", f"Họp {i}", "vp8") for i in range(ROOMS)]
        now = int(time.time())
        started = time.perf_counter()
        for index in range(sites):
            site_id = f"{10000 + index:05d}"
            room = rooms[index % ROOMS]
            session = PeerSession(owner=site_id, metrics=metrics, ice_servers=[], video_codec="vp8")
            session.add_slots(SlotLayout(thumbnails=2, audio=1))
            claims = TokenClaims(
                room=room.id, sub=site_id, name=f"Xã {index}", role=Role.PARTICIPANT,
                iat=now, exp=now + 600, jti=f"bench-{index:08d}",
            )  # fmt: skip
            participant = Participant(
                id=site_id, name=claims.name, role=claims.role, slots=session.slots
            )
            connections.by_id[site_id] = Connection(site_id, room, participant, session, claims)
            room.join(participant)
            room.report_quality(
                site_id, Quality(rtt_ms=40.0 + index % 50, loss=0.01, at=time.time())
            )
        print(f"{sites} sites built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        sampler = QualitySampler(connections)
        rows = sampler.site_links()
        text = site_links_text(rows)
        result = {
            "sites": sites,
            "rooms": ROOMS,
            "runs": runs,
            "lines": text.count("\n") + 1,
            "bytes": len(text.encode()),
            "site_links_ms": timed(sampler.site_links, runs),
            "render_ms": timed(lambda: site_links_text(rows), runs),
            "baseline_link_metrics_ms": timed(sampler.link_metrics, runs),
            "python": platform.python_version(),
        }
        await asyncio.gather(*(c.session.close() for c in connections.by_id.values()))
        for room in rooms:
            await room.close()
        return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.sites, args.runs)), indent=2))
