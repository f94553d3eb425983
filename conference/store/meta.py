"""Small pieces of service state under a key (the demo room's id, a feed's last status)."""

from __future__ import annotations

from typing import Protocol


class MetaStore(Protocol):
    """Key-value service state."""

    async def get_meta(self, key: str) -> str | None:
        """A small piece of service state (for example the demo room's id)."""
        ...

    async def set_meta(self, key: str, value: str) -> None:
        """Store a small piece of service state."""
        ...
