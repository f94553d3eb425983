"""The declaration rules (anpr_feed/declarations/rules.py) and the check each stored pass gets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from anpr_feed.declarations.checker import DeclarationChecker
from anpr_feed.declarations.rules import (
    MISMATCH,
    UNDECLARED,
    Outbreaks,
    check_pass,
    in_force,
)
from anpr_feed.events_store import (
    CheckpointRule,
    Declaration,
    Outbreak,
    PlateEvent,
    plate_store_for,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HOUR = 3600.0


def at(day: int, hour: int = 12) -> float:
    return datetime(2021, 11, day, hour, tzinfo=VN).timestamp()


def declaration(origin: str = "29", start: float = at(5, 0), end: float = at(6, 23)) -> Declaration:
    return Declaration(
        "d1", "20A12345", "Nguyễn Văn A", origin, start, end, "", "form", "167", "host", at(4)
    )


def event(id_: str, feed: str, when: float, plate: str = "20A12345") -> PlateEvent:
    return PlateEvent(
        id_,
        feed,
        f"Chốt {feed}",
        when,
        plate,
        plate,
        plate[:2],
        0.9,
        crop=f"x/{id_}.jpg",
        unit_code="167",
    )


RULES = {
    "bacgiang": CheckpointRule("bacgiang", "98", "none", "host", 0.0),  # Bắc Giang, in outbreak
    "hanoi": CheckpointRule("hanoi", "30", "none", "host", 0.0),  # Hà Nội (30 = 29)
    "km52": CheckpointRule("km52", "20", "none", "host", 0.0),  # Thái Nguyên, here
}
OUTBREAKS = Outbreaks(
    [
        Outbreak("o1", "98", "2021-11-01", "2021-11-30", "vùng dịch", "host", 0.0),
        Outbreak("o2", "20", "2021-10-01", "2021-10-10", "đã hết", "host", 0.0),
    ],
    VN,
)


def test_a_read_in_an_outbreak_province_contradicts_another_declared_origin():
    here = event("e2", "km52", at(6))
    seen = event("e1", "bacgiang", at(5, 8))
    finding = check_pass(here, [declaration("29")], [seen], RULES, OUTBREAKS)
    assert finding is not None and finding.kind == MISMATCH
    assert [e.id for e in finding.evidence] == ["e2", "e1"]
    assert "Hà Nội" in finding.reason and "Bắc Giang" in finding.reason
    assert "08:00 05/11/2021" in finding.reason
    # Declared from Bắc Giang itself: the read agrees.
    assert check_pass(here, [declaration("98")], [seen], RULES, OUTBREAKS) is None
    # Read in Hà Nội, the declared origin, or in a province not in outbreak: nothing.
    assert (
        check_pass(here, [declaration("29")], [event("e1", "hanoi", at(5, 8))], RULES, OUTBREAKS)
        is None
    )
    # At a camera with no rule: no known province, no evidence.
    assert (
        check_pass(here, [declaration("29")], [event("e1", "nowhere", at(5, 8))], RULES, OUTBREAKS)
        is None
    )
    # Another plate's read, or one after the window: no evidence either.
    other = event("e1", "bacgiang", at(5, 8), plate="20A12346")
    assert check_pass(here, [declaration("29")], [other], RULES, OUTBREAKS) is None
    late = declaration("29", start=at(5, 0), end=at(5, 6))
    assert check_pass(event("e2", "km52", at(5, 20)), [late], [seen], RULES, OUTBREAKS) is None


def test_a_read_before_the_window_counts_within_the_lookback():
    here = event("e2", "km52", at(20))
    decl = declaration("29", start=at(19, 0), end=at(21, 0))
    assert check_pass(here, [decl], [event("e1", "bacgiang", at(10))], RULES, OUTBREAKS)
    assert check_pass(here, [decl], [event("e1", "bacgiang", at(1))], RULES, OUTBREAKS) is None


def test_a_plate_of_an_outbreak_province_declared_from_elsewhere():
    here = event("e1", "km52", at(6), plate="98A12345")
    decl = Declaration("d1", "98A12345", "A", "29", at(5, 0), at(6, 23), "", "form", None, "h", 0)
    finding = check_pass(here, [decl], [], RULES, OUTBREAKS)
    assert finding is not None and finding.kind == MISMATCH
    assert finding.reason.startswith("Xe đăng ký tại Bắc Giang (vùng dịch)")
    # Outside the outbreak's dates, or declared from Bắc Giang: nothing.
    december = event("e1", "km52", datetime(2021, 12, 2, tzinfo=VN).timestamp(), "98A12345")
    assert check_pass(december, [decl], [], RULES, OUTBREAKS) is None
    from_there = Declaration(
        "d1", "98A12345", "A", "98", at(5, 0), at(6, 23), "", "f", None, "h", 0
    )
    assert check_pass(here, [from_there], [], RULES, OUTBREAKS) is None


def test_no_declaration_where_one_is_required():
    strict = {**RULES, "km52": CheckpointRule("km52", "20", "all", "host", 0.0)}
    outbreak_only = {**RULES, "km52": CheckpointRule("km52", "20", "outbreak", "host", 0.0)}
    local = event("e1", "km52", at(6), plate="20A12345")
    from_outbreak = event("e2", "km52", at(6), plate="98A12345")
    assert check_pass(local, [], [], RULES, OUTBREAKS) is None
    finding = check_pass(local, [], [], strict, OUTBREAKS)
    assert finding is not None and finding.kind == UNDECLARED and finding.declaration is None
    assert check_pass(local, [], [], outbreak_only, OUTBREAKS) is None
    finding = check_pass(from_outbreak, [], [], outbreak_only, OUTBREAKS)
    assert finding is not None and "Bắc Giang" in finding.reason
    # A declaration long expired is no declaration.
    old = declaration("20", start=at(1, 0), end=at(2, 0))
    assert check_pass(local, [old], [], strict, OUTBREAKS) is not None
    assert in_force([old], at(2, 12)) == old


async def test_the_checker_stores_one_alert_with_its_evidence(store):
    plates = plate_store_for(store)
    await plates.add_outbreak(OUTBREAKS._markings[0])
    for rule in RULES.values():
        await plates.set_checkpoint_rule(rule)
    await plates.add_declarations([declaration("29")])
    seen = event("e1", "bacgiang", at(5, 8))
    here = event("e2", "km52", at(6))
    again = event("e3", "km52", at(6) + 60)  # the lane's second camera, a minute later
    await plates.add_plate_events([seen, here, again])
    checker = DeclarationChecker(plates, VN)
    alert = await checker.check(here)
    assert alert is not None
    assert (alert.kind, alert.event_id, alert.evidence, alert.declaration_id, alert.unit_code) == (
        MISMATCH,
        "e2",
        ("e2", "e1"),
        "d1",
        "167",
    )
    assert await checker.check(again) is None  # the same alert is not raised twice
    assert [a.id for a in await plates.list_declaration_alerts(["167"])] == [alert.id]
    assert await checker.check(seen) is None  # nothing before it contradicts
