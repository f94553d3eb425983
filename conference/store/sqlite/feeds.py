"""Checkpoint cameras in the SQLite engine (table ``feeds``)."""

from __future__ import annotations

import sqlite3

from conference.store.errors import Conflict, NotFound
from conference.store.feeds import Feed, FeedLimits
from conference.store.sqlite.engine import SqliteAggregate, insert_sql, row


class SqliteFeeds(SqliteAggregate):
    """:class:`~conference.store.feeds.FeedStore` on SQLite."""

    async def create_feed(self, feed: Feed, limits: FeedLimits | None = None) -> None:
        if limits is None:
            await self._insert_unique(
                "feeds", _FEED_COLUMNS, feed, f"feed {feed.id!r} already exists"
            )
            return

        def insert(conn: sqlite3.Connection) -> None:
            # One write transaction from the count to the insert: two registrations
            # (or the CLI and the server) cannot both take the last place.
            conn.execute("BEGIN IMMEDIATE")
            try:
                total, in_unit = conn.execute(
                    "SELECT COUNT(*), COUNT(CASE WHEN unit_code = ? THEN 1 END) FROM feeds",
                    (feed.unit_code,),
                ).fetchone()
                refusal = limits.refusal(feed, total, in_unit)
                if refusal is not None:
                    raise refusal
                conn.execute(insert_sql("feeds", _FEED_COLUMNS), row(feed))
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise Conflict(f"feed {feed.id!r} already exists") from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(insert)

    async def get_feed(self, feed_id: str) -> Feed:
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?", (feed_id,)
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"no feed {feed_id!r}")
        return _feed(row)

    async def list_feeds(self) -> list[Feed]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY checkpoint, name, id"
            ).fetchall()
        )
        return [_feed(r) for r in rows]

    async def delete_feed(self, feed_id: str) -> None:
        await self._delete_by_id("feeds", feed_id, f"no feed {feed_id!r}")


# The columns of ``feeds``, in the order of the record's fields: ``row`` gives
# a record's values.
_FEED_COLUMNS = (
    "id, name, checkpoint, location, url, unit_code, created_at, created_by, passthrough"
)


def _feed(row: tuple) -> Feed:
    return Feed(
        id=row[0],
        name=row[1],
        checkpoint=row[2],
        location=row[3],
        url=row[4],
        unit_code=row[5],
        created_at=row[6],
        created_by=row[7],
        passthrough=bool(row[8]),
    )
