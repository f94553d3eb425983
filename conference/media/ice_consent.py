"""ICE consent freshness as RFC 7675 has it: a thin link's late answers still count.

aioice checks consent every ~5 s with a single STUN request that times out
after 0.5 s (no retransmission) and closes the connection after six such
failures in a row. Behind a commune's thin downlink the server's request
waits behind the video queued in the link (0.9 s of round trip was seen
behind 64 kbit/s): every check "failed", and the site was cut off every
~33 s, rejoined, and flooded the link again at the start budget
(``tests/test_browser_weak_link.py``). RFC 7675 lets consent last 30 s from
the last answer, whatever the round trip. Here each check retransmits as
any STUN transaction does (answers up to 7.5 s late count), and the
connection closes only when no check has been answered for
:data:`CONSENT_EXPIRY` seconds.

aiortc/aioice glue: ``Connection.query_consent`` is replaced on import and
reads aioice's private state (``_nominated``, ``remote_password``,
``_query_consent_task``); ``pyproject.toml`` pins aioice to 0.13.*.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from aioice import ice as aioice_ice
from aioice import stun

logger = logging.getLogger(__name__)

CONSENT_INTERVAL = aioice_ice.CONSENT_INTERVAL  # seconds between two checks (x 0.8-1.2)
CONSENT_EXPIRY = 30.0  # RFC 7675 section 5.1: consent expires 30 s after the last answer
CHECK_RETRANSMISSIONS = 3  # sent at 0, 0.5, 1.5 and 3.5 s; given up at 7.5 s


async def query_consent(self: aioice_ice.Connection) -> None:
    """Check consent (RFC 7675) until no check has been answered for CONSENT_EXPIRY s."""
    assert self.remote_password is not None  # checks start once connect() has it
    answered = time.monotonic()
    while True:
        await asyncio.sleep(CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
        for pair in list(self._nominated.values()):
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=self.remote_password.encode("utf8"),
                    retransmissions=CHECK_RETRANSMISSIONS,
                )
                answered = time.monotonic()
            except stun.TransactionError:
                pass
        if time.monotonic() - answered >= CONSENT_EXPIRY:
            logger.info("%r: consent to send expired (no answer for %.0f s)", self, CONSENT_EXPIRY)
            self._query_consent_task = None
            await self.close()
            return


def install() -> None:
    """Make every aioice connection check consent this way (idempotent)."""
    aioice_ice.Connection.query_consent = query_consent  # type: ignore[method-assign]


install()
