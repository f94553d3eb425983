"""Where a run's packets were lost: by the node a site is at, the slot, and the publisher's node.

With ``--workers N`` each site is served by one worker (node); a slot showing
a site of another node is fed over the relay. Splitting the sites' losses
this way says whether they are the relay's (slots whose publisher is
elsewhere) or the node's own.
"""

from __future__ import annotations

from typing import Any

SITE_LABEL = 'site="'


def site_nodes(per_node: dict[str, dict[str, float]]) -> dict[str, int]:
    """Site id -> the position (in URL order) of the node serving it, from the per-site series.

    A node lists per-site series (``conference_site_*{room=...,site=...}``)
    only for the sites connected to it.
    """
    out: dict[str, int] = {}
    for position, url in enumerate(sorted(per_node)):
        for name in per_node[url]:
            start = name.find(SITE_LABEL)
            if name.startswith("conference_site_") and start >= 0:
                out[name[start + len(SITE_LABEL) :].split('"', 1)[0]] = position
    return out


def _slot_group(key: str) -> str:
    """``video:main``, ``video:thumb`` or ``audio`` from a report's ``kind:slot`` key."""
    kind, _, slot = key.partition(":")
    if kind != "video":
        return kind
    return "video:main" if slot == "main" else "video:thumb"


def loss_breakdown(joined: list[dict[str, Any]], node_of: dict[str, int | None]) -> dict[str, Any]:
    """Expected and received packets by slot group and publisher at the same node or another.

    ``node_of`` maps a participant id to its node. A slot's publisher is the
    one it showed at the end of the window (a slot that changed source in the
    window counts under its last one); an audio slot or an empty one is
    ``unknown``. Also per node: its sites' expected and received packets.
    """
    groups: dict[str, list[int]] = {}
    by_node: dict[str, dict[str, Any]] = {}
    for report in joined:
        node = node_of.get(report["id"])
        site = by_node.setdefault(str(node), {"sites": 0, "expected": 0, "received": 0})
        site["sites"] += 1
        site["expected"] += report["expected_packets"]
        site["received"] += report["received_packets"]
        site["delivery_min"] = min(
            site.get("delivery_min", 1.0),
            _share(report["received_packets"], report["expected_packets"]) or 1.0,
        )
        for key, (expected, received) in report.get("per_slot_packets", {}).items():
            publisher = report["slots"].get(key.partition(":")[2])
            if publisher is None or node_of.get(publisher) is None or node is None:
                where = "unknown"
            else:
                where = "same_node" if node_of[publisher] == node else "other_node"
            counts = groups.setdefault(f"{_slot_group(key)} {where}", [0, 0])
            counts[0] += expected
            counts[1] += received
    return {
        "by_slot_and_publisher": {
            name: {"expected": e, "received": r, "lost": e - r, "delivery": _share(r, e)}
            for name, (e, r) in sorted(groups.items())
        },
        "by_site_node": {
            node: {**v, "delivery": _share(v["received"], v["expected"])}
            for node, v in sorted(by_node.items())
        },
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
