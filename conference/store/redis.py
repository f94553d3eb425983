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
    P session:<sha256 of login id>    string login JSON without the id, with a TTL at its expiry
    P attempt:<throttle key>          hash   count, next_at, expires_at (Store.take_attempt)
    P meeting:<id>                    string meeting JSON
    P invitations:<meeting id>        list   invited site ids, in the order given
    P meetings_by_start               zset   every meeting id, score = start
    P meetings_by_end                 zset   every meeting id, score = end
    P site_meetings_by_start:<site>   zset   meetings the site hosts or is invited to, by start
    P site_meetings_by_end:<site>     zset   the same, by end
    P host_active_by_end:<site>       zset   meetings the site hosts, not cancelled, by end
    P grants_to:<grantee unit>        hash   granting unit code -> grant JSON
    P grants_from:<unit>              hash   grantee unit code -> grant JSON
    P feeds                           hash   feed id -> feed JSON
    P plate_events                    hash   event id -> event JSON
    P plate_events_by_at              zset   every event id, score = at
    P checkpoint_events:<checkpoint>  zset   the checkpoint's event ids, score = at
    P feed_events:<feed id>           zset   the feed's event ids, score = at (kept with the feed)
    P unit_events:<unit code>         zset   ids of the events kept for the unit, score = at
    P plate_events_of:<plate>         zset   the plate's event ids, score = at
    P plates                          set    every plate that has events (a plate_events_of key)
    P short_plates                    set    those of them with fewer than 3 characters
    P plate_trigram:<abc>             set    plates containing abc (plates in ASCII upper case)
    P plate_grams                     hash   1- or 2-character part -> how many plates contain it
    P watch                           hash   entry id -> watch-list entry JSON
    P watch_patterns                  hash   pattern -> entry id (one entry per pattern)
    P outbreaks                       hash   outbreak id -> outbreak JSON
    P meta                            hash   key -> value (and schema markers, see below)

Fixed names have no ``:`` and every family ends with exactly one variable
part after a ``:``, so no id, whatever characters it has, can make the keys
of two records or families meet. Sorted sets whose scores tie list members
by their bytes, which is SQLite's ``ORDER BY position, code`` (and ``id``).

Several-key changes either run in one Lua script (small, conditional
writes) or as WATCH / read / MULTI ... EXEC, retried when a watched key
changed in between (imports and meetings, see :meth:`RedisStore._transaction`).

Plate events are searched by any part of the plate without reading every
event: a plate joins ``plates``, the trigram sets of its three-character parts
and the counts of ``plate_grams`` with its first event and leaves them with its
last (both in Lua, so concurrent writers agree on "first" and "last"). A search
either intersects trigram sets into candidate plates and merges their
``plate_events_of`` sets by time, or walks a time index newest first and tests
each plate, whichever the counts say is cheaper (see
:meth:`RedisStore.search_plate_events`).

Events stored before each kept its camera's unit get it once, before any
plate event is read or written after an upgrade: the unit of their camera if
it is still registered, none (administrators only) otherwise; ``meta`` then
holds ``schema:plate-event-units`` (see :meth:`RedisStore._events_ready`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import random
import string
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
    batch_cycle,
    default_site,
    login_key,
    new_room_id,
    plate_query,
)

if TYPE_CHECKING:
    from conference.store.base import Store

T = TypeVar("T")

# Store.take_attempt: ARGV = now, free, delay, max_delay, window. The rule is
# conference.store.base.backoff_wait; numbers come back as strings (Lua
# numbers returned to Redis lose their fractions).
_TAKE_ATTEMPT_LUA = """
local now = tonumber(ARGV[1])
local free, delay, max_delay, window =
    tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'count', 'next_at', 'expires_at')
local count, next_at = 0, 0
if state[3] and tonumber(state[3]) > now then
    count, next_at = tonumber(state[1]), tonumber(state[2])
end
if now < next_at then
    return {0, count, string.format('%.17g', next_at - now)}
end
count = count + 1
local wait = 0
if count >= free then
    wait = math.min(max_delay, delay * 2 ^ math.min(count - free, 60))
end
local expires_at = now + math.max(window, wait)
redis.call('HSET', KEYS[1], 'count', count, 'next_at', string.format('%.17g', now + wait),
    'expires_at', string.format('%.17g', expires_at))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', math.ceil(expires_at * 1000)))
return {1, count, string.format('%.17g', wait)}
"""

_RETURN_ATTEMPT_LUA = """
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count > 0 then redis.call('HSET', KEYS[1], 'count', count - 1) end
return count
"""

# Logins used to be kept under their raw ids (P login:<id>); the first login
# call of a process deletes what is left of them, once per database.
_HASHED_LOGINS_DONE = "schema:hashed-logins"

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

# Plate events. Both writing scripts get the same fixed keys (KEYS[1..5]: the
# events hash, the global time index, ``plates``, ``plate_grams``,
# ``short_plates``), further keys by their index in KEYS, and after the events
# a description of each plate they touch: its text, the index of its
# ``plate_events_of`` key, how many trigram keys and their indexes, how many
# 1- and 2-character parts and the parts. Every key a script touches is
# declared; Python works the key names out (see ``_EventKeys``).
_PLATES_LUA = """
local function read_plates(at, count)
    local plates = {}
    for p = 1, count do
        local plate = {text = ARGV[at], key = KEYS[tonumber(ARGV[at + 1])], trigrams = {}, grams = {}}
        local trigrams = tonumber(ARGV[at + 2])
        for t = 1, trigrams do plate.trigrams[t] = KEYS[tonumber(ARGV[at + 2 + t])] end
        at = at + 3 + trigrams
        local grams = tonumber(ARGV[at])
        for g = 1, grams do plate.grams[g] = ARGV[at + g] end
        at = at + 1 + grams
        plates[p] = plate
    end
    return plates
end
"""

# add_plate_events: ARGV = event count, plate count, then per event its id,
# score, JSON, plate number, checkpoint, feed and unit key indexes (0: the
# event has no unit), then the plates. Returns
# a taken id (and writes nothing) or nil. A plate's first event (SADD answers
# 1) puts it into the search indexes.
_ADD_EVENTS_LUA = (
    _PLATES_LUA
    + """
local events, by_at, plates, grams, short = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
    local id = ARGV[3 + i * 7]
    if redis.call('HEXISTS', events, id) == 1 then return id end
end
local described = read_plates(3 + n * 7, tonumber(ARGV[2]))
for i = 0, n - 1 do
    local at = 3 + i * 7
    local id, score = ARGV[at], ARGV[at + 1]
    local plate = described[tonumber(ARGV[at + 3])]
    redis.call('HSET', events, id, ARGV[at + 2])
    redis.call('ZADD', by_at, score, id)
    redis.call('ZADD', KEYS[tonumber(ARGV[at + 4])], score, id)
    redis.call('ZADD', KEYS[tonumber(ARGV[at + 5])], score, id)
    local unit = tonumber(ARGV[at + 6])
    if unit > 0 then redis.call('ZADD', KEYS[unit], score, id) end
    redis.call('ZADD', plate.key, score, id)
    if redis.call('SADD', plates, plate.text) == 1 then
        if #plate.trigrams == 0 then redis.call('SADD', short, plate.text) end
        for _, key in ipairs(plate.trigrams) do redis.call('SADD', key, plate.text) end
        for _, gram in ipairs(plate.grams) do redis.call('HINCRBY', grams, gram, 1) end
    end
end
return false
"""
)

# delete_plate_events_before, one chunk: ARGV = event count, plate count, then
# per event its id, the JSON read before (empty: none was found), plate
# number, checkpoint, feed and unit key indexes (all 0 for none), then the plates. Deletes an
# event only if it still has that JSON (an id without an event only leaves the
# time index) and returns the JSON of those it deleted. A plate's last event
# takes it out of the search indexes.
_DELETE_EVENTS_LUA = (
    _PLATES_LUA
    + """
local events, by_at, plates, grams, short = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local n = tonumber(ARGV[1])
local described = read_plates(3 + n * 6, tonumber(ARGV[2]))
local deleted = {}
for i = 0, n - 1 do
    local at = 3 + i * 6
    local id, expected = ARGV[at], ARGV[at + 1]
    local raw = redis.call('HGET', events, id)
    if not raw then
        if expected == '' then redis.call('ZREM', by_at, id) end
    elseif raw == expected then
        local plate = described[tonumber(ARGV[at + 2])]
        redis.call('HDEL', events, id)
        redis.call('ZREM', by_at, id)
        redis.call('ZREM', KEYS[tonumber(ARGV[at + 3])], id)
        redis.call('ZREM', KEYS[tonumber(ARGV[at + 4])], id)
        local unit = tonumber(ARGV[at + 5])
        if unit > 0 then redis.call('ZREM', KEYS[unit], id) end
        redis.call('ZREM', plate.key, id)
        if redis.call('EXISTS', plate.key) == 0 and redis.call('SREM', plates, plate.text) == 1 then
            redis.call('SREM', short, plate.text)
            for _, key in ipairs(plate.trigrams) do redis.call('SREM', key, plate.text) end
            for _, gram in ipairs(plate.grams) do
                if redis.call('HINCRBY', grams, gram, -1) <= 0 then redis.call('HDEL', grams, gram) end
            end
        end
        deleted[#deleted + 1] = raw
    end
end
return deleted
"""
)

# Shared by the two searches. ``field`` reads a string field out of an
# event's JSON text without decoding it all: a quote inside a JSON string is
# always escaped, so '"plate":"' only ever matches the key (a value with
# escapes is decoded the long way). ``newer`` orders events newest first, and
# equal times by id from the largest, as ZREVRANGE does (bytes, not strcoll:
# Lua compares strings in the server's locale). ``read_filter`` reads the
# query ('' for any plate), checkpoint ('' for any), feed ids and unit codes
# (each a count, 0 for any, then the ids) from ARGV[at...] and returns whether
# there is any condition and the test of an event's JSON. A field that is
# null (an event of no unit) reads as '' without decoding the JSON.
_SEARCH_LUA = r"""
local function field(raw, name)
    local value = string.match(raw, '"' .. name .. '":"([^"\\]*)"')
    if value then return value end
    if string.find(raw, '"' .. name .. '":null', 1, true) then return '' end
    value = cjson.decode(raw)[name]
    if type(value) == 'string' then return value end
    return ''
end

local function newer(a_score, a_id, b_score, b_id)
    if a_score ~= b_score then return a_score > b_score end
    for i = 1, math.min(#a_id, #b_id) do
        local x, y = string.byte(a_id, i), string.byte(b_id, i)
        if x ~= y then return x > y end
    end
    return #a_id > #b_id
end

local function read_set(at)
    local count, set = tonumber(ARGV[at]), nil
    if count > 0 then
        set = {}
        for i = 1, count do set[ARGV[at + i]] = true end
    end
    return set, at + 1 + count
end

local function read_filter(at)
    local query, checkpoint = ARGV[at], ARGV[at + 1]
    local feeds, next_at = read_set(at + 2)
    local units = read_set(next_at)
    local function accept(raw)
        if query ~= '' and not string.find(string.upper(field(raw, 'plate')), query, 1, true) then
            return false
        end
        if checkpoint ~= '' and field(raw, 'checkpoint') ~= checkpoint then return false end
        if feeds and not feeds[field(raw, 'feed_id')] then return false end
        if units and not units[field(raw, 'unit_code')] then return false end
        return true
    end
    return query ~= '' or checkpoint ~= '' or feeds ~= nil or units ~= nil, accept
end
"""

# The walk: the time indexes KEYS[2..] (one, or each feed's or unit's) merged newest
# first, reading each event from KEYS[1] and keeping those the filter
# accepts. ARGV = limit, a budget of events to read (0: no bound), the
# window's min and max bounds, its end as a score ('' for none), then the
# filter. Returns 1 then the JSON found, or 0 then what was found when the
# budget ran out first. Each index is read by rank (ZREVRANGE pages from the
# window's first rank): a score range with an offset would step over every
# skipped member again on each page.
_WALK_EVENTS_LUA = (
    _SEARCH_LUA
    + """
local events = KEYS[1]
local limit, budget, min, max, stop = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local filtered, accept = read_filter(6)
local page = limit
if filtered then page = 256 end
local sources = {}
for k = 2, #KEYS do
    local first = 0
    if stop ~= '' then first = redis.call('ZCOUNT', KEYS[k], stop, '+inf') end
    local count = redis.call('ZCOUNT', KEYS[k], min, max)
    if count > 0 then
        sources[#sources + 1] = {key = KEYS[k], rank = first, last = first + count - 1, buf = {}, pos = 1}
    end
end
-- Move a source to its next event (s.id, s.score), or drop it (s.id = nil).
local function advance(s)
    if s.pos > #s.buf then
        s.id = nil
        if s.rank > s.last then return end
        local last = math.min(s.last, s.rank + page - 1)
        s.buf = redis.call('ZREVRANGE', s.key, s.rank, last, 'WITHSCORES')
        s.pos, s.rank = 1, last + 1
        if #s.buf == 0 then return end
    end
    s.id, s.score = s.buf[s.pos], tonumber(s.buf[s.pos + 1])
    s.pos = s.pos + 2
end
for _, s in ipairs(sources) do advance(s) end
local found, read = {1}, 0
while true do
    local best = nil
    for _, s in ipairs(sources) do
        if s.id and (not best or newer(s.score, s.id, best.score, best.id)) then best = s end
    end
    if not best then break end
    if budget > 0 and read >= budget then
        found[1] = 0
        return found
    end
    read = read + 1
    local raw = redis.call('HGET', events, best.id)
    if raw and (not filtered or accept(raw)) then
        found[#found + 1] = raw
        if #found > limit then return found end
    end
    advance(best)
end
return found
"""
)

# The merge: the time indexes of candidate plates (KEYS[2..]) each give their
# newest events in the window that the filter accepts, at most ``limit``; the
# newest of them all are returned. ARGV = limit, the window's min and max
# bounds, then the filter (its query part empty: the candidates hold it).
_MERGE_EVENTS_LUA = (
    _SEARCH_LUA
    + """
local events = KEYS[1]
local limit, min, max = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local filtered, accept = read_filter(4)
local hits = {}
for k = 2, #KEYS do
    if not filtered then
        local got = redis.call('ZREVRANGEBYSCORE', KEYS[k], max, min, 'WITHSCORES', 'LIMIT', 0, limit)
        for i = 1, #got, 2 do hits[#hits + 1] = {tonumber(got[i + 1]), got[i]} end
    else
        local taken, offset = 0, 0
        while taken < limit do
            local got = redis.call('ZREVRANGEBYSCORE', KEYS[k], max, min, 'WITHSCORES', 'LIMIT', offset, 64)
            for i = 1, #got, 2 do
                local raw = redis.call('HGET', events, got[i])
                if raw and accept(raw) then
                    hits[#hits + 1] = {tonumber(got[i + 1]), got[i]}
                    taken = taken + 1
                    if taken >= limit then break end
                end
            end
            if #got < 128 then break end
            offset = offset + 64
        end
    end
end
table.sort(hits, function(a, b) return newer(a[1], a[2], b[1], b[2]) end)
local found = {}
for i = 1, math.min(limit, #hits) do
    local raw = redis.call('HGET', events, hits[i][2])
    if raw then found[#found + 1] = raw end
end
return found
"""
)

# The events' units, once (see RedisStore._events_ready), a chunk at a time:
# ARGV = per event its id, the JSON read, the JSON with its unit, its score
# and its unit key index (0: none). An event is rewritten only if it still
# has the JSON read (retention or another node may have been first).
_EVENT_UNITS_LUA = """
for at = 1, #ARGV, 5 do
    local id = ARGV[at]
    if redis.call('HGET', KEYS[1], id) == ARGV[at + 1] then
        redis.call('HSET', KEYS[1], id, ARGV[at + 2])
        local unit = tonumber(ARGV[at + 4])
        if unit > 0 then redis.call('ZADD', KEYS[unit], ARGV[at + 3], id) end
    end
end
return 0
"""
_EVENT_UNITS_DONE = "schema:plate-event-units"  # in P meta once every event has its unit

# create_feed with limits: ARGV = id, JSON, total limit, unit ('' for none),
# unit limit. Returns {1 (added), 0 (id taken) or -1 (a limit), feeds, feeds of
# the unit}; the rule is FeedLimits.refusal's. Feeds are few: reading them all is cheap.
_CREATE_FEED_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {0, 0, 0} end
local total, in_unit, unit = redis.call('HLEN', KEYS[1]), 0, ARGV[4]
if unit ~= '' then
    for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
        if cjson.decode(raw)['unit_code'] == unit then in_unit = in_unit + 1 end
    end
end
if total >= tonumber(ARGV[3]) or (unit ~= '' and in_unit >= tonumber(ARGV[5])) then
    return {-1, total, in_unit}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, total + 1, in_unit}
"""

# add_watch: the id and the pattern must both be free; entry and pattern
# index appear together.
_ADD_WATCH_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# delete_watch: the entry and its pattern index go together.
_DELETE_WATCH_LUA = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local pattern = cjson.decode(raw)['pattern']
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], pattern) == ARGV[1] then redis.call('HDEL', KEYS[2], pattern) end
return 1
"""

# Plate events written or deleted per script call; each is a few dozen
# commands on the server, so a chunk holds it for some milliseconds at most.
_EVENT_CHUNK = 500

# A search never asks for more than this many events (SQLite's engine clamps
# the same way).
_MAX_RESULTS = 1000

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


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
        self._feeds = prefix + "feeds"
        self._plate_events = prefix + "plate_events"
        self._events_by_at = prefix + "plate_events_by_at"
        self._plates = prefix + "plates"
        self._short_plates = prefix + "short_plates"
        self._plate_grams = prefix + "plate_grams"
        self._watch = prefix + "watch"
        self._watch_patterns = prefix + "watch_patterns"
        self._outbreaks = prefix + "outbreaks"
        self._ancestors_script = self._redis.register_script(_ANCESTORS_LUA)
        self._add_site_script = self._redis.register_script(_ADD_SITE_LUA)
        self._replace_field_script = self._redis.register_script(_REPLACE_FIELD_LUA)
        self._add_events_script = self._redis.register_script(_ADD_EVENTS_LUA)
        self._delete_events_script = self._redis.register_script(_DELETE_EVENTS_LUA)
        self._walk_events_script = self._redis.register_script(_WALK_EVENTS_LUA)
        self._merge_events_script = self._redis.register_script(_MERGE_EVENTS_LUA)
        self._event_units_script = self._redis.register_script(_EVENT_UNITS_LUA)
        self._create_feed_script = self._redis.register_script(_CREATE_FEED_LUA)
        self._events_migrated = False
        self._events_migrating = asyncio.Lock()
        self._add_watch_script = self._redis.register_script(_ADD_WATCH_LUA)
        self._delete_watch_script = self._redis.register_script(_DELETE_WATCH_LUA)
        self._take_attempt_script = self._redis.register_script(_TAKE_ATTEMPT_LUA)
        self._return_attempt_script = self._redis.register_script(_RETURN_ATTEMPT_LUA)
        self._raw_logins_swept = False

    # -- key names ----------------------------------------------------------------------

    def _children_key(self, code: str | None) -> str:
        return self._unit_roots if code is None else f"{self.prefix}unit_children:{code}"

    def _unit_sites_key(self, code: str) -> str:
        return f"{self.prefix}unit_sites:{code}"

    def _login_key(self, login_id: str) -> str:
        return f"{self.prefix}session:{login_key(login_id)}"

    def _attempt_key(self, key: str) -> str:
        return f"{self.prefix}attempt:{key}"

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

    def _checkpoint_events_key(self, checkpoint: str) -> str:
        return f"{self.prefix}checkpoint_events:{checkpoint}"

    def _feed_events_key(self, feed_id: str) -> str:
        return f"{self.prefix}feed_events:{feed_id}"

    def _unit_events_key(self, unit_code: str) -> str:
        return f"{self.prefix}unit_events:{unit_code}"

    def _plate_events_key(self, plate: str) -> str:
        return f"{self.prefix}plate_events_of:{plate}"

    def _trigram_key(self, trigram: str) -> str:
        return f"{self.prefix}plate_trigram:{trigram}"

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

    async def _hdel_or_missing(self, key: str, field: str, missing: str) -> None:
        """Remove a hash field; :class:`NotFound` (``missing``) if it was not there."""
        if not await self._redis.hdel(key, field):
            raise NotFound(missing)

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

    async def _sweep_raw_logins(self) -> None:
        """Delete logins kept under raw ids by older versions (their users log in again)."""
        if self._raw_logins_swept:
            return
        if not await self._redis.hexists(self._meta, _HASHED_LOGINS_DONE):
            pattern = _glob_escape(self.prefix) + "login:*"
            batch: list[str] = []
            async for key in self._redis.scan_iter(match=pattern, count=_CHUNK):
                batch.append(key)
                if len(batch) >= _CHUNK:
                    await self._redis.delete(*batch)
                    batch.clear()
            if batch:
                await self._redis.delete(*batch)
            await self._redis.hset(self._meta, _HASHED_LOGINS_DONE, "1")
        self._raw_logins_swept = True

    async def create_login(self, login: Login) -> None:
        """Store a logged-in session; Redis drops it by itself once it expires."""
        await self._sweep_raw_logins()
        if not await self._redis.hexists(self._users, login.username):
            raise StoreError(f"no user {login.username!r} to log in")
        record = _dump(
            {
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
            raise Conflict("a login with this id already exists")

    async def get_login(self, login_id: str, now: float) -> Login | None:
        """The session if it exists and ``expires_at > now``."""
        await self._sweep_raw_logins()
        raw = await self._redis.get(self._login_key(login_id))
        if raw is None:
            return None
        record = json.loads(raw)
        login = Login(
            id=login_id,
            username=record["username"],
            csrf_token=record["csrf_token"],
            created_at=float(record["created_at"]),
            expires_at=float(record["expires_at"]),
        )
        return login if login.expires_at > now else None

    async def delete_login(self, login_id: str) -> None:
        """Forget a session (logout); no error if unknown."""
        await self._redis.delete(self._login_key(login_id))

    # -- attempt counters ------------------------------------------------------------

    async def take_attempt(self, key: str, now: float, backoff: Backoff) -> Attempt:
        """One Lua script reads and counts, so concurrent nodes cannot both pass a limit."""
        granted, count, wait = await self._take_attempt_script(
            keys=[self._attempt_key(key)],
            args=[
                repr(float(now)),
                backoff.free,
                repr(float(backoff.delay)),
                repr(float(backoff.max_delay)),
                repr(float(backoff.window)),
            ],
        )
        return Attempt(bool(granted), int(count), float(wait))

    async def return_attempt(self, key: str, forget: bool = False) -> None:
        """Give back one counted attempt, or forget the key."""
        if forget:
            await self._redis.delete(self._attempt_key(key))
        else:
            await self._return_attempt_script(keys=[self._attempt_key(key)])

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

    # -- checkpoint cameras -------------------------------------------------------------

    async def create_feed(self, feed: Feed, limits: FeedLimits | None = None) -> None:
        """Register a camera; :class:`Conflict` if the id is taken.

        With ``limits``, one script counts the feeds (in all, and of the
        feed's unit) and adds it, so that two nodes cannot both take the
        last place: :class:`FeedLimitReached` if it would pass a limit.
        """
        if limits is None:
            if not await self._redis.hsetnx(self._feeds, feed.id, _record_json(feed)):
                raise Conflict(f"feed {feed.id!r} already exists")
            return
        added, total, in_unit = await self._create_feed_script(
            keys=[self._feeds],
            args=[
                feed.id,
                _record_json(feed),
                limits.total,
                feed.unit_code or "",
                limits.per_unit,
            ],
        )
        if int(added) == 0:
            raise Conflict(f"feed {feed.id!r} already exists")
        if int(added) < 0:
            refusal = limits.refusal(feed, int(total), int(in_unit))
            assert refusal is not None  # the script applies the same rule
            raise refusal

    async def get_feed(self, feed_id: str) -> Feed:
        """The feed or :class:`NotFound`."""
        raw = await self._redis.hget(self._feeds, feed_id)
        if raw is None:
            raise NotFound(f"no feed {feed_id!r}")
        return _feed(raw)

    async def list_feeds(self) -> list[Feed]:
        """Every feed, by checkpoint, then name, then id (there are few: one hash read)."""
        feeds = [_feed(raw) for raw in await self._redis.hvals(self._feeds)]
        return sorted(feeds, key=lambda feed: (feed.checkpoint, feed.name, feed.id))

    async def delete_feed(self, feed_id: str) -> None:
        """Remove a feed (its events stay); :class:`NotFound` if unknown."""
        await self._hdel_or_missing(self._feeds, feed_id, f"no feed {feed_id!r}")

    async def _events_ready(self) -> None:
        """Give the events stored before units were kept theirs, once per database.

        An event takes the unit of its camera if the camera is still
        registered, and none (administrators only) if it is gone. Every node
        runs this before its first plate-event call; a second one finds the
        marker, or repeats the same idempotent rewrite.
        """
        if self._events_migrated:
            return
        async with self._events_migrating:
            if self._events_migrated:
                return
            if await self._redis.hget(self._meta, _EVENT_UNITS_DONE) is None:
                units = {feed.id: feed.unit_code for feed in await self.list_feeds()}
                cursor = 0
                while True:
                    cursor, chunk = await self._redis.hscan(
                        self._plate_events, cursor, count=_EVENT_CHUNK
                    )
                    if isinstance(chunk, dict):  # always (a field list only with no_values)
                        await self._give_units(chunk, units)
                    if not cursor:
                        break
                await self._redis.hset(self._meta, _EVENT_UNITS_DONE, str(time.time()))
            self._events_migrated = True

    async def _give_units(self, chunk: dict[Any, Any], units: dict[str, str | None]) -> None:
        """One chunk of :meth:`_events_ready`: the events in it that have no unit field."""
        keys = {self._plate_events: 1}  # key: its index in KEYS
        args: list[str | int] = []
        for event_id, raw in chunk.items():
            if '"unit_code":' in _text(raw):
                continue  # stored with its unit (a key only ever written by us)
            event = _plate_event(raw)
            unit = units.get(event.feed_id)
            index = 0
            if unit is not None:
                index = keys.setdefault(self._unit_events_key(unit), len(keys) + 1)
            fixed = _plate_event_json(dataclasses.replace(event, unit_code=unit))
            args += [_text(event_id), _text(raw), fixed, repr(float(event.at)), index]
        if args:
            await self._event_units_script(keys=list(keys), args=args)

    async def add_plate_events(self, events: Sequence[PlateEvent]) -> None:
        """Store vehicle passes, all or none: :class:`Conflict` if an id is taken.

        One Lua script checks every id, then writes the events and their
        index entries, so a concurrent writer never sees half a batch and
        two writers of a plate's first events agree which one was first.
        The whole batch is one script: callers with very many events (an
        import) pass them a few thousand at a time.
        """
        batch = list(events)
        if not batch:
            return
        await self._events_ready()
        seen: set[str] = set()
        for event in batch:
            if event.id in seen:
                raise Conflict(f"plate event {event.id!r} is given twice")
            seen.add(event.id)
            # SQLite refuses NaN too (stored as NULL in a NOT NULL column).
            if math.isnan(event.at) or math.isnan(event.confidence):
                raise StoreError(f"plate event {event.id!r} has no valid time or confidence")
        keys = _EventKeys(self)
        described: list[str | int] = []
        for event in batch:
            described += [event.id, repr(float(event.at)), _plate_event_json(event)]
            described += keys.event(event)
        args = keys.args(batch, described)  # before keys.keys: it adds the plates' keys
        taken = await self._add_events_script(keys=keys.keys, args=args)
        if taken is not None:
            raise Conflict(f"plate event {_text(taken)!r} is already stored")

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

        ``plate`` is read as :func:`plate_query` reads it (letters and digits,
        upper case); the window is ``start <= at < end``; ``limit`` is
        clamped to 1..1000; ``feed_ids`` limits the search to those cameras,
        ``unit_codes`` to the events kept for those units.

        One round trip of counts (events in the window of each index that
        could be walked, plates, plates holding the query) chooses between

        * the walk: a time index newest first (the checkpoint's or the global
          one, or the feeds' or the units' merged, whichever has fewer events
          in the window), testing each event's plate, checkpoint, feed and unit until
          ``limit`` pass: about ``limit * plates / candidates`` events, or
          the whole window if it holds fewer matches;
        * the merge: the candidate plates (trigram sets intersected for a
          query of three characters or more; for a shorter one, the trigram
          sets holding it, and the short plates) each give their newest
          events in the window, and the newest of all are kept: about one
          sorted-set read per candidate plate.

        The walk suits common parts ("1", "30") and no plate at all, the
        merge rare ones ("12345"). A walk that has read more events than
        the merge would cost (the plates it looks for only passed long ago,
        say) stops, and the merge answers.
        """
        query = plate_query(plate)
        limit = max(1, min(limit, _MAX_RESULTS))
        feeds = None if feed_ids is None else sorted(set(feed_ids))
        units = None if unit_codes is None else sorted(set(unit_codes))
        if (feeds is not None and not feeds) or (units is not None and not units):
            return []
        await self._events_ready()
        if (start is not None and math.isnan(start)) or (end is not None and math.isnan(end)):
            return []  # SQLite compares with NULL: nothing matches
        window = (
            "-inf" if start is None else repr(float(start)),
            "+inf" if end is None else _below(end),
        )
        main = self._checkpoint_events_key(checkpoint) if checkpoint else self._events_by_at
        feed_keys = [] if feeds is None else list(map(self._feed_events_key, feeds))
        walk_feeds = 0 < len(feed_keys) <= _MAX_WALKED_FEEDS
        unit_keys = [] if units is None else list(map(self._unit_events_key, units))
        trigrams = _trigrams(query)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(main, *window)
            if walk_feeds:
                for key in feed_keys:
                    pipe.zcount(key, *window)
            # Every unit of the scope: most have no camera, and drop out here.
            for key in unit_keys:
                pipe.zcount(key, *window)
            if query:
                pipe.scard(self._plates)
                if trigrams:  # plates holding every trigram of the query
                    pipe.sintercard(len(trigrams), [self._trigram_key(t) for t in trigrams])
                else:  # plates holding the 1- or 2-character query
                    pipe.hget(self._plate_grams, query)
            counts = await pipe.execute()
        in_main = int(counts[0])
        in_feeds = [int(count) for count in counts[1 : 1 + len(feed_keys)]] if walk_feeds else []
        after = 1 + len(in_feeds)
        in_units = {
            key: int(count)
            for key, count in zip(unit_keys, counts[after : after + len(unit_keys)], strict=True)
            if int(count)
        }
        if units is not None and not in_units:
            return []  # no event of the scope in the window

        # Walk the feeds' indexes, or the units', or the main one, whichever
        # holds fewest events in the window, testing every other condition.
        sources, in_window, walk_filter = [main], in_main, _filter(query, None, feeds, units)
        if walk_feeds and sum(in_feeds) <= in_window:
            sources = [key for key, count in zip(feed_keys, in_feeds, strict=True) if count]
            in_window, walk_filter = sum(in_feeds), _filter(query, checkpoint, None, units)
        if 0 < len(in_units) <= _MAX_WALKED_FEEDS and sum(in_units.values()) <= in_window:
            sources, in_window = list(in_units), sum(in_units.values())
            walk_filter = _filter(query, checkpoint, feeds, None)
        if not in_window:
            return []
        if not query:
            _, found = await self._walk(sources, end, window, limit, walk_filter, budget=0)
            return [_plate_event(raw) for raw in found]

        plates, holding = int(counts[-2]), int(counts[-1] or 0)
        if not plates or not holding:
            return []
        merge_cost = holding + (0 if trigrams else _SHORT_QUERY_COST[len(query)])
        matching = in_window * holding / plates  # if plates pass about equally often
        walk_cost = in_window if matching <= limit else limit * in_window / matching
        budget = self._walk_budget(walk_cost, merge_cost)
        if budget:
            complete, found = await self._walk(sources, end, window, limit, walk_filter, budget)
            if complete:
                return [_plate_event(raw) for raw in found]
        candidates = await self._candidate_plates(query, trigrams)
        if not candidates:
            return []
        found = await self._merge_events_script(
            keys=[self._plate_events, *map(self._plate_events_key, candidates)],
            args=[limit, *window, *_filter("", checkpoint, feeds, units)],
        )
        return [_plate_event(raw) for raw in found]

    @staticmethod
    def _walk_budget(walk_cost: float, merge_cost: float) -> int:
        """How many events a walk may read before the merge answers (0: merge at once)."""
        return int(2 * merge_cost) + 1000 if walk_cost <= merge_cost else 0

    async def _walk(
        self,
        sources: Sequence[str],
        end: float | None,
        window: tuple[str, str],
        limit: int,
        condition: Sequence[str | int],
        budget: int,
    ) -> tuple[bool, list[str]]:
        """Walk time indexes newest first (see ``_WALK_EVENTS_LUA``): (finished?, JSON)."""
        found = await self._walk_events_script(
            keys=[self._plate_events, *sources],
            args=[
                limit,
                budget,
                *window,
                "" if end is None else repr(float(end)),
                *condition,
            ],
        )
        return bool(found[0]), [_text(raw) for raw in found[1:]]

    async def _candidate_plates(self, query: str, trigrams: Sequence[str]) -> list[str]:
        """Every stored plate that contains ``query``, by the trigram sets."""
        if trigrams:
            members = await self._redis.sinter([self._trigram_key(t) for t in trigrams])
        else:
            # The trigrams holding a shorter query, over the characters plates
            # use (the 1-character parts of plate_grams); plates too short for
            # a trigram are in short_plates.
            grams = [_text(gram) for gram in await self._redis.hkeys(self._plate_grams)]
            chars = [gram for gram in grams if len(gram) == 1]
            if len(query) == 1:
                holding = {
                    trigram
                    for x in chars
                    for y in chars
                    for trigram in (query + x + y, x + query + y, x + y + query)
                }
            else:
                holding = {trigram for x in chars for trigram in (query + x, x + query)}
            members = await self._redis.sunion(
                [self._short_plates, *(self._trigram_key(t) for t in sorted(holding))]
            )
        return sorted(plate for plate in map(_text, members) if query in _fold(plate))

    async def get_plate_event(self, event_id: str) -> PlateEvent:
        """One pass or :class:`NotFound`."""
        await self._events_ready()
        raw = await self._redis.hget(self._plate_events, event_id)
        if raw is None:
            raise NotFound(f"no plate event {event_id!r}")
        return _plate_event(raw)

    async def delete_plate_events_before(self, before: float) -> list[PlateEvent]:
        """Remove passes with ``at < before`` (retention); returns them, oldest first.

        A chunk at a time: the oldest ids of the time index and their
        events are read, then a script deletes those events that are still
        the same (another node's retention may have been first), with every
        index entry, and the search indexes of plates left without events.
        Each chunk is atomic, the whole run is not (as a search sees it).
        """
        if math.isnan(before):
            return []
        await self._events_ready()
        deleted: list[PlateEvent] = []
        while True:
            ids = [
                _text(event_id)
                for event_id in await self._redis.zrangebyscore(
                    self._events_by_at, "-inf", _below(before), start=0, num=_EVENT_CHUNK
                )
            ]
            if not ids:
                return deleted
            raws = await self._hmget(self._plate_events, ids)
            keys = _EventKeys(self)
            described: list[str | int] = []
            for event_id, raw in zip(ids, raws, strict=True):
                if raw is None:
                    described += [event_id, "", 0, 0, 0, 0]
                else:
                    described += [event_id, raw, *keys.event(_plate_event(raw))]
            args = keys.args(ids, described)  # before keys.keys: it adds the plates' keys
            gone = await self._delete_events_script(keys=keys.keys, args=args)
            deleted.extend(_plate_event(raw) for raw in gone)

    async def count_plate_events(self) -> int:
        """How many passes are stored."""
        await self._events_ready()
        return int(await self._redis.hlen(self._plate_events))

    async def add_watch(self, entry: WatchEntry) -> None:
        """Add a watch-list entry; :class:`Conflict` if the pattern (or the id) is taken."""
        if not await self._add_watch_script(
            keys=[self._watch, self._watch_patterns],
            args=[entry.id, entry.pattern, _record_json(entry)],
        ):
            raise Conflict(f"{entry.pattern!r} is already on the watch list")

    async def list_watch(self) -> list[WatchEntry]:
        """The watch list, by pattern."""
        entries = [_watch_entry(raw) for raw in await self._redis.hvals(self._watch)]
        return sorted(entries, key=lambda entry: (entry.pattern, entry.id))

    async def delete_watch(self, entry_id: str) -> None:
        """Remove an entry; :class:`NotFound` if unknown."""
        if not await self._delete_watch_script(
            keys=[self._watch, self._watch_patterns], args=[entry_id]
        ):
            raise NotFound(f"no watch-list entry {entry_id!r}")

    async def add_outbreak(self, outbreak: Outbreak) -> None:
        """Mark a province as an outbreak zone; :class:`Conflict` if the id is taken."""
        if not await self._redis.hsetnx(self._outbreaks, outbreak.id, _record_json(outbreak)):
            raise Conflict(f"outbreak marking {outbreak.id!r} already exists")

    async def list_outbreaks(self) -> list[Outbreak]:
        """Every outbreak marking, by start date, then province code."""
        outbreaks = [_outbreak(raw) for raw in await self._redis.hvals(self._outbreaks)]
        return sorted(outbreaks, key=lambda o: (o.start, o.province_code, o.id))

    async def delete_outbreak(self, outbreak_id: str) -> None:
        """Remove a marking; :class:`NotFound` if unknown."""
        await self._hdel_or_missing(
            self._outbreaks, outbreak_id, f"no outbreak marking {outbreak_id!r}"
        )

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


def _record_json(record: Feed | WatchEntry | Outbreak) -> str:
    """A record as JSON, its fields in declaration order."""
    return _dump(dataclasses.asdict(record))


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class _EventKeys:
    """The KEYS of a plate-event script and the description of its plates.

    Keys are numbered as the script sees them (from 1; the five fixed keys
    first); ``plate`` numbers the distinct plates, which ``plate_args``
    then describes (see ``_PLATES_LUA``), adding their keys. ``event`` and
    ``args`` put together what both scripts take.
    """

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self.keys = [
            store._plate_events,
            store._events_by_at,
            store._plates,
            store._plate_grams,
            store._short_plates,
        ]
        self._numbers = {key: number for number, key in enumerate(self.keys, 1)}
        self.plates: dict[str, int] = {}

    def key(self, name: str) -> int:
        number = self._numbers.get(name)
        if number is None:
            self.keys.append(name)
            number = self._numbers[name] = len(self.keys)
        return number

    def plate(self, plate: str) -> int:
        number = self.plates.get(plate)
        if number is None:
            number = self.plates[plate] = len(self.plates) + 1
        return number

    def event(self, event: PlateEvent) -> list[str | int]:
        """An event's plate number and its checkpoint, feed and unit (0: none) key indexes."""
        unit = event.unit_code
        return [
            self.plate(event.plate),
            self.key(self._store._checkpoint_events_key(event.checkpoint)),
            self.key(self._store._feed_events_key(event.feed_id)),
            0 if unit is None else self.key(self._store._unit_events_key(unit)),
        ]

    def args(self, events: Sequence[object], described: list[str | int]) -> list[str | int]:
        """A script's ARGV: event and plate counts, the events ``described``, the plates."""
        return [len(events), len(self.plates), *described, *self.plate_args()]

    def plate_args(self) -> list[str | int]:
        args: list[str | int] = []
        for plate in self.plates:
            folded = _fold(plate)
            trigrams = _trigrams(folded)
            grams = _short_grams(folded)
            args += [plate, self.key(self._store._plate_events_key(plate)), len(trigrams)]
            args += [self.key(self._store._trigram_key(t)) for t in trigrams]
            args += [len(grams), *grams]
        return args


# What the merge costs beyond its candidate plates for a 1- or 2-character
# query: a union over the trigram sets that may hold it.
_SHORT_QUERY_COST = {1: 500, 2: 50}

# A search limited to at most this many feeds may walk their time indexes
# merged (one comparison per feed and event); more feeds are tested instead.
_MAX_WALKED_FEEDS = 64


def _filter(
    query: str,
    checkpoint: str | None,
    feeds: Sequence[str] | None,
    units: Sequence[str] | None,
) -> list[str | int]:
    """The filter arguments of a search script (see ``read_filter`` in ``_SEARCH_LUA``)."""
    return [
        query,
        checkpoint or "",
        len(feeds or ()),
        *(feeds or ()),
        len(units or ()),
        *(units or ()),
    ]


def _fold(plate: str) -> str:
    """A plate as the search indexes see it: ASCII letters in upper case (as Lua's upper)."""
    return plate.translate(_ASCII_UPPER)


def _trigrams(folded: str) -> list[str]:
    """The distinct three-character parts of a (folded) plate or query."""
    return sorted({folded[i : i + 3] for i in range(len(folded) - 2)})


def _short_grams(folded: str) -> list[str]:
    """The distinct one- and two-character parts of a folded plate."""
    return sorted({*folded, *(folded[i : i + 2] for i in range(len(folded) - 1))})


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


def _feed(raw: Raw) -> Feed:
    record = json.loads(raw)
    return Feed(
        id=record["id"],
        name=record["name"],
        checkpoint=record["checkpoint"],
        location=record["location"],
        url=record["url"],
        unit_code=record["unit_code"],
        created_at=float(record["created_at"]),
        created_by=record["created_by"],
        passthrough=bool(record["passthrough"]),
    )


def _plate_event_json(event: PlateEvent) -> str:
    # The plate comes early: a search that walks events reads it out of the text.
    return _dump(
        {
            "id": event.id,
            "plate": event.plate,
            "feed_id": event.feed_id,
            "checkpoint": event.checkpoint,
            "at": event.at,
            "display": event.display,
            "province_code": event.province_code,
            "confidence": event.confidence,
            "crop": event.crop,
            "thumbnail": event.thumbnail,
            "alert": event.alert,
            "colour": event.colour,
            "unit_code": event.unit_code,
        }
    )


def _glob_escape(text: str) -> str:
    """``text`` matched literally in a SCAN pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _plate_event(raw: Raw) -> PlateEvent:
    record = json.loads(raw)
    return PlateEvent(
        id=record["id"],
        feed_id=record["feed_id"],
        checkpoint=record["checkpoint"],
        at=float(record["at"]),
        plate=record["plate"],
        display=record["display"],
        province_code=record["province_code"],
        confidence=float(record["confidence"]),
        crop=record["crop"],
        thumbnail=record["thumbnail"],
        alert=record["alert"],
        colour=record.get("colour"),  # events stored before colours were kept have none
        unit_code=record.get("unit_code"),  # see RedisStore._events_ready
    )


def _watch_entry(raw: Raw) -> WatchEntry:
    record = json.loads(raw)
    return WatchEntry(
        id=record["id"],
        pattern=record["pattern"],
        reason=record["reason"],
        created_by=record["created_by"],
        created_at=float(record["created_at"]),
        unit_code=record.get("unit_code"),  # none on entries from before units were kept
    )


def _outbreak(raw: Raw) -> Outbreak:
    record = json.loads(raw)
    return Outbreak(
        id=record["id"],
        province_code=record["province_code"],
        start=record["start"],
        end=record["end"],
        reason=record["reason"],
        created_by=record["created_by"],
        created_at=float(record["created_at"]),
        unit_code=record.get("unit_code"),  # none on entries from before units were kept
    )


if TYPE_CHECKING:

    def _conforms(store: RedisStore) -> Store:
        """Makes mypy check that RedisStore has every method of the protocol."""
        return store
