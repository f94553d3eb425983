"""The aiohttp application factory and the serve loop.

The services the application serves from are built by the composition root
(``server/compose.py``); this module only wires them to routes and runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import WSCloseCode, web
from aiohttp.abc import AbstractAccessLogger
from jinja2 import Environment, FileSystemLoader, select_autoescape

from conference import gc_policy, log_floods
from conference.settings import Settings
from conference.watchdog import LoopWatchdog
from web import api, console, health, pages, placement, signaling, whip
from web.errors import error_middleware, quiet_client_faults
from web.html import content_security_policy
from web.keys import (
    CONFERENCE,
    FEED_MANAGER,
    FEEDS_IN_MEETINGS,
    RECORDING,
    RENDERS,
    SERVICES,
    SETTINGS,
    SOCKETS,
    TEMPLATES,
    WALL,
    WATCHDOG,
)
from web.listener import OWN_FDS_ENV, GuardedSite, inherited_sockets, raise_descriptor_limit
from web.minutes import stop_renderer
from web.request_body import read_body_in_time
from web.routes import Handler
from web.services import Services

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
SHUTDOWN_BUDGET = 3.0  # seconds for closing peers; SIGTERM must exit within 5


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers every response carries."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.secure:
        # Only over our own TLS: browsers then refuse plain HTTP to this host for a year.
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith("/static/"):
        # Revalidate (cheap 304s) so a deploy never leaves an old meeting.js behind.
        response.headers.setdefault("Cache-Control", "no-cache")
    if response.content_type == "text/html":
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
    return response


def create_app(settings: Settings, services: Services) -> web.Application:
    """Build the application over ``services``; they start and stop with it."""
    app = web.Application(
        # Outermost first: the answers made of raised errors get the security headers
        # too, and an error raised while the body is read is answered like a handler's.
        middlewares=[security_headers, error_middleware, read_body_in_time],
        client_max_size=256 * 1024,
    )
    app[SETTINGS] = settings
    app[SERVICES] = services
    app[CONFERENCE] = services.conference
    app[RECORDING] = services.recording
    app[FEED_MANAGER] = services.feed_manager
    app[FEEDS_IN_MEETINGS] = services.feeds_in_meetings
    app[WALL] = services.wall
    app[RENDERS] = services.renders
    app[SOCKETS] = set()
    app[TEMPLATES] = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        enable_async=False,
    )

    async def conference_ctx(app: web.Application) -> AsyncIterator[None]:
        watchdog = LoopWatchdog(asyncio.get_running_loop())
        app[WATCHDOG] = watchdog
        watchdog.start()
        services.start()
        yield
        watchdog.close()
        await services.close()

    app.cleanup_ctx.append(conference_ctx)
    app.on_shutdown.append(_on_shutdown)
    app.on_shutdown.append(stop_renderer)

    pages.setup(app)
    api.setup(app)
    app.router.add_get("/ws/console/{meeting}", console.console_handler)
    app.router.add_get("/ws/{room}", signaling.websocket_handler)
    app.router.add_post("/join/{room}/home", placement.home_of)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    for kind, post, delete in (
        ("whip", whip.whip_post, whip.whip_delete),
        ("whep", whip.whep_post, whip.whep_delete),
    ):
        app.router.add_post(f"/{kind}/{{room}}", post)
        app.router.add_route("OPTIONS", f"/{kind}/{{room}}", whip.preflight)
        app.router.add_delete(f"/{kind}/{{room}}/{{session}}", delete)
        app.router.add_patch(f"/{kind}/{{room}}/{{session}}", whip.session_patch)
        app.router.add_route("OPTIONS", f"/{kind}/{{room}}/{{session}}", whip.preflight)
    app.router.add_static("/static/", HERE / "static", name="static", append_version=True)
    return app


async def _on_shutdown(app: web.Application) -> None:
    """Close every peer connection and socket, within the shutdown budget."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(app[SERVICES].shutdown(), SHUTDOWN_BUDGET)
    sockets = app[SOCKETS]
    for ws in list(sockets):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown"), 0.5)


async def serve(
    settings: Settings,
    build_app: Callable[[], web.Application],
    banner: list[str] | None = None,
) -> None:
    """Run the app ``build_app`` makes until SIGTERM or SIGINT, then close everything."""
    from conference.tls import ensure_self_signed, server_context

    ssl_context = None
    if settings.self_signed:
        cert, key = ensure_self_signed(settings.data_dir, [settings.host])
        ssl_context = server_context(cert, key)
    elif settings.cert is not None and settings.key is not None:
        ssl_context = server_context(settings.cert, settings.key)

    log_floods.install()
    quiet_client_faults()
    descriptors = raise_descriptor_limit()
    app = build_app()
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=1.0,
        access_log_class=AccessLogger,
        # aiohttp arms this when a connection opens and after each response, and
        # closes a connection still waiting for a complete request head when it
        # fires: the idle keep-alive limit and the slow-headers limit in one.
        keepalive_timeout=settings.http_idle_timeout,
    )
    await runner.setup()
    # Before the port opens: the collection it starts with delays no request.
    gc_policy.install()
    site = GuardedSite(
        runner,
        settings.host,
        settings.port,
        ssl_context=ssl_context,
        per_address=settings.http_max_connections_per_address,
        total=settings.http_max_connections or max(64, descriptors // 2),
        handshake_timeout=settings.http_idle_timeout,
        # A worker of `serve --workers N` binds no port: its supervisor did (else none).
        adopt=inherited_sockets(OWN_FDS_ENV),
    )
    await site.start()
    shared = inherited_sockets()
    if shared:
        # A worker of `serve --workers N`: it also accepts on the public port, within
        # the same connection caps (they are this process's).
        public = GuardedSite(
            runner,
            settings.host,
            settings.port,
            ssl_context=ssl_context,
            handshake_timeout=settings.http_idle_timeout,
            adopt=shared,
            gate=site.gate,
        )
        await public.start()  # runner.cleanup() stops it with the others
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    watchdog = app[WATCHDOG]

    def on_signal(signum: int, frame: object) -> None:
        # A plain handler, not loop.add_signal_handler: it runs even while the
        # loop is stuck, so the watchdog knows a stop was asked for and can end
        # a process whose loop never comes back.
        watchdog.stop_requested()
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    for line in banner or []:
        print(line, flush=True)
    print(f"Serving on {settings.base_url()}  (Ctrl+C to stop)", flush=True)
    try:
        await stop.wait()
    finally:
        logger.info("shutting down")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(runner.cleanup(), SHUTDOWN_BUDGET + 1.0)


class AccessLogger(AbstractAccessLogger):
    """Access log without query strings: join links carry tokens."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )
