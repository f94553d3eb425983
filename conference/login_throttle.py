"""How often one may try to log in: growing waits, counted before the password is checked.

Three counters, kept in the store so every process and node sees the same:

- **account and address** (``pair:``): ``free`` attempts back to back, then
  each next one waits ``delay`` seconds, doubling, up to ``max_delay``. A
  success forgets it. This is what a guesser meets first.
- **address** (``address:``, across accounts): ``6 * free`` attempts, then
  the same growing waits; a success gives its attempt back, so only
  failures add up (an office behind one address logs in all morning).
  It stops one address from trying a password on many accounts.
- **account** (``account:``, across addresses): counts attempts only. Once
  ``10 * free`` in an hour failed, each address gets a single free attempt
  at that account instead of ``free``, then the growing waits.

An attacker therefore never locks a user out: a user whose own address has
no failed attempts always gets at least one attempt at once, and after a
mistake waits only for their own growing delay, whatever others send. What
many addresses buy an attacker is one guess each, then the same waits.

Every attempt is reserved (counted) atomically before the password is
checked, so concurrent requests cannot slip past a limit between the check
and the count. IPv6 clients are counted per /64, the block one subscriber
usually holds.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from conference.store import Backoff, Store

WINDOW_SECONDS = 900.0  # pair and address counters are forgotten this long after their last attempt
ACCOUNT_WINDOW_SECONDS = 3600.0
ADDRESS_FACTOR = 6  # free attempts of one address across accounts, in units of ``free``
ACCOUNT_FACTOR = 10  # failures at one account, all addresses, before addresses get one free try


class TooManyAttempts(Exception):
    """The attempt was refused (and not counted); try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many login attempts; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Reservation:
    """One counted attempt: give it to :meth:`LoginThrottle.succeeded` or ``abandoned``."""

    pair: str
    address: str
    account: str


def client_network(address: str | None) -> str:
    """The block a client is counted by: its IPv4 address, or its IPv6 /64."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


class LoginThrottle:
    """The login limits of the module docstring, on ``store``'s attempt counters."""

    def __init__(self, store: Store, free: int = 5, delay: float = 1.0, max_delay: float = 300.0):
        self.store = store
        self.pair_backoff = Backoff(free, delay, max_delay, WINDOW_SECONDS)
        self.attacked_pair_backoff = Backoff(1, delay, max_delay, WINDOW_SECONDS)
        self.address_backoff = Backoff(ADDRESS_FACTOR * free, delay, max_delay, WINDOW_SECONDS)
        # A plain counter: never refuses (its waits are zero).
        self.account_counter = Backoff(2**31, 0.0, 0.0, ACCOUNT_WINDOW_SECONDS)
        self.account_limit = ACCOUNT_FACTOR * free

    async def reserve(
        self, username: str, address: str | None, now: float | None = None
    ) -> Reservation:
        """Count an attempt by ``address`` at ``username``, or raise :class:`TooManyAttempts`."""
        moment = time.time() if now is None else now
        network = client_network(address)
        reservation = Reservation(
            pair=f"login-pair:{username}|{network}",
            address=f"login-address:{network}",
            account=f"login-account:{username}",
        )
        account = await self.store.take_attempt(reservation.account, moment, self.account_counter)
        backoff = self.pair_backoff
        if account.count > self.account_limit:
            backoff = self.attacked_pair_backoff
        pair = await self.store.take_attempt(reservation.pair, moment, backoff)
        if not pair.granted:
            await self.store.return_attempt(reservation.account)
            raise TooManyAttempts(_seconds(pair.wait))
        by_address = await self.store.take_attempt(
            reservation.address, moment, self.address_backoff
        )
        if not by_address.granted:
            await self.store.return_attempt(reservation.account)
            await self.store.return_attempt(reservation.pair)
            raise TooManyAttempts(_seconds(by_address.wait))
        return reservation

    async def succeeded(self, reservation: Reservation) -> None:
        """The password was right: forget the pair's failures, give the others their attempt back."""
        await self.store.return_attempt(reservation.pair, forget=True)
        await self.store.return_attempt(reservation.address)
        await self.store.return_attempt(reservation.account)

    async def abandoned(self, reservation: Reservation) -> None:
        """The password was never checked (the server was busy): the attempt does not count."""
        await self.store.return_attempt(reservation.pair)
        await self.store.return_attempt(reservation.address)
        await self.store.return_attempt(reservation.account)


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
