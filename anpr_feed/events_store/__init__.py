"""What the cameras keep: plate events, the watch list, outbreak provinces, travel declarations.

Records in :mod:`.records`, protocols in :mod:`.protocols`, an embedded engine
(:mod:`.sqlite`) and a several-node one (:mod:`.redis`) in the conference
store's own file or database. :func:`plate_store_for` gives the engine that
goes with a conference store.
"""

from __future__ import annotations

from anpr_feed.events_store.declaration_records import (
    OUTCOMES,
    REQUIREMENTS,
    AlertNote,
    CheckpointRule,
    Declaration,
    DeclarationAlert,
)
from anpr_feed.events_store.protocols import (
    DeclarationStore,
    OutbreakStore,
    PlateEventStore,
    PlateStore,
    WatchListStore,
)
from anpr_feed.events_store.records import (
    PLATE_COLOURS,
    Outbreak,
    PlateEvent,
    PlateQuery,
    WatchEntry,
    plate_query,
)
from conference.store import Store

__all__ = [
    "OUTCOMES",
    "PLATE_COLOURS",
    "REQUIREMENTS",
    "AlertNote",
    "CheckpointRule",
    "Declaration",
    "DeclarationAlert",
    "DeclarationStore",
    "Outbreak",
    "OutbreakStore",
    "PlateEvent",
    "PlateEventStore",
    "PlateQuery",
    "PlateStore",
    "WatchEntry",
    "WatchListStore",
    "plate_query",
    "plate_store_for",
]


def plate_store_for(store: Store) -> PlateStore:
    """The plate store kept beside ``store``: in its SQLite file, or its Redis database.

    It shares the store's engine (connection, thread, key prefix) and is
    closed with it.
    """
    from conference.store.sqlite import SqliteEngine

    engine = getattr(store, "engine", None)
    if isinstance(engine, SqliteEngine):
        from anpr_feed.events_store.sqlite import SqlitePlateStore

        return SqlitePlateStore(engine)
    from conference.store.redis import RedisEngine

    if isinstance(engine, RedisEngine):
        from anpr_feed.events_store.redis import RedisPlateStore

        return RedisPlateStore(engine, feeds=store)
    raise TypeError(f"no plate store goes with a {type(store).__name__}")
