"""MeetingVotes and MeetingChat on a real room and a real store, without sockets.

Who may answer (invited sites only), a flood of tries, a bad choice; what
the chat keeps of a text (no control characters, no bidirectional overrides).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conference.chat import MeetingChat, clean_text
from conference.permissions import Forbidden, Principal
from conference.rooms.participant import Participant
from conference.rooms.roll_call import InvitedSite
from conference.rooms.room import Room
from conference.store import AccountRole, Meeting, SqliteStore
from conference.token_bucket import TokenBuckets
from conference.tokens import Role
from conference.votes import ANSWER_BURST, MeetingVotes

HOST = Principal("host.dinhhoa", "Định Hóa", AccountRole.HOST, "167")
MEETING = Meeting("m1", "Họp", "", 0.0, 9e9, "167", "host.dinhhoa", "r", 0.0)
INVITED = [
    InvitedSite("167", "Huyện Định Hóa", "167", 1, "Huyện"),
    InvitedSite("05536", "Thị trấn Chợ Chu", "05536", 2, "Thị trấn"),
]


def joined(room: Room, site_id: str, inbox: list) -> Participant:
    participant = Participant(id=site_id, name=site_id, role=Role.PARTICIPANT, notify=inbox.append)
    room.join(participant)
    return participant


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    the_room = Room("r", "Họp", "vp8", invited=INVITED, publish=lambda event: None)
    yield the_room
    await the_room.close()


async def test_only_invited_sites_answer_and_a_flood_of_tries_is_cut(
    store: SqliteStore, room: Room
) -> None:
    votes = MeetingVotes(store)
    inbox: list = []
    site = joined(room, "05536", inbox)
    guest = joined(room, "guest-1", [])
    vote = await votes.open(HOST, MEETING, room, "Thông qua?", ["Đồng ý", "Không"], False)
    with pytest.raises(Forbidden) as refused:
        await votes.answer(MEETING, room, guest, vote.id, 0)
    assert refused.value.code == "vote-not-invited"
    with pytest.raises(Forbidden) as bad:
        await votes.answer(MEETING, room, site, vote.id, 2)
    assert bad.value.code == "vote-bad-choice"
    await votes.answer(MEETING, room, site, vote.id, 1)
    codes = []
    for _ in range(ANSWER_BURST + 2):
        try:
            await votes.answer(MEETING, room, site, vote.id, 0)
        except Forbidden as exc:
            codes.append(exc.code)
    assert "vote-rate-limited" in codes and set(codes) <= {
        "vote-already-answered",
        "vote-rate-limited",
    }
    result = await store.vote_result("m1", vote.id)
    assert result.counts == [0, 1]
    assert [e.type for e in inbox if e.type.startswith("vote")] == ["vote", "vote-answered"]


async def test_a_vote_needs_two_to_ten_distinct_options(store: SqliteStore, room: Room) -> None:
    votes = MeetingVotes(store)
    for question, options in (
        ("Thông qua?", ["Đồng ý"]),
        ("Thông qua?", [str(i) for i in range(11)]),
        ("", ["Có", "Không"]),
        ("Thông qua?", ["Có", " Có "]),
        ("Thông qua?", ["Có", ""]),
    ):
        with pytest.raises(Forbidden) as refused:
            await votes.open(HOST, MEETING, room, question, options, False)
        assert refused.value.code == "vote-invalid"
    assert await store.meeting_votes("m1") == []


def test_chat_text_keeps_words_not_controls() -> None:
    assert clean_text("  Xin chào\r\n các xã\u0007 ") == "Xin chào\n các xã"
    # A right-to-left override would show "ý gnồĐ" as "Đồng ý".
    assert clean_text("Phiếu \u202eý gnồĐ\u202c") == "Phiếu ý gnồĐ"
    assert clean_text("\u2066tab\there\u2069") == "tab\there"


async def test_the_chat_refuses_before_it_stores(store: SqliteStore, room: Room) -> None:
    chat = MeetingChat(store, burst=2, per_seconds=60.0)
    site = joined(room, "05536", [])
    for text, code in (("\u202e \u0007", "chat-empty"), ("x" * 1001, "chat-too-long")):
        with pytest.raises(Forbidden) as refused:
            await chat.from_site(MEETING, room, site, text, "all")
        assert refused.value.code == code
    await chat.from_site(MEETING, room, site, "một", "all")
    await chat.from_site(MEETING, room, site, "hai", "host")
    with pytest.raises(Forbidden) as limited:
        await chat.from_site(MEETING, room, site, "ba", "all")
    assert limited.value.code == "chat-rate-limited"
    assert [m.text for m in await store.meeting_chat("m1")] == ["một", "hai"]


def test_token_buckets_refill_at_their_rate() -> None:
    now = [1000.0]
    buckets = TokenBuckets(5, 10.0, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(5)] == [0.0] * 5
    assert buckets.take("a") == pytest.approx(2.0)  # one token every 2 s
    assert buckets.take("b") == 0.0  # another sender has its own
    now[0] += 2.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    now[0] += 3600
    assert [buckets.take("a") for _ in range(5)] == [0.0] * 5  # full again, not more
    assert buckets.take("a") > 0
