"""UnitDirectory: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import json
import time

import pytest

from conference.store import Conflict, NotFound, Site, StoreError, Unit, UnitNotFound
from tests.store_contracts.records import tree
from tests.support.server import ROOT


async def test_units_tree(any_store):
    assert await any_store.upsert_units(tree()) == 7
    assert await any_store.count_units() == 7
    assert [u.code for u in await any_store.children(None)] == ["19"]
    assert [u.code for u in await any_store.children("19")] == ["164", "167"]
    assert [u.code for u in await any_store.subtree("19")] == [
        "19",
        "164",
        "05431",
        "05434",
        "167",
        "05503",
        "05506",
    ]
    assert [u.code for u in await any_store.subtree("167")] == ["167", "05503", "05506"]
    assert [u.code for u in await any_store.ancestors("05506")] == ["19", "167"]
    assert await any_store.ancestors("19") == []
    unit = await any_store.get_unit("05506")
    assert (unit.name, unit.type, unit.parent, unit.depth) == ("Xã Linh Thông", "Xã", "167", 2)
    assert set(await any_store.get_units(["19", "nope", "05431"])) == {"19", "05431"}
    for missing in (
        any_store.get_unit("nope"),
        any_store.subtree("nope"),
        any_store.ancestors("nope"),
    ):
        with pytest.raises(UnitNotFound):
            await missing


async def test_units_reimport_updates_and_keeps_sites(any_store):
    await any_store.upsert_units(tree())
    await any_store.add_site(Site("167-2", "167", "Hội trường 2 huyện Định Hóa"))
    renamed = [
        u if u.code != "05506" else Unit("05506", "Xã Linh Thông (mới)", "Xã", "167", 2, 1)
        for u in tree()
    ]
    await any_store.upsert_units(renamed)
    assert (await any_store.get_unit("05506")).name == "Xã Linh Thông (mới)"
    assert await any_store.count_units() == 7
    sites = await any_store.sites_of(["167", "05506"])
    assert [s.id for s in sites] == ["167", "167-2", "05506"]
    assert (await any_store.get_site("05506")).name == "Xã Linh Thông (mới)"
    with pytest.raises(Conflict):
        await any_store.add_site(Site("167-2", "167", "again"))
    with pytest.raises(NotFound):
        await any_store.get_site("nope")


async def test_orphan_units_are_refused_whole(any_store):
    await any_store.upsert_units(tree()[:2])
    with pytest.raises(StoreError):
        await any_store.upsert_units(
            [
                Unit("99999", "Xã mồ côi", "Xã", "888", 2, 0),
                Unit("05431", "Phường Quán Triều", "Phường", "164", 2, 0),
            ]
        )
    assert await any_store.count_units() == 2  # nothing of the failed batch was written


def flatten(nodes: list[dict], parent: str | None, depth: int, into: list[Unit]) -> None:
    """The nested units of the source file as a list, parents first."""
    for position, node in enumerate(nodes):
        into.append(Unit(node["code"], node["name"], node["type"], parent, depth, position))
        flatten(node.get("children", []), node["code"], depth + 1, into)


def national_units() -> tuple[list[Unit], str]:
    """The national list (11,367 units, a copy is in tests/data), read as the CLI reads it.

    Parents come before children and ``position`` is the order among
    siblings, as an import from the source file gives them.
    """
    name = "vn-admin-units-2021-11-01.json"
    for folder in (ROOT / "tests" / "data", ROOT.parent / "shared" / "data"):
        path = folder / name
        if path.is_file():
            units: list[Unit] = []
            flatten(json.loads(path.read_text(encoding="utf-8"))["units"], None, 0, units)
            return units, str(path)
    synthetic: list[Unit] = []
    for p in range(63):
        province = f"{p:02d}"
        synthetic.append(Unit(province, f"Tỉnh {p}", "Tỉnh", None, 0, p))
        for d in range(10):
            district = f"{province}{d:02d}"
            synthetic.append(Unit(district, f"Huyện {d}", "Huyện", province, 1, d))
            for c in range(16):
                synthetic.append(Unit(f"{district}{c:02d}", f"Xã {c}", "Xã", district, 2, c))
    return synthetic, "synthetic (63 x 10 x 16)"


async def test_national_import(any_store, request, capsys):
    units, source = national_units()
    started = time.perf_counter()
    assert await any_store.upsert_units(units) == len(units)
    took = time.perf_counter() - started
    # Reported, not asserted: a loaded CI machine must not fail on speed.
    with capsys.disabled():
        print(
            f"\n[national import] {request.node.callspec.id}: {len(units)} units "
            f"in {took:.2f} s from {source}"
        )
    assert await any_store.count_units() == len(units)
    roots = [u for u in units if u.parent is None]
    assert [u.code for u in await any_store.children(None)] == [u.code for u in roots]
    first = roots[0]
    below = {first.code}
    for unit in units:  # parents come first, so one pass finds the whole subtree
        if unit.parent in below:
            below.add(unit.code)
    subtree = await any_store.subtree(first.code)
    assert subtree[0].code == first.code
    assert {u.code for u in subtree} == below
    leaf = units[-1]
    chain = await any_store.ancestors(leaf.code)
    assert [u.depth for u in chain] == list(range(leaf.depth))
    assert chain[-1].code == leaf.parent
    assert [s.id for s in await any_store.sites_of([leaf.code])] == [leaf.code]
    # Importing the same file again updates in place.
    assert await any_store.upsert_units(units) == len(units)
    assert await any_store.count_units() == len(units)


async def test_children_order_and_moving_a_unit(any_store):
    await any_store.upsert_units(
        [
            *tree(),
            # Same position as 05503: the code breaks the tie.
            Unit("05500", "Xã Bảo Linh", "Xã", "167", 2, 0),
            # A parent may be stored already and come later in the batch too.
            Unit("05509", "Xã Phúc Chu", "Xã", "167", 2, 5),
            Unit("167", "Huyện Định Hóa", "Huyện", "19", 1, 1),
        ]
    )
    assert [u.code for u in await any_store.children("167")] == [
        "05500",
        "05503",
        "05506",
        "05509",
    ]
    assert await any_store.children("05506") == []
    assert await any_store.children("nope") == []
    # Move a commune to the other district: it leaves the old parent's list.
    await any_store.upsert_units([Unit("05509", "Xã Phúc Chu", "Xã", "164", 2, 0)])
    assert [u.code for u in await any_store.children("164")] == ["05431", "05509", "05434"]
    assert "05509" not in [u.code for u in await any_store.children("167")]
    assert [u.code for u in await any_store.subtree("164")] == ["164", "05431", "05509", "05434"]
    assert [u.code for u in await any_store.ancestors("05509")] == ["19", "164"]
    assert await any_store.count_units() == 9


async def test_parent_later_in_the_batch_is_refused(any_store):
    with pytest.raises(StoreError):
        await any_store.upsert_units(
            [
                Unit("164", "Thành phố Thái Nguyên", "Thành phố", "19", 1, 0),
                Unit("19", "Tỉnh Thái Nguyên", "Tỉnh", None, 0, 0),
            ]
        )
    assert await any_store.count_units() == 0
    assert await any_store.children(None) == []
    with pytest.raises(NotFound):
        await any_store.get_site("19")  # no default site either
    assert await any_store.upsert_units([]) == 0


async def test_sites_order_and_errors(any_store):
    await any_store.upsert_units(tree())
    await any_store.add_site(Site("167-b", "167", "Phòng B"))
    await any_store.add_site(Site("167-a", "167", "Phòng A"))
    sites = await any_store.sites_of(["05506", "167", "05506", "nope"])
    assert [s.id for s in sites] == ["05506", "167", "167-a", "167-b"]
    assert await any_store.get_site("167-a") == Site("167-a", "167", "Phòng A")
    assert await any_store.sites_of([]) == []
    with pytest.raises(StoreError):  # SQLite says Conflict: the unit is unknown
        await any_store.add_site(Site("ghost-room", "nope", "Phòng ma"))
    with pytest.raises(NotFound):
        await any_store.get_site("ghost-room")


async def test_unit_cycles_are_refused(any_store):
    await any_store.upsert_units(tree())
    with pytest.raises(StoreError):
        await any_store.upsert_units([Unit("88888", "Tự làm cha", "Xã", "88888", 1, 0)])
    with pytest.raises(StoreError):  # a loop inside the batch
        await any_store.upsert_units(
            [Unit("77771", "A", "Xã", "77772", 1, 0), Unit("77772", "B", "Xã", "77771", 1, 0)]
        )
    with pytest.raises(StoreError):  # a district moved under its own commune
        await any_store.upsert_units([Unit("167", "Huyện Định Hóa", "Huyện", "05506", 3, 0)])
    assert [u.code for u in await any_store.subtree("19")][:2] == ["19", "164"]
    assert await any_store.count_units() == 7
