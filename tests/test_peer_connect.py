"""aiortc's connect task after close (conference/media/peer_connect.py)."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection
from aiortc.exceptions import InvalidStateError

from conference.media import peer_connect


async def _closed_transport(pc: RTCPeerConnection) -> None:
    raise InvalidStateError("RTCIceTransport is closed")


async def test_a_connection_closed_while_connecting_raises_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(peer_connect, "_original", _closed_transport)
    pc = RTCPeerConnection()
    await pc.close()
    await pc._RTCPeerConnection__connect()  # type: ignore[attr-defined]


async def test_the_same_error_on_an_open_connection_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(peer_connect, "_original", _closed_transport)
    pc = RTCPeerConnection()
    try:
        with pytest.raises(InvalidStateError):
            await asyncio.wait_for(pc._RTCPeerConnection__connect(), 10)  # type: ignore[attr-defined]
    finally:
        await pc.close()
