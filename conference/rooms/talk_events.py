"""Chat and votes on the wire: what sites and consoles are told (``docs/protocol.md``).

``chat`` goes to every site (a message to all) or only to the hosts (the
consoles, the host site's page, and the sender's own page); the consoles
get every message. A vote's question (``vote``) goes to every site; while
it is open only the hosts see the tallies (``vote-tally``), and when the host
closes it every site gets the result (``vote-result``).
"""

from __future__ import annotations

from typing import Literal

from conference.wire import WireMessage


class ChatPosted(WireMessage):
    """A chat message: to every site (``to`` ``all``) or to the hosts (``host``)."""

    type: Literal["chat"] = "chat"
    seq: int
    at: float
    site: str
    name: str
    to: Literal["all", "host"]
    text: str
    host: bool  # written by the meeting's host (from the console)


class VoteInfo(WireMessage):
    """A vote's question and options (an answer is an option's index)."""

    id: str
    question: str
    options: list[str]
    secret: bool
    open: bool


class BallotInfo(WireMessage):
    """Who answered what (open votes only)."""

    site: str
    name: str
    choice: int
    at: float


class VoteOpened(WireMessage):
    """The host put a question: answer with ``{"type": "vote", "vote": id, "choice": n}``."""

    type: Literal["vote"] = "vote"
    vote: VoteInfo
    answered: bool = False  # this site answered already (it joined again)
    choice: int | None = None  # its answer then, unless the vote is secret


class VoteAnswered(WireMessage):
    """To the site that answered: its answer was counted."""

    type: Literal["vote-answered"] = "vote-answered"
    vote: str
    choice: int


class VoteTally(WireMessage):
    """For the hosts: the counts (and, in an open vote, the ballots) now."""

    type: Literal["vote-tally"] = "vote-tally"
    vote: VoteInfo
    counts: list[int]
    ballots: list[BallotInfo]
    invited: int  # sites that may answer (invited to the meeting)


class VoteResultShown(WireMessage):
    """The vote is closed: its result for everyone (ballots only if it was open)."""

    type: Literal["vote-result"] = "vote-result"
    vote: VoteInfo
    counts: list[int]
    ballots: list[BallotInfo]


class TalkRefused(WireMessage):
    """A refused chat message or answer, for a site connected at another node than the
    home (the socket's own ``error``, with the same fields)."""

    type: Literal["error"] = "error"
    code: str
    message: str
    fatal: bool = False


SiteTalkEvent = ChatPosted | VoteOpened | VoteAnswered | VoteResultShown | TalkRefused
"""What chat and votes send a site (through its node, when it is not at the home)."""
