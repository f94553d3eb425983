"""AttemptStore (the login throttle's counters): one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conference.store import Backoff, SqliteStore, Store


async def test_attempts_are_spaced_by_growing_waits(any_store: Store) -> None:
    backoff = Backoff(free=3, delay=10.0, max_delay=25.0, window=60.0)
    now = time.time()
    first = [await any_store.take_attempt("k", now, backoff) for _ in range(3)]
    assert [(a.granted, a.count, a.wait) for a in first] == [
        (True, 1, 0.0),
        (True, 2, 0.0),
        (True, 3, 10.0),  # the third is the last free one: the next waits 10 s
    ]
    refused = await any_store.take_attempt("k", now + 9.5, backoff)
    assert (refused.granted, refused.count) == (False, 3)
    assert refused.wait == pytest.approx(0.5)
    # A refused attempt changed nothing: the wait still ends at now + 10.
    fourth = await any_store.take_attempt("k", now + 10, backoff)
    assert (fourth.granted, fourth.count, fourth.wait) == (True, 4, 20.0)
    assert not (await any_store.take_attempt("k", now + 29, backoff)).granted
    fifth = await any_store.take_attempt("k", now + 30, backoff)
    assert (fifth.granted, fifth.count, fifth.wait) == (True, 5, 25.0)  # capped
    # Other keys are their own.
    assert (await any_store.take_attempt("other", now + 30, backoff)).count == 1
    # Giving one back lowers the count; forgetting starts over.
    await any_store.return_attempt("k")
    sixth = await any_store.take_attempt("k", now + 56, backoff)
    assert (sixth.granted, sixth.count) == (True, 5)
    await any_store.return_attempt("k", forget=True)
    assert (await any_store.take_attempt("k", now + 56, backoff)).count == 1
    await any_store.return_attempt("never-taken")
    await any_store.return_attempt("never-taken", forget=True)


async def test_attempt_counts_expire_after_their_window(any_store: Store) -> None:
    backoff = Backoff(free=2, delay=5.0, max_delay=5.0, window=60.0)
    now = time.time()
    for _ in range(2):
        await any_store.take_attempt("k", now, backoff)
    assert (await any_store.take_attempt("k", now + 59, backoff)).count == 3
    # 60 s after the last counted attempt the key is forgotten.
    assert (await any_store.take_attempt("k", now + 59 + 60.5, backoff)).count == 1


async def test_concurrent_attempts_from_two_connections_pass_a_limit_only_once(
    any_store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two store objects (two processes' worth of connections) share the counters."""
    if isinstance(any_store, SqliteStore):
        other: Store = SqliteStore(any_store.path)
    else:
        from conference.store.redis import RedisStore

        assert isinstance(any_store, RedisStore)
        other = RedisStore(request.getfixturevalue("redis_url"), prefix=any_store.prefix)
    try:
        backoff = Backoff(free=5, delay=600.0, max_delay=600.0, window=900.0)
        now = time.time()
        results = await asyncio.gather(
            *(
                (any_store if i % 2 else other).take_attempt("login-pair:x", now, backoff)
                for i in range(40)
            )
        )
        assert sum(a.granted for a in results) == 5
        assert sorted(a.count for a in results if a.granted) == [1, 2, 3, 4, 5]
        assert all(a.wait > 500 for a in results if not a.granted)
    finally:
        await other.close()
