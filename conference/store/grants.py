"""Upward invitations: a unit's hosts let another unit's hosts invite its sites (:class:`GrantStore`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Grant:
    """A host of ``unit_code`` lets hosts of ``grantee_unit`` invite its sites."""

    unit_code: str
    grantee_unit: str
    granted_by: str
    created_at: float = field(default=0.0)


class GrantStore(Protocol):
    """Grants between units."""

    async def add_grant(self, grant: Grant) -> None:
        """Record a grant (idempotent)."""
        ...

    async def remove_grant(self, unit_code: str, grantee_unit: str) -> None:
        """Withdraw a grant; no error if absent."""
        ...

    async def grants_to(self, grantee_unit: str) -> list[Grant]:
        """Grants received by hosts of ``grantee_unit``."""
        ...

    async def grants_from(self, unit_code: str) -> list[Grant]:
        """Grants given for ``unit_code``'s sites."""
        ...
