"""Travel declarations in the Redis engine.

Keys, ``P`` being the prefix::

    P declarations                    hash   declaration id -> JSON
    P declarations_of:<plate>         set    the plate's declaration ids
    P declarations_by_import          zset   every declaration id, score = imported_at
    P unit_declarations:<unit>        zset   the unit's declaration ids, score = imported_at
    P checkpoint_rules                hash   feed id -> rule JSON
    P declaration_alerts              hash   alert id -> JSON
    P declaration_alerts_by_at        zset   every alert id, score = the pass's time
    P unit_declaration_alerts:<unit>  zset   the unit's alert ids, score = the pass's time
    P alert_notes:<alert id>          list   the alert's notes (JSON), oldest first
"""

from __future__ import annotations

import dataclasses
import heapq
import json
from collections.abc import Sequence

from redis.asyncio.client import Pipeline

from anpr_feed.events_store.declaration_records import (
    AlertNote,
    CheckpointRule,
    Declaration,
    DeclarationAlert,
)
from conference.store import Conflict, NotFound
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, dump, text


class RedisDeclarations(RedisAggregate):
    """:class:`~anpr_feed.events_store.protocols.DeclarationStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._declarations = engine.key("declarations")
        self._by_import = engine.key("declarations_by_import")
        self._rules = engine.key("checkpoint_rules")
        self._alerts = engine.key("declaration_alerts")
        self._alerts_by_at = engine.key("declaration_alerts_by_at")

    def _of_plate(self, plate: str) -> str:
        return self.engine.key(f"declarations_of:{plate}")

    def _unit_declarations(self, unit_code: str) -> str:
        return self.engine.key(f"unit_declarations:{unit_code}")

    def _unit_alerts(self, unit_code: str) -> str:
        return self.engine.key(f"unit_declaration_alerts:{unit_code}")

    def _notes(self, alert_id: str) -> str:
        return self.engine.key(f"alert_notes:{alert_id}")

    async def add_declarations(self, declarations: Sequence[Declaration]) -> None:
        """All or none, in one MULTI; :class:`Conflict` if an id is taken."""
        if not declarations:
            return
        ids = [d.id for d in declarations]

        async def body(pipe: Pipeline) -> None:
            await pipe.watch(self._declarations)
            taken = await self.engine.hmget(self._declarations, ids)
            if len(set(ids)) != len(ids) or any(value is not None for value in taken):
                raise Conflict("a declaration id is already taken; nothing was stored")
            pipe.multi()
            for d in declarations:
                pipe.hset(self._declarations, d.id, dump(dataclasses.asdict(d)))
                pipe.sadd(self._of_plate(d.plate), d.id)
                pipe.zadd(self._by_import, {d.id: d.imported_at})
                if d.unit_code is not None:
                    pipe.zadd(self._unit_declarations(d.unit_code), {d.id: d.imported_at})
            await pipe.execute()

        await self.engine.transaction(body)

    async def declarations_of_plate(self, plate: str) -> list[Declaration]:
        """Every declaration of one plate, by window start."""
        ids = sorted(text(i) for i in await self._redis.smembers(self._of_plate(plate)))
        found = [
            _declaration(raw)
            for raw in await self.engine.hmget(self._declarations, ids)
            if raw is not None
        ]
        return sorted(found, key=lambda d: (d.valid_from, d.id))

    async def declarations_of_plates(self, plates: Sequence[str]) -> list[Declaration]:
        """Every declaration of these plates, in no set order (one round trip for the sets)."""
        wanted = sorted(set(plates))
        if not wanted:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for plate in wanted:
                pipe.smembers(self._of_plate(plate))
            members = await pipe.execute()
        ids = sorted({text(i) for found in members for i in found})
        if not ids:
            return []
        raws = await self.engine.hmget(self._declarations, ids)
        return [_declaration(raw) for raw in raws if raw is not None]

    async def list_declarations(
        self, unit_codes: Sequence[str] | None = None, limit: int = 200
    ) -> list[Declaration]:
        """Declarations, newest import first (the units' indexes merged)."""
        ids = await self._newest(
            self._by_import,
            [self._unit_declarations(u) for u in unit_codes or ()],
            unit_codes,
            limit,
        )
        raws = await self.engine.hmget(self._declarations, ids)
        return [_declaration(raw) for raw in raws if raw is not None]

    async def get_declaration(self, declaration_id: str) -> Declaration:
        """One declaration or :class:`NotFound`."""
        raw = await self._redis.hget(self._declarations, declaration_id)
        if raw is None:
            raise NotFound(f"no declaration {declaration_id!r}")
        return _declaration(raw)

    async def delete_declaration(self, declaration_id: str) -> None:
        """Remove one and its index entries; :class:`NotFound` if unknown."""
        raw = await self._redis.hget(self._declarations, declaration_id)
        if raw is None:
            raise NotFound(f"no declaration {declaration_id!r}")
        declaration = _declaration(raw)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._declarations, declaration_id)
            pipe.srem(self._of_plate(declaration.plate), declaration_id)
            pipe.zrem(self._by_import, declaration_id)
            if declaration.unit_code is not None:
                pipe.zrem(self._unit_declarations(declaration.unit_code), declaration_id)
            await pipe.execute()

    async def set_checkpoint_rule(self, rule: CheckpointRule) -> None:
        """Set (or replace) a camera's rule."""
        await self._redis.hset(self._rules, rule.feed_id, dump(dataclasses.asdict(rule)))

    async def checkpoint_rules(self) -> list[CheckpointRule]:
        """Every camera's rule, by feed id."""
        rules = [CheckpointRule(**json.loads(raw)) for raw in await self._redis.hvals(self._rules)]
        return sorted(rules, key=lambda r: r.feed_id)

    async def add_declaration_alert(self, alert: DeclarationAlert) -> None:
        """Store an alert with its indexes; :class:`Conflict` if the id is taken."""
        if not await self._redis.hsetnx(self._alerts, alert.id, _alert_json(alert)):
            raise Conflict(f"declaration alert {alert.id!r} already exists")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._alerts_by_at, {alert.id: alert.at})
            if alert.unit_code is not None:
                pipe.zadd(self._unit_alerts(alert.unit_code), {alert.id: alert.at})
            await pipe.execute()

    async def get_declaration_alert(self, alert_id: str) -> DeclarationAlert:
        """One alert or :class:`NotFound`."""
        raw = await self._redis.hget(self._alerts, alert_id)
        if raw is None:
            raise NotFound(f"no declaration alert {alert_id!r}")
        return _alert(raw)

    async def list_declaration_alerts(
        self, unit_codes: Sequence[str] | None = None, limit: int = 100
    ) -> list[DeclarationAlert]:
        """Alerts, newest pass first (the units' indexes merged)."""
        ids = await self._newest(
            self._alerts_by_at, [self._unit_alerts(u) for u in unit_codes or ()], unit_codes, limit
        )
        return [
            _alert(raw) for raw in await self.engine.hmget(self._alerts, ids) if raw is not None
        ]

    async def add_alert_note(self, note: AlertNote) -> None:
        """Append to the history and set the alert's outcome, together; NotFound if unknown."""

        async def body(pipe: Pipeline) -> None:
            await pipe.watch(self._alerts)
            raw = await self._redis.hget(self._alerts, note.alert_id)
            if raw is None:
                raise NotFound(f"no declaration alert {note.alert_id!r}")
            alert = dataclasses.replace(_alert(raw), outcome=note.outcome)
            pipe.multi()
            pipe.hset(self._alerts, alert.id, _alert_json(alert))
            pipe.rpush(self._notes(alert.id), dump(dataclasses.asdict(note)))
            await pipe.execute()

        await self.engine.transaction(body)

    async def alert_notes(self, alert_id: str) -> list[AlertNote]:
        """An alert's history, oldest first."""
        raws = await self._redis.lrange(self._notes(alert_id), 0, -1)
        return [AlertNote(**json.loads(raw)) for raw in raws]

    async def _newest(
        self, every: str, unit_keys: list[str], unit_codes: Sequence[str] | None, limit: int
    ) -> list[str]:
        """The ``limit`` newest ids: of ``every`` (no scope), or of the units' indexes merged."""
        if unit_codes is None:
            return [text(i) for i in await self._redis.zrevrange(every, 0, limit - 1)]
        if not unit_keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in unit_keys:
                pipe.zrevrange(key, 0, limit - 1, withscores=True)
            results = await pipe.execute()
        merged = heapq.merge(*results, key=lambda pair: -float(pair[1]))
        return [text(member) for member, _ in list(merged)[:limit]]


def _declaration(raw: Raw) -> Declaration:
    return Declaration(**json.loads(raw))


def _alert_json(alert: DeclarationAlert) -> str:
    record = dataclasses.asdict(alert)
    record["evidence"] = list(alert.evidence)
    return dump(record)


def _alert(raw: Raw) -> DeclarationAlert:
    record = json.loads(raw)
    record["evidence"] = tuple(record["evidence"])
    return DeclarationAlert(**record)
