"""Over all runs: the direct path's latency, baseline/ours ratios and the targets met."""

from __future__ import annotations

from typing import Any

TARGET_CPU_US_PER_PACKET = 30.0
TARGET_DELIVERY = 0.995
TARGET_IDENTICAL = 1.0
TARGET_ADDED_P95_MS = 10.0
TARGET_N = 20


def direct_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The direct (serverless) path's latency, median over the runs and per run."""
    by_run = {
        f"{r['server']} n={r['n']}": {k: r["direct_latency_ms"][k] for k in ("p50", "p95")}
        for r in runs
        if "error" not in r
    }
    p50s = [v["p50"] for v in by_run.values() if v["p50"] is not None]
    p95s = [v["p95"] for v in by_run.values() if v["p95"] is not None]
    return {
        "p50": round(sorted(p50s)[len(p50s) // 2], 2) if p50s else None,
        "p95": round(sorted(p95s)[len(p95s) // 2], 2) if p95s else None,
        "note": "median over runs; each run measured its own direct path at the same time",
        "by_run": by_run,
    }


def _ratio(base: dict[str, Any], ours: dict[str, Any], key: str) -> float | None:
    a, b = base.get(key), ours.get(key)
    return round(a / b, 2) if a and b else None


def ratios(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Baseline over ours, per N, for CPU per packet, per frame and in percent."""
    out: dict[str, Any] = {}
    for run in runs:
        if run["server"] != "sfu" or "error" in run:
            continue
        base = next(
            (r for r in runs if r["server"] != "sfu" and r["n"] == run["n"] and "error" not in r),
            None,
        )
        if base is None:
            continue

        out[f"n={run['n']}"] = {
            "cpu_per_packet_baseline_over_sfu": _ratio(base, run, "cpu_us_per_packet"),
            "cpu_per_frame_baseline_over_sfu": _ratio(base, run, "cpu_us_per_frame"),
            "server_cpu_percent_baseline_over_sfu": _ratio(base, run, "server_cpu_percent"),
        }
    return out


def targets(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per N, whether our server met each target."""
    out: dict[str, Any] = {}
    for run in runs:
        if run["server"] != "sfu" or "error" in run:
            continue
        added = run["latency_added_ms"]["p95"]
        out[f"n={run['n']}"] = {
            "applies": run["n"] == TARGET_N,
            f"cpu_us_per_packet<={TARGET_CPU_US_PER_PACKET:g}": run["cpu_us_per_packet"] is not None
            and run["cpu_us_per_packet"] <= TARGET_CPU_US_PER_PACKET,
            f"delivery_ratio>={TARGET_DELIVERY}": run["delivery_ratio"] is not None
            and run["delivery_ratio"] >= TARGET_DELIVERY,
            "byte_identical_ratio==1": run["byte_identical_ratio"] == TARGET_IDENTICAL,
            f"latency_added_p95_ms<={TARGET_ADDED_P95_MS:g}": added is not None
            and added <= TARGET_ADDED_P95_MS,
        }
    return out
