"""Units and sites in the SQLite engine (tables ``units``, ``sites``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from conference.store.errors import Conflict, NotFound, StoreError, UnitNotFound
from conference.store.sqlite.engine import SqliteAggregate
from conference.store.units import Site, Unit, batch_cycle, default_site


class SqliteUnits(SqliteAggregate):
    """:class:`~conference.store.units.UnitDirectory` on SQLite."""

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


_UNIT_COLUMNS = "code, name, type, parent, depth, position"


_UNIT_COLUMNS_U = "u.code, u.name, u.type, u.parent, u.depth, u.position"
