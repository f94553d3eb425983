"""Typed keys for what the application object carries."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment

from conference.service import Conference
from conference.settings import Settings
from conference.watchdog import LoopWatchdog

SETTINGS = web.AppKey("settings", Settings)
CONFERENCE = web.AppKey("conference", Conference)
TEMPLATES = web.AppKey("templates", Environment)
SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])
WATCHDOG = web.AppKey("watchdog", LoopWatchdog)
