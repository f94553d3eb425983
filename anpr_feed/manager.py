"""The server's side of the camera feeds: one supervised worker process per feed.

The manager starts a :mod:`anpr_feed.worker` process for every registered
feed, reads its pipe from the event loop (``add_reader``: no thread per feed),
keeps each feed's status for the feeds page and ``/metrics``, and turns each
vehicle pass into a stored :class:`~anpr_feed.events_store.PlateEvent` with its crop
and thumbnail on disk and its alerts matched against the watch list and the
outbreak provinces. Meetings subscribe to a feed's video; the worker encodes
it once per codec however many meetings and sites watch.

A worker that dies (a crash in a decoder, the OOM killer) is restarted with
backoff; a worker that reports ``failed`` (a source we cannot use) is left
stopped with its error shown until the feed is changed.

With several nodes on one Redis store (``conference serve --redis``), a node
runs a feed only while it holds the feed's lease (anpr_feed/leases.py): each
sync pass renews its leases, stops the feeds whose lease it lost, and claims
free ones up to its fair share. The feeds read by other nodes are shown with
the status their reader last wrote to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError

from anpr_feed import worker
from anpr_feed.declarations.checker import DeclarationChecker
from anpr_feed.events_store import PLATE_COLOURS, PlateEvent, PlateStore, plate_store_for
from anpr_feed.leases import FeedLeases
from anpr_feed.masking import mask_url, redact
from anpr_feed.sources import SourcePolicy
from anpr_feed.watchlist import Alert, Matcher
from conference.private_files import private_dir, write_private
from conference.store import Feed, Store

logger = logging.getLogger(__name__)

RESTART_START = 1.0
RESTART_MAX = 60.0
STOP_SECONDS = 3.0
SYNC_SECONDS = 5.0  # how soon a feed added or removed on the command line starts or stops
STATUS_META = "feed-status:"  # store meta key prefix: the last status, for `conference feed list`
RELEASE_SECONDS = 1.0  # for giving the feed leases up at shutdown (Redis may be down)
# A feed this node gave up to spread the feeds is left to the others this long
# before it claims it back (when no other node could take it).
SHED_HOLD_SECONDS = 30.0
# How often the feeds' lease deadlines are checked by the local clock (see
# FeedManager.stop_lapsed); a feed stops this long before its lease could end.
LEASE_CHECK_SECONDS = 1.0

PassListener = Callable[[Feed, PlateEvent, list[Alert]], None]
VideoListener = Callable[[bytes, int, bool, str], None]
TileListener = Callable[[int, int, bytes], None]  # width, height, raw BGR


def feed_fields(feed: Feed) -> dict[str, Any]:
    """A registered feed as JSON (the API and ``conference feed list --json`` add its status).

    The URL is masked (``rtsp://user:***@host/...``): only the worker opens the real one.
    """
    return {
        "id": feed.id,
        "name": feed.name,
        "checkpoint": feed.checkpoint,
        "location": feed.location,
        "url": mask_url(feed.url),
        "unit_code": feed.unit_code,
        "passthrough": feed.passthrough,
    }


@dataclass
class FeedStatus:
    """What the feeds page and ``/metrics`` show of one feed."""

    state: str = "starting"  # starting, connecting, online, offline, failed, stopped
    fps: float = 0.0
    frames: int = 0
    passes: int = 0
    alerts: int = 0
    restarts: int = 0
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    passthrough: bool = False
    error: str | None = None
    # Why a feed marked passthrough is re-encoded: "passthrough-b-frames" (browsers
    # cannot play reordered frames) or "passthrough-not-h264".
    note: str | None = None
    last_frame_at: float | None = None
    # Load shed by the worker (a live feed keeps up with its camera by reading less):
    # reads refused by the reading budget, vehicles due a read that got none, and
    # whether it shed any lately.
    shed_reads: int = 0
    unread: int = 0
    shedding: bool = False
    last_read: dict[str, Any] | None = None  # plate, display, at, event id
    watching: list[str] = field(default_factory=list)  # rooms showing the feed now
    # Codecs the worker encodes now: only while someone in a room takes the picture.
    encoding: list[str] = field(default_factory=list)
    gate: dict[str, int] | None = None  # frames the detector saw and skipped (anpr_feed.gating)
    # Encoders the worker made, and frames it encoded by codec (one encoder per codec,
    # however many meetings and walls show it); listeners of its video by codec, and
    # of its small pictures for walls in meetings ("tiles").
    encoders_made: int = 0
    encoded_frames: dict[str, int] = field(default_factory=dict)
    listeners: dict[str, int] = field(default_factory=dict)
    node: str | None = None  # the cluster node reading it (None without a cluster)

    def as_dict(self) -> dict[str, Any]:
        """JSON for the API."""
        return {
            "state": self.state,
            "fps": self.fps,
            "frames": self.frames,
            "passes": self.passes,
            "alerts": self.alerts,
            "restarts": self.restarts,
            "width": self.width,
            "height": self.height,
            "codec": self.codec,
            "passthrough": self.passthrough,
            "error": self.error,
            "note": self.note,
            "last_frame_at": self.last_frame_at,
            "shed_reads": self.shed_reads,
            "unread": self.unread,
            "shedding": self.shedding,
            "last_read": self.last_read,
            "watching": list(self.watching),
            "encoding": list(self.encoding),
            "gate": dict(self.gate) if self.gate is not None else None,
            "encoders_made": self.encoders_made,
            "encoded_frames": dict(self.encoded_frames),
            "listeners": dict(self.listeners),
            "node": self.node,
        }


class FeedRunner:
    """One feed's worker process and the pipe to it."""

    def __init__(self, feed: Feed, manager: FeedManager) -> None:
        self.feed = feed
        self.manager = manager
        self.status = FeedStatus(node=manager.node_id)
        self.process: Any = None
        self.conn: Connection | None = None
        self.stopping = False
        self._backoff = RESTART_START
        self._restart: asyncio.TimerHandle | None = None
        self._video: dict[str, list[VideoListener]] = {}
        self._tiles: list[TileListener] = []
        self._exited = asyncio.Event()

    # -- the process ----------------------------------------------------------------

    def start(self) -> None:
        """Spawn the worker (a fresh interpreter: no inherited sockets or threads)."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=worker.run,
            args=(self.feed.id, self.feed.url, child),
            kwargs={
                "passthrough": self.feed.passthrough,
                "pipeline_factory": self.manager.pipeline_factory,
                "policy": self.manager.policy,
                "log_level": self.manager.log_level,
            },
            name=f"feed-{self.feed.id}",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.conn = parent
        self._exited.clear()
        self.status.state = "starting"
        asyncio.get_running_loop().add_reader(parent.fileno(), self._readable)
        if self._video:
            self._send("video", sorted(self._video))
        if self._tiles:
            self._send("tiles", True)

    def _readable(self) -> None:
        conn = self.conn
        if conn is None:
            return
        try:
            # Bounded, so a chatty feed cannot starve the loop.
            for _ in range(64):
                if not conn.poll():
                    break
                self._handle(conn.recv())
        except (EOFError, OSError):
            self._process_ended()
        except Exception:
            logger.exception("feed %s: bad message from the worker", self.feed.id)

    def _process_ended(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(conn.fileno())
            conn.close()
        code = None
        if self.process is not None:
            self.process.join(0.5)
            code = self.process.exitcode
        self._exited.set()
        if self.stopping:
            self.status.state = "stopped"
            return
        if self.status.state == "failed":
            return  # the source cannot be used: wait for the feed to be changed
        self.status.restarts += 1
        self.status.state = "offline"
        self.status.fps = 0.0
        self.status.error = f"the feed's process stopped (exit code {code}); restarting"
        logger.warning(
            "feed %s: worker exited with %s; restarting in %.0f s",
            self.feed.id,
            code,
            self._backoff,
        )
        loop = asyncio.get_running_loop()
        self._restart = loop.call_later(self._backoff, self._restart_now)
        self._backoff = min(self._backoff * 2, RESTART_MAX)

    def _restart_now(self) -> None:
        self._restart = None
        if not self.stopping:
            self.start()

    def _send(self, *message: Any) -> None:
        if self.conn is None:
            return
        try:
            self.conn.send(message)
        except (BrokenPipeError, EOFError, OSError):
            pass  # the reader sees the end and restarts it

    async def stop(self) -> None:
        """Ask the worker to stop; kill it if it does not within :data:`STOP_SECONDS`."""
        self.stopping = True
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        if self.conn is None:
            self.status.state = "stopped"
            return
        self._send("stop")
        try:
            await asyncio.wait_for(self._exited.wait(), STOP_SECONDS)
        except TimeoutError:
            logger.warning("feed %s: worker did not stop; killing it", self.feed.id)
            if self.process is not None:
                self.process.kill()
            self._process_ended()
        self.status.state = "stopped"
        self.status.fps = 0.0

    # -- messages -----------------------------------------------------------------

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "packet":
            _, data, pts, keyframe, codec = message
            for listener in self._video.get(codec, ()):
                try:
                    listener(data, pts, keyframe, codec)
                except Exception:
                    logger.exception("feed %s: video listener failed", self.feed.id)
        elif kind == "tile":
            _, width, height, data = message
            for tile_listener in list(self._tiles):
                try:
                    tile_listener(width, height, data)
                except Exception:
                    logger.exception("feed %s: tile listener failed", self.feed.id)
        elif kind == "status":
            report = message[1]
            status = self.status
            status.state = report.get("state", status.state)
            status.fps = float(report.get("fps") or 0.0)
            status.frames = int(report.get("frames") or 0)
            # FFmpeg's errors quote the URL they were given, password and all.
            status.error = redact(report.get("error"), self.feed.url)
            status.last_frame_at = report.get("last_frame_at")
            status.width = report.get("width")
            status.height = report.get("height")
            status.codec = report.get("codec")
            status.passthrough = bool(report.get("passthrough"))
            status.note = report.get("note")
            status.gate = report.get("gate")
            status.encoders_made = int(report.get("encoders_made") or 0)
            status.encoded_frames = dict(report.get("encoded_frames") or {})
            status.shed_reads = int(report.get("shed_reads") or 0)
            status.unread = int(report.get("unread") or 0)
            status.shedding = bool(report.get("shedding"))
            if status.state == "online":
                self._backoff = RESTART_START
        elif kind == "pass":
            self.status.passes += 1
            self.manager.spawn_pass(self, message[1])

    # -- video for meetings -----------------------------------------------------------

    def watch(self, codec: str, listener: VideoListener) -> None:
        """Send this feed's video in ``codec`` to ``listener`` from now on."""
        listeners = self._video.setdefault(codec, [])
        listeners.append(listener)
        self.status.encoding = sorted(self._video)
        self._count_listeners()
        if len(listeners) == 1:
            self._send("video", sorted(self._video))
        else:
            self.request_keyframe()

    def unwatch(self, codec: str, listener: VideoListener) -> None:
        """Stop sending video to ``listener``; the worker stops encoding when nobody watches."""
        listeners = self._video.get(codec, [])
        if listener in listeners:
            listeners.remove(listener)
        self._count_listeners()
        if not listeners and codec in self._video:
            del self._video[codec]
            self.status.encoding = sorted(self._video)
            self._send("video", sorted(self._video))

    def watch_tiles(self, listener: TileListener) -> None:
        """Send this feed's small annotated pictures to ``listener`` (a wall's composite)."""
        self._tiles.append(listener)
        self._count_listeners()
        if len(self._tiles) == 1:
            self._send("tiles", True)

    def unwatch_tiles(self, listener: TileListener) -> None:
        """No more small pictures for ``listener``; the worker stops making them for nobody."""
        if listener in self._tiles:
            self._tiles.remove(listener)
            self._count_listeners()
            if not self._tiles:
                self._send("tiles", False)

    def _count_listeners(self) -> None:
        """For the status: listeners of the video by codec, and of the tiles (``tiles``)."""
        counts = {codec: len(listeners) for codec, listeners in self._video.items() if listeners}
        if self._tiles:
            counts["tiles"] = len(self._tiles)
        self.status.listeners = counts

    def request_keyframe(self) -> None:
        """A new viewer needs a keyframe."""
        self._send("keyframe")

    def show_alert(self, plate: str, text: str) -> None:
        """Put the alert banner on the annotated picture."""
        self._send("alert", plate, text)


class FeedManager:
    """Every feed of this server, their events, alerts and retention.

    ``store`` holds the feeds (and their last status); ``plates`` the passes,
    the watch list and outbreak provinces: by default the plate store kept
    beside ``store`` (see :func:`~anpr_feed.events_store.plate_store_for`).
    """

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        timezone: str = "Asia/Ho_Chi_Minh",
        pipeline_factory: Any = None,
        policy: SourcePolicy | None = None,
        log_level: str = "WARNING",
        max_running: int | None = None,
        plates: PlateStore | None = None,
        leases: FeedLeases | None = None,
    ) -> None:
        self.store = store
        # With a cluster: the feed leases; a feed runs here only while its lease is ours.
        self.leases = leases
        self.node_id = leases.node_id if leases is not None else None
        # The feeds other nodes read: the status their reader last stored, by feed id.
        self.elsewhere: dict[str, dict[str, Any]] = {}
        self._shed: dict[str, float] = {}  # feed id -> when we gave it up to spread the feeds
        # Feed id -> when our lease ends at the latest (monotonic): the time we
        # asked for the last renewal that succeeded, plus the lease's length.
        self._lease_until: dict[str, float] = {}
        self.plates: PlateStore = plates if plates is not None else plate_store_for(store)
        # Where feeds may read from: the camera networks and the feed files folder.
        self.policy = policy if policy is not None else SourcePolicy(data_dir / "feed-files")
        self.log_level = log_level
        self.files_dir = data_dir / "anpr"
        self.zone = ZoneInfo(timezone)
        self.pipeline_factory = pipeline_factory
        self.runners: dict[str, FeedRunner] = {}
        # At most this many workers (CONFERENCE_MAX_FEEDS): registration keeps to it,
        # but feeds registered before it was lowered must not all start either.
        # The others wait here, shown stopped with the reason, until a place frees.
        self.max_running = max_running
        self.held: dict[str, FeedStatus] = {}
        self.matcher = Matcher()
        self.declarations = DeclarationChecker(self.plates, self.zone)
        self.on_pass: list[PassListener] = []
        self.events_stored = 0
        self.alerts_raised = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Load the lists and start every registered feed (clustered: claim our share)."""
        with contextlib.suppress(OSError):  # made for the administrator to put videos in
            self.policy.files_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        await self.reload_lists()
        if self.leases is not None:
            try:
                await self.sync()
            except (RedisError, OSError):
                logger.exception("feeds: the first sync failed; retrying on the next")
            return
        for feed in await self.store.list_feeds():
            self.run(feed)

    async def sync(self) -> list[str]:
        """Follow the store: start new feeds, stop deleted ones; the ids of the feeds stopped here.

        Stopped here: deleted, or (clustered) read by another node from now on.
        Also writes the status of each feed running here to the store, where
        ``conference feed list`` and the other nodes read it.
        """
        feeds = {f.id: f for f in await self.store.list_feeds()}
        gone = [feed_id for feed_id in self.runners if feed_id not in feeds]
        for feed_id in gone:
            await self.remove(feed_id)
        for feed_id in [feed_id for feed_id in self.held if feed_id not in feeds]:
            del self.held[feed_id]
        if self.leases is not None:
            gone += await self._lease_pass(self.leases, feeds)
        for feed_id, feed in feeds.items():
            runner = self.runners.get(feed_id)
            if runner is None:
                if self.leases is None:
                    self.run(feed)
            elif runner.feed != feed:
                await self.remove(feed_id, release=False)
                self.run(feed)
        statuses = [(i, r.status) for i, r in self.runners.items()] + list(self.held.items())
        for feed_id, feed_status in statuses:
            status = feed_status.as_dict()
            status["updated_at"] = time.time()
            await self.store.set_meta(STATUS_META + feed_id, json.dumps(status))
        return gone

    async def _lease_pass(self, leases: FeedLeases, feeds: dict[str, Feed]) -> list[str]:
        """Renew our leases, stop the lost ones, give up or claim feeds; the ids stopped here."""
        stopped = []
        for feed_id in list(self.runners):
            asked = time.monotonic()
            # An expired lease nobody took (Redis was out of reach) is simply ours again.
            if not await leases.renew(feed_id) and not await leases.claim(feed_id):
                logger.warning("feed %s: its lease went to another node; stopping it here", feed_id)
                await self.remove(feed_id, release=False)
                stopped.append(feed_id)
            else:
                self._lease_until[feed_id] = asked + leases.ttl
        share = math.ceil(len(feeds) / await leases.live_nodes())
        if self.max_running is not None:
            share = min(share, self.max_running)
        now = time.monotonic()
        self._shed = {i: at for i, at in self._shed.items() if now - at < SHED_HOLD_SECONDS}
        if len(self.runners) > share:
            # More than our share (we were alone when we claimed them): give one up per
            # pass, for a node with fewer to take; never one a meeting here is showing.
            for feed_id, runner in reversed(list(self.runners.items())):
                if not runner.status.watching:
                    logger.info("feed %s: given up to spread the feeds over the nodes", feed_id)
                    await self.remove(feed_id)
                    self._shed[feed_id] = now
                    stopped.append(feed_id)
                    break
        for feed_id in sorted(feeds):
            if len(self.runners) >= share:
                break
            if feed_id in self.runners or feed_id in self._shed:
                continue
            asked = time.monotonic()
            if await leases.claim(feed_id):
                self._lease_until[feed_id] = asked + leases.ttl
                self.run(feeds[feed_id])
        self.elsewhere = {}
        for feed_id in feeds:
            if feed_id not in self.runners:
                self.elsewhere[feed_id] = await self._status_elsewhere(leases, feed_id)
        return stopped

    async def _status_elsewhere(self, leases: FeedLeases, feed_id: str) -> dict[str, Any]:
        """The status of a feed another node reads (or nobody yet), as its reader stored it."""
        holder = await leases.holder(feed_id)
        raw = await self.store.get_meta(STATUS_META + feed_id)
        stored = json.loads(raw) if raw else None
        if holder is not None and isinstance(stored, dict) and stored.get("node") == holder:
            return stored
        # Nobody reads it (a dead node's lease expired, or every node is full), or the
        # new reader has not reported yet: not the status of the node it left.
        return FeedStatus(state="stopped" if holder is None else "starting", node=holder).as_dict()

    def run(self, feed: Feed) -> FeedRunner | None:
        """Start (or restart) one feed's worker; None if ``max_running`` workers run already."""
        if self.max_running is not None and len(self.runners) >= self.max_running:
            self.held[feed.id] = FeedStatus(
                state="stopped",
                error=f"not started: this server runs at most {self.max_running} camera "
                "feeds (CONFERENCE_MAX_FEEDS); it starts when another one is removed",
            )
            return None
        self.held.pop(feed.id, None)
        runner = FeedRunner(feed, self)
        self.runners[feed.id] = runner
        runner.start()
        return runner

    async def stop_lapsed(self) -> list[str]:
        """Stop each feed whose lease may have run out unrenewed (Redis out); their ids.

        One reader per camera: once our lease may have expired, another node
        can claim the feed, so this node stops reading it first, by its own
        clock, without asking Redis. Called every :data:`LEASE_CHECK_SECONDS`.
        Renewals come every sync pass (5 s) and a lease lasts 15 s, so an
        outage of a few seconds stops nothing; after a longer one the sync
        passes claim the feeds again once Redis is back (here, or elsewhere).
        """
        stopped = self.lapsed_leases(time.monotonic())
        for feed_id in stopped:
            logger.warning(
                "feed %s: its lease could not be renewed (Redis unreachable) and may "
                "have expired; stopped here until it is claimed again",
                feed_id,
            )
            await self.remove(feed_id, release=False)
        return stopped

    def lapsed_leases(self, now: float) -> list[str]:
        """The feeds running here whose lease ends within :data:`LEASE_CHECK_SECONDS` of ``now``."""
        if self.leases is None:
            return []
        return [
            feed_id
            for feed_id in self.runners
            if self._lease_until.get(feed_id, 0.0) - now <= LEASE_CHECK_SECONDS
        ]

    async def remove(self, feed_id: str, release: bool = True) -> None:
        """Stop a feed's worker (the store record is the caller's business).

        Clustered, its lease is given up too unless ``release`` is False (a
        restart here, or a lease already lost).
        """
        self.held.pop(feed_id, None)
        runner = self.runners.pop(feed_id, None)
        if runner is not None:
            await runner.stop()
            if release and self.leases is not None:
                with contextlib.suppress(RedisError, OSError):  # it expires on its own
                    await self.leases.release(feed_id)

    async def restart(self, feed: Feed) -> None:
        """A feed was registered or changed: (re)start its worker.

        Clustered, only a feed read here restarts here; a new one is claimed
        by the next sync pass of whichever node has room for it.
        """
        running = feed.id in self.runners
        await self.remove(feed.id, release=False)
        if self.leases is None or running:
            self.run(feed)

    async def shutdown(self) -> None:
        """Stop every worker, give their leases up, and wait for passes being stored."""
        held = list(self.runners)
        await asyncio.gather(*(r.stop() for r in self.runners.values()), return_exceptions=True)
        if self.leases is not None and held:
            # After the workers stopped, so that the next reader never overlaps this one;
            # bounded, as with Redis down the leases simply expire.
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await asyncio.wait_for(self._release_all(self.leases, held), RELEASE_SECONDS)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)

    async def _release_all(self, leases: FeedLeases, feed_ids: list[str]) -> None:
        for feed_id in feed_ids:
            await leases.release(feed_id)

    def status(self, feed_id: str) -> FeedStatus:
        """A feed's status here (``stopped`` if it has no worker, with the reason if it was held)."""
        runner = self.runners.get(feed_id)
        if runner is not None:
            return runner.status
        return self.held.get(feed_id) or FeedStatus(state="stopped")

    def status_json(self, feed_id: str) -> dict[str, Any]:
        """A feed's status for the API: from its worker here, or as another node stored it."""
        if feed_id not in self.runners and feed_id in self.elsewhere:
            return dict(self.elsewhere[feed_id])
        return self.status(feed_id).as_dict()

    async def reload_lists(self) -> None:
        """Rebuild the matcher after the watch list or outbreak provinces changed."""
        self.matcher = Matcher(await self.plates.list_watch(), await self.plates.list_outbreaks())

    # -- passes -----------------------------------------------------------------------

    def spawn_pass(self, runner: FeedRunner, message: dict[str, Any]) -> None:
        """Store a pass off the pipe reader (the store and the disk are slower)."""
        task = asyncio.ensure_future(self._store_pass(runner, message))
        self._tasks.add(task)
        task.add_done_callback(self._pass_done)

    def _pass_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("storing a plate pass failed", exc_info=task.exception())

    async def _store_pass(self, runner: FeedRunner, message: dict[str, Any]) -> None:
        feed = runner.feed
        plate = message["plate"]
        at = float(message.get("ended_at") or message.get("started_at") or time.time())
        local = datetime.fromtimestamp(at, self.zone)
        event_id = local.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(5)
        folder = local.strftime("%Y-%m-%d")
        crop = await asyncio.to_thread(
            self._save, folder, f"{event_id}-plate.jpg", message.get("crop")
        )
        thumbnail = await asyncio.to_thread(
            self._save, folder, f"{event_id}-frame.jpg", message.get("thumbnail")
        )
        alerts = self.matcher.match(plate["normalized"], plate["province_code"], local.date())
        event = PlateEvent(
            id=event_id,
            feed_id=feed.id,
            checkpoint=feed.checkpoint,
            at=at,
            plate=plate["normalized"],
            display=plate["display"],
            province_code=plate["province_code"],
            confidence=round(float(message.get("confidence", 0.0)), 3),
            crop=crop,
            thumbnail=thumbnail,
            alert="; ".join(a.describe() for a in alerts) or None,
            colour=colour if (colour := message.get("colour")) in PLATE_COLOURS else None,
            # The event is its checkpoint unit's from now on, whatever becomes of the feed.
            unit_code=feed.unit_code,
        )
        await self.plates.add_plate_events([event])
        self.events_stored += 1
        runner.status.last_read = {
            "plate": event.plate,
            "display": event.display,
            "at": event.at,
            "event": event.id,
        }
        if alerts:
            self.alerts_raised += 1
            runner.status.alerts += 1
            runner.show_alert(event.plate, alerts[0].describe())
        try:
            declaration_alert = await self.declarations.check(event)
        except Exception:  # the pass is stored; a failed check must not lose the others
            logger.exception("checking a pass against travel declarations failed")
            declaration_alert = None
        if declaration_alert is not None and not alerts:
            runner.show_alert(event.plate, "khai báo không trung thực")
        for listener in list(self.on_pass):
            try:
                listener(feed, event, alerts)
            except Exception:
                logger.exception("a plate pass listener failed")

    def _save(self, folder: str, name: str, data: bytes | None) -> str | None:
        if not data:
            return None
        directory = self.files_dir / folder
        private_dir(directory)  # plates and faces at a checkpoint: the service's own
        write_private(directory / name, data)
        return f"{folder}/{name}"

    def image_path(self, name: str) -> Path | None:
        """The file of a stored crop or thumbnail, or None if the name is not one of ours."""
        parts = name.split("/")
        if len(parts) != 2 or not all(p and not p.startswith(".") for p in parts):
            return None
        path = self.files_dir / parts[0] / parts[1]
        return path if path.is_file() else None

    # -- retention --------------------------------------------------------------------

    async def expire(self, days: int) -> int:
        """Delete events older than ``days`` with their pictures; returns how many."""
        if days <= 0:
            return 0
        cutoff = time.time() - days * 86400
        removed = await self.plates.delete_plate_events_before(cutoff)
        cutoff_day = datetime.fromtimestamp(cutoff, self.zone).strftime("%Y-%m-%d")

        def remove_files() -> None:
            for event in removed:
                for name in (event.crop, event.thumbnail):
                    path = self.image_path(name) if name else None
                    if path is not None:
                        path.unlink(missing_ok=True)
            if self.files_dir.is_dir():
                for folder in self.files_dir.iterdir():
                    # Whole days before the cutoff day: nothing in them is kept.
                    if folder.is_dir() and folder.name < cutoff_day:
                        shutil.rmtree(folder, ignore_errors=True)

        await asyncio.to_thread(remove_files)
        return len(removed)
