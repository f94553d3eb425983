"""Plate events in the SQLite engine: the ``plate_events`` table and its trigram index.

The tables are made by the conference store's migrations
(:mod:`conference.store.sqlite.migrations`): one file, one schema version.
"""

from __future__ import annotations

import sqlite3
import string
from collections.abc import Sequence

from anpr_feed.events_store.protocols import PlateEventStore
from anpr_feed.events_store.records import PlateEvent, PlateQuery, plate_query
from conference.store import Conflict, NotFound
from conference.store.sqlite import SqliteAggregate
from conference.store.sqlite.engine import insert_sql, row


class SqlitePlateEvents(SqliteAggregate, PlateEventStore):
    """:class:`~anpr_feed.events_store.protocols.PlateEventStore` on SQLite."""

    async def add_plate_events(self, events: Sequence[PlateEvent]) -> None:
        rows = [row(e) for e in events]

        def insert(conn: sqlite3.Connection) -> None:
            # The connection is in autocommit mode: without an explicit
            # transaction the rows before a clash would stay.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(insert_sql("plate_events", _EVENT_COLUMNS), rows)
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise Conflict(f"a plate event id is already stored: {exc}") from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(insert)

    async def search_plates(self, criteria: PlateQuery) -> list[PlateEvent]:
        """Passes whose plate contains ``criteria.plate`` (any part of it), newest first.

        Three characters or more: the trigram index gives the matching events
        (a few thousand at most at a million events), which are then filtered
        and sorted. Fewer (or none): the events of the window (of the
        checkpoint, if one is given) are walked newest first until ``limit``
        match, which is quick when matches are common ("20", "A"). A walk
        that reads ``_WALK_BUDGET`` events without finishing stops: matches
        are rare, and they are read from an index that holds them instead
        (the trigrams holding the short part, or the units' or feeds' own index).
        """
        plate, start, end = criteria.plate, criteria.start, criteria.end
        checkpoint, limit = criteria.checkpoint, criteria.limit
        feed_ids, unit_codes = criteria.feed_ids, criteria.unit_codes
        query = plate_query(plate)
        if (feed_ids is not None and not feed_ids) or (unit_codes is not None and not unit_codes):
            return []
        limit = max(1, min(limit, 1000))
        clauses: list[str] = []
        params: list[object] = []
        if feed_ids is not None:
            clauses.append(f"e.feed_id IN ({', '.join('?' * len(feed_ids))})")
            params.extend(feed_ids)
        if unit_codes is not None:
            units = sorted(set(unit_codes))
            clauses.append(f"e.unit_code IN ({', '.join('?' * len(units))})")
            params.extend(units)
        if start is not None:
            clauses.append("e.at >= ?")
            params.append(start)
        if end is not None:
            clauses.append("e.at < ?")
            params.append(end)
        if checkpoint:
            clauses.append("e.checkpoint = ?")
            params.append(checkpoint)
        if len(query) >= 3:
            # The trigram index answers "contains" for three characters or more.
            # CROSS JOIN keeps it the outer loop: with a checkpoint the planner
            # would otherwise walk the checkpoint's index and run one MATCH per
            # event (seconds at a million events).
            sql = (
                f"SELECT {_EVENT_COLUMNS_E} FROM plate_events_fts f CROSS JOIN plate_events e "
                f"ON e.seq = f.rowid WHERE {' AND '.join(['f.plate MATCH ?', *clauses])} "
                "ORDER BY e.at DESC LIMIT ?"
            )
            match = ['"' + query + '"', *params, limit]
            rows = await self._run(lambda conn: conn.execute(sql, match).fetchall())
            return [PlateEvent(*row) for row in rows]

        if query:
            clauses.append("e.plate LIKE ?")
            params.append(f"%{query}%")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        # The walk reads a time index newest first (the checkpoint's, if given),
        # whatever other index the planner might prefer for the filters.
        walk_index = "plate_events_checkpoint" if checkpoint else "plate_events_at"
        walk_sql = (
            f"SELECT {_EVENT_COLUMNS_E} FROM plate_events e INDEXED BY {walk_index} {where} "
            "ORDER BY e.at DESC LIMIT ?"
        )

        def search(conn: sqlite3.Connection) -> list[tuple]:
            rows = _bounded(conn, walk_sql, [*params, limit], _WALK_BUDGET)
            if rows is not None:
                return rows
            # Few of the scope's events in the window: the units' (or feeds') own index.
            scope_index = (
                "plate_events_unit"
                if unit_codes is not None
                else "plate_events_feed"
                if feed_ids is not None
                else None
            )
            if scope_index is not None:
                scoped = _bounded(
                    conn,
                    f"SELECT COUNT(*) FROM plate_events e INDEXED BY {scope_index} {where}",
                    params,
                    _WALK_BUDGET,
                )
                if scoped is not None:
                    return conn.execute(
                        f"SELECT {_EVENT_COLUMNS_E} FROM plate_events e "
                        f"INDEXED BY {scope_index} {where} ORDER BY e.at DESC LIMIT ?",
                        [*params, limit],
                    ).fetchall()
            if not query:
                return conn.execute(walk_sql, [*params, limit]).fetchall()
            # A rare one- or two-character part: the trigrams that hold it, over
            # the characters of normalised plates (the index folds case), and
            # the plates too short for a trigram (their own partial index).
            trigrams = _trigrams_holding(query)
            fts_where = " AND ".join(["f.plate MATCH ?", *clauses])
            short_where = " AND ".join(["length(e.plate) < 3", *clauses])
            return conn.execute(
                f"SELECT * FROM (SELECT {_EVENT_COLUMNS_E} FROM plate_events_fts f "
                f"CROSS JOIN plate_events e ON e.seq = f.rowid WHERE {fts_where} "
                f"UNION ALL SELECT {_EVENT_COLUMNS_E} FROM plate_events e "
                f"INDEXED BY plate_events_short WHERE {short_where}) "
                "ORDER BY at DESC LIMIT ?",
                [" OR ".join(f'"{t}"' for t in trigrams), *params, *params, limit],
            ).fetchall()

        rows = await self._run(search)
        return [PlateEvent(*row) for row in rows]

    async def get_plate_event(self, event_id: str) -> PlateEvent:
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM plate_events WHERE id = ?", (event_id,)
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"no plate event {event_id!r}")
        return PlateEvent(*row)

    async def delete_plate_events_before(self, before: float) -> list[PlateEvent]:
        def delete(conn: sqlite3.Connection) -> list[PlateEvent]:
            with conn:
                rows = conn.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM plate_events WHERE at < ? ORDER BY at, id",
                    (before,),
                ).fetchall()
                conn.execute("DELETE FROM plate_events WHERE at < ?", (before,))
            return [PlateEvent(*row) for row in rows]

        return await self._run(delete)

    async def count_plate_events(self) -> int:
        return int(
            await self._run(
                lambda conn: conn.execute("SELECT COUNT(*) FROM plate_events").fetchone()[0]
            )
        )


# The columns of ``plate_events``, in the order of the record's fields: ``row``
# gives an event's values and ``PlateEvent(*row)`` reads one back.
_EVENT_COLUMNS = (
    "id, feed_id, checkpoint, at, plate, display, province_code, confidence, crop, thumbnail,"
    " alert, colour, unit_code"
)


_EVENT_COLUMNS_E = ", ".join(f"e.{c.strip()}" for c in _EVENT_COLUMNS.split(","))


# Virtual-machine steps (about five per event) a search may spend walking
# events newest first before it reads a more selective index instead: some
# 50,000 events, a few tens of milliseconds.
_WALK_BUDGET = 250_000


# The characters of normalised plates: what a trigram holding a shorter part
# of a plate may be made of.
_PLATE_CHARS = string.ascii_uppercase + string.digits


def _bounded(
    conn: sqlite3.Connection, sql: str, params: Sequence[object], steps: int
) -> list[tuple] | None:
    """The rows of ``sql``, or None if it needs more than about ``steps`` VM steps."""
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return int(ticks * 1000 > steps)

    conn.set_progress_handler(tick, 1000)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        if ticks * 1000 <= steps:  # not our interruption
            raise
        return None
    finally:
        conn.set_progress_handler(None, 0)


def _trigrams_holding(part: str) -> list[str]:
    """Every trigram over the characters of plates that holds a 1- or 2-character ``part``."""
    chars = _PLATE_CHARS
    if len(part) == 1:
        return sorted(
            {t for x in chars for y in chars for t in (part + x + y, x + part + y, x + y + part)}
        )
    return sorted({t for x in chars for t in (part + x, x + part)})
