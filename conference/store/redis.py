"""The several-node engine: every record in one Redis database, under a key prefix.

It keeps the semantics of :mod:`conference.store.sqlite` (the contract tests
run on both). Records are JSON documents (UTF-8, not ASCII-escaped, so that
``redis-cli`` shows Vietnamese names as they are); indexes are sorted sets.

Key layout, ``P`` being the prefix (``conference:`` unless told otherwise)::

    P rooms                           hash   room id -> room JSON
    P units                           hash   unit code -> unit JSON
    P unit_roots                      zset   codes of units without a parent, score = position
    P unit_children:<code>            zset   codes of the unit's children, score = position
    P sites                           hash   site id -> site JSON
    P unit_sites:<code>               zset   ids of the unit's sites, all scores 0 (so: by id)
    P users                           hash   username -> user JSON
    P login:<id>                      string login JSON, with a TTL at its expiry
    P meeting:<id>                    string meeting JSON
    P invitations:<meeting id>        list   invited site ids, in the order given
    P meetings_by_start               zset   every meeting id, score = start
    P meetings_by_end                 zset   every meeting id, score = end
    P site_meetings_by_start:<site>   zset   meetings the site hosts or is invited to, by start
    P site_meetings_by_end:<site>     zset   the same, by end
    P host_active_by_end:<site>       zset   meetings the site hosts, not cancelled, by end
    P grants_to:<grantee unit>        hash   granting unit code -> grant JSON
    P grants_from:<unit>              hash   grantee unit code -> grant JSON
    P meta                            hash   key -> value

Fixed names have no ``:`` and every family ends with exactly one variable
part after a ``:``, so no id, whatever characters it has, can make the keys
of two records or families meet. Sorted sets whose scores tie list members
by their bytes, which is SQLite's ``ORDER BY position, code`` (and ``id``).

Several-key changes either run in one Lua script (small, conditional
writes) or as WATCH / read / MULTI ... EXEC, retried when a watched key
changed in between (imports and meetings, see :meth:`RedisStore._transaction`).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from conference.settings import VideoCodec
from conference.store.base import (
    ROOM_ID_PATTERN,
    AccountRole,
    Conflict,
    Grant,
    Login,
    Meeting,
    MeetingNotFound,
    NotFound,
    Room,
    RoomNotFound,
    Site,
    StoreError,
    Unit,
    UnitNotFound,
    User,
    batch_cycle,
    default_site,
    new_room_id,
)

if TYPE_CHECKING:
    from conference.store.base import Store

T = TypeVar("T")

# A WATCHed transaction that keeps losing to other writers gives up after this
# many tries; in practice the second try sees the winner's write and decides.
_MAX_ATTEMPTS = 50

# Fields per HSET/HMGET and commands per read pipeline: large enough that the
# national import is a handful of round trips, small enough that no single
# command holds the server (which serves every node) for long.
_CHUNK = 1000

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

# Replace a hash field only if it is there (update_user must not create).
_REPLACE_FIELD_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisStore:
    """:class:`conference.store.Store` in a Redis database, shared by several nodes.

    ``url`` is a redis-py URL (``redis://host:6379/0``, ``rediss://`` for TLS);
    every key starts with ``prefix`` so that several deployments (or test
    runs) can share one database.
    """

    def __init__(self, url: str, prefix: str = "conference:") -> None:
        self.prefix = prefix
        # from_url does not connect: the pool opens connections on first use,
        # so the store can be built outside the event loop (see open_store).
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._rooms = prefix + "rooms"
        self._units = prefix + "units"
        self._unit_roots = prefix + "unit_roots"
        self._sites = prefix + "sites"
        self._users = prefix + "users"
        self._meetings_by_start = prefix + "meetings_by_start"
        self._meetings_by_end = prefix + "meetings_by_end"
        self._meta = prefix + "meta"
        self._ancestors_script = self._redis.register_script(_ANCESTORS_LUA)
        self._add_site_script = self._redis.register_script(_ADD_SITE_LUA)
        self._replace_field_script = self._redis.register_script(_REPLACE_FIELD_LUA)

    # -- key names ----------------------------------------------------------------------

    def _children_key(self, code: str | None) -> str:
        return self._unit_roots if code is None else f"{self.prefix}unit_children:{code}"

    def _unit_sites_key(self, code: str) -> str:
        return f"{self.prefix}unit_sites:{code}"

    def _login_key(self, login_id: str) -> str:
        return f"{self.prefix}login:{login_id}"

    def _meeting_key(self, meeting_id: str) -> str:
        return f"{self.prefix}meeting:{meeting_id}"

    def _invitations_key(self, meeting_id: str) -> str:
        return f"{self.prefix}invitations:{meeting_id}"

    def _site_by_start_key(self, site_id: str) -> str:
        return f"{self.prefix}site_meetings_by_start:{site_id}"

    def _site_by_end_key(self, site_id: str) -> str:
        return f"{self.prefix}site_meetings_by_end:{site_id}"

    def _host_active_key(self, site_id: str) -> str:
        return f"{self.prefix}host_active_by_end:{site_id}"

    def _grants_to_key(self, grantee_unit: str) -> str:
        return f"{self.prefix}grants_to:{grantee_unit}"

    def _grants_from_key(self, unit_code: str) -> str:
        return f"{self.prefix}grants_from:{unit_code}"

    # -- helpers ------------------------------------------------------------------------

    async def _transaction(self, body: Callable[[Pipeline], Awaitable[T]]) -> T:
        """Run ``body`` (WATCH, reads, MULTI, queued writes, EXEC) until it commits.

        ``body`` WATCHes every key its decision depends on before reading it;
        EXEC then fails with :class:`WatchError` if any of them changed, and
        the whole decision is taken again on fresh data. Reads may go through
        other connections (batched in a pipeline): what counts is that they
        happen after the WATCH.
        """
        for attempt in range(_MAX_ATTEMPTS):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    return await body(pipe)
                except WatchError:
                    pass
            # Jitter, so that writers that lost together do not collide again.
            await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
        raise StoreError("the store is busy with concurrent changes of the same records; try again")

    async def _hmget(self, key: str, fields: Sequence[str]) -> list[str | None]:
        """HMGET in chunks, sent together in one pipeline."""
        if not fields:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in _chunks(fields):
                pipe.hmget(key, chunk)
            results = await pipe.execute()
        return [value for result in results for value in result]

    async def _units_by_code(self, codes: Sequence[str]) -> dict[str, Unit]:
        raws = await self._hmget(self._units, codes)
        return {code: _unit(raw) for code, raw in zip(codes, raws, strict=True) if raw is not None}

    # -- rooms ----------------------------------------------------------------------------

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        """Create and return a room; :class:`StoreError` if ``room_id`` is taken or bad."""
        name = name.strip()
        if not name or len(name) > 120:
            raise StoreError("room name must be 1 to 120 characters")
        if room_id is not None and not ROOM_ID_PATTERN.match(room_id):
            raise StoreError("room id must be 3-64 characters: lower-case letters, digits, '-'")
        # SQLite refuses other codecs with a CHECK constraint.
        if codec not in ("vp8", "h264"):
            raise StoreError(f"unknown video codec {codec!r}: use 'vp8' or 'h264'")
        room = Room(id=room_id or new_room_id(), name=name, codec=codec, created_at=time.time())
        record = {
            "id": room.id,
            "name": room.name,
            "codec": room.codec,
            "created_at": room.created_at,
        }
        if not await self._redis.hsetnx(self._rooms, room.id, _dump(record)):
            raise StoreError(f"room {room.id!r} already exists")
        return room

    async def get_room(self, room_id: str) -> Room:
        """The room or :class:`RoomNotFound`."""
        raw = await self._redis.hget(self._rooms, room_id)
        if raw is None:
            raise RoomNotFound(f"no room with id {room_id!r}")
        return _room(raw)

    async def list_rooms(self) -> list[Room]:
        """All rooms, oldest first (there are few: one hash read)."""
        rooms = [_room(raw) for raw in await self._redis.hvals(self._rooms)]
        return sorted(rooms, key=lambda room: (room.created_at, room.id))

    async def delete_room(self, room_id: str) -> None:
        """Delete a room or raise :class:`RoomNotFound`."""
        if not await self._redis.hdel(self._rooms, room_id):
            raise RoomNotFound(f"no room with id {room_id!r}")

    # -- units and sites --------------------------------------------------------------

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
            stored_units = await self._hmget(self._units, lookup)
            stored_sites = await self._hmget(self._sites, codes)
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
            for chunk in _chunks(codes):
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
            for chunk in _chunks(list(sites)):
                pipe.hset(self._sites, mapping={site_id: sites[site_id] for site_id in chunk})
            await pipe.execute()

        await self._transaction(body)
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
        members = [_text(m) for m in await self._redis.zrange(self._children_key(code), 0, -1)]
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
        raws = await self._hmget(self._sites, site_ids)
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

    # -- accounts --------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        """Store a new account; :class:`Conflict` if the username is taken."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hexists(self._users, user.username)
            pipe.hexists(self._units, user.unit_code or "")
            taken, unit_known = await pipe.execute()
        if taken:
            raise Conflict(f"username {user.username!r} is already taken")
        if user.unit_code is not None and not unit_known:
            raise StoreError(f"unit {user.unit_code!r} does not exist")
        # HSETNX settles a race between two creations of the same name.
        if not await self._redis.hsetnx(self._users, user.username, _user_json(user)):
            raise Conflict(f"username {user.username!r} is already taken")

    async def get_user(self, username: str) -> User | None:
        """The account, or None."""
        raw = await self._redis.hget(self._users, username)
        return None if raw is None else _user(raw)

    async def list_users(self) -> list[User]:
        """Every account, by username."""
        users = [_user(raw) for raw in await self._redis.hvals(self._users)]
        return sorted(users, key=lambda user: user.username)

    async def update_user(self, user: User) -> None:
        """Replace an existing account; :class:`NotFound` if there is none."""
        if user.unit_code is not None and not await self._redis.hexists(
            self._units, user.unit_code
        ):
            raise StoreError(f"unit {user.unit_code!r} does not exist")
        replaced = await self._replace_field_script(
            keys=[self._users], args=[user.username, _user_json(user)]
        )
        if not replaced:
            raise NotFound(f"no user {user.username!r}")

    async def create_login(self, login: Login) -> None:
        """Store a logged-in session; Redis drops it by itself once it expires."""
        if not await self._redis.hexists(self._users, login.username):
            raise StoreError(f"no user {login.username!r} to log in")
        record = _dump(
            {
                "id": login.id,
                "username": login.username,
                "csrf_token": login.csrf_token,
                "created_at": login.created_at,
                "expires_at": login.expires_at,
            }
        )
        # The TTL only reclaims memory; get_login still compares with ``now``.
        # PXAT wants a positive integer: round up so Redis never drops it early.
        expiry: dict[str, Any] = {}
        if math.isfinite(login.expires_at):
            expiry["pxat"] = max(1, math.ceil(login.expires_at * 1000))
        if not await self._redis.set(self._login_key(login.id), record, nx=True, **expiry):
            raise Conflict(f"login {login.id!r} already exists")

    async def get_login(self, login_id: str, now: float) -> Login | None:
        """The session if it exists and ``expires_at > now``."""
        raw = await self._redis.get(self._login_key(login_id))
        if raw is None:
            return None
        record = json.loads(raw)
        login = Login(
            id=record["id"],
            username=record["username"],
            csrf_token=record["csrf_token"],
            created_at=float(record["created_at"]),
            expires_at=float(record["expires_at"]),
        )
        return login if login.expires_at > now else None

    async def delete_login(self, login_id: str) -> None:
        """Forget a session (logout); no error if unknown."""
        await self._redis.delete(self._login_key(login_id))

    # -- meetings --------------------------------------------------------------------

    async def create_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Store a meeting and its invitations atomically (see :meth:`_write_meeting`)."""
        await self._write_meeting(meeting, site_ids, replace=False)

    async def update_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Replace a meeting and its invitations, with the same overlap rule."""
        await self._write_meeting(meeting, site_ids, replace=True)

    async def _write_meeting(
        self, meeting: Meeting, site_ids: Sequence[str], replace: bool
    ) -> None:
        """Check and write one meeting in a WATCHed transaction.

        The overlap check reads the host site's index of active meetings
        (by end: only meetings ending after this one starts can clash) and
        the records of those candidates; all of them are WATCHed, so a
        concurrent writer that adds, moves or un-cancels a meeting of the same
        host makes EXEC fail, and the check runs again on what it wrote.
        """
        # "not >" also refuses NaN, which SQLite would store as NULL and fail on.
        if not meeting.end > meeting.start:
            raise StoreError("a meeting must end after it starts")
        invited = list(dict.fromkeys(site_ids))
        key = self._meeting_key(meeting.id)
        host_active = self._host_active_key(meeting.host_site)

        async def body(pipe: Pipeline) -> None:
            await pipe.watch(key, host_active)
            async with self._redis.pipeline(transaction=False) as reads:
                reads.get(key)
                reads.lrange(self._invitations_key(meeting.id), 0, -1)
                reads.zrangebyscore(host_active, _above(meeting.start), "+inf")
                reads.hmget(self._sites, [meeting.host_site, *invited])
                old_raw, old_invited, candidates, sites = await reads.execute()
            if replace and old_raw is None:
                raise MeetingNotFound(f"no meeting {meeting.id!r}")
            if not replace and old_raw is not None:
                raise Conflict(f"meeting {meeting.id!r} already exists")
            if meeting.cancelled_at is None:
                others = [other for other in candidates if other != meeting.id]
                if others:
                    await pipe.watch(*map(self._meeting_key, others))
                    clashes = [
                        other
                        for other in map(
                            _meeting_or_none,
                            await self._redis.mget(list(map(self._meeting_key, others))),
                        )
                        if other is not None
                        and other.host_site == meeting.host_site
                        and other.cancelled_at is None
                        and other.overlaps(meeting.start, meeting.end)
                    ]
                    if clashes:
                        clash = min(clashes, key=lambda m: (m.start, m.id))
                        raise Conflict(
                            "the host site already has a meeting at that time: "
                            f"{clash.title!r} ({clash.id})"
                        )
            missing = [
                site_id
                for site_id, raw in zip([meeting.host_site, *invited], sites, strict=True)
                if raw is None
            ]
            if missing:
                raise StoreError(
                    "meeting refers to an unknown site: "
                    + ", ".join(map(repr, dict.fromkeys(missing)))
                )

            old = None if old_raw is None else _meeting(old_raw)
            pipe.multi()
            pipe.set(key, _meeting_json(meeting))
            pipe.delete(self._invitations_key(meeting.id))
            if invited:
                pipe.rpush(self._invitations_key(meeting.id), *invited)
            pipe.zadd(self._meetings_by_start, {meeting.id: meeting.start})
            pipe.zadd(self._meetings_by_end, {meeting.id: meeting.end})
            if old is not None:
                pipe.zrem(self._host_active_key(old.host_site), meeting.id)
            if meeting.cancelled_at is None:
                pipe.zadd(host_active, {meeting.id: meeting.end})
            concerned = [meeting.host_site, *invited]
            if old is not None:
                for site_id in {old.host_site, *old_invited} - set(concerned):
                    pipe.zrem(self._site_by_start_key(site_id), meeting.id)
                    pipe.zrem(self._site_by_end_key(site_id), meeting.id)
            for site_id in dict.fromkeys(concerned):
                pipe.zadd(self._site_by_start_key(site_id), {meeting.id: meeting.start})
                pipe.zadd(self._site_by_end_key(site_id), {meeting.id: meeting.end})
            await pipe.execute()

        await self._transaction(body)

    async def get_meeting(self, meeting_id: str) -> Meeting:
        """The meeting or :class:`MeetingNotFound`."""
        raw = await self._redis.get(self._meeting_key(meeting_id))
        if raw is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        return _meeting(raw)

    async def list_meetings(self, start_from: float, start_to: float) -> list[Meeting]:
        """Meetings (cancelled ones included) meeting [start_from, start_to), by start then id."""
        return await self._window(
            self._meetings_by_start, self._meetings_by_end, start_from, start_to
        )

    async def invitations(self, meeting_id: str) -> list[str]:
        """Invited site ids, in the order they were given."""
        return [
            _text(s) for s in await self._redis.lrange(self._invitations_key(meeting_id), 0, -1)
        ]

    async def meetings_for_site(
        self, site_id: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        """Meetings the site is invited to or hosts, meeting [start_from, start_to), by start."""
        return await self._window(
            self._site_by_start_key(site_id), self._site_by_end_key(site_id), start_from, start_to
        )

    async def _window(
        self, by_start: str, by_end: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        """Meetings of a pair of indexes with ``start < start_to and end > start_from``.

        Either condition alone is one range of one index; count both ranges
        (cheap) and read the smaller one: a window in the past reads past
        meetings only, a window from now on reads upcoming ones only.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(by_start, "-inf", _below(start_to))
            pipe.zcount(by_end, _above(start_from), "+inf")
            starting_before, ending_after = await pipe.execute()
        if starting_before <= ending_after:
            found = await self._redis.zrangebyscore(by_start, "-inf", _below(start_to))
        else:
            found = await self._redis.zrangebyscore(by_end, _above(start_from), "+inf")
        ids = [_text(meeting_id) for meeting_id in found]
        if not ids:
            return []
        meetings = [
            meeting
            for meeting in map(
                _meeting_or_none, await self._redis.mget(list(map(self._meeting_key, ids)))
            )
            if meeting is not None and meeting.start < start_to and meeting.end > start_from
        ]
        return sorted(meetings, key=lambda meeting: (meeting.start, meeting.id))

    # -- upward invitations ----------------------------------------------------------

    async def add_grant(self, grant: Grant) -> None:
        """Record a grant (idempotent: the first one recorded stays)."""
        known = await self._redis.hmget(self._units, [grant.unit_code, grant.grantee_unit])
        if None in known:
            raise StoreError("a grant must name two known units")
        record = _dump(
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

    # -- service state ---------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """A small piece of service state."""
        value = await self._redis.hget(self._meta, key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        """Store a small piece of service state."""
        await self._redis.hset(self._meta, key, value)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose(close_connection_pool=True)


# -- encoding -------------------------------------------------------------------------


# What redis-py's types say a reply is; with decode_responses=True it is str.
Raw = str | bytes


def _text(value: object) -> str:
    """A member or list item as text (its static type also covers WITHSCORES replies)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise TypeError(f"unexpected Redis reply item {value!r}")


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _above(score: float) -> str:
    """A score range bound that excludes ``score`` (Redis reads Python's repr exactly)."""
    return f"({float(score)!r}"


_below = _above  # "(x" excludes x whichever side of the range it is on


def _room(raw: Raw) -> Room:
    record = json.loads(raw)
    return Room(record["id"], record["name"], record["codec"], float(record["created_at"]))


def _unit_json(unit: Unit) -> str:
    return _dump(
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
    return _dump({"id": site.id, "unit_code": site.unit_code, "name": site.name})


def _site(raw: Raw) -> Site:
    record = json.loads(raw)
    return Site(record["id"], record["unit_code"], record["name"])


def _user_json(user: User) -> str:
    return _dump(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "unit_code": user.unit_code,
            "password_hash": user.password_hash,
            "created_at": user.created_at,
            "disabled": user.disabled,
        }
    )


def _user(raw: Raw) -> User:
    record = json.loads(raw)
    return User(
        username=record["username"],
        display_name=record["display_name"],
        role=AccountRole(record["role"]),
        unit_code=record["unit_code"],
        password_hash=record["password_hash"],
        created_at=float(record["created_at"]),
        disabled=bool(record["disabled"]),
    )


def _meeting_json(meeting: Meeting) -> str:
    return _dump(
        {
            "id": meeting.id,
            "title": meeting.title,
            "agenda": meeting.agenda,
            "start": meeting.start,
            "end": meeting.end,
            "host_site": meeting.host_site,
            "created_by": meeting.created_by,
            "room_id": meeting.room_id,
            "created_at": meeting.created_at,
            "auto_record": meeting.auto_record,
            "cancelled_at": meeting.cancelled_at,
        }
    )


def _meeting(raw: Raw) -> Meeting:
    record = json.loads(raw)
    cancelled_at = record["cancelled_at"]
    # Floats as SQLite's REAL columns give them back (a test's 1000 reads 1000.0).
    return Meeting(
        id=record["id"],
        title=record["title"],
        agenda=record["agenda"],
        start=float(record["start"]),
        end=float(record["end"]),
        host_site=record["host_site"],
        created_by=record["created_by"],
        room_id=record["room_id"],
        created_at=float(record["created_at"]),
        auto_record=bool(record["auto_record"]),
        cancelled_at=None if cancelled_at is None else float(cancelled_at),
    )


def _meeting_or_none(raw: Raw | None) -> Meeting | None:
    return None if raw is None else _meeting(raw)


def _grant(raw: Raw) -> Grant:
    record = json.loads(raw)
    return Grant(
        record["unit_code"],
        record["grantee_unit"],
        record["granted_by"],
        float(record["created_at"]),
    )


if TYPE_CHECKING:

    def _conforms(store: RedisStore) -> Store:
        """Makes mypy check that RedisStore has every method of the protocol."""
        return store
