"""The run's JSON: server and simulator CPU, delivery, latency, bandwidth per site."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sites_parts.loss_report import loss_breakdown, site_nodes
from sites_parts.nodes_report import node_figures, relay_figures, rooms_seen

RECEIVED = "conference_rtp_packets_received_total"
FORWARDED = "conference_rtp_packets_forwarded_total"
FRAMES = "conference_video_frames_forwarded_total"
DROPPED = "conference_packets_dropped_total"
KEYFRAME_REQUESTS = "conference_keyframe_requests_sent_total"
STALLS = "conference_event_loop_stalls_total"
STALLED = "conference_event_loop_stalled_seconds_total"
FANOUT = "conference_fanout_seconds"
LOOP_WAIT = "conference_event_loop_wait_seconds"


@dataclass
class Sample:
    """CPU seconds (server, each worker) and the server's counters at one moment."""

    wall: float
    server_cpu: float
    workers_cpu: list[float]
    workers_sys: list[float]  # the kernel's part of workers_cpu
    metrics: dict[str, float]  # summed over the server's nodes
    per_node: dict[str, dict[str, float]] = field(default_factory=dict)  # by base URL


def percentile(values: list[float], fraction: float) -> float | None:
    """The value below which ``fraction`` of ``values`` lie (nearest rank); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def histogram_quantile(
    first: dict[str, float], last: dict[str, float], name: str, fraction: float
) -> float | None:
    """``fraction``'s quantile of a Prometheus histogram over the window (its bucket
    deltas), interpolated within the bucket as Prometheus does; None without data."""
    prefix = f'{name}_bucket{{le="'
    bounds: list[tuple[float, float]] = []
    for key, value in last.items():
        if key.startswith(prefix):
            le = key[len(prefix) : -2]
            bound = float("inf") if le == "+Inf" else float(le)
            bounds.append((bound, value - first.get(key, 0.0)))
    bounds.sort()
    if not bounds or bounds[-1][1] <= 0:
        return None
    rank = fraction * bounds[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in bounds:
        if count >= rank:
            if bound == float("inf"):
                return lower  # above the last finite bound: say that bound
            share = (rank - below) / (count - below) if count > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def summarise(
    sites: int,
    first: Sample,
    last: Sample,
    reports: list[dict[str, Any]],
    cores: int,
) -> dict[str, Any]:
    """The contract's keys (and more) from the window's edges and every site's report."""
    window = last.wall - first.wall
    server_cpu = last.server_cpu - first.server_cpu
    simulator_cpu = sum(last.workers_cpu) - sum(first.workers_cpu)
    simulator_sys = sum(last.workers_sys) - sum(first.workers_sys)

    def delta(name: str) -> float:
        return last.metrics.get(name, 0.0) - first.metrics.get(name, 0.0)

    received, forwarded = delta(RECEIVED), delta(FORWARDED)
    joined = [r for r in reports if r["error"] is None]
    deliveries = [
        r["received_packets"] / r["expected_packets"] for r in joined if r["expected_packets"] > 0
    ]
    delays = [d * 1000 for r in reports for d in r["delays"]]
    down = [r["down_bytes"] * 8 / window / 1000 for r in joined]
    up = [r["up_bytes"] * 8 / window / 1000 for r in joined]
    seen = {who for r in joined for who in r["slots"].values() if who}
    silent_up = [u for r, u in zip(joined, up, strict=True) if not r["speaking"]]
    unseen_up = [u for r, u in zip(joined, up, strict=True) if r["id"] not in seen]
    lag = [x * 1000 for r in reports for x in r["send_lag"]]
    site_packets = sum(r["received_packets"] + r["up_packets"] for r in joined)
    where = site_nodes(last.per_node)
    checked = sum(r["frames_checked"] for r in reports)
    identical = sum(r["frames_identical"] for r in reports)
    return {
        "sites": sites,
        "sites_joined": sum(1 for r in reports if r["connected"]),
        "sites_lost": sum(1 for r in reports if r["connected"] and r["error"]),
        # Distinct rooms with sites across the server's nodes (its workers with --workers
        # N), by room id: a meeting spread over nodes (a copy at each) is one; 1 is one
        # meeting. conference_rooms summed counts the copies (rooms_open_summed).
        "rooms_seen": rooms_seen(last.per_node, last.metrics),
        "rooms_open_summed": int(last.metrics.get("conference_rooms", 0)),
        **relay_figures(first.metrics, last.metrics, window),
        "nodes": node_figures(first.per_node, last.per_node, window),
        "sites_redirected": sum(1 for r in reports if r["redirects"]),
        "window_s": round(window, 2),
        "server_cpu_ms_per_site_per_s": _round(server_cpu * 1000 / window / sites),
        "server_cpu_percent_of_core": round(server_cpu / window * 100, 1),
        "server_cpu_us_per_received_packet": _round(
            server_cpu * 1e6 / received if received else None
        ),
        "server_cpu_us_per_forwarded_packet": _round(
            server_cpu * 1e6 / forwarded if forwarded else None
        ),
        "server_packets_received_per_s": round(received / window),
        "server_packets_forwarded_per_s": round(forwarded / window),
        "server_video_frames_forwarded_per_s": round(delta(FRAMES) / window),
        "server_packets_dropped": int(delta(DROPPED)),
        "server_keyframe_requests": int(delta(KEYFRAME_REQUESTS)),
        "server_loop_stalls": int(delta(STALLS)),
        "server_loop_stalled_s": round(delta(STALLED), 2),
        "delivery_min": _round(min(deliveries) if deliveries else 0.0, 4),
        "delivery_mean": _round(sum(deliveries) / len(deliveries) if deliveries else None, 4),
        "sites_below_delivery_target": sum(1 for d in deliveries if d < 0.995),
        # Site ids are bench/sites.py's site-NNN (its tokens' site_id).
        "delivery_loss_breakdown": loss_breakdown(
            joined,
            {r["id"]: where.get(f"site-{r['index']:03d}") for r in joined if "index" in r},
        ),
        "delivery_worst_sites": [  # where the losses are: which sites, how many packets
            {
                "name": r["name"],
                "checking": r["checking"],
                "expected": r["expected_packets"],
                "received": r["received_packets"],
            }
            for r in sorted(
                (r for r in joined if r["expected_packets"] > 0),
                key=lambda r: r["received_packets"] / r["expected_packets"],
            )[:3]
        ],
        "added_latency_p50_ms": _round(percentile(delays, 0.5)),
        "added_latency_p95_ms": _round(percentile(delays, 0.95)),
        # The server's own part, from its histogram: arrival to the end of the fan-out
        # (the simulator's figure above also holds its publishers' and receivers' lateness).
        "server_fanout_p50_ms": _round(
            _ms(histogram_quantile(first.metrics, last.metrics, FANOUT, 0.5))
        ),
        "server_fanout_p95_ms": _round(
            _ms(histogram_quantile(first.metrics, last.metrics, FANOUT, 0.95))
        ),
        "server_loop_wait_p50_ms": _round(
            _ms(histogram_quantile(first.metrics, last.metrics, LOOP_WAIT, 0.5))
        ),
        "server_loop_wait_p95_ms": _round(
            _ms(histogram_quantile(first.metrics, last.metrics, LOOP_WAIT, 0.95))
        ),
        "server_fanout_p99_ms": _round(
            _ms(histogram_quantile(first.metrics, last.metrics, FANOUT, 0.99))
        ),
        "byte_identical_ratio": _round(identical / checked if checked else None, 4),
        "frames_checked": checked,
        "downlink_kbps_p50": _round(percentile(down, 0.5), 1),
        "downlink_kbps_p95": _round(percentile(down, 0.95), 1),
        "uplink_kbps_p50": _round(percentile(up, 0.5), 1),
        "uplink_silent_kbps_max": _round(max(silent_up) if silent_up else None, 1),
        "uplink_unseen_kbps_max": _round(max(unseen_up) if unseen_up else None, 1),
        "unseen_sites": len(unseen_up),
        "layer_switches": _layer_switches(first, last),
        "sites_simulcasting": sum(1 for r in joined if r.get("simulcast")),
        "publish_messages_to_sites": sum(r.get("publish_messages", 0) for r in joined),
        "up_bytes_per_site_p50": _round(percentile([r["up_bytes"] for r in joined], 0.5), 0),
        "up_bytes_per_site_max": max((r["up_bytes"] for r in joined), default=None),
        "down_bytes_per_site_p50": _round(percentile([r["down_bytes"] for r in joined], 0.5), 0),
        "down_bytes_per_site_max": max((r["down_bytes"] for r in joined), default=None),
        "layers_sent": _layers_sent(joined, window),
        "layers_received_by_checking_sites": _layers_received(joined),
        **_links(joined, window),
        "simulator_cpu_ms_per_site_per_s": _round(simulator_cpu * 1000 / window / sites),
        "simulator_cpu_percent_of_core": round(simulator_cpu / window * 100, 1),
        "simulator_sys_share": _round(simulator_sys / simulator_cpu if simulator_cpu else None),
        "simulator_cpu_us_per_packet": _round(
            simulator_cpu * 1e6 / site_packets if site_packets else None
        ),
        "simulator_send_lag_p95_ms": _round(percentile(lag, 0.95)),
        "machine_cores": cores,
        "keyframe_requests_to_sites": sum(r["keyframe_requests"] for r in reports),
        "rtcp_sent_by_sites": sum(r["rtcp_sent"] for r in reports),
        # Whole run, not the window: RTP the sites' sockets refused (lost before the server).
        "site_send_failures": sum(r.get("send_failures", 0) for r in reports),
        "site_errors": [r["error"] for r in reports if r["error"]][:5],
    }


def _layer_switches(first: Sample, last: Sample) -> int | None:
    """The server's layer switches in the window (any counter named so), None if it has none."""
    names = [n for n in last.metrics if "layer_switch" in n]
    if not names:
        return None
    return int(sum(last.metrics[n] - first.metrics.get(n, 0.0) for n in names))


def _layers_sent(joined: list[dict[str, Any]], window: float) -> dict[str, Any]:
    """Per rid: how many sites sent it (active at the end) and their total kbit/s."""
    out: dict[str, Any] = {}
    for report in joined:
        for rid, layer in report.get("layers_sent", {}).items():
            entry = out.setdefault(rid, {"sites_active": 0, "kbps_total": 0.0})
            entry["sites_active"] += bool(layer["active"])
            entry["kbps_total"] = round(
                entry["kbps_total"] + layer["up_bytes"] * 8 / window / 1000, 1
            )
    return out


def _layers_received(joined: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per slot: frames of each rid the checking sites received (identified by their bytes)."""
    out: dict[str, dict[str, int]] = {}
    for report in joined:
        for slot, frames in report.get("layer_frames", {}).items():
            kind = "main" if slot == "main" else "thumbnails" if slot.startswith("thumb") else slot
            for rid, count in frames.items():
                out.setdefault(kind, {})[rid] = out.get(kind, {}).get(rid, 0) + count
    return out


def _links(joined: list[dict[str, Any]], window: float) -> dict[str, Any]:
    """The sites behind the emulated link: what their people saw and what the link carried."""
    linked = [r for r in joined if r.get("link")]
    if not linked:
        return {"link_sites": 0}
    fps = [r["link"]["main_fps"] for r in linked]
    return {
        "link_sites": len(linked),
        "link_main_fps_min": min(fps),
        "link_main_fps_p50": percentile(fps, 0.5),
        "link_audio_gaps_max": max(r["link"]["audio_gaps"] for r in linked),
        "link_audio_gap_max_ms": max(r["link"]["audio_gap_max_ms"] for r in linked),
        "link_downlink_kbps_p50": _round(
            percentile([r["down_bytes"] * 8 / window / 1000 for r in linked], 0.5), 1
        ),
        "link_remb_kbps_p50": percentile(
            [r["link"]["remb_last_kbps"] for r in linked if r["link"]["remb_last_kbps"]], 0.5
        ),
        "link_per_site": [
            {
                "name": r["name"],
                "down_kbps": round(r["down_bytes"] * 8 / window / 1000, 1),
                "up_kbps": round(r["up_bytes"] * 8 / window / 1000, 1),
                **r["link"],
            }
            for r in linked
        ],
    }


def speaker_change(
    arrivals: dict[str, dict[str, Any]], switched_at: float, new_speaker: str
) -> dict[str, Any]:
    """How long until every other site was told of, and received, the new speaker's video."""
    others = {name: a for name, a in arrivals.items() if name != new_speaker}
    # A site whose main slot already showed the new speaker (the old speaker's, which
    # never shows itself) waited for nothing: 0.
    told = [max(0.0, a["told"] - switched_at) for a in others.values() if a["told"]]
    frames = [max(0.0, a["frame"] - switched_at) for a in others.values() if a["frame"]]
    every = len(frames) == len(others) and bool(others)
    return {
        "sites_told": len(told),
        "sites_with_video": len(frames),
        "sites": len(others),
        "told_all_ms": _round(max(told) * 1000 if told and len(told) == len(others) else None, 0),
        "video_all_ms": _round(max(frames) * 1000 if every else None, 0),
        "video_p50_ms": _round((percentile(frames, 0.5) or 0) * 1000 if frames else None, 0),
    }
