"""Wiring: the store, the bus, the conference and the parts that plug into it.

This is where recording control (``recorder/``) and feeds in meetings
(``anpr_feed/``) become conference extensions, so that ``conference/`` never
imports them.
"""

from __future__ import annotations

from aiohttp import web

from anpr_feed.in_meetings import FeedsInMeetings
from anpr_feed.manager import FeedManager
from anpr_feed.sources import SourcePolicy
from conference.bus import open_bus
from conference.extensions import Extension
from conference.keys import load_or_create_secret
from conference.media import shared_udp
from conference.service import Conference
from conference.settings import Settings
from conference.store import open_store
from recorder.control import RecordingControl
from recorder.jobs import RenderJobs
from web.app import create_app
from web.services import Services


class StopRenders(Extension):
    """Composite renders still running stop with the server."""

    def __init__(self, renders: RenderJobs) -> None:
        self.renders = renders

    async def shutdown(self) -> None:
        """Cancel the running renders."""
        await self.renders.close()


def services(settings: Settings) -> Services:
    """Open the store and the bus and build every part of one server process."""
    # The media sockets first: a media port already in use fails the start, not a meeting.
    shared_udp.configure(settings.media_port)
    store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
    bus = open_bus(settings.redis_url, settings.redis_prefix)
    conference = Conference(settings, store, load_or_create_secret(settings.data_dir), bus)
    feeds = FeedManager(
        store,
        settings.data_dir,
        settings.timezone,
        policy=SourcePolicy.from_settings(settings),
        log_level=settings.log_level,
        max_running=settings.max_feeds,
    )
    in_meetings = FeedsInMeetings(settings, store, feeds, conference.live, conference.metrics)
    recording = RecordingControl(settings, conference.live)
    renders = RenderJobs(
        settings.data_dir,
        {k: v for k, v in {"CONFERENCE_REDIS_URL": settings.redis_url}.items() if v},
    )
    # Shutdown runs the extensions in this order: feeds leave, recordings end, renders stop.
    for extension in (in_meetings, recording, StopRenders(renders)):
        conference.add_extension(extension)
    return Services(
        settings=settings,
        store=store,
        bus=bus,
        conference=conference,
        recording=recording,
        feed_manager=feeds,
        feeds_in_meetings=in_meetings,
        renders=renders,
    )


def build_app(settings: Settings) -> web.Application:
    """The web application over a fresh set of :func:`services`."""
    return create_app(settings, services(settings))
