"""Attempt counters in the Redis engine: ``P attempt:<key>``, a hash with a TTL."""

from __future__ import annotations

from conference.store.attempts import Attempt, Backoff
from conference.store.redis.engine import RedisAggregate, RedisEngine

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


class RedisAttempts(RedisAggregate):
    """:class:`~conference.store.attempts.AttemptStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._take_attempt_script = self._redis.register_script(_TAKE_ATTEMPT_LUA)
        self._return_attempt_script = self._redis.register_script(_RETURN_ATTEMPT_LUA)

    def _attempt_key(self, key: str) -> str:
        return f"{self.prefix}attempt:{key}"

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
