"""The embedded engine: SQLite in the data directory, with migrations.

SQLite calls run on one worker thread so the event loop never waits on the
disk, and a second process (the ``conference`` admin verbs while the server
runs) can use the same file thanks to WAL mode.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import string
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from conference.private_files import FILE_MODE, private_dir, private_file, tighten
from conference.settings import VideoCodec
from conference.store.base import (
    ROOM_ID_PATTERN,
    AccountRole,
    Attempt,
    Backoff,
    Conflict,
    Feed,
    FeedLimits,
    Grant,
    Login,
    Meeting,
    MeetingNotFound,
    NotFound,
    Outbreak,
    PlateEvent,
    Room,
    RoomNotFound,
    Site,
    StoreError,
    Unit,
    UnitNotFound,
    User,
    WatchEntry,
    backoff_wait,
    batch_cycle,
    default_site,
    login_key,
    new_room_id,
    plate_query,
)

T = TypeVar("T")

# Each entry moves the schema one version up; never edit a shipped entry.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        codec TEXT NOT NULL CHECK (codec IN ('vp8', 'h264')),
        created_at REAL NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE units (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        parent TEXT REFERENCES units(code),
        depth INTEGER NOT NULL,
        position INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX units_parent ON units(parent, position);
    CREATE TABLE sites (
        id TEXT PRIMARY KEY,
        unit_code TEXT NOT NULL REFERENCES units(code),
        name TEXT NOT NULL
    );
    CREATE INDEX sites_unit ON sites(unit_code);
    CREATE TABLE users (
        username TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        unit_code TEXT REFERENCES units(code),
        password_hash TEXT NOT NULL,
        created_at REAL NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE logins (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE meetings (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        agenda TEXT NOT NULL,
        start REAL NOT NULL,
        "end" REAL NOT NULL,
        host_site TEXT NOT NULL REFERENCES sites(id),
        created_by TEXT NOT NULL,
        room_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        auto_record INTEGER NOT NULL DEFAULT 0,
        cancelled_at REAL,
        CHECK ("end" > start)
    );
    CREATE INDEX meetings_start ON meetings(start);
    CREATE INDEX meetings_host ON meetings(host_site, start);
    CREATE TABLE invitations (
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        site_id TEXT NOT NULL REFERENCES sites(id),
        position INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, site_id)
    );
    CREATE INDEX invitations_site ON invitations(site_id);
    CREATE TABLE grants (
        unit_code TEXT NOT NULL REFERENCES units(code),
        grantee_unit TEXT NOT NULL REFERENCES units(code),
        granted_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (unit_code, grantee_unit)
    );
    CREATE INDEX grants_grantee ON grants(grantee_unit);
    """,
    """
    CREATE TABLE feeds (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        location TEXT NOT NULL,
        url TEXT NOT NULL,
        unit_code TEXT,
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        passthrough INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE plate_events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        feed_id TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        at REAL NOT NULL,
        plate TEXT NOT NULL,
        display TEXT NOT NULL,
        province_code TEXT NOT NULL,
        confidence REAL NOT NULL,
        crop TEXT,
        thumbnail TEXT,
        alert TEXT
    );
    CREATE INDEX plate_events_at ON plate_events(at);
    CREATE INDEX plate_events_checkpoint ON plate_events(checkpoint, at);
    -- Any part of a plate finds it: a trigram index over the plates.
    CREATE VIRTUAL TABLE plate_events_fts USING fts5(
        plate, content='plate_events', content_rowid='seq', tokenize='trigram'
    );
    CREATE TRIGGER plate_events_ai AFTER INSERT ON plate_events BEGIN
        INSERT INTO plate_events_fts(rowid, plate) VALUES (new.seq, new.plate);
    END;
    CREATE TRIGGER plate_events_ad AFTER DELETE ON plate_events BEGIN
        INSERT INTO plate_events_fts(plate_events_fts, rowid, plate) VALUES ('delete', old.seq, old.plate);
    END;
    CREATE TABLE watchlist (
        id TEXT PRIMARY KEY,
        pattern TEXT NOT NULL UNIQUE,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE outbreaks (
        id TEXT PRIMARY KEY,
        province_code TEXT NOT NULL,
        start TEXT NOT NULL,
        "end" TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    """
    -- A search scoped to a few feeds whose events are rare (a new camera) reads
    -- them here instead of walking every event; plates too short for a trigram
    -- are found here by a short part of a plate (see search_plate_events).
    CREATE INDEX plate_events_feed ON plate_events(feed_id, at);
    CREATE INDEX plate_events_short ON plate_events(at) WHERE length(plate) < 3;
    """,
    """
    -- The plate's background colour (white, yellow, blue, red) where it was seen.
    ALTER TABLE plate_events ADD COLUMN colour TEXT;
    """,
    """
    -- Who may take an entry off the lists: supervisors of the unit that put it on.
    ALTER TABLE watchlist ADD COLUMN unit_code TEXT;
    ALTER TABLE outbreaks ADD COLUMN unit_code TEXT;
    """,
    """
    -- Whose each pass is: its camera's unit when it was read, kept with the event
    -- so that removing (or moving) the camera never changes who may see it.
    -- Events stored before take their camera's unit if it is still registered;
    -- the others keep none, which only administrators see.
    ALTER TABLE plate_events ADD COLUMN unit_code TEXT;
    UPDATE plate_events SET unit_code = (
        SELECT feeds.unit_code FROM feeds WHERE feeds.id = plate_events.feed_id
    );
    CREATE INDEX plate_events_unit ON plate_events(unit_code, at);
    """,
    """
    -- Logins are kept by the SHA-256 of their id (the cookie holds the id), so
    -- this file opens no session; rows from before hold raw ids: they go, and
    -- their users log in again.
    DELETE FROM logins;
    -- The login throttle's attempt counters (Store.take_attempt).
    CREATE TABLE attempts (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        next_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX attempts_expiry ON attempts(expires_at);
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the newest version; return that version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"database schema version {version} is newer than this program "
            f"({len(MIGRATIONS)}); upgrade the program"
        )
    for number in range(version, len(MIGRATIONS)):
        with conn:
            conn.executescript(
                "BEGIN;" + MIGRATIONS[number] + f"PRAGMA user_version = {number + 1};"
            )
    return len(MIGRATIONS)


class SqliteStore:
    """:class:`conference.store.Store` on a SQLite file."""

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

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._conn)

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        name = name.strip()
        if not name or len(name) > 120:
            raise StoreError("room name must be 1 to 120 characters")
        if room_id is not None and not ROOM_ID_PATTERN.match(room_id):
            raise StoreError("room id must be 3-64 characters: lower-case letters, digits, '-'")
        room = Room(id=room_id or new_room_id(), name=name, codec=codec, created_at=time.time())

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO rooms (id, name, codec, created_at) VALUES (?, ?, ?, ?)",
                    (room.id, room.name, room.codec, room.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"room {room.id!r} already exists") from exc

        await self._run(insert)
        return room

    async def get_room(self, room_id: str) -> Room:
        def select(conn: sqlite3.Connection) -> tuple | None:
            return conn.execute(
                "SELECT id, name, codec, created_at FROM rooms WHERE id = ?", (room_id,)
            ).fetchone()

        row = await self._run(select)
        if row is None:
            raise RoomNotFound(f"no room with id {room_id!r}")
        return Room(*row)

    async def list_rooms(self) -> list[Room]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT id, name, codec, created_at FROM rooms ORDER BY created_at"
            ).fetchall()
        )
        return [Room(*row) for row in rows]

    async def delete_room(self, room_id: str) -> None:
        deleted = await self._run(
            lambda conn: conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,)).rowcount
        )
        if not deleted:
            raise RoomNotFound(f"no room with id {room_id!r}")

    # -- units and sites --------------------------------------------------------------

    async def upsert_units(self, units: Sequence[Unit]) -> int:
        rows = [(u.code, u.name, u.type, u.parent, u.depth, u.position) for u in units]
        sites = [(site.id, site.unit_code, site.name) for site in map(default_site, units)]
        looped = batch_cycle(units)
        if looped is not None:
            raise StoreError(
                f"units could not be stored: unit {looped!r} would be its own ancestor"
            )

        def write(conn: sqlite3.Connection) -> int:
            try:
                conn.execute("BEGIN IMMEDIATE")
                for unit in units:  # a moved unit must not go under its own subtree
                    if unit.parent is None:
                        continue
                    below = conn.execute(
                        "WITH RECURSIVE below(code) AS (SELECT code FROM units WHERE parent = ? "
                        "UNION SELECT u.code FROM units u JOIN below ON u.parent = below.code) "
                        "SELECT 1 FROM below WHERE code = ? LIMIT 1",
                        (unit.code, unit.parent),
                    ).fetchone()
                    if below is not None:
                        raise StoreError(
                            f"units could not be stored: unit {unit.code!r} cannot move under its own "
                            f"subtree ({unit.parent!r})"
                        )
                conn.executemany(
                    "INSERT INTO units (code, name, type, parent, depth, position) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(code) DO UPDATE SET name = excluded.name, type = excluded.type, "
                    "parent = excluded.parent, depth = excluded.depth, position = excluded.position",
                    rows,
                )
                conn.executemany(
                    "INSERT INTO sites (id, unit_code, name) VALUES (?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET name = excluded.name",
                    sites,
                )
                conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise StoreError(f"units could not be stored: {exc}") from exc
            except StoreError:
                conn.execute("ROLLBACK")
                raise
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return len(rows)

        return await self._run(write)

    async def get_unit(self, code: str) -> Unit:
        units = await self.get_units([code])
        if code not in units:
            raise UnitNotFound(f"no unit with code {code!r}")
        return units[code]

    async def get_units(self, codes: Sequence[str]) -> dict[str, Unit]:
        wanted = list(dict.fromkeys(codes))

        def select(conn: sqlite3.Connection) -> dict[str, Unit]:
            found: dict[str, Unit] = {}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(
                    f"SELECT {_UNIT_COLUMNS} FROM units WHERE code IN ({marks})", chunk
                ):
                    found[row[0]] = Unit(*row)
            return found

        return await self._run(select)

    async def children(self, code: str | None) -> list[Unit]:
        def select(conn: sqlite3.Connection) -> list[Unit]:
            if code is None:
                query = f"SELECT {_UNIT_COLUMNS} FROM units WHERE parent IS NULL ORDER BY position, code"
                return [Unit(*r) for r in conn.execute(query)]
            query = f"SELECT {_UNIT_COLUMNS} FROM units WHERE parent = ? ORDER BY position, code"
            return [Unit(*r) for r in conn.execute(query, (code,))]

        return await self._run(select)

    async def subtree(self, code: str) -> list[Unit]:
        def select(conn: sqlite3.Connection) -> list[Unit]:
            rows = conn.execute(
                f"""
                WITH RECURSIVE tree(code, sort) AS (
                    SELECT code, printf('%010d', 0) FROM units WHERE code = ?
                    UNION ALL
                    SELECT u.code, tree.sort || '/' || printf('%010d', u.position) || ':' || u.code
                    FROM units u JOIN tree ON u.parent = tree.code
                )
                SELECT {_UNIT_COLUMNS_U} FROM tree JOIN units u ON u.code = tree.code ORDER BY tree.sort
                """,
                (code,),
            ).fetchall()
            return [Unit(*r) for r in rows]

        units = await self._run(select)
        if not units:
            raise UnitNotFound(f"no unit with code {code!r}")
        return units

    async def ancestors(self, code: str) -> list[Unit]:
        def select(conn: sqlite3.Connection) -> list[Unit] | None:
            chain: list[Unit] = []
            row = conn.execute(
                f"SELECT {_UNIT_COLUMNS} FROM units WHERE code = ?", (code,)
            ).fetchone()
            if row is None:
                return None
            parent = row[3]
            while parent is not None:
                row = conn.execute(
                    f"SELECT {_UNIT_COLUMNS} FROM units WHERE code = ?", (parent,)
                ).fetchone()
                if row is None:
                    break
                chain.append(Unit(*row))
                parent = row[3]
            return list(reversed(chain))

        chain = await self._run(select)
        if chain is None:
            raise UnitNotFound(f"no unit with code {code!r}")
        return chain

    async def count_units(self) -> int:
        return int(
            await self._run(lambda conn: conn.execute("SELECT COUNT(*) FROM units").fetchone()[0])
        )

    async def get_site(self, site_id: str) -> Site:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT id, unit_code, name FROM sites WHERE id = ?", (site_id,)
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"no site with id {site_id!r}")
        return Site(*row)

    async def sites_of(self, unit_codes: Sequence[str]) -> list[Site]:
        codes = list(dict.fromkeys(unit_codes))

        def select(conn: sqlite3.Connection) -> list[Site]:
            by_unit: dict[str, list[Site]] = {}
            for start in range(0, len(codes), 500):
                chunk = codes[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(
                    f"SELECT id, unit_code, name FROM sites WHERE unit_code IN ({marks}) ORDER BY id",
                    chunk,
                ):
                    by_unit.setdefault(row[1], []).append(Site(*row))
            return [site for code in codes for site in by_unit.get(code, [])]

        return await self._run(select)

    async def add_site(self, site: Site) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO sites (id, unit_code, name) VALUES (?, ?, ?)",
                    (site.id, site.unit_code, site.name),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"site {site.id!r} already exists or its unit is unknown") from exc

        await self._run(insert)

    # -- accounts --------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO users (username, display_name, role, unit_code, password_hash, "
                    "created_at, disabled) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    _user_row(user),
                )
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc) or "PRIMARY" in str(exc):
                    raise Conflict(f"username {user.username!r} is already taken") from exc
                raise StoreError(f"unit {user.unit_code!r} does not exist") from exc

        await self._run(insert)

    async def get_user(self, username: str) -> User | None:
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,)
            ).fetchone()
        )
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users ORDER BY username"
            ).fetchall()
        )
        return [_user(r) for r in rows]

    async def update_user(self, user: User) -> None:
        def update(conn: sqlite3.Connection) -> int:
            row = _user_row(user)
            try:
                return self._update_user_row(conn, row)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"unit {user.unit_code!r} does not exist") from exc

        if not await self._run(update):
            raise NotFound(f"no user {user.username!r}")

    @staticmethod
    def _update_user_row(conn: sqlite3.Connection, row: tuple[object, ...]) -> int:
        return int(
            conn.execute(
                "UPDATE users SET display_name = ?, role = ?, unit_code = ?, password_hash = ?, "
                "created_at = ?, disabled = ? WHERE username = ?",
                (*row[1:], row[0]),
            ).rowcount
        )

    async def create_login(self, login: Login) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO logins (id, username, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        login_key(login.id),
                        login.username,
                        login.csrf_token,
                        login.created_at,
                        login.expires_at,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(
                    f"login for unknown user {login.username!r} or duplicate id"
                ) from exc

        await self._run(insert)

    async def get_login(self, login_id: str, now: float) -> Login | None:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT username, csrf_token, created_at, expires_at FROM logins "
                "WHERE id = ? AND expires_at > ?",
                (login_key(login_id), now),
            ).fetchone()
        )
        return None if row is None else Login(login_id, *row)

    async def delete_login(self, login_id: str) -> None:
        await self._run(
            lambda conn: conn.execute("DELETE FROM logins WHERE id = ?", (login_key(login_id),))
        )

    # -- attempt counters ------------------------------------------------------------

    async def take_attempt(self, key: str, now: float, backoff: Backoff) -> Attempt:
        def take(conn: sqlite3.Connection) -> Attempt:
            # IMMEDIATE: the read and the write hold the file's write lock
            # together, so other processes' attempts wait instead of racing.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM attempts WHERE expires_at <= ?", (now,))
                row = conn.execute(
                    "SELECT count, next_at FROM attempts WHERE key = ?", (key,)
                ).fetchone()
                count, next_at = (0, 0.0) if row is None else (int(row[0]), float(row[1]))
                if now < next_at:
                    conn.execute("COMMIT")
                    return Attempt(False, count, next_at - now)
                count += 1
                wait = backoff_wait(backoff, count)
                conn.execute(
                    "INSERT INTO attempts (key, count, next_at, expires_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET count = excluded.count, "
                    "next_at = excluded.next_at, expires_at = excluded.expires_at",
                    (key, count, now + wait, now + max(backoff.window, wait)),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return Attempt(True, count, wait)

        return await self._run(take)

    async def return_attempt(self, key: str, forget: bool = False) -> None:
        sql = (
            "DELETE FROM attempts WHERE key = ?"
            if forget
            else "UPDATE attempts SET count = max(count - 1, 0) WHERE key = ?"
        )
        await self._run(lambda conn: conn.execute(sql, (key,)))

    # -- meetings --------------------------------------------------------------------

    async def create_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        await self._run(lambda conn: self._write_meeting(conn, meeting, site_ids, replace=False))

    async def update_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        await self._run(lambda conn: self._write_meeting(conn, meeting, site_ids, replace=True))

    @staticmethod
    def _write_meeting(
        conn: sqlite3.Connection, meeting: Meeting, site_ids: Sequence[str], replace: bool
    ) -> None:
        if meeting.end <= meeting.start:
            raise StoreError("a meeting must end after it starts")
        conn.execute("BEGIN IMMEDIATE")  # the overlap check and the write are one step
        try:
            exists = conn.execute("SELECT 1 FROM meetings WHERE id = ?", (meeting.id,)).fetchone()
            if replace and not exists:
                raise MeetingNotFound(f"no meeting {meeting.id!r}")
            if not replace and exists:
                raise Conflict(f"meeting {meeting.id!r} already exists")
            if meeting.cancelled_at is None:
                clash = conn.execute(
                    "SELECT id, title FROM meetings WHERE host_site = ? AND id != ? AND cancelled_at IS NULL "
                    'AND start < ? AND "end" > ? ORDER BY start LIMIT 1',
                    (meeting.host_site, meeting.id, meeting.end, meeting.start),
                ).fetchone()
                if clash is not None:
                    raise Conflict(
                        f"the host site already has a meeting at that time: {clash[1]!r} ({clash[0]})"
                    )
            row = _meeting_row(meeting)
            if replace:
                conn.execute(
                    'UPDATE meetings SET title = ?, agenda = ?, start = ?, "end" = ?, host_site = ?, '
                    "created_by = ?, room_id = ?, created_at = ?, auto_record = ?, cancelled_at = ? "
                    "WHERE id = ?",
                    (*row[1:], row[0]),
                )
                conn.execute("DELETE FROM invitations WHERE meeting_id = ?", (meeting.id,))
            else:
                conn.execute(
                    'INSERT INTO meetings (id, title, agenda, start, "end", host_site, created_by, '
                    "room_id, created_at, auto_record, cancelled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            conn.executemany(
                "INSERT INTO invitations (meeting_id, site_id, position) VALUES (?, ?, ?)",
                [(meeting.id, site, index) for index, site in enumerate(dict.fromkeys(site_ids))],
            )
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"meeting refers to an unknown site: {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def get_meeting(self, meeting_id: str) -> Meeting:
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_MEETING_COLUMNS} FROM meetings WHERE id = ?", (meeting_id,)
            ).fetchone()
        )
        if row is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        return _meeting(row)

    async def list_meetings(self, start_from: float, start_to: float) -> list[Meeting]:
        rows = await self._run(
            lambda conn: conn.execute(
                f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE start < ? AND "end" > ? ORDER BY start, id',
                (start_to, start_from),
            ).fetchall()
        )
        return [_meeting(r) for r in rows]

    async def invitations(self, meeting_id: str) -> list[str]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT site_id FROM invitations WHERE meeting_id = ? ORDER BY position",
                (meeting_id,),
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def meetings_for_site(
        self, site_id: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        rows = await self._run(
            lambda conn: conn.execute(
                f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE start < ? AND "end" > ? AND '
                "(host_site = ? OR id IN (SELECT meeting_id FROM invitations WHERE site_id = ?)) "
                "ORDER BY start, id",
                (start_to, start_from, site_id, site_id),
            ).fetchall()
        )
        return [_meeting(r) for r in rows]

    # -- upward invitations ----------------------------------------------------------

    async def add_grant(self, grant: Grant) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO grants (unit_code, grantee_unit, granted_by, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(unit_code, grantee_unit) DO NOTHING",
                    (grant.unit_code, grant.grantee_unit, grant.granted_by, grant.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError("a grant must name two known units") from exc

        await self._run(insert)

    async def remove_grant(self, unit_code: str, grantee_unit: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "DELETE FROM grants WHERE unit_code = ? AND grantee_unit = ?",
                (unit_code, grantee_unit),
            )
        )

    async def grants_to(self, grantee_unit: str) -> list[Grant]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT unit_code, grantee_unit, granted_by, created_at FROM grants WHERE grantee_unit = ? "
                "ORDER BY unit_code",
                (grantee_unit,),
            ).fetchall()
        )
        return [Grant(*r) for r in rows]

    async def grants_from(self, unit_code: str) -> list[Grant]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT unit_code, grantee_unit, granted_by, created_at FROM grants WHERE unit_code = ? "
                "ORDER BY grantee_unit",
                (unit_code,),
            ).fetchall()
        )
        return [Grant(*r) for r in rows]

    # -- checkpoint cameras -------------------------------------------------------------

    async def _delete_by_id(self, table: str, record_id: str, missing: str) -> None:
        """Delete the row of ``table`` with ``record_id``; :class:`NotFound` (``missing``) if none."""
        if not await self._run(
            lambda conn: conn.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,)).rowcount
        ):
            raise NotFound(missing)

    async def _insert_unique(
        self, table: str, columns: str, record: Feed | WatchEntry | Outbreak, taken: str
    ) -> None:
        """Insert ``record`` as a row of ``table``; :class:`Conflict` (``taken``) on a clash."""

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(_insert_sql(table, columns), _row(record))
            except sqlite3.IntegrityError as exc:
                raise Conflict(taken) from exc

        await self._run(insert)

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
                conn.execute(_insert_sql("feeds", _FEED_COLUMNS), _row(feed))
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

    async def add_plate_events(self, events: Sequence[PlateEvent]) -> None:
        rows = [_row(e) for e in events]

        def insert(conn: sqlite3.Connection) -> None:
            # The connection is in autocommit mode: without an explicit
            # transaction the rows before a clash would stay.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_insert_sql("plate_events", _EVENT_COLUMNS), rows)
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise Conflict(f"a plate event id is already stored: {exc}") from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(insert)

    async def search_plate_events(
        self,
        plate: str | None = None,
        start: float | None = None,
        end: float | None = None,
        checkpoint: str | None = None,
        limit: int = 100,
        feed_ids: Sequence[str] | None = None,
        unit_codes: Sequence[str] | None = None,
    ) -> list[PlateEvent]:
        """Passes whose plate contains ``plate`` (any part of it), newest first.

        Three characters or more: the trigram index gives the matching events
        (a few thousand at most at a million events), which are then filtered
        and sorted. Fewer (or none): the events of the window (of the
        checkpoint, if one is given) are walked newest first until ``limit``
        match, which is quick when matches are common ("20", "A"). A walk
        that reads ``_WALK_BUDGET`` events without finishing stops: matches
        are rare, and they are read from an index that holds them instead
        (the trigrams holding the short part, or the units' or feeds' own index).
        """
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

    async def add_watch(self, entry: WatchEntry) -> None:
        await self._insert_unique(
            "watchlist", _WATCH_COLUMNS, entry, f"{entry.pattern!r} is already on the watch list"
        )

    async def list_watch(self) -> list[WatchEntry]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_WATCH_COLUMNS} FROM watchlist ORDER BY pattern"
            ).fetchall()
        )
        return [WatchEntry(*r) for r in rows]

    async def delete_watch(self, entry_id: str) -> None:
        await self._delete_by_id("watchlist", entry_id, f"no watch-list entry {entry_id!r}")

    async def add_outbreak(self, outbreak: Outbreak) -> None:
        await self._insert_unique(
            "outbreaks",
            _OUTBREAK_COLUMNS,
            outbreak,
            f"outbreak marking {outbreak.id!r} already exists",
        )

    async def list_outbreaks(self) -> list[Outbreak]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_OUTBREAK_COLUMNS} FROM outbreaks ORDER BY start, province_code"
            ).fetchall()
        )
        return [Outbreak(*r) for r in rows]

    async def delete_outbreak(self, outbreak_id: str) -> None:
        await self._delete_by_id("outbreaks", outbreak_id, f"no outbreak marking {outbreak_id!r}")

    # -- service state ---------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        row = await self._run(
            lambda conn: conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )

    async def close(self) -> None:
        await self._run(lambda conn: conn.close())
        self._executor.shutdown(wait=True)


# The columns of the checkpoint-camera tables, in the order of their
# records' fields: ``_row`` gives a record's values and ``Record(*row)`` reads
# one back.
_FEED_COLUMNS = (
    "id, name, checkpoint, location, url, unit_code, created_at, created_by, passthrough"
)
_EVENT_COLUMNS = (
    "id, feed_id, checkpoint, at, plate, display, province_code, confidence, crop, thumbnail,"
    " alert, colour, unit_code"
)
_WATCH_COLUMNS = "id, pattern, reason, created_by, created_at, unit_code"
_OUTBREAK_COLUMNS = 'id, province_code, start, "end", reason, created_by, created_at, unit_code'
_EVENT_COLUMNS_E = ", ".join(f"e.{c.strip()}" for c in _EVENT_COLUMNS.split(","))
_UNIT_COLUMNS = "code, name, type, parent, depth, position"
_UNIT_COLUMNS_U = "u.code, u.name, u.type, u.parent, u.depth, u.position"
_USER_COLUMNS = "username, display_name, role, unit_code, password_hash, created_at, disabled"
_MEETING_COLUMNS = 'id, title, agenda, start, "end", host_site, created_by, room_id, created_at, auto_record, cancelled_at'


def _user_row(user: User) -> tuple[object, ...]:
    return (
        user.username,
        user.display_name,
        user.role.value,
        user.unit_code,
        user.password_hash,
        user.created_at,
        int(user.disabled),
    )


def _user(row: tuple) -> User:
    return User(row[0], row[1], AccountRole(row[2]), row[3], row[4], row[5], bool(row[6]))


def _meeting_row(meeting: Meeting) -> tuple[object, ...]:
    return (
        meeting.id,
        meeting.title,
        meeting.agenda,
        meeting.start,
        meeting.end,
        meeting.host_site,
        meeting.created_by,
        meeting.room_id,
        meeting.created_at,
        int(meeting.auto_record),
        meeting.cancelled_at,
    )


def _meeting(row: tuple) -> Meeting:
    return Meeting(
        id=row[0],
        title=row[1],
        agenda=row[2],
        start=row[3],
        end=row[4],
        host_site=row[5],
        created_by=row[6],
        room_id=row[7],
        created_at=row[8],
        auto_record=bool(row[9]),
        cancelled_at=row[10],
    )


def _insert_sql(table: str, columns: str) -> str:
    """INSERT of one row of ``columns`` (a comma-separated list) into ``table``."""
    placeholders = ", ".join("?" * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"


def _row(record: Feed | PlateEvent | WatchEntry | Outbreak) -> tuple[object, ...]:
    """A record's values in field order (its table's columns, see ``_FEED_COLUMNS``)."""
    return dataclasses.astuple(record)


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
