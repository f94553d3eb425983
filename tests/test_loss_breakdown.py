"""bench/sites.py's delivery_loss_breakdown: each site's losses placed by slot and publisher's node.

With ``--workers N`` a slot whose publisher is at another node is fed over the
relay; the breakdown tells those losses from the node's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from sites_parts.loss_report import loss_breakdown, site_nodes  # noqa: E402


def _report(pid: str, slots: dict[str, str | None], per_slot: dict[str, list[int]]) -> dict:
    expected = sum(e for e, _ in per_slot.values())
    received = sum(r for _, r in per_slot.values())
    return {
        "id": pid,
        "slots": slots,
        "per_slot_packets": per_slot,
        "expected_packets": expected,
        "received_packets": received,
    }


def test_sites_are_placed_at_the_node_that_lists_their_series():
    per_node = {
        "http://127.0.0.1:2": {'conference_site_video_slots{room="r",site="site-001"}': 3.0},
        "http://127.0.0.1:1": {
            'conference_site_video_slots{room="r",site="site-000"}': 3.0,
            "conference_rooms": 1.0,
        },
    }
    assert site_nodes(per_node) == {"site-000": 0, "site-001": 1}


def test_losses_split_by_slot_kind_and_whether_the_publisher_is_elsewhere():
    reports = [
        # the speaker's site, at node 0: sees b (node 1) in main, c (node 0) in a thumbnail
        _report(
            "a",
            {"main": "b", "thumb-0": "c"},
            {"video:main": [100, 90], "video:thumb-0": [50, 50], "audio:audio-0": [40, 39]},
        ),
        _report("b", {"main": "a"}, {"video:main": [100, 100]}),
        _report("c", {"main": "a"}, {"video:main": [80, 80]}),
    ]
    out = loss_breakdown(reports, {"a": 0, "b": 1, "c": 0})
    groups = out["by_slot_and_publisher"]
    assert groups["video:main other_node"] == {
        "expected": 200,
        "received": 190,
        "lost": 10,
        "delivery": 0.95,
    }
    assert groups["video:main same_node"]["lost"] == 0
    assert groups["video:thumb same_node"]["expected"] == 50
    assert groups["audio unknown"]["lost"] == 1
    assert out["by_site_node"]["0"]["sites"] == 2
    assert out["by_site_node"]["1"]["delivery"] == 1.0
    assert out["by_site_node"]["0"]["delivery_min"] == round(179 / 190, 4)  # site a
