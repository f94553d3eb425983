"""The SQLite schema, one migration per version; ``PRAGMA user_version`` is the version.

Every table of the file is here, the plate events' too (their store lives with
the cameras, in :mod:`anpr_feed.events_store`, and uses this same file): one
version number orders every change, so a file of any older version opens.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from conference.store.attendance import LEGACY_META_PREFIX, legacy_record, record_columns
from conference.store.errors import StoreError


def _attendance_table(conn: sqlite3.Connection) -> None:
    """Each meeting's saved roll call gets a row of its own, out of the JSON kept in ``meta``.

    A document that older versions could not read either is dropped (they
    showed no saved roll call for it; neither do we).
    """
    conn.execute(
        """
        CREATE TABLE attendance (
            meeting_id TEXT PRIMARY KEY,
            saved_at REAL NOT NULL,
            sites TEXT NOT NULL,  -- JSON: the roll call's rows
            room TEXT NOT NULL    -- JSON: what the host decided (lock, removals, mutes)
        )
        """
    )
    legacy = conn.execute(
        "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?",
        (len(LEGACY_META_PREFIX), LEGACY_META_PREFIX),
    ).fetchall()
    for key, value in legacy:
        record = legacy_record(key[len(LEGACY_META_PREFIX) :], value)
        if record is not None:
            conn.execute(
                "INSERT INTO attendance (meeting_id, saved_at, sites, room) VALUES (?, ?, ?, ?)",
                record_columns(record),
            )
        conn.execute("DELETE FROM meta WHERE key = ?", (key,))


# A migration is SQL text run as one script, or a step in Python (when rows
# must be read and rewritten) run in one transaction.
Migration = str | Callable[[sqlite3.Connection], None]

# Each entry moves the schema one version up; never edit a shipped entry.
MIGRATIONS: list[Migration] = [
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
    # A meeting's roll call in a table of its own (it was JSON in meta).
    _attendance_table,
    """
    -- The cameras hosts put in rooms: a camera whose reader stopped joins the
    -- room again when it runs on the room's node (anpr_feed/in_meetings.py).
    CREATE TABLE room_feeds (
        room_id TEXT NOT NULL,
        feed_id TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at REAL NOT NULL,
        PRIMARY KEY (room_id, feed_id)
    );
    """,
    """
    -- A meeting's paperless documents; the bytes are files under the data
    -- directory's documents/ folder, named by id (conference/documents/files.py).
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        meeting_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at REAL NOT NULL
    );
    CREATE INDEX documents_meeting ON documents(meeting_id, uploaded_at);
    """,
    """
    -- A meeting's chat and votes, kept with the meeting for its minutes.
    CREATE TABLE chat (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        meeting_id TEXT NOT NULL,
        at REAL NOT NULL,
        site TEXT NOT NULL,
        name TEXT NOT NULL,
        audience TEXT NOT NULL,  -- all | host
        text TEXT NOT NULL,
        host INTEGER NOT NULL
    );
    CREATE INDEX chat_meeting ON chat(meeting_id, seq);
    CREATE TABLE votes (
        id TEXT PRIMARY KEY,
        meeting_id TEXT NOT NULL,
        question TEXT NOT NULL,
        options TEXT NOT NULL,  -- JSON: the options' labels
        secret INTEGER NOT NULL,
        opened_at REAL NOT NULL,
        opened_by TEXT NOT NULL,
        closed_at REAL
    );
    CREATE INDEX votes_meeting ON votes(meeting_id, opened_at);
    -- choice is NULL in a secret vote: its counts are in vote_counts only.
    CREATE TABLE ballots (
        vote_id TEXT NOT NULL REFERENCES votes(id),
        site TEXT NOT NULL,
        name TEXT NOT NULL,
        choice INTEGER,
        at REAL NOT NULL,
        PRIMARY KEY (vote_id, site)
    );
    CREATE TABLE vote_counts (
        vote_id TEXT NOT NULL REFERENCES votes(id),
        choice INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (vote_id, choice)
    );
    """,
    """
    -- A meeting's active-speaker timeline (conference/rooms/speaking.py), for its minutes.
    CREATE TABLE speaking (
        meeting_id TEXT NOT NULL,
        site TEXT NOT NULL,
        name TEXT NOT NULL,
        start REAL NOT NULL,
        end_at REAL NOT NULL
    );
    CREATE INDEX speaking_meeting ON speaking(meeting_id, start);
    """,
    """
    -- The plate alerts a meeting's hosts were shown (conference/alert_log.py), for its minutes.
    CREATE TABLE meeting_alerts (
        meeting_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        at REAL NOT NULL,
        checkpoint TEXT NOT NULL,
        plate TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (meeting_id, event_id)
    );
    """,
    """
    -- Travel declarations, each checkpoint camera's rule for them, and the
    -- "khai báo không trung thực" alerts with the officers' notes (anpr_feed/declarations/).
    CREATE TABLE declarations (
        id TEXT PRIMARY KEY,
        plate TEXT NOT NULL,
        driver TEXT NOT NULL,
        origin_code TEXT NOT NULL,
        valid_from REAL NOT NULL,
        valid_to REAL NOT NULL,
        phone TEXT NOT NULL,
        source TEXT NOT NULL,
        unit_code TEXT,
        imported_by TEXT NOT NULL,
        imported_at REAL NOT NULL
    );
    CREATE INDEX declarations_plate ON declarations(plate, valid_from);
    CREATE INDEX declarations_imported ON declarations(imported_at);
    CREATE TABLE checkpoint_rules (
        feed_id TEXT PRIMARY KEY,
        province_code TEXT NOT NULL,
        required TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at REAL NOT NULL
    );
    CREATE TABLE declaration_alerts (
        id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        plate TEXT NOT NULL,
        at REAL NOT NULL,
        feed_id TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        unit_code TEXT,
        kind TEXT NOT NULL,
        reason TEXT NOT NULL,
        declaration_id TEXT,
        evidence TEXT NOT NULL,  -- JSON: plate event ids
        outcome TEXT
    );
    CREATE INDEX declaration_alerts_at ON declaration_alerts(at);
    CREATE TABLE alert_notes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL,
        at REAL NOT NULL,
        by TEXT NOT NULL,
        by_name TEXT NOT NULL,
        outcome TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX alert_notes_alert ON alert_notes(alert_id, seq);
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
        step = MIGRATIONS[number]
        if isinstance(step, str):
            with conn:
                conn.executescript("BEGIN;" + step + f"PRAGMA user_version = {number + 1};")
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return len(MIGRATIONS)
