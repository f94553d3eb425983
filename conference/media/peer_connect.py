"""aiortc's connect task, quiet when the connection is closed under it.

``RTCPeerConnection.setRemoteDescription`` starts ``__connect`` as a task
nobody awaits. A site that leaves (or is refused) while its connection is
still starting closes the peer connection between two of that task's
awaits, and ``RTCIceTransport.start`` then raises ``InvalidStateError``:
asyncio logs "Task exception was never retrieved" with a traceback in the
server's log for a normal event (seen in CI under load, when three sites
joined and left within 70 ms). Nothing is lost: the connection is closed on
purpose. The error is dropped only when the connection is closed; any other
is raised as before.

aiortc glue: replaces the name-mangled ``_RTCPeerConnection__connect`` and
reads ``__isClosed``; ``pyproject.toml`` pins aiortc to 1.16.*.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiortc import RTCPeerConnection
from aiortc.exceptions import InvalidStateError

logger = logging.getLogger(__name__)

_original: Callable[[RTCPeerConnection], Awaitable[None]] = (
    RTCPeerConnection._RTCPeerConnection__connect  # type: ignore[attr-defined]
)


async def connect(self: RTCPeerConnection) -> None:
    """aiortc's ``__connect``; an InvalidStateError after ``close()`` is not an error."""
    try:
        await _original(self)
    except InvalidStateError:
        if getattr(self, "_RTCPeerConnection__isClosed", None) is None:
            raise
        logger.debug("a peer connection was closed while it was connecting")


def install() -> None:
    """Use :func:`connect` for every RTCPeerConnection (idempotent)."""
    RTCPeerConnection._RTCPeerConnection__connect = connect  # type: ignore[attr-defined]


install()
