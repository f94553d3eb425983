"""The roll call's link fields: only the server knows them, so a site's own report keeps them."""

from __future__ import annotations

from conference.rooms.roll_call import InvitedSite, Quality, RollCall

LINK = {
    "downlink_kbps": 850.0,
    "layers": {"main": "h", "thumb-1": "q", "thumb-2": None},
    "link_paused": ["thumb-2"],
    "sending": [],
    "layer_switches": 3,
    "frame_rates": {"thumb-1": "half"},
}


def present_roll_call() -> RollCall:
    roll_call = RollCall([InvitedSite("05536", "Thị trấn Chợ Chu", "05536", 2, "Thị trấn")])
    roll_call.joined("05536", "Thị trấn Chợ Chu", now=1.0)
    roll_call.connection("05536", "connected")
    return roll_call


def test_a_client_report_keeps_the_servers_link_fields() -> None:
    roll_call = present_roll_call()
    roll_call.quality("05536", Quality(rtt_ms=40, loss=0.0, source="server", at=10.0, **LINK))
    roll_call.quality("05536", Quality(rtt_ms=55, loss=0.01, source="client", at=11.0))
    row = roll_call.entries["05536"].as_json()["quality"]
    assert row["source"] == "client" and row["rtt_ms"] == 55
    assert {k: row[k] for k in LINK} == LINK


def test_a_server_sample_under_a_recent_client_report_updates_only_the_link() -> None:
    roll_call = present_roll_call()
    roll_call.quality("05536", Quality(rtt_ms=55, loss=0.01, source="client", at=11.0))
    roll_call.take_changes()
    roll_call.quality("05536", Quality(rtt_ms=900, loss=0.5, source="server", at=12.0, **LINK))
    row = roll_call.entries["05536"].as_json()["quality"]
    assert row["rtt_ms"] == 55 and row["source"] == "client"  # the site's own figures win
    assert row["link_paused"] == ["thumb-2"] and row["downlink_kbps"] == 850.0
    assert [r["site_id"] for r in roll_call.take_changes()] == ["05536"]
    # The same link again: no change to send the consoles.
    roll_call.quality("05536", Quality(rtt_ms=900, loss=0.5, source="server", at=13.0, **LINK))
    assert roll_call.take_changes() == []
