"""Per node and summed: where the sites are, the rooms they are in, the relay between nodes.

With ``--workers N`` (or several nodes) a meeting spread by the cascade is a
copy of its room at each node carrying its sites; each copy holds every site
(its own, and the others' as remote sites). So the meeting counts once by its
room id (``conference_room_participants{room=...}``), not once per copy as
the ``conference_rooms`` gauge summed over nodes would count it.
"""

from __future__ import annotations

from typing import Any

ROOM_PARTICIPANTS_NAME = "conference_room_participants"
ROOM_PARTICIPANTS = ROOM_PARTICIPANTS_NAME + '{room="'
BROWSER_PEERS = 'conference_peers{client="browser"}'
REMOTE_SITES = "conference_cascade_remote_sites"
RELAY_LINKS = "conference_relay_links"
RELAY_STREAMS = "conference_relay_streams_exported"
RELAY_BYTES = "conference_relay_bytes_sent_total"
RELAY_MEDIA = "conference_relay_media_received_total"
RELAY_SENT = "conference_relay_media_sent_total"
RELAY_DROPPED = 'conference_relay_dropped_total{reason="'
CPU = "process_cpu_seconds_total"
RSS = "process_resident_memory_bytes"
RECEIVED = "conference_rtp_packets_received_total"
FORWARDED = "conference_rtp_packets_forwarded_total"
RECEIVED_BYTES = "conference_rtp_bytes_received_total"


def room_participants(metrics: dict[str, float]) -> dict[str, int]:
    """Sites in each room open at one node (its own and remote ones), by room id."""
    return {
        name[len(ROOM_PARTICIPANTS) : -2]: int(value)
        for name, value in metrics.items()
        if name.startswith(ROOM_PARTICIPANTS) and value > 0
    }


def rooms_seen(per_node: dict[str, dict[str, float]], summed: dict[str, float]) -> int:
    """Distinct rooms with sites across the nodes (1: one meeting, however many copies).

    A server without the per-room gauge: its ``conference_rooms`` summed.
    """
    if not any(name.startswith(ROOM_PARTICIPANTS_NAME) for m in per_node.values() for name in m):
        return int(summed.get("conference_rooms", 0))
    return len({room for m in per_node.values() for room in room_participants(m)})


def node_figures(
    first: dict[str, dict[str, float]], last: dict[str, dict[str, float]], window: float
) -> list[dict[str, Any]]:
    """Each node's sites, rooms, CPU, memory and relay over the window."""
    out = []
    for url, end in last.items():
        start = first.get(url, {})

        def delta(name: str, end: dict[str, float] = end, start: dict[str, float] = start) -> float:
            return end.get(name, 0.0) - start.get(name, 0.0)

        out.append(
            {
                "url": url,
                "sites_here": int(end.get(BROWSER_PEERS, 0)),
                "remote_sites": int(end.get(REMOTE_SITES, 0)),
                "room_participants": room_participants(end),
                "cpu_percent_of_core": round(delta(CPU) / window * 100, 1),
                "rss_mb": round(end.get(RSS, 0.0) / 2**20, 1),
                "packets_received_per_s": round(delta(RECEIVED) / window),
                # RTP payload from the sites here (what they published, all streams)
                "published_kbps": round(delta(RECEIVED_BYTES) * 8 / window / 1000, 1),
                "packets_forwarded_per_s": round(delta(FORWARDED) / window),
                "relay_links": int(end.get(RELAY_LINKS, 0)),
                "relay_streams_exported": int(end.get(RELAY_STREAMS, 0)),
                "relay_bytes_sent": int(delta(RELAY_BYTES)),
                "relay_media_received": int(delta(RELAY_MEDIA)),
                "relay_media_sent": int(delta(RELAY_SENT)),
                "relay_dropped": relay_dropped(start, end),
            }
        )
    return out


def relay_dropped(first: dict[str, float], last: dict[str, float]) -> dict[str, int]:
    """Relay datagrams dropped in the window, by reason (only reasons with any)."""
    out = {}
    for name, value in last.items():
        if name.startswith(RELAY_DROPPED):
            dropped = int(value - first.get(name, 0.0))
            if dropped:
                out[name[len(RELAY_DROPPED) : -2]] = dropped
    return out


def relay_figures(first: dict[str, float], last: dict[str, float], window: float) -> dict[str, Any]:
    """The relay summed over the nodes: gauges at the end, counters over the window.

    Each link has two ends, so ``relay_links`` is twice the number of links.
    """

    def delta(name: str) -> float:
        return last.get(name, 0.0) - first.get(name, 0.0)

    return {
        "relay_remote_sites": int(last.get(REMOTE_SITES, 0)),
        "relay_links": int(last.get(RELAY_LINKS, 0)),
        "relay_streams_exported": int(last.get(RELAY_STREAMS, 0)),
        "relay_bytes_sent": int(delta(RELAY_BYTES)),
        "relay_kbps": round(delta(RELAY_BYTES) * 8 / window / 1000, 1),
        "relay_media_received": int(delta(RELAY_MEDIA)),
        "relay_media_received_per_s": round(delta(RELAY_MEDIA) / window),
        "relay_media_sent": int(delta(RELAY_SENT)),
        "relay_dropped": relay_dropped(first, last),
    }
