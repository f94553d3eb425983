"""Redis clients that fail fast when Redis is out, and what counts as "Redis is out".

redis-py's default is no socket timeout: on a frozen server (SIGSTOP, a VM
paused, packets dropped on the way) a call waits until Redis answers again,
however long that is, and so does the page, console command or loop that
made it. Every client here answers within seconds instead, with an error
the caller can report or retry later; the media never touches Redis.
(Measured: a GET on a frozen server fails after the 1 s timeout given; on a
killed one, at once with ConnectionError; after the restart the first call
succeeds on a fresh connection.)
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT = 2.0  # seconds to open a connection (a restarting Redis refuses at once)
COMMAND_TIMEOUT = 5.0  # seconds for an answer; our commands take milliseconds

# Errors that mean Redis cannot be reached now (as opposed to a bad command or
# a bug): the caller reports "unavailable" and tries again later.
UNREACHABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


def fast_failing(
    url: str,
    *,
    decode_responses: bool = False,
    command_timeout: float | None = COMMAND_TIMEOUT,
) -> Redis:
    """A client for ``url`` whose calls fail within seconds while Redis is out.

    ``command_timeout`` None is for a pub/sub reader, which waits for
    messages as long as there are none.
    """
    # from_url does not connect: the pool opens connections on first use, so
    # the client can be built outside the event loop.
    return Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=command_timeout,
    )
