"""A meeting's votes (biểu quyết): the host puts a question, each site answers once.

The store decides (atomically, on either engine) whether an answer counts:
the vote must be open and the site's first answer stands. While a vote is
open the hosts see its tally live (``vote-tally`` to the consoles: counts,
and who answered what unless it is secret); when the host closes it every
site gets the result (``vote-result``). One vote is open at a time per meeting.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from conference.chat import not_at_home
from conference.permissions import Forbidden, Principal
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.rooms.talk_events import (
    BallotInfo,
    VoteAnswered,
    VoteInfo,
    VoteOpened,
    VoteResultShown,
    VoteTally,
)
from conference.store import (
    AlreadyVoted,
    Ballot,
    Meeting,
    Vote,
    VoteClosed,
    VoteNotFound,
    VoteResult,
    VoteStore,
)
from conference.talk_remote import TalkRemote, send_to_sites
from conference.token_bucket import TokenBuckets

MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_QUESTION_CHARS = 500
MAX_OPTION_CHARS = 200
ANSWER_BURST = 10  # answers (and refused tries) a site may send at once...
ANSWER_PER_SECONDS = 10.0  # ...and again after this long: each try reads the store


def vote_info(vote: Vote) -> VoteInfo:
    """A vote as the wire shows it."""
    return VoteInfo(
        id=vote.id, question=vote.question, options=vote.options, secret=vote.secret, open=vote.open
    )


def ballot_infos(result: VoteResult) -> list[BallotInfo]:
    """Who answered what (empty for a secret vote: the store keeps no choice)."""
    return [
        BallotInfo(site=b.site, name=b.name, choice=b.choice, at=b.at)
        for b in result.ballots
        if b.choice is not None
    ]


def _invited(room: Room) -> int:
    return sum(1 for entry in room.roll_call.entries.values() if entry.invited)


def _tally(room: Room, result: VoteResult) -> VoteTally:
    return VoteTally(
        vote=vote_info(result.vote),
        counts=result.counts,
        ballots=ballot_infos(result),
        invited=_invited(room),
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


class MeetingVotes:
    """Votes of the meetings whose rooms are live in this process."""

    def __init__(self, store: VoteStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        self.limits = TokenBuckets(ANSWER_BURST, ANSWER_PER_SECONDS)
        # The meeting's other copies (several nodes): set by the composition root.
        self.remote: TalkRemote | None = None

    async def open(
        self,
        principal: Principal,
        meeting: Meeting,
        room: Room,
        question: str,
        options: list[str],
        secret: bool,
    ) -> Vote:
        """Put a question to every site; Forbidden if it is not a valid vote or one is open."""
        if room.carrier:
            raise not_at_home()
        question = _one_line(question)
        options = [_one_line(o) for o in options]
        if not question or len(question) > MAX_QUESTION_CHARS:
            raise Forbidden(
                "vote-invalid", f"the question needs 1 to {MAX_QUESTION_CHARS} characters"
            )
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise Forbidden("vote-invalid", f"a vote has {MIN_OPTIONS} to {MAX_OPTIONS} options")
        if any(not o or len(o) > MAX_OPTION_CHARS for o in options):
            raise Forbidden(
                "vote-invalid", f"every option needs 1 to {MAX_OPTION_CHARS} characters"
            )
        if len(set(options)) != len(options):
            raise Forbidden("vote-invalid", "two options are the same")
        if any(v.open for v in await self.store.meeting_votes(meeting.id)):
            raise Forbidden("vote-already-open", "close the open vote before putting another")
        vote = Vote(
            id=secrets.token_hex(8),
            meeting_id=meeting.id,
            question=question,
            options=options,
            secret=secret,
            opened_at=self._clock(),
            opened_by=principal.username,
        )
        await self.store.open_vote(vote)
        send_to_sites(room, VoteOpened(vote=vote_info(vote)), self.remote)
        room.publish(_tally(room, VoteResult(vote, [0] * len(options))))
        return vote

    async def answer(
        self, meeting: Meeting, room: Room, participant: Participant, vote_id: str, choice: int
    ) -> None:
        """A site's answer: counted once, or Forbidden with why (the first answer stands)."""
        if room.carrier:
            raise not_at_home()
        entry = room.roll_call.entries.get(participant.id)
        if entry is None or not entry.invited:
            # Guests and cameras are shown in the roll call but are not the meeting's sites.
            raise Forbidden("vote-not-invited", "only the sites invited to the meeting vote")
        if self.limits.take(f"{meeting.id}:{participant.id}") > 0:
            raise Forbidden("vote-rate-limited", "too many answers at once; wait a few seconds")
        try:
            vote = await self.store.get_vote(meeting.id, vote_id)
        except VoteNotFound as exc:
            raise Forbidden("vote-not-found", "this meeting has no such vote") from exc
        if not 0 <= choice < len(vote.options):
            raise Forbidden(
                "vote-bad-choice", f"choose an option from 0 to {len(vote.options) - 1}"
            )
        try:
            await self.store.cast_ballot(
                meeting.id, vote_id, Ballot(participant.id, participant.name, choice, self._clock())
            )
        except VoteClosed as exc:
            raise Forbidden("vote-closed", "the vote is closed; answers no longer count") from exc
        except AlreadyVoted as exc:
            raise Forbidden(
                "vote-already-answered", "this site has answered; its first answer stands"
            ) from exc
        send_to_sites(
            room, VoteAnswered(vote=vote_id, choice=choice), self.remote, [participant.id]
        )
        room.publish(_tally(room, await self.store.vote_result(meeting.id, vote_id)))

    async def close(self, meeting: Meeting, room: Room, vote_id: str) -> VoteResult:
        """Close the vote and show its result to every site and console."""
        if room.carrier:
            raise not_at_home()
        try:
            await self.store.close_vote(meeting.id, vote_id, self._clock())
        except VoteNotFound as exc:
            raise Forbidden("vote-not-found", "this meeting has no such vote") from exc
        except VoteClosed as exc:
            raise Forbidden("vote-closed", "the vote is closed already") from exc
        result = await self.store.vote_result(meeting.id, vote_id)
        shown = VoteResultShown(
            vote=vote_info(result.vote), counts=result.counts, ballots=ballot_infos(result)
        )
        send_to_sites(room, shown, self.remote)
        room.publish(shown)
        return result

    async def open_questions(self, meeting: Meeting, site: str) -> list[VoteOpened]:
        """The open vote's question for a site that joins while it is open (and its answer,
        if it answered before: a reconnection)."""
        out = []
        for vote in await self.store.meeting_votes(meeting.id):
            if vote.open:
                ballot = await self.store.site_ballot(meeting.id, vote.id, site)
                out.append(
                    VoteOpened(
                        vote=vote_info(vote),
                        answered=ballot is not None,
                        choice=ballot.choice if ballot is not None else None,
                    )
                )
        return out


async def vote_results(store: VoteStore, meeting_id: str) -> list[VoteResult]:
    """Every vote of a meeting with its counts (and ballots unless secret), in opening order.

    What the minutes export as the meeting's decisions.
    """
    return [
        await store.vote_result(meeting_id, v.id) for v in await store.meeting_votes(meeting_id)
    ]
