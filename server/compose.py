"""Wiring: the store, the bus, the conference and the parts that plug into it.

This is where recording control (``recorder/``) and feeds in meetings
(``anpr_feed/``) become conference extensions, so that ``conference/`` never
imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from anpr_feed.in_meetings import FeedsInMeetings
from anpr_feed.leases import FeedLeases
from anpr_feed.manager import FeedManager
from anpr_feed.sources import SourcePolicy
from anpr_feed.wall import CameraWall
from conference.bus import open_bus
from conference.cascade.cascade import Cascade
from conference.cascade.talk import CascadeTalk
from conference.cluster.commands import CommandRelay
from conference.cluster.homes import ClusterHomes
from conference.cluster.load import Counts
from conference.cluster.node import ClusterNode
from conference.cluster.placement_rules import convening_units, site_units
from conference.cluster.registry import open_redis
from conference.cluster.secret import cluster_key
from conference.extensions import Extension
from conference.keys import load_or_create_secret
from conference.media import shared_udp
from conference.relay.endpoint import bind_relay_socket
from conference.rooms.room import Room
from conference.service import Conference
from conference.settings import Settings
from conference.store import open_store
from recorder.control import RecordingControl
from recorder.jobs import RenderJobs
from web.app import create_app
from web.services import Services

logger = logging.getLogger(__name__)


class StopRenders(Extension):
    """Composite renders still running stop with the server."""

    def __init__(self, renders: RenderJobs) -> None:
        self.renders = renders

    async def shutdown(self) -> None:
        """Cancel the running renders."""
        await self.renders.close()


class StartupError(Exception):
    """The server cannot start as configured (a port taken); the message says which."""


def services(settings: Settings) -> Services:
    """Open the store and the bus and build every part of one server process."""
    # The media sockets first: a media port already in use fails the start, not a meeting.
    try:
        shared_udp.configure(settings.media_port)
    except OSError as exc:
        raise StartupError(exc.strerror or str(exc)) from exc
    store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
    bus = open_bus(settings.redis_url, settings.redis_prefix)
    secret = load_or_create_secret(settings.data_dir)
    conference = Conference(settings, store, secret, bus)
    cluster = cluster_node(settings, conference, secret)
    feeds = FeedManager(
        store,
        settings.data_dir,
        settings.timezone,
        policy=SourcePolicy.from_settings(settings),
        log_level=settings.log_level,
        max_running=settings.max_feeds,
        # Clustered, each camera is read by the one node holding its lease.
        leases=(
            FeedLeases(cluster.redis, settings.redis_prefix, cluster.node_id, cluster.registry)
            if cluster is not None
            else None
        ),
    )
    in_meetings = FeedsInMeetings(settings, store, feeds, conference.live, conference.metrics)
    if cluster is not None and settings.cascade == "spread":
        in_meetings.carry = carrier_opener(conference, cluster)
    wall = CameraWall(settings, store, feeds, conference.metrics, conference.live)
    recording = RecordingControl(settings, conference.live)
    renders = RenderJobs(
        settings.data_dir,
        {k: v for k, v in {"CONFERENCE_REDIS_URL": settings.redis_url}.items() if v},
    )
    # Shutdown runs the extensions in this order: the node leaves the cluster (so
    # sites arriving now go to another node), feeds leave, recordings end, renders stop.
    spread = (
        cascade(settings, conference, cluster, cluster_key(secret)) if cluster is not None else None
    )
    if spread is not None:
        # Chat and votes: decided at a meeting's home, its sites at other nodes included.
        talk = CascadeTalk(spread, conference.chat, conference.votes, conference.live)
        spread.talk = talk
        conference.talk_remote = conference.chat.remote = conference.votes.remote = talk
    for extension in (cluster, spread, in_meetings, wall, recording, StopRenders(renders)):
        if extension is not None:
            conference.add_extension(extension)
    return Services(
        settings=settings,
        store=store,
        bus=bus,
        conference=conference,
        recording=recording,
        feed_manager=feeds,
        feeds_in_meetings=in_meetings,
        wall=wall,
        renders=renders,
        cluster=cluster,
        cascade=spread,
    )


def cluster_node(settings: Settings, conference: Conference, secret: bytes) -> ClusterNode | None:
    """This process as a node of the cluster in Redis, or None without Redis."""
    if settings.redis_url is None:
        return None
    if (
        settings.advertise is None
        and settings.public_url is None
        and settings.host
        not in (
            "127.0.0.1",
            "::1",
            "localhost",
        )
    ):
        # Sites sent to this node would be sent to 127.0.0.1: their own machine.
        logger.warning(
            "listening on %s without --advertise or a public URL: other nodes will send "
            "sites to %s; set --advertise",
            settings.host,
            settings.advertise_url(),
        )
    sfu = conference.metrics

    def counts() -> Counts:
        return Counts(
            sites=len(conference.connections),
            packets_total=sfu.packets_in + sfu.packets_out,
            rooms=len(conference.rooms),
        )

    key = cluster_key(secret)
    node = ClusterNode(
        open_redis(settings.redis_url),
        settings.redis_prefix,
        key,
        settings.cluster_node_id(),
        settings.advertise_url(),
        counts,
        lambda: set(conference.rooms),
        settings.placement_rules(),
        lambda room_id: convening_units(conference.store, room_id),
        lambda site_id: site_units(conference.store, site_id),
        settings.machine,
    )
    # A console on this node runs its commands at the meeting's home, wherever it is.
    relay = CommandRelay(conference.bus, key, node.node_id, node.leases.holder, conference.store)
    relay.run_here = conference.console.run_here
    conference.console.forward = relay.forward
    conference.documents.forward = relay.forward  # showing runs at the home's live room
    node.commands = relay
    # Only a meeting's home opens its room; the others' schedulers leave it closed.
    conference.scheduler.homes = ClusterHomes(node.placement, lambda: node.live)
    # A room opened here for sites of a meeting whose home is another node is a
    # carrier copy; the cascade relays its media and follows the home.
    conference.live.is_home = node.placement.is_home
    return node


def carrier_opener(
    conference: Conference, node: ClusterNode
) -> Callable[[str], Awaitable[Room | None]]:
    """Opens a carrier copy of a meeting's room here when its home is a live other node."""

    async def carry(room_id: str) -> Room | None:
        holder = await node.leases.holder(room_id)
        if holder is None or holder == node.node_id:
            return None
        home = await node.registry.node(holder)
        if home is None:
            return None
        node.placement.carried.add(room_id)
        return await conference.live.open(await conference.store.get_room(room_id))

    return carry


def cascade(settings: Settings, conference: Conference, node: ClusterNode, key: bytes) -> Cascade:
    """This node's part of the meetings spread over several nodes (``conference/cascade/``)."""
    try:
        relay_socket = bind_relay_socket(settings.relay_host, settings.relay_port)
    except OSError as exc:
        raise StartupError(exc.strerror or str(exc)) from exc
    return Cascade(
        bus=conference.bus,
        key=key,
        node_id=node.node_id,
        live=conference.live,
        connections=conference.peers,
        metrics=conference.metrics,
        relay_host=settings.relay_host,
        relay_port=settings.relay_port,
        relay_socket=relay_socket,
        is_home=node.placement.is_home,
    )


def build_app(settings: Settings) -> web.Application:
    """The web application over a fresh set of :func:`services`."""
    return create_app(settings, services(settings))
