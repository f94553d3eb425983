"""GrantStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import pytest

from conference.store import Grant, StoreError
from tests.store_contracts.records import tree


async def test_grants(any_store):
    await any_store.upsert_units(tree())
    grant = Grant("19", "167", "host.tinh", 3.0)
    await any_store.add_grant(grant)
    await any_store.add_grant(grant)
    assert await any_store.grants_to("167") == [grant]
    assert await any_store.grants_from("19") == [grant]
    await any_store.remove_grant("19", "167")
    assert await any_store.grants_to("167") == []
    await any_store.remove_grant("19", "167")


async def test_grants_order_and_unknown_units(any_store):
    await any_store.upsert_units(tree())
    await any_store.add_grant(Grant("19", "05506", "host.tinh", 3.0))
    await any_store.add_grant(Grant("164", "05506", "host.tp", 4.0))
    await any_store.add_grant(Grant("19", "05506", "someone.else", 9.0))  # kept as first given
    assert await any_store.grants_to("05506") == [
        Grant("164", "05506", "host.tp", 4.0),
        Grant("19", "05506", "host.tinh", 3.0),
    ]
    with pytest.raises(StoreError):
        await any_store.add_grant(Grant("19", "nope", "host.tinh", 3.0))
    assert await any_store.grants_from("nope") == []
    assert await any_store.grants_from("164") == [Grant("164", "05506", "host.tp", 4.0)]
