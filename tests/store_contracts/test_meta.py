"""MetaStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations


async def test_meta(any_store):
    assert await any_store.get_meta("k") is None
    await any_store.set_meta("k", "v1")
    await any_store.set_meta("k", "v2")
    assert await any_store.get_meta("k") == "v2"
