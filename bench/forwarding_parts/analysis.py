"""One run's numbers: server CPU per packet and frame, delivery, identity, latency, late joins."""

from __future__ import annotations

import os
from typing import Any

from forwarding_parts.clip import Clip
from forwarding_parts.cpu import Sample
from forwarding_parts.run_config import RunConfig
from forwarding_parts.sent_frames import SentFrames
from forwarding_parts.server_under_test import FRAMES, PACKETS


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "samples": 0}
    import numpy as np

    array = np.array(values) * 1000.0
    return {
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "samples": len(values),
    }


def _receive_stats(
    sent: SentFrames, window: set[int], frames: list, match: str
) -> tuple[set[int], list[float], list[float]]:
    received: set[int] = set()
    latency: list[float] = []
    latency_captured: list[float] = []
    for rtp_timestamp, digest, captured, last_packet in frames:
        index = (
            sent.by_digest(digest, last_packet)
            if match == "digest"
            else sent.by_timestamp(rtp_timestamp)
        )
        if index is None or index in received:
            continue
        received.add(index)
        if index in window:
            latency.append(last_packet - sent.time[index])
            latency_captured.append(captured - sent.time[index])
    return received & window, latency, latency_captured


def late_join_ms(late: dict[str, Any]) -> float | None:
    """Milliseconds from a late joiner's POST to its first frame (None: no frame)."""
    if not late.get("first_frame"):
        return None
    return round((late["first_frame"] - late["post_started"]) * 1000, 1)


def _frame_source(sent: SentFrames, late: dict[str, Any]) -> str | None:
    digest, arrival = late.get("first_frame_digest"), late.get("first_frame")
    if not digest or not arrival:
        return None
    index = sent.by_digest(digest, arrival)
    if index is None:
        return "re-encoded"
    if sent.on_request.get(index):
        return f"frame {index}: keyframe sent after a PLI"
    return f"frame {index}: periodic keyframe" if sent.periodic.get(index) else f"frame {index}"


def _late_detail(late: dict[str, Any], sent: SentFrames, request_times: list[float]) -> dict:
    start = late["post_started"]

    def since(key: str) -> float | None:
        return round((late[key] - start) * 1000, 1) if late.get(key) else None

    return {
        "first_frame_ms": since("first_frame"),
        "answer_ms": since("answered"),
        "first_frame_captured_ms": since("first_frame_captured"),
        "first_frame_is_keyframe": late.get("first_frame_is_keyframe"),
        "first_frame_byte_identical": (late.get("first_frame_digest") in sent.digests)
        if late.get("first_frame_digest")
        else None,
        # A keyframe of the clip's own GOP, or one the publisher sent after a PLI?
        "first_frame_source": _frame_source(sent, late),
        # PLIs the publisher got between the POST and the first frame (ms after the POST).
        "publisher_keyframe_requests_ms": [
            round((t - start) * 1000, 1)
            for t in request_times
            if start - 0.1 <= t <= (late.get("first_frame") or start + 20)
        ],
    }


def analyse(
    label: str,
    n: int,
    clip: Clip,
    config: RunConfig,
    first: Sample,
    last: Sample,
    pub_report: dict,
    sub_reports: dict,
    late: list[dict[str, Any]],
    names: list[str],
) -> dict[str, Any]:
    """One run's result from its two samples and what the workers reported."""
    wall = last.wall - first.wall
    cpu = last.server_cpu - first.server_cpu
    packets = last.metrics.get(PACKETS, 0) - first.metrics.get(PACKETS, 0)
    frames = last.metrics.get(FRAMES, 0) - first.metrics.get(FRAMES, 0)
    busy = (last.busy[0] - first.busy[0]) / max(1, last.busy[1] - first.busy[1])

    clients = {
        role: round((last.workers_cpu[role] - first.workers_cpu[role]) / wall * 100, 1)
        for role in first.workers_cpu
    }
    sent = SentFrames(clip, pub_report["video"])
    window = {
        index
        for index, sent_at in sent.time.items()
        if first.wall <= sent_at <= last.wall - config.tail
    }
    match = "digest" if label == "sfu" else "timestamp"
    delivered = 0
    latency: list[float] = []
    latency_captured: list[float] = []
    identical = total_in_window = 0
    video_packets = audio_packets = audio_frames = audio_identical = 0
    per_subscriber_delivery = []
    for name in names:
        report = sub_reports.get(name)
        if report is None:
            per_subscriber_delivery.append(0.0)
            continue
        got, lat, lat_captured = _receive_stats(sent, window, report["frames"], match)
        delivered += len(got)
        per_subscriber_delivery.append(len(got) / max(1, len(window)))
        latency += lat
        latency_captured += lat_captured
        for _ts, digest, captured, _last in report["frames"]:
            if first.wall <= captured <= last.wall:
                total_in_window += 1
                identical += digest in sent.digests
        video_packets += report["video_packets"]
        audio_packets += report["audio_packets"]
        audio_frames += report["audio_frames"]
        audio_identical += report["audio_identical"]

    direct_sent = SentFrames(
        clip,
        [
            (index, index % len(clip.video.payloads), False, sent_at)
            for index, sent_at in pub_report["direct"]
        ],
    )
    # The tee forwards exactly what the main track sent, keyframe variants included.
    direct_sent.recognise_like(sent)
    direct_window = {
        i for i, t in direct_sent.time.items() if first.wall <= t <= last.wall - config.tail
    }
    direct_report = sub_reports.get("direct", {"frames": []})
    direct_got, direct_latency, direct_latency_captured = _receive_stats(
        direct_sent, direct_window, direct_report["frames"], "digest"
    )
    ours = _percentiles(latency)
    direct = _percentiles(direct_latency)
    added: dict[str, float | None] = {}
    for key in ("p50", "p95"):
        a, b = ours[key], direct[key]
        added[key] = round(a - b, 2) if a is not None and b is not None else None
    late_values = [late_join_ms(x) for x in late]
    measured = sorted(v for v in late_values if v is not None)
    late_ms = measured[len(measured) // 2] if measured else None
    request_times = pub_report.get("keyframe_request_times", [])
    expected = len(window) * n
    return {
        "n": n,
        "server": label,
        "seconds": round(wall, 2),
        "cpu_us_per_packet": round(cpu * 1e6 / packets, 2) if packets else None,
        "cpu_us_per_packet_exact": (
            round((last.server_runtime - first.server_runtime) * 1e6 / packets, 2)
            if packets
            else None
        ),
        "cpu_us_per_frame": round(cpu * 1e6 / frames, 1) if frames else None,
        "packets_forwarded": int(packets),
        "frames_forwarded": int(frames),
        "server_cpu_seconds": round(cpu, 3),
        "server_cpu_percent": round(cpu / wall * 100, 1),
        "server_cpu_system_share": round(1 - (last.server_user - first.server_user) / cpu, 3)
        if cpu
        else None,
        "delivery_ratio": round(delivered / expected, 5) if expected else None,
        "delivery_min_subscriber": round(min(per_subscriber_delivery), 5)
        if per_subscriber_delivery
        else None,
        "frames_expected": expected,
        "frames_delivered": delivered,
        "byte_identical_ratio": round(identical / total_in_window, 5) if total_in_window else None,
        "frames_received_in_window": total_in_window,
        "latency_ms": {k: ours[k] for k in ("p50", "p95")},
        "latency_samples": ours["samples"],
        "latency_added_ms": added,
        "latency_incl_jitter_buffer_ms": {
            k: _percentiles(latency_captured)[k] for k in ("p50", "p95")
        },
        "direct_latency_ms": {
            "p50": direct["p50"],
            "p95": direct["p95"],
            "samples": direct["samples"],
            "delivery_ratio": round(len(direct_got) / len(direct_window), 5)
            if direct_window
            else None,
            "incl_jitter_buffer": {
                k: _percentiles(direct_latency_captured)[k] for k in ("p50", "p95")
            },
        },
        "late_join_first_frame_ms": late_ms,
        "late_join": [_late_detail(x, sent, request_times) for x in late],
        "subscriber_rx": {
            "video_packets_per_subscriber": round(video_packets / max(1, n)),
            "audio_packets_per_subscriber": round(audio_packets / max(1, n)),
            "audio_frames_per_subscriber": round(audio_frames / max(1, n)),
            "audio_byte_identical_ratio": round(audio_identical / audio_frames, 5)
            if audio_frames
            else None,
        },
        "publisher": {
            "frames_sent": len(sent.time),
            "frames_in_window": len(window),
            "keyframe_requests": pub_report["keyframe_requests"],
            "keyframes_sent_on_request": pub_report["keyframes_sent"],
        },
        # Percent of one core, like server_cpu_percent (this machine has os.cpu_count()).
        "server_counters_in_window": {
            name.removeprefix("conference_"): int(value - first.metrics.get(name, 0))
            for name, value in last.metrics.items()
            if name.startswith("conference_") and name.endswith("_total")
        },
        "machine_busy_percent": round(busy * 100 * (os.cpu_count() or 1), 1),
        "clients_cpu_percent": clients,
        "other_processes_cpu_percent": round(
            busy * 100 * (os.cpu_count() or 1) - cpu / wall * 100 - sum(clients.values()), 1
        ),
    }
