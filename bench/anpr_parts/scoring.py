"""A clip's passes against its vehicles: exact reads, character accuracy, plate colours."""

from __future__ import annotations

from typing import Any


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(truth: str, read: str) -> float:
    """1 - edit distance / truth length, floored at 0 (0 for nothing read: the
    distance is then the whole plate). ``bench/anpr_images.py`` scores with it too."""
    return max(0.0, 1.0 - edit_distance(truth, read) / max(1, len(truth)))


def colour_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Plate background colour of the vehicles that got a pass: right, wrong, or not seen."""
    passed = [v for v in rows if v.get("pass_colour", "missed") != "missed"]
    right = sum(1 for v in passed if v["pass_colour"] == v["colour"])
    unseen = sum(1 for v in passed if v["pass_colour"] is None)
    return {
        "colour_right": right,
        "colour_wrong": len(passed) - right - unseen,
        "colour_unseen": unseen,
        "colour_rate": round(right / len(passed), 4) if passed else None,
    }


def score_clip(result: dict[str, Any]) -> dict[str, Any]:
    """Match a clip's passes to its vehicles."""
    truth, passes = result["truth"], result["passes"]
    plates = {v["plate"] for v in truth}
    used: set[int] = set()
    vehicles = []
    # Exact matches first (a plate is unique in a clip), then the nearest overlapping pass.
    for v in truth:
        exact = [i for i, p in enumerate(passes) if p["plate"] == v["plate"] and i not in used]
        if exact:
            used.add(exact[0])
            vehicles.append({**v, "read": v["plate"], "pass": exact[0]})
        else:
            vehicles.append({**v, "read": None, "pass": None})
    for vehicle in vehicles:
        if vehicle["read"] is not None:
            continue
        overlapping = [
            i
            for i, p in enumerate(passes)
            if i not in used
            and p["plate"] not in plates
            and p["start"] <= vehicle["exit"] + 0.5
            and p["end"] >= vehicle["entry"] - 0.5
        ]
        if overlapping:
            best = min(
                overlapping, key=lambda i: edit_distance(vehicle["plate"], passes[i]["plate"])
            )
            used.add(best)
            vehicle["read"], vehicle["pass"] = passes[best]["plate"], best
    for vehicle in vehicles:
        index = vehicle["pass"]
        vehicle["pass_colour"] = "missed" if index is None else passes[index].get("colour")
    false_passes = [p["plate"] for p in passes if p["plate"] not in plates]
    duplicates = len(passes) - len({p["plate"] for p in passes})
    return {"vehicles": vehicles, "false_passes": false_passes, "duplicates": duplicates}
