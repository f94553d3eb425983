"""``/healthz`` and Prometheus ``/metrics``."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import Counter

from aiohttp import web

from anpr_feed.manager import FeedManager
from conference import __version__
from conference.cascade.cascade import Cascade
from conference.cluster.node import ClusterNode
from conference.media import fast_send, shared_udp
from conference.quality import LinkMetrics
from conference.relay.link import RelayLink
from conference.sfu import DelayHistogram
from web.keys import CONFERENCE, FEED_MANAGER, RECORDING, SERVICES, WATCHDOG
from web.metrics_access import check_metrics_access
from web.prometheus_text import label_value
from web.site_metrics import site_links_text

_STARTED = time.time()


async def healthz(request: web.Request) -> web.Response:
    """Liveness, as JSON: the status and nothing else (it needs no login).

    The version, the uptime and how many rooms and connections there are
    are in ``/metrics``, which is not open to everybody.
    """
    conference = request.app[CONFERENCE]
    status = "shutting-down" if conference.closing else "ok"
    return web.json_response({"status": status}, status=200 if status == "ok" else 503)


def _line(
    out: list[str], name: str, kind: str, help_text: str, value: float, labels: str = ""
) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")
    out.append(f"{name}{labels} {value}")


def _histogram(out: list[str], name: str, help_text: str, histogram: DelayHistogram) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} histogram")
    for bound, count in histogram.cumulative():
        out.append(f'{name}_bucket{{le="{bound}"}} {count}')
    out.append(f"{name}_sum {histogram.total}")
    out.append(f"{name}_count {sum(histogram.counts)}")


async def metrics(request: web.Request) -> web.Response:
    """Counters and gauges in the Prometheus text format (version 0.0.4).

    Who may read them: :mod:`web.metrics_access`.
    """
    await check_metrics_access(request)
    conference = request.app[CONFERENCE]
    sfu = conference.metrics
    out: list[str] = []
    _line(
        out,
        "conference_build_info",
        "gauge",
        "The running version (always 1).",
        1,
        f'{{version="{label_value(__version__)}"}}',
    )
    _line(
        out, "process_start_time_seconds", "gauge", "When the server started.", round(_STARTED, 3)
    )
    peers = list(conference.connections.values())
    by_client: dict[str, int] = {}
    for connection in peers:
        by_client[connection.participant.client] = (
            by_client.get(connection.participant.client, 0) + 1
        )
    out.append("# HELP conference_peers Peer connections open now, by client type.")
    out.append("# TYPE conference_peers gauge")
    for client in ("browser", "whip", "whep"):
        out.append(f'conference_peers{{client="{client}"}} {by_client.get(client, 0)}')
    _line(out, "conference_rooms", "gauge", "Rooms with at least one site.", len(conference.rooms))
    # Per room, so that a meeting spread over nodes (a copy of its room at each) counts
    # once across them: the same room label, and each copy holding every site.
    out.append(
        "# HELP conference_room_participants Sites in each room open here, connected here "
        "or (a meeting spread over nodes) at another node."
    )
    out.append("# TYPE conference_room_participants gauge")
    for room_id, room in sorted(conference.rooms.items()):
        out.append(
            f'conference_room_participants{{room="{label_value(room_id)}"}} '
            f"{len(room.participants)}"
        )
    _line(
        out,
        "conference_tracks",
        "gauge",
        "Published tracks (sources) being forwarded.",
        sfu.sources,
    )
    _line(out, "conference_slots", "gauge", "Subscriber receive slots.", sfu.slots)
    _line(
        out,
        "conference_rtp_packets_received_total",
        "counter",
        "RTP packets received from publishers.",
        sfu.packets_in,
    )
    _line(
        out,
        "conference_rtp_bytes_received_total",
        "counter",
        "RTP payload bytes received from publishers.",
        sfu.bytes_in,
    )
    _line(
        out,
        "conference_rtp_packets_forwarded_total",
        "counter",
        "RTP packets forwarded to subscribers.",
        sfu.packets_out,
    )
    _line(
        out,
        "conference_rtp_bytes_forwarded_total",
        "counter",
        "RTP bytes (headers included, before SRTP) forwarded to subscribers.",
        sfu.bytes_out,
    )
    _line(
        out,
        "conference_video_frames_forwarded_total",
        "counter",
        "Video frames forwarded (packets with the marker bit).",
        sfu.frames_out,
    )
    _line(
        out,
        "conference_keyframe_requests_sent_total",
        "counter",
        "Keyframe requests (PLI) sent to publishers after throttling.",
        sfu.keyframe_requests_sent,
    )
    _line(
        out,
        "conference_keyframe_requests_received_total",
        "counter",
        "Keyframe requests (PLI/FIR) received from subscribers.",
        sfu.keyframe_requests_received,
    )
    _line(
        out,
        "conference_nacks_received_total",
        "counter",
        "NACK feedback packets received from subscribers.",
        sfu.nacks_received,
    )
    _line(
        out,
        "conference_retransmissions_total",
        "counter",
        "Packets resent to subscribers from the send history.",
        sfu.retransmissions,
    )
    _line(
        out,
        "conference_packets_dropped_total",
        "counter",
        "Packets not forwarded (waiting for a keyframe, transport not ready).",
        sfu.packets_dropped,
    )
    _line(
        out,
        "conference_retransmissions_refused_total",
        "counter",
        "Retransmissions asked for beyond a slot's budget (a NACK flood), not sent.",
        sfu.retransmissions_refused,
    )
    _histogram(
        out,
        "conference_fanout_seconds",
        "From a received packet's arrival to the end of its fan-out (its last subscriber's"
        " send): the SFU's own added latency, past the wait for the loop to read it.",
        sfu.fanout,
    )
    _line(
        out,
        "conference_packets_oversized_total",
        "counter",
        "Packets dropped because no UDP datagram can carry them (each logged).",
        sfu.packets_oversized,
    )
    _line(
        out,
        "conference_packets_sent_compiled_total",
        "counter",
        "Forwarded packets protected and sent by the compiled sender (0: the Python path).",
        fast_send.compiled_sends(),
    )
    _line(
        out,
        "conference_dtls_handshake_failures_total",
        "counter",
        "Peer connections whose DTLS handshake failed (each logged with its reason).",
        sfu.dtls_failures,
    )
    media = shared_udp.STATS  # the shared media socket (CONFERENCE_MEDIA_PORT); 0 when off
    for name, help_text, value in (
        ("wakeups", "Event-loop wake-ups of the shared media socket.", media.wakeups),
        ("datagrams", "Datagrams read from the shared media socket.", media.datagrams),
        (
            "datagrams_dropped",
            "Datagrams from unknown addresses that were not STUN for one of our connections.",
            media.dropped,
        ),
        ("send_batches", "Batches of sends flushed at the end of a drain.", media.send_batches),
        ("send_errors", "Queued datagrams the kernel refused at a flush.", media.send_errors),
    ):
        _line(out, f"conference_media_{name}_total", "counter", help_text, value)
    watchdog = request.app.get(WATCHDOG)
    if watchdog is not None:
        loop = watchdog.health
        _line(
            out,
            "conference_event_loop_stalls_total",
            "counter",
            "Times the event loop did not answer the watchdog for a second or more.",
            loop.stalls,
        )
        _line(
            out,
            "conference_event_loop_stalled_seconds_total",
            "counter",
            "Time spent in those stalls.",
            round(loop.stalled_seconds, 3),
        )
        _line(
            out,
            "conference_event_loop_lag_seconds",
            "gauge",
            "How late the event loop answered the watchdog's latest heartbeat.",
            round(loop.lag_seconds, 4),
        )
        _histogram(
            out,
            "conference_event_loop_wait_seconds",
            "How long the loop took to answer each watchdog heartbeat (10 a second): about"
            " how long a datagram that just arrived waits before the loop reads it.",
            loop.waits,
        )
    _line(
        out,
        "conference_recording_frames_dropped_total",
        "counter",
        "Frames of recorded tracks not written because the disk fell behind.",
        request.app[RECORDING].drops.frames,
    )
    _cluster_metrics(out, request.app[SERVICES].cluster)
    _cascade_metrics(out, request.app[SERVICES].cascade)
    _link_metrics(out, conference.quality.link_metrics())
    # The rows are read here, on the loop that owns them; the text, 8 lines a
    # site, is built in a thread so that 2,000 sites do not hold the loop.
    out.append(await asyncio.to_thread(site_links_text, conference.quality.site_links()))
    _feed_metrics(out, request.app[FEED_MANAGER])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _line(
        out,
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time.",
        round(usage.ru_utime + usage.ru_stime, 3),
    )
    _line(out, "process_resident_memory_bytes", "gauge", "Resident set size.", _rss_bytes())
    return web.Response(
        text="\n".join(out) + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Prometheus-Format": "0.0.4"},
    )


def _cluster_metrics(out: list[str], cluster: ClusterNode | None) -> None:
    """This node's id and its registry and placement counts (nothing without Redis)."""
    if cluster is None:
        return
    _line(
        out,
        "conference_node_info",
        "gauge",
        "This node of the cluster (always 1): its id and advertised URL.",
        1,
        f'{{node="{label_value(cluster.node_id)}",advertise="{label_value(cluster.advertise)}"}}',
    )
    _line(
        out,
        "conference_cluster_heartbeats_total",
        "counter",
        "Heartbeats this node wrote to the registry.",
        cluster.heartbeats_total,
    )
    _line(
        out,
        "conference_cluster_redis_errors_total",
        "counter",
        "Heartbeats and lease renewals that failed because Redis did not answer.",
        cluster.redis_errors_total,
    )
    _line(
        out,
        "conference_cluster_rejected_records_total",
        "counter",
        "Node records read from Redis and ignored (bad MAC, invalid, stale).",
        cluster.registry.rejected_total,
    )
    _line(
        out,
        "conference_cluster_homes",
        "gauge",
        "Meetings whose home lease this node holds.",
        len(cluster.placement.held),
    )
    _line(
        out,
        "conference_cluster_redirects_total",
        "counter",
        "Sites sent to a meeting's home on another node.",
        cluster.placement.redirects_total,
    )
    _line(
        out,
        "conference_cluster_placed_elsewhere_total",
        "counter",
        "Meetings without a home that the placement rules gave to another node.",
        cluster.placement.placed_elsewhere_total,
    )


def _cascade_metrics(out: list[str], cascade: Cascade | None) -> None:
    """Meetings spread over nodes: remote sites held here, relay links and streams."""
    if cascade is None:
        return
    links = list(cascade.links.values())
    _line(
        out,
        "conference_cascade_remote_sites",
        "gauge",
        "Sites of meetings open here that are connected at another node.",
        sum(cascade.proxies(room_id) for room_id in list(cascade.rooms)),
    )
    _line(out, "conference_relay_links", "gauge", "Relay links to other nodes.", len(links))
    _line(
        out,
        "conference_relay_streams_exported",
        "gauge",
        "Streams (a source or one camera layer) sent to another node, each once per link.",
        sum(len(link.exports) for link in links),
    )
    _line(
        out,
        "conference_relay_bytes_sent_total",
        "counter",
        "Bytes sent on the relay links open now.",
        sum(link.metrics.bytes_sent for link in links),
    )
    _line(
        out,
        "conference_relay_media_received_total",
        "counter",
        "Media packets received on the relay links open now.",
        sum(link.metrics.media_received for link in links),
    )
    _line(
        out,
        "conference_relay_media_sent_total",
        "counter",
        "Media packets sent on the relay links open now (compare with the far end's received).",
        sum(link.metrics.media_sent for link in links),
    )
    _relay_drops(out, cascade, links)
    _line(
        out,
        "conference_cascade_messages_rejected_total",
        "counter",
        "Messages on the meetings' cascade channels that did not verify or fit.",
        cascade.rejected_total + sum(cascade.opener.rejected.values()),
    )


def _relay_drops(out: list[str], cascade: Cascade, links: list[RelayLink]) -> None:
    """Datagrams the relay dropped, by reason: its links open now and its endpoint."""
    dropped: Counter[str] = Counter()
    for link in links:
        dropped.update(link.metrics.dropped)
    if cascade.endpoint is not None:  # datagrams no link claimed (unknown peer, bad hello)
        dropped.update(cascade.endpoint.metrics.dropped)
    out.append("# HELP conference_relay_dropped_total Relay datagrams dropped, by reason.")
    out.append("# TYPE conference_relay_dropped_total counter")
    for reason in sorted(dropped):
        out.append(
            f'conference_relay_dropped_total{{reason="{label_value(reason)}"}} {dropped[reason]}'
        )


def _link_metrics(out: list[str], link: LinkMetrics) -> None:
    """Layers, links and paused cameras: process-wide, plus a few series per room.

    The per-site series are :mod:`web.site_metrics`.
    """
    _line(
        out,
        "conference_slots_link_paused",
        "gauge",
        "Video slots paused because their subscriber's downlink cannot carry them.",
        link.slots_link_paused,
    )
    out.append("# HELP conference_slots_layer Video slots forwarding each layer (rid) now.")
    out.append("# TYPE conference_slots_layer gauge")
    for rid in sorted(set(link.slots_by_layer) | {"q", "h", "f"}):
        out.append(
            f'conference_slots_layer{{layer="{label_value(rid)}"}} {link.slots_by_layer.get(rid, 0)}'
        )
    _line(
        out,
        "conference_cameras_paused",
        "gauge",
        "Browser cameras asked to send no video (nobody sees them).",
        link.cameras_paused,
    )
    out.append("# HELP conference_camera_layers_sending Browser cameras asked to send each layer.")
    out.append("# TYPE conference_camera_layers_sending gauge")
    for rid in sorted(set(link.camera_layers_sent) | {"q", "h", "f"}):
        count = link.camera_layers_sent.get(rid, 0)
        out.append(f'conference_camera_layers_sending{{layer="{label_value(rid)}"}} {count}')
    _line(
        out,
        "conference_sites_paced",
        "gauge",
        "Subscribers on a thin downlink whose video is paced at their estimate (audio goes first).",
        link.sites_paced,
    )
    _line(
        out,
        "conference_packets_paced_total",
        "counter",
        "Video packets that waited in a thin link's pacer before going out.",
        link.packets_paced_total,
    )
    _line(
        out,
        "conference_layer_switches_total",
        "counter",
        "Layer changes of subscribers' slots (a switch within one camera's layers).",
        link.layer_switches_total,
    )
    _line(
        out,
        "conference_publish_messages_total",
        "counter",
        "publish messages sent to sites (which camera layers to send).",
        link.publish_messages_total,
    )
    series = (
        ("conference_room_sites", "Browser sites receiving slots.", lambda r: r.sites),
        (
            "conference_room_sites_link_paused",
            "Of them, sites with a slot paused for their downlink.",
            lambda r: r.sites_link_paused,
        ),
        (
            "conference_room_downlink_kbps_min",
            "The weakest downlink estimate (REMB) of the room's sites.",
            lambda r: r.downlink_kbps_min,
        ),
        (
            "conference_room_downlink_kbps_median",
            "The median downlink estimate of the room's sites.",
            lambda r: r.downlink_kbps_median,
        ),
    )
    for name, help_text, value in series:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} gauge")
        for room_id, room in sorted(link.rooms.items()):
            number = value(room)
            if number is not None:
                out.append(f'{name}{{room="{label_value(room_id)}"}} {number}')


def _feed_metrics(out: list[str], feeds: FeedManager) -> None:
    """One series per feed, labelled with its id and checkpoint."""
    runners = list(feeds.runners.values())
    series = (
        (
            "conference_feed_up",
            "gauge",
            "1 while the camera delivers frames.",
            lambda s: 1 if s.state == "online" else 0,
        ),
        (
            "conference_feed_fps",
            "gauge",
            "Frames per second decoded from the camera.",
            lambda s: s.fps,
        ),
        (
            "conference_feed_frames_total",
            "counter",
            "Frames decoded since the worker started.",
            lambda s: s.frames,
        ),
        ("conference_feed_passes_total", "counter", "Vehicle passes read.", lambda s: s.passes),
        (
            "conference_feed_alerts_total",
            "counter",
            "Passes that raised an alert.",
            lambda s: s.alerts,
        ),
        (
            "conference_feed_restarts_total",
            "counter",
            "Times the feed's worker was restarted.",
            lambda s: s.restarts,
        ),
        (
            "conference_feed_shed_reads_total",
            "counter",
            "Plate reads the feed's reading budget refused (a live feed shedding load).",
            lambda s: s.shed_reads,
        ),
        (
            "conference_feed_unread_total",
            "counter",
            "Tracks due a plate read that ended without one (vehicles possibly missed).",
            lambda s: s.unread,
        ),
        (
            "conference_feed_shedding",
            "gauge",
            "1 while the feed sheds plate reads (within the last 10 s of video).",
            lambda s: 1 if s.shedding else 0,
        ),
        (
            "conference_feed_last_read_timestamp_seconds",
            "gauge",
            "When the last plate was read.",
            lambda s: (s.last_read or {}).get("at") or 0,
        ),
    )
    for name, kind, help_text, value in series:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        for runner in runners:
            labels = f'{{feed="{label_value(runner.feed.id)}",checkpoint="{label_value(runner.feed.checkpoint)}"}}'
            out.append(f"{name}{labels} {value(runner.status)}")
    _line(
        out,
        "conference_plate_events_stored_total",
        "counter",
        "Plate events stored by this process.",
        feeds.events_stored,
    )


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
