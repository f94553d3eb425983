"""The SQLite file, its one connection and the thread every statement runs on.

SQLite calls run on one worker thread so the event loop never waits on the
disk, and a second process (the ``conference`` admin verbs while the server
runs) can use the same file thanks to WAL mode. Every aggregate's half of the
engine (and the plate events' store of :mod:`anpr_feed.events_store`) runs its
statements through one :class:`SqliteEngine`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from conference.private_files import FILE_MODE, private_dir, private_file, tighten
from conference.store.errors import Conflict, NotFound
from conference.store.sqlite.migrations import migrate

T = TypeVar("T")


class SqliteEngine:
    """A SQLite file opened (and migrated) on its own thread; :meth:`run` runs a step there."""

    def __init__(self, path: Path) -> None:
        # Owner only: SQLite gives its -wal and -shm files the database's mode,
        # so a file made 0600 before SQLite opens it keeps its journal private.
        private_dir(path.parent)
        private_file(path)
        for journal in ("-wal", "-shm"):
            tighten(path.with_name(path.name + journal), FILE_MODE)
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            self._conn = self._executor.submit(self._connect).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a scheduled session must survive kill -9 and power loss alike.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
        return conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the engine's thread, awaited from the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._conn)

    async def close(self) -> None:
        """Close the connection, then the thread."""
        await self.run(lambda conn: conn.close())
        self._executor.shutdown(wait=True)


class SqliteAggregate:
    """One aggregate's half of the SQLite engine; the halves of one store share an engine."""

    def __init__(self, engine: SqliteEngine) -> None:
        self.engine = engine

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.engine.run(fn)

    async def _delete_by_id(self, table: str, record_id: str, missing: str) -> None:
        """Delete the row of ``table`` with ``record_id``; :class:`NotFound` (``missing``) if none."""
        if not await self._run(
            lambda conn: conn.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,)).rowcount
        ):
            raise NotFound(missing)

    async def _insert_batch(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        """``executemany`` of ``sql`` in one transaction: one write (one fsync), not one per row.

        The connection autocommits, so without the explicit transaction every
        row would be a write of its own; a failure rolls the whole batch back.
        """
        if not rows:
            return

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(write)

    async def _insert_unique(self, table: str, columns: str, record: Any, taken: str) -> None:
        """Insert ``record`` (a dataclass) as a row of ``table``; :class:`Conflict` (``taken``) on a clash."""

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(insert_sql(table, columns), row(record))
            except sqlite3.IntegrityError as exc:
                raise Conflict(taken) from exc

        await self._run(insert)


def insert_sql(table: str, columns: str) -> str:
    """INSERT of one row of ``columns`` (a comma-separated list) into ``table``."""
    placeholders = ", ".join("?" * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"


def row(record: Any) -> tuple[object, ...]:
    """A record's values in field order (its table's columns, when they are named in that order)."""
    return dataclasses.astuple(record)
