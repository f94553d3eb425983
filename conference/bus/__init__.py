"""Room events between the parts of the service: in-process or through Redis pub/sub."""

from __future__ import annotations

from conference.bus.base import BusSubscription, EventBus
from conference.bus.memory import MemoryBus

__all__ = ["BusSubscription", "EventBus", "MemoryBus", "open_bus"]


def open_bus(redis_url: str | None = None, redis_prefix: str = "conference:") -> EventBus:
    """The Redis engine when ``redis_url`` is given, else the in-process one."""
    if redis_url:
        from conference.bus.redis import RedisBus

        return RedisBus(redis_url, prefix=redis_prefix)
    return MemoryBus()
