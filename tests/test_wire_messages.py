"""Every message model gives exactly the JSON of ``docs/protocol.md``, ``null`` included."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest

from conference.peer import SlotSection
from conference.rooms.console_events import (
    AlertMatch,
    CommandDone,
    ConsoleClosed,
    ConsoleEvent,
    ConsoleFloor,
    ConsoleWarning,
    HandsChanged,
    LockChanged,
    PlateAlert,
    PresentingChanged,
    RaisedHand,
    RecordingCommanded,
    RollCallChanged,
    SiteReadmitted,
    SiteRemoved,
    SitesMuted,
    SpotlightChanged,
    StateChanged,
    VoteCommanded,
    console_event_adapter,
)
from conference.rooms.events import (
    Bye,
    FloorChanged,
    HandChanged,
    MutedByHost,
    ParticipantCount,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    PresentationChanged,
    PresentStatus,
    RecordingChanged,
    RoomClosed,
    RoomClosing,
    RoomInfo,
    SlotsChanged,
    SpeakerChanged,
    Welcome,
)
from conference.rooms.talk_events import (
    BallotInfo,
    ChatPosted,
    VoteAnswered,
    VoteInfo,
    VoteOpened,
    VoteResultShown,
    VoteTally,
)
from conference.settings import IceServer
from conference.wire import WireMessage
from web.console_messages import (
    CommandError,
    ConsoleRefresh,
    ConsoleSnapshot,
    MeetingHeader,
    MessageError,
    Result,
)
from web.messages import Error, Offer, Pong

SITE = {
    "id": "05536",
    "name": "Thị trấn Chợ Chu",
    "role": "participant",
    "client": "browser",
    "audio": True,
    "video": False,
    "audio_muted": False,
    "video_muted": True,
    "joined_at": 1795666202.125,
    "connection": "new",
}
ROW = {"site_id": "05536", "name": "Thị trấn Chợ Chu", "status": "left", "quality": None}
STATE: dict[str, Any] = {
    "room": {"id": "r", "name": "Họp giao ban"},
    "sites": [ROW],
    "tiers": [{"depth": 2, "label": "Xã", "kind": "site", "present": 0, "total": 1}],
    "hands": [{"id": "05539", "at": 1795666210.5}],
    "floor": None,
    "spotlight": "05539",
    "speaker": None,
    "locked": False,
    "recording": True,
    "open": True,
    "present": 1,
}
ALERT: dict[str, Any] = {
    "type": "alert",
    "event": "ev-1",
    "feed": "cam1",
    "site": "feed-cam1",
    "checkpoint": "Chốt Km 52",
    "at": 1795666220.25,
    "plate": "20A12345",
    "display": "20A-123.45",
    "province_code": "20",
    "confidence": 0.93,
    "colour": None,
    "alerts": [{"kind": "watch", "reason": "Khai báo sai", "pattern": "20A*", "fuzzy": None}],
    "text": "danh sách theo dõi",
    "crop": "/api/anpr/events/ev-1/plate.jpg",
    "frame": None,
}
ICE = [IceServer(urls=["stun:stun.example.org:3478"])]

SITE_MESSAGES: list[tuple[WireMessage, dict[str, Any]]] = [
    (
        Welcome(
            participant=ParticipantInfo(**SITE),
            room=RoomInfo(id="r", name="Họp", codec="vp8"),
            ice_servers=ICE,
            participants=[ParticipantInfo(**SITE)],
            speaker=None,
        ),
        {
            "type": "welcome",
            "participant": SITE,
            "room": {"id": "r", "name": "Họp", "codec": "vp8"},
            "ice_servers": [
                {"urls": ["stun:stun.example.org:3478"], "username": None, "credential": None}
            ],
            "participants": [SITE],
            "speaker": None,
            "floor": None,
            "count": 0,
            "recording": False,
            "presenter": None,
        },
    ),
    (
        Offer(
            sdp="v=0\r\n",
            publish={"audio": "0", "video": "1"},
            slots=[SlotSection(slot="main", kind="video", mid="2")],
        ),
        {
            "type": "offer",
            "sdp": "v=0\r\n",
            "publish": {"audio": "0", "video": "1"},
            "slots": [{"slot": "main", "kind": "video", "mid": "2"}],
        },
    ),
    (
        SlotsChanged(assignments={"main": "167", "thumb-1": None}),
        {"type": "slots", "assignments": {"main": "167", "thumb-1": None}, "names": {}},
    ),
    (ParticipantCount(count=187), {"type": "participant-count", "count": 187}),
    (FloorChanged(participant_id=None), {"type": "floor", "id": None, "name": None}),
    (
        FloorChanged(participant_id="05539", name="Xã Linh Thông"),
        {"type": "floor", "id": "05539", "name": "Xã Linh Thông"},
    ),
    (HandChanged(raised=False), {"type": "hand", "raised": False}),
    (MutedByHost(muted=True), {"type": "muted-by-host", "muted": True}),
    (RecordingChanged(active=True), {"type": "recording", "active": True, "reason": None}),
    (RoomClosing(seconds=300), {"type": "closing", "seconds": 300}),
    (
        ParticipantJoined(participant=ParticipantInfo(**SITE)),
        {"type": "participant-joined", "participant": SITE},
    ),
    (
        ParticipantUpdated(participant=ParticipantInfo(**SITE)),
        {"type": "participant-updated", "participant": SITE},
    ),
    (
        ParticipantLeft(participant_id="05536", reason="left"),
        {"type": "participant-left", "id": "05536", "reason": "left"},
    ),
    (SpeakerChanged(participant_id="167"), {"type": "speaker", "id": "167"}),
    (
        PresentationChanged(participant_id="05539", name="Xã Linh Thông"),
        {"type": "presentation", "id": "05539", "name": "Xã Linh Thông", "reason": None},
    ),
    (
        PresentStatus(status="refused", code="presentation-busy", message="B is presenting"),
        {
            "type": "present-status",
            "status": "refused",
            "code": "presentation-busy",
            "message": "B is presenting",
        },
    ),
    (Pong(id=42), {"type": "pong", "id": 42}),
    (Bye(reason="left"), {"type": "bye", "reason": "left"}),
    (RoomClosed.because("ended"), {"type": "bye", "reason": "room-ended"}),
    (
        Error(code="invalid-message", message="mute.audio: bad"),
        {"type": "error", "code": "invalid-message", "message": "mute.audio: bad", "fatal": False},
    ),
]

VOTE = VoteInfo(
    id="v1", question="Thông qua?", options=["Đồng ý", "Không"], secret=False, open=True
)
VOTE_WIRE = {
    "id": "v1",
    "question": "Thông qua?",
    "options": ["Đồng ý", "Không"],
    "secret": False,
    "open": True,
}
CHAT = ChatPosted(
    seq=3, at=1.5, site="05503", name="Xã Phú Đình", to="host", text="<b>xin</b>", host=False
)
CHAT_WIRE = {
    "type": "chat",
    "seq": 3,
    "at": 1.5,
    "site": "05503",
    "name": "Xã Phú Đình",
    "to": "host",
    "text": "<b>xin</b>",
    "host": False,
}
BALLOT = BallotInfo(site="05503", name="Xã Phú Đình", choice=1, at=2.0)
BALLOT_WIRE = {"site": "05503", "name": "Xã Phú Đình", "choice": 1, "at": 2.0}
TALK_MESSAGES: list[tuple[WireMessage, dict[str, Any]]] = [
    (CHAT, CHAT_WIRE),
    (
        VoteOpened(vote=VOTE),
        {"type": "vote", "vote": VOTE_WIRE, "answered": False, "choice": None},
    ),
    (
        VoteOpened(vote=VOTE, answered=True, choice=1),
        {"type": "vote", "vote": VOTE_WIRE, "answered": True, "choice": 1},
    ),
    (VoteAnswered(vote="v1", choice=0), {"type": "vote-answered", "vote": "v1", "choice": 0}),
    (
        Result(id=7, reply=VoteCommanded(vote="v1")),
        {"type": "result", "id": 7, "ok": True, "vote": "v1"},
    ),
]

CONSOLE_EVENTS: list[tuple[ConsoleEvent, dict[str, Any]]] = [
    (CHAT, CHAT_WIRE),
    (
        VoteTally(vote=VOTE, counts=[0, 1], ballots=[BALLOT], invited=3),
        {
            "type": "vote-tally",
            "vote": VOTE_WIRE,
            "counts": [0, 1],
            "ballots": [BALLOT_WIRE],
            "invited": 3,
        },
    ),
    (
        VoteResultShown(vote=VOTE, counts=[0, 1], ballots=[BALLOT]),
        {"type": "vote-result", "vote": VOTE_WIRE, "counts": [0, 1], "ballots": [BALLOT_WIRE]},
    ),
    (
        StateChanged(state={**STATE, "alerts": [], "feeds": []}),
        {"type": "state", "state": {**STATE, "alerts": [], "feeds": []}},
    ),
    (
        RollCallChanged(sites=[ROW], tiers=STATE["tiers"]),
        {"type": "roll-call", "sites": [ROW], "tiers": STATE["tiers"]},
    ),
    (
        HandsChanged(queue=[RaisedHand(id="05539", at=1.5)]),
        {"type": "hands", "queue": [{"id": "05539", "at": 1.5}]},
    ),
    (ConsoleFloor(participant_id=None), {"type": "floor", "id": None}),
    (SpotlightChanged(participant_id="feed-cam1"), {"type": "spotlight", "id": "feed-cam1"}),
    (SpeakerChanged(participant_id=None), {"type": "speaker", "id": None}),
    (LockChanged(locked=True), {"type": "locked", "locked": True}),
    (SiteRemoved(site_id="05536"), {"type": "removed", "id": "05536"}),
    (SiteReadmitted(site_id="05536"), {"type": "readmitted", "id": "05536"}),
    (
        RecordingChanged(active=False, reason="stopped-by-host"),
        {"type": "recording", "active": False, "reason": "stopped-by-host"},
    ),
    (RoomClosing(seconds=300), {"type": "closing", "seconds": 300}),
    (ConsoleClosed(reason="ended"), {"type": "closed", "reason": "ended"}),
    (
        ConsoleWarning(code="recording-low-disk", message="the disk is almost full"),
        {"type": "warning", "code": "recording-low-disk", "message": "the disk is almost full"},
    ),
    (
        PlateAlert(
            **{k: v for k, v in ALERT.items() if k not in ("type", "alerts")},
            alerts=[AlertMatch(kind="watch", reason="Khai báo sai", pattern="20A*", fuzzy=None)],
        ),
        ALERT,
    ),
    (
        PresentingChanged(
            presenting={
                "presenter": None,
                "requests": [{"id": "05539", "name": "Xã Linh Thông", "at": 1.5}],
                "approval": True,
            }
        ),
        {
            "type": "presenting",
            "presenting": {
                "presenter": None,
                "requests": [{"id": "05539", "name": "Xã Linh Thông", "at": 1.5}],
                "approval": True,
            },
        },
    ),
]

CONSOLE_REPLIES: list[tuple[WireMessage, dict[str, Any]]] = [
    (
        ConsoleSnapshot(
            meeting=MeetingHeader(id="m1", title="Giao ban", host_site="167"),
            state={**STATE, "alerts": [PlateAlert.model_validate(ALERT)], "feeds": ["cam1"]},
        ),
        {
            "type": "console",
            "meeting": {"id": "m1", "title": "Giao ban", "host_site": "167"},
            "state": {**STATE, "alerts": [ALERT], "feeds": ["cam1"]},
        },
    ),
    (ConsoleRefresh(state=STATE), {"type": "console", "state": STATE}),
    (Result(id=7, reply=CommandDone()), {"type": "result", "id": 7, "ok": True}),
    (
        Result(id=7, reply=SitesMuted(muted=["05536"])),
        {"type": "result", "id": 7, "muted": ["05536"]},
    ),
    (
        Result(id=7, reply=RecordingCommanded(recording=None)),
        {"type": "result", "id": 7, "ok": True, "recording": None},
    ),
    (
        CommandError(id=7, code="not-present", message="that site is not in the meeting"),
        {
            "type": "error",
            "id": 7,
            "code": "not-present",
            "message": "that site is not in the meeting",
        },
    ),
    (
        MessageError(code="bad-json", message="not valid JSON"),
        {"type": "error", "code": "bad-json", "message": "not valid JSON"},
    ),
]


@pytest.mark.parametrize(
    ("message", "wire"),
    [*SITE_MESSAGES, *TALK_MESSAGES, *CONSOLE_EVENTS, *CONSOLE_REPLIES],
    ids=lambda v: type(v).__name__ if isinstance(v, WireMessage) else "",
)
def test_the_model_is_the_wire_form(message: WireMessage, wire: dict[str, Any]) -> None:
    assert message.to_wire() == wire
    # The same keys in the same order, as JSON text and as Python values.
    assert list(json.loads(message.to_json())) == list(wire)
    assert json.loads(message.to_json()) == wire


@pytest.mark.parametrize(("event", "wire"), CONSOLE_EVENTS, ids=lambda v: str(v)[:20])
def test_a_console_event_reads_back_from_the_bus(event: ConsoleEvent, wire: dict) -> None:
    assert console_event_adapter.validate_python(json.loads(json.dumps(wire))) == event


def test_every_console_event_type_is_in_the_union() -> None:
    types = {type(event) for event, _ in CONSOLE_EVENTS}
    assert types == set(typing.get_args(ConsoleEvent))


def test_a_closed_room_says_why_without_its_prefix() -> None:
    assert RoomClosed.because("cancelled").why == "cancelled"
