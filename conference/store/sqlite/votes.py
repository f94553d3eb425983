"""Meetings' votes in the SQLite engine (tables ``votes``, ``ballots``, ``vote_counts``).

A ballot is counted in one transaction (BEGIN IMMEDIATE: the file's writer
lock) that checks the vote is open, inserts the site's ballot (the primary
key refuses a second) and adds to its option's count.
"""

from __future__ import annotations

import json
import sqlite3

from conference.store.errors import Conflict
from conference.store.sqlite.engine import SqliteAggregate
from conference.store.votes import (
    AlreadyVoted,
    Ballot,
    Vote,
    VoteClosed,
    VoteNotFound,
    VoteResult,
    check_choice,
    kept_ballot,
)

_VOTE_COLUMNS = "id, meeting_id, question, options, secret, opened_at, opened_by, closed_at"


def _vote(row: tuple[object, ...]) -> Vote:
    ident, meeting, question, options, secret, opened_at, opened_by, closed_at = row
    return Vote(
        id=str(ident),
        meeting_id=str(meeting),
        question=str(question),
        options=[str(o) for o in json.loads(str(options))],
        secret=bool(secret),
        opened_at=float(str(opened_at)),
        opened_by=str(opened_by),
        closed_at=None if closed_at is None else float(str(closed_at)),
    )


def _read_vote(conn: sqlite3.Connection, meeting_id: str, vote_id: str) -> Vote:
    found = conn.execute(
        f"SELECT {_VOTE_COLUMNS} FROM votes WHERE id = ? AND meeting_id = ?",
        (vote_id, meeting_id),
    ).fetchone()
    if found is None:
        raise VoteNotFound(f"meeting {meeting_id} has no vote {vote_id}")
    return _vote(found)


class SqliteVotes(SqliteAggregate):
    """:class:`~conference.store.votes.VoteStore` on SQLite."""

    async def open_vote(self, vote: Vote) -> None:
        """Insert the vote and a zero count per option."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    f"INSERT INTO votes ({_VOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        vote.id,
                        vote.meeting_id,
                        vote.question,
                        json.dumps(vote.options, ensure_ascii=False),
                        int(vote.secret),
                        vote.opened_at,
                        vote.opened_by,
                        vote.closed_at,
                    ),
                )
                conn.executemany(
                    "INSERT INTO vote_counts (vote_id, choice, count) VALUES (?, ?, 0)",
                    [(vote.id, i) for i in range(len(vote.options))],
                )
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise Conflict(f"vote {vote.id} exists") from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(write)

    async def get_vote(self, meeting_id: str, vote_id: str) -> Vote:
        """The meeting's vote or VoteNotFound."""
        return await self._run(lambda conn: _read_vote(conn, meeting_id, vote_id))

    async def meeting_votes(self, meeting_id: str) -> list[Vote]:
        """The meeting's votes by opening time."""
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_VOTE_COLUMNS} FROM votes WHERE meeting_id = ? ORDER BY opened_at, id",
                (meeting_id,),
            ).fetchall()
        )
        return [_vote(r) for r in rows]

    async def cast_ballot(self, meeting_id: str, vote_id: str, ballot: Ballot) -> None:
        """Check, insert and count in one transaction."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                vote = _read_vote(conn, meeting_id, vote_id)
                check_choice(vote, ballot.choice)
                if not vote.open:
                    raise VoteClosed(f"vote {vote_id} is closed")
                kept = kept_ballot(vote, ballot)
                try:
                    conn.execute(
                        "INSERT INTO ballots (vote_id, site, name, choice, at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (vote_id, kept.site, kept.name, kept.choice, kept.at),
                    )
                except sqlite3.IntegrityError as exc:
                    raise AlreadyVoted(f"site {ballot.site} has answered vote {vote_id}") from exc
                conn.execute(
                    "UPDATE vote_counts SET count = count + 1 WHERE vote_id = ? AND choice = ?",
                    (vote_id, ballot.choice),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(write)

    async def close_vote(self, meeting_id: str, vote_id: str, at: float) -> Vote:
        """Set ``closed_at`` once."""

        def write(conn: sqlite3.Connection) -> Vote:
            vote = _read_vote(conn, meeting_id, vote_id)
            changed = conn.execute(
                "UPDATE votes SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (at, vote_id),
            ).rowcount
            if not changed:
                raise VoteClosed(f"vote {vote_id} is closed already")
            return _read_vote(conn, meeting_id, vote.id)

        return await self._run(write)

    async def vote_result(self, meeting_id: str, vote_id: str) -> VoteResult:
        """Counts by option; ballots by answering time (open votes)."""

        def read(conn: sqlite3.Connection) -> VoteResult:
            vote = _read_vote(conn, meeting_id, vote_id)
            counts = [0] * len(vote.options)
            for choice, count in conn.execute(
                "SELECT choice, count FROM vote_counts WHERE vote_id = ?", (vote_id,)
            ):
                if 0 <= choice < len(counts):
                    counts[choice] = int(count)
            ballots = [
                Ballot(site, name, choice, at)
                for site, name, choice, at in conn.execute(
                    "SELECT site, name, choice, at FROM ballots WHERE vote_id = ? "
                    "ORDER BY at, rowid",
                    (vote_id,),
                )
            ]
            return VoteResult(vote, counts, [] if vote.secret else ballots)

        return await self._run(read)

    async def site_ballot(self, meeting_id: str, vote_id: str, site: str) -> Ballot | None:
        """The site's ballot of the meeting's vote, or None."""
        found = await self._run(
            lambda conn: conn.execute(
                "SELECT b.site, b.name, b.choice, b.at FROM ballots b "
                "JOIN votes v ON v.id = b.vote_id "
                "WHERE b.vote_id = ? AND v.meeting_id = ? AND b.site = ?",
                (vote_id, meeting_id, site),
            ).fetchone()
        )
        return None if found is None else Ballot(found[0], found[1], found[2], found[3])
