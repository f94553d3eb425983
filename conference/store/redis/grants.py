"""Upward invitations in the Redis engine: ``P grants_to:<unit>`` and ``P grants_from:<unit>`` hashes."""

from __future__ import annotations

import json

from conference.store.errors import StoreError
from conference.store.grants import Grant
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, dump


class RedisGrants(RedisAggregate):
    """:class:`~conference.store.grants.GrantStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._units = engine.key("units")  # a grant names two known units

    def _grants_to_key(self, grantee_unit: str) -> str:
        return f"{self.prefix}grants_to:{grantee_unit}"

    def _grants_from_key(self, unit_code: str) -> str:
        return f"{self.prefix}grants_from:{unit_code}"

    async def add_grant(self, grant: Grant) -> None:
        """Record a grant (idempotent: the first one recorded stays)."""
        known = await self._redis.hmget(self._units, [grant.unit_code, grant.grantee_unit])
        if None in known:
            raise StoreError("a grant must name two known units")
        record = dump(
            {
                "unit_code": grant.unit_code,
                "grantee_unit": grant.grantee_unit,
                "granted_by": grant.granted_by,
                "created_at": grant.created_at,
            }
        )
        # Both directions in one MULTI, each only if absent: a repeated or
        # concurrent grant changes nothing, and the two hashes always agree.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self._grants_to_key(grant.grantee_unit), grant.unit_code, record)
            pipe.hsetnx(self._grants_from_key(grant.unit_code), grant.grantee_unit, record)
            await pipe.execute()

    async def remove_grant(self, unit_code: str, grantee_unit: str) -> None:
        """Withdraw a grant; no error if absent."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._grants_to_key(grantee_unit), unit_code)
            pipe.hdel(self._grants_from_key(unit_code), grantee_unit)
            await pipe.execute()

    async def grants_to(self, grantee_unit: str) -> list[Grant]:
        """Grants received by hosts of ``grantee_unit``, by granting unit."""
        grants = [_grant(raw) for raw in await self._redis.hvals(self._grants_to_key(grantee_unit))]
        return sorted(grants, key=lambda grant: grant.unit_code)

    async def grants_from(self, unit_code: str) -> list[Grant]:
        """Grants given for ``unit_code``'s sites, by grantee unit."""
        grants = [_grant(raw) for raw in await self._redis.hvals(self._grants_from_key(unit_code))]
        return sorted(grants, key=lambda grant: grant.grantee_unit)


def _grant(raw: Raw) -> Grant:
    record = json.loads(raw)
    return Grant(
        record["unit_code"],
        record["grantee_unit"],
        record["granted_by"],
        float(record["created_at"]),
    )
