"""Meetings' votes in the Redis engine.

Keys, per meeting ``M`` and vote ``V``: ``P votes:M`` (hash V -> vote JSON),
``P votes-closed:M`` (hash V -> closing time), ``P ballots:M:V`` (hash site
-> ballot JSON) and ``P vote-counts:M:V`` (hash option index -> count). A
ballot is counted by one Lua script (the vote exists and is open, the site's
first ballot, its count), so nodes racing cannot count a site twice or after
the close.
"""

from __future__ import annotations

from conference.store.errors import Conflict
from conference.store.redis.engine import RedisAggregate, RedisEngine, text
from conference.store.votes import (
    AlreadyVoted,
    Ballot,
    Vote,
    VoteClosed,
    VoteNotFound,
    VoteResult,
    ballot_from_json,
    ballot_json,
    check_choice,
    kept_ballot,
    vote_from_json,
    vote_json,
)

# KEYS: votes, closed, ballots, counts; ARGV: vote id, site, ballot JSON, choice.
_CAST_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'missing' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'closed' end
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3]) == 0 then return 'again' end
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
return 'ok'
"""

# KEYS: votes, closed; ARGV: vote id, closing time.
_CLOSE_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'missing' end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 'closed' end
return 'ok'
"""


class RedisVotes(RedisAggregate):
    """:class:`~conference.store.votes.VoteStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._cast_script = self._redis.register_script(_CAST_LUA)
        self._close_script = self._redis.register_script(_CLOSE_LUA)

    def _votes(self, meeting_id: str) -> str:
        return f"{self.prefix}votes:{meeting_id}"

    def _closed(self, meeting_id: str) -> str:
        return f"{self.prefix}votes-closed:{meeting_id}"

    def _ballots(self, meeting_id: str, vote_id: str) -> str:
        return f"{self.prefix}ballots:{meeting_id}:{vote_id}"

    def _counts(self, meeting_id: str, vote_id: str) -> str:
        return f"{self.prefix}vote-counts:{meeting_id}:{vote_id}"

    async def open_vote(self, vote: Vote) -> None:
        """HSETNX the vote: an id taken is a Conflict."""
        if not await self._redis.hsetnx(self._votes(vote.meeting_id), vote.id, vote_json(vote)):
            raise Conflict(f"vote {vote.id} exists")

    async def get_vote(self, meeting_id: str, vote_id: str) -> Vote:
        """The vote with its closing time, or VoteNotFound."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._votes(meeting_id), vote_id)
            pipe.hget(self._closed(meeting_id), vote_id)
            raw, closed = await pipe.execute()
        if raw is None:
            raise VoteNotFound(f"meeting {meeting_id} has no vote {vote_id}")
        return vote_from_json(text(raw), None if closed is None else float(closed))

    async def meeting_votes(self, meeting_id: str) -> list[Vote]:
        """Every vote of the meeting by opening time."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._votes(meeting_id))
            pipe.hgetall(self._closed(meeting_id))
            raw, closed = await pipe.execute()
        votes = [
            vote_from_json(text(doc), float(closed[ident]) if ident in closed else None)
            for ident, doc in raw.items()
        ]
        return sorted(votes, key=lambda v: (v.opened_at, v.id))

    async def cast_ballot(self, meeting_id: str, vote_id: str, ballot: Ballot) -> None:
        """Read the vote (its options and secrecy never change), then count in one script."""
        vote = await self.get_vote(meeting_id, vote_id)
        check_choice(vote, ballot.choice)
        answer = await self._cast_script(
            keys=[
                self._votes(meeting_id),
                self._closed(meeting_id),
                self._ballots(meeting_id, vote_id),
                self._counts(meeting_id, vote_id),
            ],
            args=[
                vote_id,
                ballot.site,
                ballot_json(kept_ballot(vote, ballot)),
                int(ballot.choice or 0),
            ],
        )
        answer = text(answer)
        if answer == "missing":
            raise VoteNotFound(f"meeting {meeting_id} has no vote {vote_id}")
        if answer == "closed":
            raise VoteClosed(f"vote {vote_id} is closed")
        if answer == "again":
            raise AlreadyVoted(f"site {ballot.site} has answered vote {vote_id}")

    async def close_vote(self, meeting_id: str, vote_id: str, at: float) -> Vote:
        """Set the closing time once."""
        answer = text(
            await self._close_script(
                keys=[self._votes(meeting_id), self._closed(meeting_id)],
                args=[vote_id, repr(float(at))],
            )
        )
        if answer == "missing":
            raise VoteNotFound(f"meeting {meeting_id} has no vote {vote_id}")
        if answer == "closed":
            raise VoteClosed(f"vote {vote_id} is closed already")
        return await self.get_vote(meeting_id, vote_id)

    async def vote_result(self, meeting_id: str, vote_id: str) -> VoteResult:
        """Counts by option; ballots by answering time (open votes)."""
        vote = await self.get_vote(meeting_id, vote_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._counts(meeting_id, vote_id))
            pipe.hvals(self._ballots(meeting_id, vote_id))
            counted, raw_ballots = await pipe.execute()
        counts = [0] * len(vote.options)
        for choice, count in counted.items():
            index = int(choice)
            if 0 <= index < len(counts):
                counts[index] = int(count)
        if vote.secret:
            return VoteResult(vote, counts, [])
        ballots = sorted((ballot_from_json(text(b)) for b in raw_ballots), key=lambda b: b.at)
        return VoteResult(vote, counts, ballots)

    async def site_ballot(self, meeting_id: str, vote_id: str, site: str) -> Ballot | None:
        """HGET the site's ballot (the key names the meeting: another's vote has none)."""
        raw = await self._redis.hget(self._ballots(meeting_id, vote_id), site)
        return None if raw is None else ballot_from_json(text(raw))
