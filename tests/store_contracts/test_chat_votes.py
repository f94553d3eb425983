"""ChatStore and VoteStore: one contract on SQLite and on Redis."""

from __future__ import annotations

import asyncio

import pytest

from conference.store import (
    AlreadyVoted,
    Ballot,
    ChatMessage,
    Conflict,
    Store,
    Vote,
    VoteClosed,
    VoteNotFound,
)


def _message(meeting: str, text: str, at: float, audience: str = "all") -> ChatMessage:
    return ChatMessage(
        meeting, at, "167", "Huyện Định Hóa", "host" if audience == "host" else "all", text
    )


def _vote(meeting: str, ident: str, secret: bool = False, at: float = 1000.0) -> Vote:
    return Vote(
        id=ident,
        meeting_id=meeting,
        question="Thông qua nghị quyết?",
        options=["Đồng ý", "Không đồng ý", "Ý kiến khác"],
        secret=secret,
        opened_at=at,
        opened_by="host1",
    )


async def test_chat_keeps_order_per_meeting(any_store: Store) -> None:
    first = await any_store.add_chat(_message("m1", "Xin chào", 1.0))
    await any_store.add_chat(_message("m2", "other meeting", 2.0))
    second = await any_store.add_chat(_message("m1", "Tôi xin ý kiến", 3.0, "host"))
    assert second.seq > first.seq
    chat = await any_store.meeting_chat("m1")
    assert [(c.text, c.audience, c.name) for c in chat] == [
        ("Xin chào", "all", "Huyện Định Hóa"),
        ("Tôi xin ý kiến", "host", "Huyện Định Hóa"),
    ]
    assert [c.seq for c in chat] == [first.seq, second.seq]
    assert await any_store.meeting_chat("nothing") == []


async def test_latest_chat_reads_back_only_what_a_site_may_read(any_store: Store) -> None:
    """A joining site's catch-up: the last N it may read, across more than one page."""
    for i in range(450):
        site = "05503" if i % 3 == 0 else "167"
        audience = "host" if i % 2 else "all"
        message = ChatMessage("m1", float(i), site, "Xã", audience, f"tin {i}")  # type: ignore[arg-type]
        await any_store.add_chat(message)
    await any_store.add_chat(_message("m2", "other meeting", 999.0))
    everything = await any_store.meeting_chat("m1")

    def expected(site: str | None, limit: int) -> list[int]:
        return [m.seq for m in everything if site is None or m.audience == "all" or m.site == site][
            -limit:
        ]

    for site, limit in (("05503", 100), ("167", 100), (None, 100), ("05503", 1000), ("x", 5)):
        latest = await any_store.latest_chat("m1", limit, site)
        assert [m.seq for m in latest] == expected(site, limit), (site, limit)
        assert all(m.meeting_id == "m1" for m in latest)
    # A site that sent nothing reads only the messages to all: 225 of them, the newest last.
    latest = await any_store.latest_chat("m1", 1000, "x")
    assert len(latest) == 225 and latest[-1].text == "tin 448"
    assert await any_store.latest_chat("m1", 0, "x") == []
    assert await any_store.latest_chat("nothing", 100) == []


async def test_open_vote_counts_and_ballots(any_store: Store) -> None:
    await any_store.open_vote(_vote("m1", "v1"))
    await any_store.cast_ballot("m1", "v1", Ballot("167", "Huyện Định Hóa", 0, 1001.0))
    await any_store.cast_ballot("m1", "v1", Ballot("05503", "Thị trấn Chợ Chu", 2, 1002.0))
    result = await any_store.vote_result("m1", "v1")
    assert result.counts == [1, 0, 1]
    assert [(b.site, b.choice) for b in result.ballots] == [("167", 0), ("05503", 2)]
    assert result.vote.open and result.answered == 2


async def test_a_second_ballot_is_refused_and_the_first_stands(any_store: Store) -> None:
    await any_store.open_vote(_vote("m1", "v1"))
    await any_store.cast_ballot("m1", "v1", Ballot("167", "Huyện Định Hóa", 1, 1001.0))
    with pytest.raises(AlreadyVoted):
        await any_store.cast_ballot("m1", "v1", Ballot("167", "Huyện Định Hóa", 0, 1002.0))
    result = await any_store.vote_result("m1", "v1")
    assert result.counts == [0, 1, 0]
    assert [b.choice for b in result.ballots] == [1]


async def test_racing_ballots_of_one_site_count_once(any_store: Store) -> None:
    await any_store.open_vote(_vote("m1", "v1"))
    outcomes = await asyncio.gather(
        *(
            any_store.cast_ballot("m1", "v1", Ballot("167", "Huyện Định Hóa", i % 3, 1001.0 + i))
            for i in range(10)
        ),
        return_exceptions=True,
    )
    assert sum(o is None for o in outcomes) == 1
    assert all(isinstance(o, AlreadyVoted) for o in outcomes if o is not None)
    assert sum((await any_store.vote_result("m1", "v1")).counts) == 1


async def test_secret_vote_keeps_counts_not_choices(any_store: Store) -> None:
    await any_store.open_vote(_vote("m1", "v1", secret=True))
    await any_store.cast_ballot("m1", "v1", Ballot("167", "Huyện Định Hóa", 1, 1001.0))
    with pytest.raises(AlreadyVoted):
        await any_store.cast_ballot("m1", "v1", Ballot("167", "Huyện Định Hóa", 0, 1002.0))
    result = await any_store.vote_result("m1", "v1")
    assert result.counts == [0, 1, 0]
    assert result.ballots == []


async def test_closed_vote_takes_no_ballot_and_closes_once(any_store: Store) -> None:
    await any_store.open_vote(_vote("m1", "v1"))
    closed = await any_store.close_vote("m1", "v1", 1100.0)
    assert closed.closed_at == 1100.0 and not closed.open
    with pytest.raises(VoteClosed):
        await any_store.cast_ballot("m1", "v1", Ballot("167", "Huyện Định Hóa", 0, 1101.0))
    with pytest.raises(VoteClosed):
        await any_store.close_vote("m1", "v1", 1200.0)
    assert (await any_store.vote_result("m1", "v1")).counts == [0, 0, 0]
    assert (await any_store.get_vote("m1", "v1")).closed_at == 1100.0


async def test_votes_are_scoped_by_meeting(any_store: Store) -> None:
    await any_store.open_vote(_vote("m1", "v1", at=1000.0))
    await any_store.open_vote(_vote("m1", "v2", at=2000.0))
    await any_store.open_vote(_vote("m2", "v3"))
    assert [v.id for v in await any_store.meeting_votes("m1")] == ["v1", "v2"]
    with pytest.raises(VoteNotFound):
        await any_store.get_vote("m2", "v1")
    with pytest.raises(VoteNotFound):
        await any_store.cast_ballot("m2", "v1", Ballot("167", "Huyện Định Hóa", 0, 1.0))
    with pytest.raises(VoteNotFound):
        await any_store.close_vote("m2", "v1", 1.0)
    with pytest.raises(Conflict):
        await any_store.open_vote(_vote("m1", "v1"))
    assert (await any_store.get_vote("m1", "v1")).options[0] == "Đồng ý"


async def test_a_sites_ballot_reads_back_without_a_secret_votes_choice(any_store: Store) -> None:
    await any_store.open_vote(_vote("m1", "open"))
    await any_store.open_vote(_vote("m1", "secret", secret=True, at=1001.0))
    await any_store.cast_ballot("m1", "open", Ballot("167", "Huyện Định Hóa", 2, 1002.0))
    await any_store.cast_ballot("m1", "secret", Ballot("167", "Huyện Định Hóa", 1, 1003.0))
    assert await any_store.site_ballot("m1", "open", "167") == Ballot(
        "167", "Huyện Định Hóa", 2, 1002.0
    )
    assert await any_store.site_ballot("m1", "secret", "167") == Ballot(
        "167", "Huyện Định Hóa", None, 1003.0
    )
    assert await any_store.site_ballot("m1", "open", "05503") is None
    assert await any_store.site_ballot("m2", "open", "167") is None  # another meeting's vote
