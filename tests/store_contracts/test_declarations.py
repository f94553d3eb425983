"""DeclarationStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import pytest

from anpr_feed.events_store import AlertNote, CheckpointRule, Declaration, DeclarationAlert
from conference.store import Conflict, NotFound


def _declaration(id_: str, plate: str, unit: str | None, at: float) -> Declaration:
    return Declaration(
        id_, plate, "Nguyễn Văn A", "29", 100.0, 200.0, "0912345678", "form", unit, "host", at
    )


def _alert(id_: str, unit: str | None, at: float) -> DeclarationAlert:
    return DeclarationAlert(
        id_,
        "e-" + id_,
        "20A12345",
        at,
        "f1",
        "Chốt Km 52",
        unit,
        "mismatch",
        "lý do",
        "d1",
        ("e-" + id_, "e-old"),
    )


async def test_declarations_all_or_none_and_scoped(any_plates):
    await any_plates.add_declarations(
        [_declaration("d1", "20A12345", "19", 1.0), _declaration("d2", "20A12345", None, 2.0)]
    )
    with pytest.raises(Conflict):  # d1 taken: d3 is not stored either
        await any_plates.add_declarations(
            [_declaration("d3", "30A11111", "19", 3.0), _declaration("d1", "30A11111", "19", 3.0)]
        )
    assert [d.id for d in await any_plates.declarations_of_plate("20A12345")] == ["d1", "d2"]
    assert await any_plates.declarations_of_plate("30A11111") == []
    assert [d.id for d in await any_plates.list_declarations()] == ["d2", "d1"]
    assert [d.id for d in await any_plates.list_declarations(["19", "164"])] == ["d1"]
    assert await any_plates.list_declarations([]) == []
    found = await any_plates.declarations_of_plates(["20A12345", "30A11111", "20A12345"])
    assert sorted(d.id for d in found) == ["d1", "d2"]
    assert await any_plates.declarations_of_plates([]) == []
    many = [f"99A{n:05d}" for n in range(1200)] + ["20A12345"]  # past SQLite's slices
    assert sorted(d.id for d in await any_plates.declarations_of_plates(many)) == ["d1", "d2"]
    first = (await any_plates.declarations_of_plate("20A12345"))[0]
    assert first == _declaration("d1", "20A12345", "19", 1.0)
    assert await any_plates.get_declaration("d1") == first
    assert await any_plates.get_declaration("d2") == _declaration("d2", "20A12345", None, 2.0)
    with pytest.raises(NotFound):
        await any_plates.get_declaration("d3")  # its batch was refused
    await any_plates.delete_declaration("d1")
    with pytest.raises(NotFound):
        await any_plates.delete_declaration("d1")
    with pytest.raises(NotFound):
        await any_plates.get_declaration("d1")
    assert [d.id for d in await any_plates.declarations_of_plate("20A12345")] == ["d2"]


async def test_checkpoint_rules_replace(any_plates):
    await any_plates.set_checkpoint_rule(CheckpointRule("f2", "20", "all", "host", 1.0))
    await any_plates.set_checkpoint_rule(CheckpointRule("f1", "20", "none", "host", 1.0))
    await any_plates.set_checkpoint_rule(CheckpointRule("f1", "29", "outbreak", "admin", 2.0))
    assert await any_plates.checkpoint_rules() == [
        CheckpointRule("f1", "29", "outbreak", "admin", 2.0),
        CheckpointRule("f2", "20", "all", "host", 1.0),
    ]


async def test_alerts_and_their_notes(any_plates):
    await any_plates.add_declaration_alert(_alert("a1", "19", 10.0))
    await any_plates.add_declaration_alert(_alert("a2", "164", 20.0))
    with pytest.raises(Conflict):
        await any_plates.add_declaration_alert(_alert("a1", "19", 30.0))
    assert [a.id for a in await any_plates.list_declaration_alerts()] == ["a2", "a1"]
    assert [a.id for a in await any_plates.list_declaration_alerts(["19"])] == ["a1"]
    assert (await any_plates.get_declaration_alert("a1")).evidence == ("e-a1", "e-old")
    with pytest.raises(NotFound):
        await any_plates.get_declaration_alert("nope")
    await any_plates.add_alert_note(AlertNote("a1", 40.0, "op", "Cán bộ A", "not-found", "x"))
    await any_plates.add_alert_note(AlertNote("a1", 50.0, "op", "Cán bộ A", "false", "đi từ HN"))
    with pytest.raises(NotFound):
        await any_plates.add_alert_note(AlertNote("nope", 1.0, "op", "A", "false", ""))
    assert [(n.outcome, n.text) for n in await any_plates.alert_notes("a1")] == [
        ("not-found", "x"),
        ("false", "đi từ HN"),
    ]
    assert (await any_plates.get_declaration_alert("a1")).outcome == "false"
    assert await any_plates.alert_notes("a2") == []
