"""The Lua scripts of the Redis plate-event store (see :mod:`anpr_feed.events_store.redis`).

Each runs atomically on the Redis server: a batch of events and every index
entry, a plate's first or last event and the search indexes, a search's walk.
"""

from __future__ import annotations

# Plate events. Both writing scripts get the same fixed keys (KEYS[1..5]: the
# events hash, the global time index, ``plates``, ``plate_grams``,
# ``short_plates``), further keys by their index in KEYS, and after the events
# a description of each plate they touch: its text, the index of its
# ``plate_events_of`` key, how many trigram keys and their indexes, how many
# 1- and 2-character parts and the parts. Every key a script touches is
# declared; Python works the key names out (see ``EventKeys``).
PLATES_LUA = """
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
ADD_EVENTS_LUA = (
    PLATES_LUA
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
DELETE_EVENTS_LUA = (
    PLATES_LUA
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
SEARCH_LUA = r"""
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
WALK_EVENTS_LUA = (
    SEARCH_LUA
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
MERGE_EVENTS_LUA = (
    SEARCH_LUA
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
EVENT_UNITS_LUA = """
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
