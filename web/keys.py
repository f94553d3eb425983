"""Typed keys for what the application object carries."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment

from anpr_feed.in_meetings import FeedsInMeetings
from anpr_feed.manager import FeedManager
from anpr_feed.wall import CameraWall
from conference.service import Conference
from conference.settings import Settings
from conference.watchdog import LoopWatchdog
from recorder.control import RecordingControl
from recorder.jobs import RenderJobs
from web.services import Services

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
CONFERENCE = web.AppKey("conference", Conference)
RECORDING = web.AppKey("recording", RecordingControl)
FEED_MANAGER = web.AppKey("feed_manager", FeedManager)  # the feeds' workers, events and lists
FEEDS_IN_MEETINGS = web.AppKey(
    "feeds_in_meetings", FeedsInMeetings
)  # which feed is in which meeting
WALL = web.AppKey("wall", CameraWall)  # the camera walls and each feed's wall source
RENDERS = web.AppKey("renders", RenderJobs)
TEMPLATES = web.AppKey("templates", Environment)
SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])
WATCHDOG = web.AppKey("watchdog", LoopWatchdog)
