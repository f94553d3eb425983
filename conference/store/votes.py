"""A meeting's votes (biểu quyết): :class:`Vote`, :class:`Ballot` and :class:`VoteStore`.

A vote is open (who voted what is kept and shown) or secret (only the counts
are kept: a secret ballot keeps its site, so that a site answers once, but
not its choice). Each site answers once; the first answer stands. Both are
decided by the store in one atomic step, so two nodes (or two sockets of
one site) racing cannot count a site twice or count after the close.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from conference.store.errors import Conflict, NotFound


class VoteNotFound(NotFound):
    """No vote of that meeting has that id."""


class AlreadyVoted(Conflict):
    """The site has answered this vote already; its first answer stands."""


class VoteClosed(Conflict):
    """The vote is closed: no answer counts any more (and it cannot be closed again)."""


@dataclass(frozen=True, slots=True)
class Vote:
    """A question the host put to the sites, with 2-10 options."""

    id: str
    meeting_id: str
    question: str
    options: list[str]
    secret: bool
    opened_at: float
    opened_by: str  # the host's username
    closed_at: float | None = None

    @property
    def open(self) -> bool:
        """Whether answers still count."""
        return self.closed_at is None


@dataclass(frozen=True, slots=True)
class Ballot:
    """One site's answer; ``choice`` is None in a secret vote's stored ballots."""

    site: str
    name: str
    choice: int | None
    at: float


@dataclass(frozen=True, slots=True)
class VoteResult:
    """A vote with its counts (one per option) and, unless secret, who answered what."""

    vote: Vote
    counts: list[int]
    ballots: list[Ballot] = field(default_factory=list)

    @property
    def answered(self) -> int:
        """How many sites answered."""
        return sum(self.counts)


class VoteStore(Protocol):
    """Votes and their ballots, kept with the meeting."""

    async def open_vote(self, vote: Vote) -> None:
        """Keep a new vote (its id is new: :class:`Conflict` otherwise)."""
        ...

    async def get_vote(self, meeting_id: str, vote_id: str) -> Vote:
        """The meeting's vote or :class:`VoteNotFound`."""
        ...

    async def meeting_votes(self, meeting_id: str) -> list[Vote]:
        """The meeting's votes in the order they were opened."""
        ...

    async def cast_ballot(self, meeting_id: str, vote_id: str, ballot: Ballot) -> None:
        """Count ``ballot`` (its choice an index into the options), atomically.

        :class:`VoteNotFound`, :class:`VoteClosed`, or :class:`AlreadyVoted`
        (the site's first ballot stands). A secret vote keeps the site and
        the count, never the site's choice.
        """
        ...

    async def close_vote(self, meeting_id: str, vote_id: str, at: float) -> Vote:
        """Close the vote at ``at``; :class:`VoteNotFound` or :class:`VoteClosed` (already)."""
        ...

    async def vote_result(self, meeting_id: str, vote_id: str) -> VoteResult:
        """The vote, its counts and (open votes) its ballots in answering order."""
        ...

    async def site_ballot(self, meeting_id: str, vote_id: str, site: str) -> Ballot | None:
        """The site's ballot as kept (a secret vote's without its choice), or None."""
        ...


def check_choice(vote: Vote, choice: int | None) -> None:
    """Refuse a choice that is not one of the vote's options (a caller's bug: ValueError)."""
    if choice is None or not 0 <= choice < len(vote.options):
        raise ValueError(f"choice {choice!r} is not an option of vote {vote.id}")


def kept_ballot(vote: Vote, ballot: Ballot) -> Ballot:
    """The ballot as the store keeps it: a secret vote's without its choice."""
    return replace(ballot, choice=None) if vote.secret else ballot


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def vote_json(vote: Vote) -> str:
    """The vote as a JSON document (without ``closed_at``: engines keep that apart)."""
    return _dump(
        {
            "id": vote.id,
            "meeting_id": vote.meeting_id,
            "question": vote.question,
            "options": vote.options,
            "secret": vote.secret,
            "opened_at": vote.opened_at,
            "opened_by": vote.opened_by,
        }
    )


def vote_from_json(text: str, closed_at: float | None) -> Vote:
    """A vote written by :func:`vote_json`."""
    data = json.loads(text)
    return Vote(
        id=str(data["id"]),
        meeting_id=str(data["meeting_id"]),
        question=str(data["question"]),
        options=[str(o) for o in data["options"]],
        secret=bool(data["secret"]),
        opened_at=float(data["opened_at"]),
        opened_by=str(data["opened_by"]),
        closed_at=closed_at,
    )


def ballot_json(ballot: Ballot) -> str:
    """A ballot as a JSON document."""
    return _dump(
        {"site": ballot.site, "name": ballot.name, "choice": ballot.choice, "at": ballot.at}
    )


def ballot_from_json(text: str) -> Ballot:
    """A ballot written by :func:`ballot_json`."""
    data = json.loads(text)
    choice = data["choice"]
    return Ballot(
        site=str(data["site"]),
        name=str(data["name"]),
        choice=None if choice is None else int(choice),
        at=float(data["at"]),
    )
