"""Units and sites in the Redis engine (see the key layout in :mod:`conference.store.redis`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from redis.asyncio.client import Pipeline

from conference.store.errors import Conflict, NotFound, StoreError, UnitNotFound
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, chunks, dump, text
from conference.store.units import Site, Unit, batch_cycle, default_site

# The chain above a unit, walked on the server: one round trip instead of one
# per level. The step bound stops a (refused, but who knows) parent cycle.
_ANCESTORS_LUA = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local chain = {}
local seen = {[ARGV[1]] = true}
local parent = cjson.decode(raw)['parent']
local steps = 0
while parent and parent ~= cjson.null and not seen[parent] and steps < 1000 do
    local row = redis.call('HGET', KEYS[1], parent)
    if not row then break end
    chain[#chain + 1] = row
    seen[parent] = true
    parent = cjson.decode(row)['parent']
    steps = steps + 1
end
return chain
"""

# add_site: the unit must exist, the id must be free, and the site and its
# index entry appear together or not at all.
_ADD_SITE_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return 1
"""


class RedisUnits(RedisAggregate):
    """:class:`~conference.store.units.UnitDirectory` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._units = engine.key("units")
        self._unit_roots = engine.key("unit_roots")
        self._sites = engine.key("sites")
        self._ancestors_script = self._redis.register_script(_ANCESTORS_LUA)
        self._add_site_script = self._redis.register_script(_ADD_SITE_LUA)

    def _children_key(self, code: str | None) -> str:
        return self._unit_roots if code is None else f"{self.prefix}unit_children:{code}"

    def _unit_sites_key(self, code: str) -> str:
        return f"{self.prefix}unit_sites:{code}"

    async def _units_by_code(self, codes: Sequence[str]) -> dict[str, Unit]:
        raws = await self.engine.hmget(self._units, codes)
        return {code: _unit(raw) for code, raw in zip(codes, raws, strict=True) if raw is not None}

    async def upsert_units(self, units: Sequence[Unit]) -> int:
        """Add or update units and their default sites, all or nothing.

        Every parent is checked (stored, or earlier in ``units``) before the
        first write; the writes then go in one MULTI/EXEC, WATCHed against
        concurrent imports and ``add_site``.
        """
        batch = list(units)
        if not batch:
            return 0
        looped = batch_cycle(batch)
        if looped is not None:
            raise StoreError(
                f"units could not be stored: unit {looped!r} would be its own ancestor"
            )
        stored_now = await self.get_units([u.code for u in batch])
        for unit in batch:  # a moved unit must not go under its own subtree
            old = stored_now.get(unit.code)
            if old is not None and unit.parent is not None and unit.parent != old.parent:
                if unit.parent in {u.code for u in await self.subtree(unit.code)}:
                    raise StoreError(
                        f"units could not be stored: unit {unit.code!r} cannot move under its own "
                        f"subtree ({unit.parent!r})"
                    )
        final: dict[str, Unit] = {}
        for unit in batch:  # a code given twice: the later one wins, as in SQLite
            final[unit.code] = unit
        codes = list(final)
        outside_parents = {u.parent for u in batch if u.parent is not None} - final.keys()
        lookup = [*codes, *sorted(outside_parents)]

        async def body(pipe: Pipeline) -> None:
            await pipe.watch(self._units, self._sites)
            stored_units = await self.engine.hmget(self._units, lookup)
            stored_sites = await self.engine.hmget(self._sites, codes)
            stored = {
                code: raw for code, raw in zip(lookup, stored_units, strict=True) if raw is not None
            }
            seen: set[str] = set()
            for unit in batch:
                if (
                    unit.parent is not None
                    and unit.parent not in seen
                    and unit.parent not in stored
                ):
                    raise StoreError(
                        f"units could not be stored: the parent {unit.parent!r} of unit "
                        f"{unit.code!r} is neither stored nor earlier in the import"
                    )
                seen.add(unit.code)

            pipe.multi()
            for chunk in chunks(codes):
                pipe.hset(self._units, mapping={code: _unit_json(final[code]) for code in chunk})
            by_parent: dict[str | None, dict[str, int]] = {}
            for code in codes:
                unit = final[code]
                old = stored.get(code)
                if old is not None:
                    old_parent = json.loads(old)["parent"]
                    if old_parent != unit.parent:  # moved: leave the old parent's list
                        pipe.zrem(self._children_key(old_parent), code)
                by_parent.setdefault(unit.parent, {})[code] = unit.position
            for parent, members in by_parent.items():
                pipe.zadd(self._children_key(parent), members)
            sites: dict[str, str] = {}
            for code, raw in zip(codes, stored_sites, strict=True):
                unit = final[code]
                if raw is None:
                    sites[code] = _site_json(default_site(unit))
                    pipe.zadd(self._unit_sites_key(code), {code: 0})
                else:
                    # As SQLite's ON CONFLICT: only the name follows the unit.
                    sites[code] = _site_json(Site(code, json.loads(raw)["unit_code"], unit.name))
            for chunk in chunks(list(sites)):
                pipe.hset(self._sites, mapping={site_id: sites[site_id] for site_id in chunk})
            await pipe.execute()

        await self.engine.transaction(body)
        return len(batch)

    async def get_unit(self, code: str) -> Unit:
        """The unit or :class:`UnitNotFound`."""
        raw = await self._redis.hget(self._units, code)
        if raw is None:
            raise UnitNotFound(f"no unit with code {code!r}")
        return _unit(raw)

    async def get_units(self, codes: Sequence[str]) -> dict[str, Unit]:
        """The units that exist among ``codes``."""
        return await self._units_by_code(list(dict.fromkeys(codes)))

    async def children(self, code: str | None) -> list[Unit]:
        """Direct children by position, then code (``None``: the roots)."""
        members = [text(m) for m in await self._redis.zrange(self._children_key(code), 0, -1)]
        found = await self._units_by_code(members)
        return [found[member] for member in members if member in found]

    async def subtree(self, code: str) -> list[Unit]:
        """The unit and everything below it, parents before children.

        One pipeline per level reads the children lists of the whole level,
        one more the records; the pre-order is put together here.
        """
        if not await self._redis.hexists(self._units, code):
            raise UnitNotFound(f"no unit with code {code!r}")
        kids: dict[str, list[str]] = {}
        seen = {code}  # guards against a parent cycle (SQLite's CTE would loop)
        level = [code]
        while level:
            async with self._redis.pipeline(transaction=False) as pipe:
                for parent in level:
                    pipe.zrange(self._children_key(parent), 0, -1)
                results: list[list[str]] = await pipe.execute()
            next_level: list[str] = []
            for parent, members in zip(level, results, strict=True):
                fresh = [member for member in members if member not in seen]
                seen.update(fresh)
                kids[parent] = fresh
                next_level.extend(fresh)
            level = next_level
        order: list[str] = []
        stack = [code]
        while stack:
            current = stack.pop()
            order.append(current)
            stack.extend(reversed(kids.get(current, [])))
        found = await self._units_by_code(order)
        return [found[member] for member in order if member in found]

    async def ancestors(self, code: str) -> list[Unit]:
        """The chain above the unit, root first (one server-side walk)."""
        chain = await self._ancestors_script(keys=[self._units], args=[code])
        if chain is None:
            raise UnitNotFound(f"no unit with code {code!r}")
        return [_unit(raw) for raw in reversed(chain)]

    async def count_units(self) -> int:
        """How many units are stored."""
        return int(await self._redis.hlen(self._units))

    async def get_site(self, site_id: str) -> Site:
        """The site or :class:`NotFound`."""
        raw = await self._redis.hget(self._sites, site_id)
        if raw is None:
            raise NotFound(f"no site with id {site_id!r}")
        return _site(raw)

    async def sites_of(self, unit_codes: Sequence[str]) -> list[Site]:
        """The sites of these units, in the order of ``unit_codes``, each unit's by id."""
        codes = list(dict.fromkeys(unit_codes))
        if not codes:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for code in codes:
                pipe.zrange(self._unit_sites_key(code), 0, -1)
            per_unit: list[list[str]] = await pipe.execute()
        site_ids = [site_id for ids in per_unit for site_id in ids]
        raws = await self.engine.hmget(self._sites, site_ids)
        return [_site(raw) for raw in raws if raw is not None]

    async def add_site(self, site: Site) -> None:
        """A further meeting room of a unit; :class:`Conflict` if the id is taken.

        An unknown unit is a :class:`Conflict` too, as in the SQLite engine.
        """
        added = await self._add_site_script(
            keys=[self._units, self._sites, self._unit_sites_key(site.unit_code)],
            args=[site.unit_code, site.id, _site_json(site)],
        )
        if added == -1:
            raise Conflict(f"site {site.id!r} cannot be added: unit {site.unit_code!r} is unknown")
        if added == 0:
            raise Conflict(f"site {site.id!r} already exists")


def _unit_json(unit: Unit) -> str:
    return dump(
        {
            "code": unit.code,
            "name": unit.name,
            "type": unit.type,
            "parent": unit.parent,
            "depth": unit.depth,
            "position": unit.position,
        }
    )


def _unit(raw: Raw) -> Unit:
    record = json.loads(raw)
    return Unit(
        code=record["code"],
        name=record["name"],
        type=record["type"],
        parent=record["parent"],
        depth=int(record["depth"]),
        position=int(record["position"]),
    )


def _site_json(site: Site) -> str:
    return dump({"id": site.id, "unit_code": site.unit_code, "name": site.name})


def _site(raw: Raw) -> Site:
    record = json.loads(raw)
    return Site(record["id"], record["unit_code"], record["name"])
