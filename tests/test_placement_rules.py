"""Placement rules: parsing ``UNIT=NODE`` pairs, choosing a node, a meeting's units."""

from __future__ import annotations

import time

import pytest

from conference.cluster.placement_rules import PlacementRules, convening_units
from conference.cluster.records import NodeLoad, NodeRecord
from conference.settings import Settings
from conference.store import Meeting, SqliteStore, Unit


def node(
    node_id: str, sites: int = 0, rooms: int = 0, cpu: float = 0.0, machine: str | None = None
) -> NodeRecord:
    now = time.time()
    return NodeRecord(
        id=node_id,
        advertise=f"http://{node_id}.example:8080",
        started_at=now,
        heartbeat_at=now,
        load=NodeLoad(cpu_percent=cpu, sites=sites, packets_per_s=0, rooms=rooms),
        machine=machine,
    )


def test_rules_parse_pairs_and_refuse_what_is_not_one() -> None:
    rules = PlacementRules.parse(" 19=tinh-tn , 06=tinh-bk,,", "load")
    assert rules.units == {"19": "tinh-tn", "06": "tinh-bk"}
    assert rules.fallback == "load" and rules.active
    assert not PlacementRules.parse(None).active
    assert not PlacementRules.parse("", "here").active
    for bad in ("19", "=tinh", "19=", "19=bad id", "1 9=tinh", "19=a,19=b", "x" * 40 + "=n"):
        with pytest.raises(ValueError):
            PlacementRules.parse(bad)
    with pytest.raises(ValueError, match="fallback"):
        PlacementRules.parse("19=a", "random")


def test_settings_refuse_bad_rules_at_start() -> None:
    with pytest.raises(ValueError, match="placement rule"):
        Settings(placement="19=no spaces allowed")
    with pytest.raises(ValueError, match="fallback"):
        Settings(placement_fallback="nearest")
    rules = Settings(placement="19=tinh-tn", placement_fallback="load").placement_rules()
    assert rules.units == {"19": "tinh-tn"} and rules.fallback == "load"


def test_the_nearest_listed_live_unit_wins_then_the_fallback() -> None:
    rules = PlacementRules.parse("19=tinh,167=dinhhoa")
    live = [node("tinh"), node("dinhhoa"), node("here")]
    assert rules.choose(["05536", "167", "19"], live, "here") == "dinhhoa"
    assert rules.choose(["164", "19"], live, "here") == "tinh"
    assert rules.choose(["01", "00"], live, "here") == "here"
    assert rules.choose([], live, "here") == "here"
    # The district's node is not live: its meeting goes to the province's.
    assert rules.choose(["05536", "167", "19"], [node("tinh")], "here") == "tinh"
    # Neither is: the fallback (here).
    assert rules.choose(["167", "19"], [], "here") == "here"


def test_the_load_fallback_takes_the_node_with_fewest_sites() -> None:
    rules = PlacementRules.parse("19=gone", "load")
    live = [node("a", sites=40, cpu=10), node("b", sites=3, cpu=80), node("c", sites=3, rooms=2)]
    assert rules.choose(["19"], live, "a") == "b"  # "gone" is not live
    assert rules.choose([], [node("a", sites=5), node("b", sites=5)], "b") == "a"  # ties by id
    assert rules.choose([], [], "a") == "a"  # no listing yet: here


def test_a_rule_naming_a_machine_reaches_its_workers() -> None:
    """`serve --workers N --node-id tinh` registers tinh-w1..N, each saying machine
    "tinh": a rule naming the machine takes the least loaded of them, and a worker
    of that machine keeps what the rule sends to it."""
    rules = PlacementRules.parse("19=tinh,167=huyen")
    workers = [node("tinh-w1", sites=30, machine="tinh"), node("tinh-w2", 12, machine="tinh")]
    live = [*workers, node("huyen"), node("other")]
    assert rules.choose(["164", "19"], live, "other") == "tinh-w2"
    assert rules.choose(["164", "19"], live, "tinh-w1", "tinh") == "tinh-w1"
    assert rules.choose(["05536", "167", "19"], live, "tinh-w1", "tinh") == "huyen"
    # A node's own id still answers as before; a worker id is not its machine's name.
    assert rules.choose(["19"], [node("tinh-w1", machine="tinh"), node("tinh")], "x") == "tinh"
    assert not node("tinh-w1", machine="tinh").answers_to("tinh-w")


async def test_a_meetings_units_run_from_its_host_unit_up(tmp_path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    try:
        await store.upsert_units(
            [
                Unit(code="19", name="Tỉnh Thái Nguyên", type="province", parent=None, depth=0),
                Unit(code="167", name="Huyện Định Hóa", type="district", parent="19", depth=1),
                Unit(code="05536", name="Xã Bảo Linh", type="commune", parent="167", depth=2),
            ]
        )
        now = time.time()
        meeting = Meeting(
            id="m1",
            title="Giao ban",
            agenda="",
            start=now,
            end=now + 3600,
            host_site="05536",
            created_by="host",
            room_id="m1",
            created_at=now,
        )
        await store.create_meeting(meeting, ["05536", "167"])
        assert await convening_units(store, "m1") == ["05536", "167", "19"]
        assert await convening_units(store, "no-such-room") == []
    finally:
        await store.close()
