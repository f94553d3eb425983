"""What the web application serves from: the conference and its plugged-in parts.

Built by the composition root (``server/compose.py``) and handed to
:func:`web.app.create_app`; handlers reach each part through its app key
(:mod:`web.keys`), not through the conference.
"""

from __future__ import annotations

from dataclasses import dataclass

from anpr_feed.in_meetings import FeedsInMeetings
from anpr_feed.manager import FeedManager
from anpr_feed.wall import CameraWall
from conference.bus import EventBus
from conference.cascade.cascade import Cascade
from conference.cluster.node import ClusterNode
from conference.service import Conference
from conference.settings import Settings
from conference.store import Store
from recorder.control import RecordingControl
from recorder.jobs import RenderJobs


@dataclass
class Services:
    """The parts of one server process, and their start and stop."""

    settings: Settings
    store: Store
    bus: EventBus
    conference: Conference
    recording: RecordingControl
    feed_manager: FeedManager
    feeds_in_meetings: FeedsInMeetings
    wall: CameraWall  # the camera walls watched on this node
    renders: RenderJobs
    cluster: ClusterNode | None = None  # with Redis: this process as a cluster node
    cascade: Cascade | None = None  # with Redis: meetings spread over several nodes

    def start(self) -> None:
        """Start the conference and its extensions' loops (inside the running event loop)."""
        self.conference.start()

    async def shutdown(self) -> None:
        """Close every connection, room, recording, feed and render (SIGTERM)."""
        await self.conference.shutdown()

    async def close(self) -> None:
        """Release the bus and the store, last."""
        await self.bus.close()
        await self.store.close()
        if self.cluster is not None:
            await self.cluster.close()
