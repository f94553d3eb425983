"""Travel declarations in the SQLite engine (tables ``declarations``, ``checkpoint_rules``,
``declaration_alerts``, ``alert_notes``)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from anpr_feed.events_store.declaration_records import (
    AlertNote,
    CheckpointRule,
    Declaration,
    DeclarationAlert,
)
from conference.store import Conflict, NotFound
from conference.store.sqlite import SqliteAggregate
from conference.store.sqlite.engine import insert_sql, row

_DECLARATION_COLUMNS = (
    "id, plate, driver, origin_code, valid_from, valid_to, phone, source, unit_code, "
    "imported_by, imported_at"
)
_RULE_COLUMNS = "feed_id, province_code, required, set_by, set_at"
_ALERT_COLUMNS = (
    "id, event_id, plate, at, feed_id, checkpoint, unit_code, kind, reason, declaration_id, "
    "evidence, outcome"
)
_NOTE_COLUMNS = "alert_id, at, by, by_name, outcome, text"


def _scope(unit_codes: Sequence[str] | None) -> tuple[str, list[Any]]:
    """A WHERE clause keeping the rows of ``unit_codes`` (none: every row)."""
    if unit_codes is None:
        return "1", []
    return f"unit_code IN ({', '.join('?' * len(unit_codes))})", list(unit_codes)


def _alert_row(alert: DeclarationAlert) -> tuple[object, ...]:
    values = dataclasses.astuple(alert)
    index = [f.name for f in dataclasses.fields(alert)].index("evidence")
    return (*values[:index], json.dumps(list(alert.evidence)), *values[index + 1 :])


def _alert(r: Sequence[Any]) -> DeclarationAlert:
    (id_, event_id, plate, at, feed_id, checkpoint, unit_code, kind, reason, declaration_id) = r[
        :10
    ]
    return DeclarationAlert(
        id_,
        event_id,
        plate,
        at,
        feed_id,
        checkpoint,
        unit_code,
        kind,
        reason,
        declaration_id,
        tuple(json.loads(r[10])),
        r[11],
    )


class SqliteDeclarations(SqliteAggregate):
    """:class:`~anpr_feed.events_store.protocols.DeclarationStore` on SQLite."""

    async def add_declarations(self, declarations: Sequence[Declaration]) -> None:
        rows = [row(d) for d in declarations]
        try:
            await self._insert_batch(insert_sql("declarations", _DECLARATION_COLUMNS), rows)
        except sqlite3.IntegrityError as exc:
            raise Conflict("a declaration id is already taken; nothing was stored") from exc

    async def declarations_of_plate(self, plate: str) -> list[Declaration]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_DECLARATION_COLUMNS} FROM declarations WHERE plate = ? "
                "ORDER BY valid_from, id",
                (plate,),
            ).fetchall()
        )
        return [Declaration(*r) for r in rows]

    async def declarations_of_plates(self, plates: Sequence[str]) -> list[Declaration]:
        wanted = sorted(set(plates))

        def read(conn: sqlite3.Connection) -> list[Any]:
            found: list[Any] = []
            # In slices: SQLite caps the parameters of one statement.
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                found += conn.execute(
                    f"SELECT {_DECLARATION_COLUMNS} FROM declarations "
                    f"WHERE plate IN ({', '.join('?' * len(part))})",
                    part,
                ).fetchall()
            return found

        return [Declaration(*r) for r in await self._run(read)]

    async def list_declarations(
        self, unit_codes: Sequence[str] | None = None, limit: int = 200
    ) -> list[Declaration]:
        where, args = _scope(unit_codes)
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_DECLARATION_COLUMNS} FROM declarations WHERE {where} "
                "ORDER BY imported_at DESC, id LIMIT ?",
                (*args, limit),
            ).fetchall()
        )
        return [Declaration(*r) for r in rows]

    async def get_declaration(self, declaration_id: str) -> Declaration:
        found = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_DECLARATION_COLUMNS} FROM declarations WHERE id = ?",
                (declaration_id,),
            ).fetchone()
        )
        if found is None:
            raise NotFound(f"no declaration {declaration_id!r}")
        return Declaration(*found)

    async def delete_declaration(self, declaration_id: str) -> None:
        await self._delete_by_id(
            "declarations", declaration_id, f"no declaration {declaration_id!r}"
        )

    async def set_checkpoint_rule(self, rule: CheckpointRule) -> None:
        await self._run(
            lambda conn: conn.execute(
                insert_sql("checkpoint_rules", _RULE_COLUMNS).replace(
                    "INSERT", "INSERT OR REPLACE", 1
                ),
                row(rule),
            )
        )

    async def checkpoint_rules(self) -> list[CheckpointRule]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_RULE_COLUMNS} FROM checkpoint_rules ORDER BY feed_id"
            ).fetchall()
        )
        return [CheckpointRule(*r) for r in rows]

    async def add_declaration_alert(self, alert: DeclarationAlert) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(insert_sql("declaration_alerts", _ALERT_COLUMNS), _alert_row(alert))
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"declaration alert {alert.id!r} already exists") from exc

        await self._run(insert)

    async def get_declaration_alert(self, alert_id: str) -> DeclarationAlert:
        found = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_ALERT_COLUMNS} FROM declaration_alerts WHERE id = ?", (alert_id,)
            ).fetchone()
        )
        if found is None:
            raise NotFound(f"no declaration alert {alert_id!r}")
        return _alert(found)

    async def list_declaration_alerts(
        self, unit_codes: Sequence[str] | None = None, limit: int = 100
    ) -> list[DeclarationAlert]:
        where, args = _scope(unit_codes)
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_ALERT_COLUMNS} FROM declaration_alerts WHERE {where} "
                "ORDER BY at DESC, id LIMIT ?",
                (*args, limit),
            ).fetchall()
        )
        return [_alert(r) for r in rows]

    async def add_alert_note(self, note: AlertNote) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                updated = conn.execute(
                    "UPDATE declaration_alerts SET outcome = ? WHERE id = ?",
                    (note.outcome, note.alert_id),
                ).rowcount
                if updated:
                    conn.execute(insert_sql("alert_notes", _NOTE_COLUMNS), row(note))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if not updated:
                raise NotFound(f"no declaration alert {note.alert_id!r}")

        await self._run(write)

    async def alert_notes(self, alert_id: str) -> list[AlertNote]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_NOTE_COLUMNS} FROM alert_notes WHERE alert_id = ? ORDER BY seq",
                (alert_id,),
            ).fetchall()
        )
        return [AlertNote(*r) for r in rows]
