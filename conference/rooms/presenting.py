"""Who presents in a room: one presentation at a time, with the host's approval if asked.

A presentation is a site's second video source (its screen, window or tab),
published on its own section (``screen``, see :mod:`conference.peer`). While
it lasts it is in every other site's main slot; the presenter's camera goes
to a thumbnail. This module holds the decisions only (who may start, who
waits, who is refused); :class:`conference.rooms.room.Room` tells the sites
and consoles and moves the slots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from conference.rooms.console_events import PresentingState, PresentRequest

SCREEN = "screen"  # the key of a site's presentation in its sources, and its section's name
MAX_REQUESTS = 50  # pending requests kept; a flood of asking sites cannot grow the console
ASK_INTERVAL = 1.0  # seconds: a site asks at most this often (each start moves every main slot)


class PresentRefused(Exception):
    """A site may not present now; ``code`` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Presenting:
    """The presentation state of one room."""

    presenter: str | None = None
    approval: bool = False  # a site other than a host needs the host's approval to present
    requests: dict[str, PresentRequest] = field(default_factory=dict)  # in asking order
    asked_at: dict[str, float] = field(default_factory=dict)  # site -> its last new request

    def ask(
        self, site: str, name: str, is_host: bool, busy_name: str | None
    ) -> Literal["granted", "pending"]:
        """A site asks to present: ``granted`` (it presents now), ``pending``, or refused.

        ``busy_name`` is the current presenter's name (another site presents).
        A host's own site never waits for approval; nobody takes over a running
        presentation (the host stops it first).
        """
        if self.presenter == site or site in self.requests:
            return "granted" if self.presenter == site else "pending"  # a repeat changes nothing
        now = time.monotonic()
        last = self.asked_at.get(site)
        if last is not None and now - last < ASK_INTERVAL:
            # Start, stop, start...: every start reroutes the whole room and tells every site.
            raise PresentRefused("too-soon", "asked again too soon: wait a moment")
        if self.presenter is not None:
            raise PresentRefused(
                "presentation-busy",
                f"{busy_name or self.presenter} is presenting: one presentation at a time",
            )
        if self.approval and not is_host:
            if site not in self.requests and len(self.requests) >= MAX_REQUESTS:
                raise PresentRefused("too-many-requests", "too many sites are waiting to present")
            self.asked_at[site] = now
            self.requests.setdefault(site, PresentRequest(id=site, name=name, at=time.time()))
            return "pending"
        self.asked_at[site] = now
        self.start(site)
        return "granted"

    def start(self, site: str) -> None:
        """``site`` presents now (its request, if any, is answered)."""
        self.presenter = site
        self.requests.pop(site, None)

    def stop(self, site: str | None = None) -> str | None:
        """End the presentation (only ``site``'s, if given); returns who presented."""
        if self.presenter is None or (site is not None and self.presenter != site):
            return None
        was, self.presenter = self.presenter, None
        return was

    def forget(self, site: str) -> None:
        """``site`` left the room: nothing of it is kept."""
        self.requests.pop(site, None)
        self.asked_at.pop(site, None)

    def withdraw(self, site: str) -> bool:
        """Forget ``site``'s request; False if it had none."""
        return self.requests.pop(site, None) is not None

    def state(self) -> PresentingState:
        """What a console shows of it."""
        return PresentingState(
            presenter=self.presenter, requests=list(self.requests.values()), approval=self.approval
        )
