"""A host console socket client for tests: it keeps the roll call, the tiers and the hands."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class Console:
    """The host console socket, collecting everything it is sent."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.sites: dict[str, dict[str, Any]] = {}
        self.tiers: list[dict[str, Any]] = []
        self.hands: list[str] = []
        self._next_id = 0
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw.data)
            self.messages.append(message)
            if message["type"] in ("console", "state"):
                self.sites = {s["site_id"]: s for s in message["state"]["sites"]}
                self.tiers = message["state"]["tiers"]
            elif message["type"] == "roll-call":
                self.sites.update({s["site_id"]: s for s in message["sites"]})
                self.tiers = message["tiers"]
            elif message["type"] == "hands":
                self.hands = [h["id"] for h in message["queue"]]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Every message of ``type`` ``kind`` received so far, in order."""
        return [m for m in self.messages if m["type"] == kind]

    def status_count(self, status: str) -> int:
        """How many roll-call rows have ``status``."""
        return sum(1 for s in self.sites.values() if s["status"] == status)

    async def command(self, command: str, site: str | None = None, **args: Any) -> dict[str, Any]:
        """Send a console command (``args``: its own fields, e.g. ``text``) and wait for its
        ``result`` or ``error``."""
        self._next_id += 1
        ident = self._next_id
        await self.ws.send_str(
            json.dumps({"type": "command", "id": ident, "command": command, "site": site, **args})
        )
        # A generous deadline (a busy machine can take seconds to close a removed
        # site's peer connection): it turns a hang into a failure, nothing more.
        for _ in range(600):
            for message in self.messages:
                if message.get("id") == ident and message["type"] in ("result", "error"):
                    return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"no answer to {command}")

    async def close(self) -> None:
        """Close the socket and stop reading."""
        await self.ws.close()
        self._reader.cancel()
