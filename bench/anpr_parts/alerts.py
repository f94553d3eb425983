"""The watch list and outbreak province built from the truth, and the alerts the passes raise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

ALERT_DAY = date(2026, 11, 26)


def build_lists(all_truth: Sequence[dict[str, Any]]) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """A watch list from some true plates and an outbreak province (deterministic)."""
    from anpr_feed.events_store import Outbreak, WatchEntry
    from tests.support import synth

    plates = sorted({v["plate"] for v in all_truth})
    exact = plates[::7][:12]
    entries = [WatchEntry(f"w{i}", p, "xe theo dõi", "bench", 0.0) for i, p in enumerate(exact)]
    # One wildcard entry: a plate's area code and series, any number.
    wild_from = plates[3] if len(plates) > 3 else plates[0]
    wild = wild_from[:3] + "*"
    entries.append(WatchEntry("wild", wild, "xe theo dõi (mẫu)", "bench", 0.0))
    # The billboard's plate-shaped number: a static sign must never raise it.
    billboard = next(t for t in synth.scene_texts() if t.startswith("30K")).replace("-", "")
    billboard = billboard.replace(".", "")
    entries.append(WatchEntry("sign", billboard, "số trên biển quảng cáo", "bench", 0.0))
    codes: dict[str, int] = {}
    for v in all_truth:
        codes[v["province_code"]] = codes.get(v["province_code"], 0) + 1
    # An outbreak province that a few vehicles come from (not the most common one).
    ranked = sorted(codes, key=lambda c: (-codes[c], c))
    outbreak_code = ranked[min(2, len(ranked) - 1)]
    outbreaks = [
        Outbreak("o1", outbreak_code, "2026-11-01", "2026-12-31", "vùng dịch", "bench", 0.0)
    ]
    described = {
        "exact_entries": exact,
        "wildcard_entry": wild,
        "static_sign_entry": billboard,
        "outbreak_province": outbreak_code,
    }
    return entries, outbreaks, described


def score_alerts(scored: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Alerts raised by the passes vs the vehicles that are on a list."""
    from anpr_feed.watchlist import Matcher

    all_truth = [v for r in results for v in r["truth"]]
    entries, outbreaks, described = build_lists(all_truth)
    matcher = Matcher(entries, outbreaks)
    listed_vehicles = 0
    raised = 0
    false_alerts: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    fuzzy = 0
    for result, score in zip(results, scored, strict=True):
        passes = result["passes"]
        claimed: set[int] = set()
        for v in score["vehicles"]:
            on_list = bool(matcher.match(v["plate"], v["province_code"], ALERT_DAY))
            listed_vehicles += on_list
            alerts = []
            if v["pass"] is not None:
                claimed.add(v["pass"])
                p = passes[v["pass"]]
                alerts = matcher.match(p["plate"], p["province_code"], ALERT_DAY)
            raised += bool(alerts)
            fuzzy += sum(1 for a in alerts if a.fuzzy)
            if alerts and not on_list:
                false_alerts.append(
                    {
                        "clip": result["clip"],
                        "truth": v["plate"],
                        "read": v["read"],
                        "why": [a.describe() for a in alerts],
                    }
                )
            if on_list and not alerts:
                missed.append({"clip": result["clip"], "truth": v["plate"], "read": v["read"]})
        for i, p in enumerate(passes):  # passes that belong to no vehicle (false passes)
            if i in claimed:
                continue
            alerts = matcher.match(p["plate"], p["province_code"], ALERT_DAY)
            if alerts:
                false_alerts.append(
                    {
                        "clip": result["clip"],
                        "truth": None,
                        "read": p["plate"],
                        "why": [a.describe() for a in alerts],
                    }
                )
    return {
        "lists": described,
        "listed_vehicles": listed_vehicles,
        "alerts_raised": raised,
        "fuzzy_alerts": fuzzy,
        "false_alerts": len(false_alerts),
        "missed_alerts": len(missed),
        "false_alert_details": false_alerts,
        "missed_alert_details": missed,
    }
