"""Administrative units and their meeting rooms: records and the :class:`UnitDirectory`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Unit:
    """An administrative unit (province, district, commune... any depth)."""

    code: str
    name: str
    type: str
    parent: str | None
    depth: int  # 0 for a root
    position: int = 0  # order among its siblings, as in the source file


@dataclass(frozen=True, slots=True)
class Site:
    """A meeting room of a unit ("điểm cầu"). Every unit has one with id = its code."""

    id: str
    unit_code: str
    name: str


def batch_cycle(units: Sequence[Unit]) -> str | None:
    """A unit of ``units`` that would be its own ancestor through the batch, else None.

    Stored units form a tree, so a cycle through stored units needs a moved
    unit too: engines check moves against the stored subtree separately.
    """
    parent = {u.code: u.parent for u in units}
    for code in parent:
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current in parent:
            if current in seen:
                return code
            seen.add(current)
            current = parent[current]
    return None


def default_site(unit: Unit) -> Site:
    """The meeting room every unit gets on import."""
    return Site(id=unit.code, unit_code=unit.code, name=unit.name)


class UnitDirectory(Protocol):
    """The tree of administrative units and the sites (meeting rooms) of each."""

    async def upsert_units(self, units: Sequence[Unit]) -> int:
        """Add or update units (parents before children) and their default sites.

        A unit's parent must exist in the store or earlier in ``units``.
        Returns how many units were written. All or nothing.
        """
        ...

    async def get_unit(self, code: str) -> Unit:
        """The unit or :class:`~conference.store.errors.UnitNotFound`."""
        ...

    async def get_units(self, codes: Sequence[str]) -> dict[str, Unit]:
        """The units that exist among ``codes``."""
        ...

    async def children(self, code: str | None) -> list[Unit]:
        """Direct children in source order (``None``: the roots)."""
        ...

    async def subtree(self, code: str) -> list[Unit]:
        """The unit and everything below it, parents before children."""
        ...

    async def ancestors(self, code: str) -> list[Unit]:
        """The chain above the unit, root first (empty for a root)."""
        ...

    async def count_units(self) -> int:
        """How many units are stored."""
        ...

    async def get_site(self, site_id: str) -> Site:
        """The site or :class:`~conference.store.errors.NotFound`."""
        ...

    async def sites_of(self, unit_codes: Sequence[str]) -> list[Site]:
        """The sites of these units, in the order of ``unit_codes``."""
        ...

    async def add_site(self, site: Site) -> None:
        """A further meeting room of a unit; :class:`~conference.store.errors.Conflict` if the id is taken."""
        ...
