"""ICE consent freshness (conference/media/ice_consent.py): late answers count, silence ends it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from aioice import ice as aioice_ice
from aioice import stun

from conference.media import ice_consent


class _Protocol:
    """A pair's protocol whose STUN transactions answer as told, after a delay."""

    def __init__(self, answers: Callable[[int], bool], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.checks = 0
        self.retransmissions: int | None = None

    async def request(
        self, request: Any, addr: Any, integrity_key: Any = None, retransmissions: Any = None
    ) -> Any:
        self.checks += 1
        self.retransmissions = retransmissions
        await asyncio.sleep(self.delay)
        if self.answers(self.checks):
            return object(), addr
        raise stun.TransactionTimeout()


class _Connection:
    """What query_consent reads of an aioice Connection."""

    def __init__(self, protocol: _Protocol) -> None:
        self.remote_password = "secret"
        self._nominated = {1: SimpleNamespace(protocol=protocol, remote_addr=("192.0.2.9", 9))}
        self._query_consent_task: Any = "running"
        self.closed = False

    def build_request(self, pair: Any, nominate: bool) -> Any:
        return object()

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def fast_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ice_consent, "CONSENT_INTERVAL", 0.01)
    monkeypatch.setattr(ice_consent, "CONSENT_EXPIRY", 5.0)


def test_every_aioice_connection_uses_it() -> None:
    assert aioice_ice.Connection.query_consent is ice_consent.query_consent


async def test_late_and_lost_answers_within_the_expiry_keep_the_connection(
    fast_checks: None,
) -> None:
    # Answers come late (a thin link's queue), and four checks in five go unanswered:
    # aioice's own check (six failures in a row, 0.5 s each) would have closed it.
    protocol = _Protocol(lambda n: n % 5 == 0, delay=0.02)
    connection = _Connection(protocol)
    task = asyncio.create_task(ice_consent.query_consent(connection))  # type: ignore[arg-type]
    try:
        while protocol.checks < 40:
            await asyncio.sleep(0.05)
            assert not task.done()
    finally:
        task.cancel()
    assert not connection.closed
    assert protocol.retransmissions == ice_consent.CHECK_RETRANSMISSIONS


async def test_no_answer_for_the_expiry_closes_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ice_consent, "CONSENT_INTERVAL", 0.01)
    monkeypatch.setattr(ice_consent, "CONSENT_EXPIRY", 0.3)
    protocol = _Protocol(lambda n: n <= 3)  # three answers, then silence
    connection = _Connection(protocol)
    await asyncio.wait_for(ice_consent.query_consent(connection), timeout=60)  # type: ignore[arg-type]
    assert connection.closed and connection._query_consent_task is None
    assert protocol.checks > 3
