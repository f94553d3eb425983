"""A live meeting room: its sites, roll call, floor, active speaker and slot routing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conference.rooms.console_events import (
    ConsoleClosed,
    ConsoleEvent,
    ConsoleFloor,
    ConsoleState,
    HandsChanged,
    LockChanged,
    PlateAlert,
    PresentingChanged,
    RaisedHand,
    RollCallChanged,
    SiteReadmitted,
    SiteRemoved,
    SpotlightChanged,
)
from conference.rooms.events import (
    DocumentsChanged,
    DocumentShown,
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
    RoomEvent,
    RoomInfo,
    SlotsChanged,
    SpeakerChanged,
    Welcome,
)
from conference.rooms.observer import RoomObserver
from conference.rooms.participant import Participant
from conference.rooms.presenting import SCREEN, Presenting, PresentRefused
from conference.rooms.publish_control import PublishControl
from conference.rooms.roll_call import InvitedSite, Quality, RollCall
from conference.rooms.router import (
    SiteView,
    audio_ranking,
    plan_audio,
    plan_video,
    video_order,
)
from conference.rooms.speaker import MIN_ACTIVITY, ActiveSpeakerDetector
from conference.rooms.speaking import SpeakingTimeline
from conference.settings import IceServer
from conference.tokens import Role

if TYPE_CHECKING:
    from conference.sfu import Source
    from conference.slot import Slot, Subscription

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.2
FULL_REROUTE_SECONDS = 1.0  # re-check every slot at least this often
RANK_DEPTH = 4  # audio slots (3) plus the first challenger
# A site reconnecting (a network drop, a new peer connection) keeps its place in
# others' slots this long while its new connection comes up (join to media: a
# second or two; a thin link's ICE and DTLS: more).
RETURN_GRACE_SECONDS = 15.0
ALERTS_KEPT = 1_000  # plate alerts waiting for the store (its writes are every 2 s)
LARGE_ROOM = 50  # above this many sites, sites get a count instead of every join and leave
CONSOLE_FLUSH_SECONDS = 0.5  # roll-call changes reach consoles in batches this often

Publisher = Callable[[ConsoleEvent], None]


class RoomRefused(Exception):
    """A site may not enter this room now; ``code`` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Room:
    """The runtime of one room; created when its first site joins (or its meeting opens)."""

    def __init__(
        self,
        room_id: str,
        name: str,
        codec: str,
        invited: list[InvitedSite] | None = None,
        publish: Publisher | None = None,
        large_room: int = LARGE_ROOM,
    ) -> None:
        self.id = room_id
        self.name = name
        self.codec = codec
        self.participants: dict[str, Participant] = {}
        self.detector = ActiveSpeakerDetector()
        # Who was heard as the speaker, when (for the minutes); the home room's only.
        self.speaking = SpeakingTimeline(TICK_SECONDS)
        # Plate alerts shown to the hosts and not yet kept for the minutes (conference/alert_log.py).
        self.alerts_shown: list[PlateAlert] = []
        self.roll_call = RollCall(invited)
        self.spotlight: str | None = None
        self.floor: str | None = None
        self.hands: dict[str, float] = {}  # site -> raised at, in raising order
        self.locked = False
        self.removed: set[str] = set()
        self.host_muted: set[str] = set()  # sites the host muted: it sticks across reconnections
        # Sites whose connection was lost (not left on purpose) with their camera
        # on: until the deadline they keep their place in the others' slots (shown
        # as reconnecting), and their own last plan, should they come back.
        self.returning: dict[str, tuple[float, dict[str, str | None]]] = {}
        self.ever_joined: set[str] = set()
        self.closed = False
        self._publish = publish
        self._large_room = large_room
        self._task: asyncio.Task[None] | None = None
        self._on_empty: list[Callable[[Room], None]] = []
        self._ranking: tuple[str, ...] = ()
        self._last_reroute = 0.0
        self._signature: tuple[Any, ...] = ()
        self._last_flush = 0.0
        self._count_dirty = False
        self.observers: list[RoomObserver] = []
        self.recording = False
        self.publish_control = PublishControl()
        self.presenting = Presenting()
        # The site whose presentation is in the main slots now: set once its
        # screen's media flows (the sites never see an empty main slot meanwhile).
        self._shown: str | None = None
        self._shown_end_reason = "stopped"
        # The document the host shows every site (conference/documents/service.py);
        # a site joining later opens it too (catch_up).
        self.document: DocumentShown | None = None
        # Counts uploads and deletions at the home; a carrier copy follows it (cascade).
        self.documents_revision = 0
        # A copy of a meeting whose home is another instance (conference/cascade/):
        # it carries its own sites and follows the home's decisions; its consoles
        # follow the home, so it publishes nothing and saves no roll call.
        self.carrier = False

    def __repr__(self) -> str:
        return f"Room({self.id!r}, {len(self.participants)} sites)"

    @property
    def large(self) -> bool:
        """Whether sites get counts instead of every join and leave."""
        return len(self.participants) > self._large_room

    def _observe(self, method: str, *args: Any) -> None:
        for observer in list(self.observers):
            try:
                getattr(observer, method)(*args)
            except Exception:  # an observer (the recorder) must not break the room
                logger.exception("room %s observer %s failed", self.id, method)

    # -- membership -------------------------------------------------------------------

    def admit(self, site_id: str) -> None:
        """Raise :class:`RoomRefused` if ``site_id`` may not come in now."""
        if self.closed:
            raise RoomRefused("room-closed", "the meeting has ended")
        if site_id in self.removed:
            raise RoomRefused("removed", "the host removed this site from the meeting")
        if self.locked and site_id not in self.ever_joined:
            raise RoomRefused("room-locked", "the host has locked the meeting")

    def join(self, participant: Participant) -> Participant | None:
        """Add a site; returns the connection it replaces (same site reconnecting)."""
        if self.closed:
            raise RuntimeError("room is closed")
        previous = self.participants.get(participant.id)
        # Replacing in place keeps the site's join order: its place in the
        # others' thumbnails does not move to the end on a reconnect.
        self.participants[participant.id] = participant
        lost = self.returning.pop(participant.id, None)
        if previous is not None:
            participant.resume_plan = dict(previous.plan)
            if previous.had_video:
                participant.returning_until = time.monotonic() + RETURN_GRACE_SECONDS
        elif lost is not None and lost[0] > time.monotonic():
            # Back after its connection was lost: where it was, as if replaced.
            participant.returning_until, participant.resume_plan = lost[0], dict(lost[1])
        if participant.id in self.host_muted:
            participant.host_muted = True
            participant.audio_muted = True
        self.ever_joined.add(participant.id)
        self.publish_control.forget(participant.id)  # a new connection starts untold
        self.roll_call.joined(participant.id, participant.name, feed=participant.client == "camera")
        if previous is not None:
            self._detach(previous)
            previous.send(ParticipantLeft(participant_id=previous.id, reason="replaced"))
            self._announce(
                ParticipantUpdated(participant=participant.info()), exclude=participant.id
            )
        else:
            self._announce(
                ParticipantJoined(participant=participant.info()), exclude=participant.id
            )
        if (
            previous is not None
            and SCREEN not in participant.sources
            and self.presenting.stop(participant.id) is not None
        ):
            self._presenting_changed("left")  # the new connection cannot present
        if previous is not None:
            self._observe("participant_left", previous, "replaced")
        self._observe("participant_joined", participant)
        self._ensure_running()
        self.reroute(force=False)
        return previous

    def leave(self, participant: Participant, reason: str = "left") -> None:
        """Remove a site (no-op if it was already replaced by a newer connection)."""
        if self.participants.get(participant.id) is not participant:
            return
        del self.participants[participant.id]
        if reason == "connection-lost" and participant.had_video:
            deadline = time.monotonic() + RETURN_GRACE_SECONDS
            self.returning[participant.id] = (deadline, dict(participant.plan))
        self._detach(participant)
        self.publish_control.forget(participant.id)
        self._observe("participant_left", participant, reason)
        self.detector.forget(participant.id)
        self.roll_call.left(participant.id, removed=reason == "removed")
        if self.spotlight == participant.id:
            self.spotlight = None
        if self.hands.pop(participant.id, None) is not None:
            self._hands_changed()
        if self.floor == participant.id:
            self.floor = None
            self.broadcast(FloorChanged(participant_id=None))
        if self.presenting.stop(participant.id) is not None:
            self._presenting_changed("left")
        elif self.presenting.withdraw(participant.id):
            self._presenting_changed()
        self.presenting.forget(participant.id)
        self._announce(ParticipantLeft(participant_id=participant.id, reason=reason))
        self.reroute(force=False)
        if not self.sites_present():
            for callback in self._on_empty:
                callback(self)

    def sites_present(self) -> bool:
        """Whether anyone but feeds is in: a room of feeds alone is empty."""
        return any(p.client != "camera" for p in self.participants.values())

    def on_empty(self, callback: Callable[[Room], None]) -> None:
        """Call ``callback`` when the last site leaves."""
        self._on_empty.append(callback)

    def media_changed(self, participant: Participant) -> None:
        """The site's sources or slots were (re)negotiated, or its connection state moved."""
        if self.participants.get(participant.id) is not participant:
            return
        self.roll_call.connection(participant.id, participant.connection)
        self._observe("media_changed", participant)
        self._announce(ParticipantUpdated(participant=participant.info()))
        self.reroute(force=True)

    def set_muted(self, participant: Participant, audio: bool, video: bool) -> None:
        """A site muted or unmuted its microphone or camera."""
        if (participant.audio_muted, participant.video_muted) == (audio, video):
            return
        participant.audio_muted = audio
        participant.video_muted = video
        self.roll_call.muted(participant.id, audio, video)
        self._observe("event", "mute", participant.id, {"audio": audio, "video": video})
        self._announce(ParticipantUpdated(participant=participant.info()))
        self.reroute(force=True)

    def layers_changed(self, participant: Participant, subscription: Subscription) -> None:
        """The layer policy moved a site's slots (``Subscription.on_layers_changed``)."""
        if self.participants.get(participant.id) is participant:
            self.publish_control.layers_changed(participant, subscription)

    def report_quality(self, site_id: str, quality: Quality) -> None:
        """A connection-quality measurement (the site's report or our RTCP)."""
        self.roll_call.quality(site_id, quality)

    def _detach(self, participant: Participant) -> None:
        for slot in participant.slots:
            slot.assign(None)
        participant.plan = {}
        participant.plan_signature = ()

    # -- floor control ----------------------------------------------------------------

    def raise_hand(self, site_id: str, raised: bool) -> None:
        """A site raised or lowered its hand."""
        if site_id not in self.participants:
            return
        if raised and site_id not in self.hands and site_id != self.floor:
            self.hands[site_id] = time.time()
        elif not raised and site_id in self.hands:
            del self.hands[site_id]
        else:
            return
        self._hands_changed()

    def _hands_changed(self) -> None:
        for site_id, entry in self.roll_call.entries.items():
            at = self.hands.get(site_id)
            if entry.hand_raised_at != at:
                self.roll_call.hand(site_id, at)
        queue = [RaisedHand(id=s, at=at) for s, at in self.hands.items()]
        self.publish(HandsChanged(queue=queue))
        self._observe("event", "hands", None, {"queue": [h["id"] for h in queue]})
        for site_id in list(self.hands) + [p for p in self.participants if p not in self.hands]:
            participant = self.participants.get(site_id)
            if participant is not None:
                participant.send(HandChanged(raised=site_id in self.hands))

    def give_floor(self, site_id: str | None) -> None:
        """Give the floor to a site (None: take it back).

        The floor holder is in everyone's main slot and audio slots; its hand
        comes down.
        """
        if site_id is not None and site_id not in self.participants:
            raise RoomRefused("not-present", "that site is not in the meeting")
        if site_id == self.floor:
            return
        self.floor = site_id
        if site_id is not None and self.hands.pop(site_id, None) is not None:
            self._hands_changed()
        name = None
        if site_id is not None:
            holder = self.participants[site_id]
            name = holder.name
            # The host gives the floor to be heard: lift the host's mute.
            holder.host_muted = False
            self.host_muted.discard(site_id)
        self.broadcast(FloorChanged(participant_id=site_id, name=name))
        self.publish(ConsoleFloor(participant_id=site_id))
        self._observe("event", "floor", site_id)
        self.reroute(force=True)

    def set_spotlight(self, site_id: str | None) -> None:
        """Pin a site to everyone's main slot (None: follow the speaker again)."""
        if site_id is not None and site_id not in self.participants:
            raise RoomRefused("not-present", "that site is not in the meeting")
        self.spotlight = site_id
        self.publish(SpotlightChanged(participant_id=site_id))
        self._observe("event", "spotlight", site_id)
        self.reroute(force=True)

    def mute(self, site_ids: list[str] | None) -> list[str]:
        """Mute these sites' microphones (None: everyone but the floor holder)."""
        targets = [
            p
            for p in self.participants.values()
            if (site_ids is None and p.id != self.floor)
            or (site_ids is not None and p.id in site_ids)
        ]
        for participant in targets:
            participant.host_muted = True
            self.host_muted.add(participant.id)
            participant.send(MutedByHost(muted=True))
            if not participant.audio_muted:
                self.set_muted(participant, True, participant.video_muted)
        self.reroute(force=True)
        return [p.id for p in targets]

    def set_locked(self, locked: bool) -> None:
        """Lock (only sites that were in may come back) or unlock the room."""
        if self.locked != locked:
            self.locked = locked
            self.publish(LockChanged(locked=locked))
            self._observe("event", "lock", None, {"locked": locked})

    def remove(self, site_id: str) -> Participant | None:
        """Keep a site out of this meeting; returns its connection for the caller to end."""
        self.removed.add(site_id)
        self.hands.pop(site_id, None)
        participant = self.participants.get(site_id)
        if participant is None:
            self.roll_call.left(site_id, removed=True)
        self.publish(SiteRemoved(site_id=site_id))
        self._observe("event", "removed", site_id)
        return participant

    def readmit(self, site_id: str) -> None:
        """Let a removed site come back."""
        if site_id in self.removed:
            self.removed.discard(site_id)
            self.roll_call.readmitted(site_id)
            self.publish(SiteReadmitted(site_id=site_id))

    # -- presenting -------------------------------------------------------------------

    def request_presenting(self, site_id: str) -> str:
        """A site asks to present its screen: ``granted`` or ``pending`` (the host decides).

        Raises :class:`PresentRefused` when it may not: another site presents,
        or its connection has no screen section to send on.
        """
        participant = self.participants.get(site_id)
        if participant is None:
            raise PresentRefused("not-present", "that site is not in the meeting")
        if SCREEN not in participant.sources:
            raise PresentRefused(
                "no-screen-section",
                "this connection has no screen section: join with screen set to true",
            )
        presenter = self.presenting.presenter
        busy = self.participants.get(presenter) if presenter is not None else None
        was_waiting = site_id in self.presenting.requests
        status = self.presenting.ask(
            site_id,
            participant.name,
            is_host=participant.role is Role.HOST,
            busy_name=busy.name if busy is not None else None,
        )
        if status == "granted" and presenter != site_id:
            self._presenting_changed()
        elif status == "pending" and not was_waiting:
            self._presenting_changed()
        return status

    def stop_presenting(self, site_id: str | None = None, reason: str = "stopped") -> bool:
        """End the presentation (only ``site_id``'s, if given); False if none ran.

        ``reason`` ``host``: the host stopped it, and the presenter is told
        (``present-status`` ``stopped``) so that its page stops sending.
        """
        was = self.presenting.stop(site_id)
        if was is None:
            if site_id is not None and self.presenting.withdraw(site_id):
                self._presenting_changed()
            return False
        if reason == "host":
            presenter = self.participants.get(was)
            if presenter is not None:
                presenter.send(
                    PresentStatus(
                        status="stopped", code="stopped-by-host", message="the host stopped it"
                    )
                )
        self._presenting_changed(reason)
        return True

    def allow_presenting(self, site_id: str) -> None:
        """The host lets a waiting site present (refused while another one presents)."""
        if site_id not in self.presenting.requests:
            raise RoomRefused("no-request", "that site is not asking to present")
        participant = self.participants.get(site_id)
        if participant is None:
            self.presenting.withdraw(site_id)
            self._presenting_changed()
            raise RoomRefused("not-present", "that site is not in the meeting")
        presenter = self.presenting.presenter
        if presenter is not None:
            busy = self.participants.get(presenter)
            name = busy.name if busy is not None else presenter
            raise RoomRefused(
                "presentation-busy", f"{name} is presenting: stop that presentation first"
            )
        self.presenting.start(site_id)
        participant.send(PresentStatus(status="granted"))
        self._presenting_changed()

    def refuse_presenting(self, site_id: str) -> None:
        """The host turns down a site's request to present."""
        if not self.presenting.withdraw(site_id):
            raise RoomRefused("no-request", "that site is not asking to present")
        participant = self.participants.get(site_id)
        if participant is not None:
            participant.send(
                PresentStatus(
                    status="refused", code="refused-by-host", message="the host did not allow it"
                )
            )
        self._presenting_changed()

    def set_presenting_approval(self, approval: bool) -> None:
        """Whether a site (not a host's) needs the host's approval to present.

        Turning it off lets nobody in by itself: the waiting sites are told
        to ask again (the one presentation at a time still holds).
        """
        if self.presenting.approval == approval:
            return
        self.presenting.approval = approval
        if not approval:
            for site_id in list(self.presenting.requests):
                self.presenting.withdraw(site_id)
                participant = self.participants.get(site_id)
                if participant is not None:
                    participant.send(
                        PresentStatus(
                            status="refused",
                            code="ask-again",
                            message="approval is no longer needed: ask again",
                        )
                    )
        self._presenting_changed()

    def _presenting_changed(self, reason: str | None = None) -> None:
        """Tell the consoles, and move the slots if the presenter changed (the sites hear it
        when the slots move); a request alone moves nothing."""
        if reason is not None:
            self._shown_end_reason = reason
        self.publish(PresentingChanged(presenting=self.presenting.state()))
        if self.presenting.presenter != (self._shown or None) or reason is not None:
            self.reroute(force=True)

    def presentation_source(self) -> Source | None:
        """The presentation every other site sees now: None until its media flows."""
        presenter = self.presenting.presenter
        participant = self.participants.get(presenter) if presenter is not None else None
        screen = participant.sources.get(SCREEN) if participant is not None else None
        if screen is None or screen.ended or screen.last_packet_at is None:
            return None
        return screen

    def host_state(self) -> dict[str, Any]:
        """What the host decided that must outlive this room object: lock, removals, mutes."""
        return {
            "locked": self.locked,
            "removed": sorted(self.removed),
            "host_muted": sorted(self.host_muted),
            "presenting_approval": self.presenting.approval,
        }

    def restore(self, rows: list[dict[str, Any]], saved_at: float, state: dict[str, Any]) -> None:
        """Take back a saved roll call and :meth:`host_state` (the room reopened).

        A locked room lets the sites that were in back, as it would have; a
        site the host removed stays out, one the host muted stays muted.
        """
        self.roll_call.restore(rows, saved_at)
        self.ever_joined.update(s for s, e in self.roll_call.entries.items() if e.first_joined_at)
        self.locked = bool(state.get("locked"))
        self.presenting.approval = bool(state.get("presenting_approval"))
        for key, target in (("removed", self.removed), ("host_muted", self.host_muted)):
            values = state.get(key)
            if isinstance(values, list):
                target.update(v for v in values if isinstance(v, str))

    def lift_host_mute(self, site_id: str) -> Participant | None:
        """The host lets a site unmute itself again; returns the site if it is here."""
        self.host_muted.discard(site_id)
        participant = self.participants.get(site_id)
        if participant is not None and participant.host_muted:
            participant.host_muted = False
            participant.send(MutedByHost(muted=False))
        return participant

    def set_recording(self, active: bool, reason: str | None = None) -> None:
        """Show (or hide) the recording indicator everywhere."""
        if self.recording == active:
            return
        self.recording = active
        # Sites and consoles get the same message.
        changed = RecordingChanged(active=active, reason=reason)
        self.broadcast(changed)
        self.publish(changed)

    def plate_alert(self, site_id: str, alert: PlateAlert) -> None:
        """A feed in the room read a plate on a list: tell the consoles and the recorder."""
        data = {k: v for k, v in alert.to_wire().items() if k != "type"}
        self._observe("event", "plate-alert", site_id, data)
        self.publish(alert)
        # Kept in any copy of the meeting's room: the camera that read it is here, and
        # the home never sees the pass itself.
        self.alerts_shown.append(alert)
        del self.alerts_shown[:-ALERTS_KEPT]

    def show_document(self, shown: DocumentShown) -> None:
        """Open ``shown`` on every site's page (``shown.id`` None: close it)."""
        self.document = shown if shown.id is not None else None
        self.broadcast(shown)

    def documents_changed(self, revision: int | None = None) -> None:
        """A document was uploaded or deleted: every site lists them again.

        ``revision``: the home's count, at a carrier copy (None: one more here).
        """
        self.documents_revision = self.documents_revision + 1 if revision is None else revision
        self.broadcast(DocumentsChanged())

    def closing_soon(self, seconds: int) -> None:
        """Warn everyone that the meeting ends in ``seconds``."""
        closing = RoomClosing(seconds=seconds)
        self.broadcast(closing)
        self.publish(closing)

    # -- events -----------------------------------------------------------------------

    def broadcast(self, event: RoomEvent, exclude: str | None = None) -> None:
        """Send ``event`` to every site (except ``exclude``)."""
        for participant in list(self.participants.values()):
            if participant.id != exclude:
                try:
                    participant.send(event)
                except Exception:  # one broken socket must not stop the others
                    logger.exception("event delivery to %s failed", participant.id)

    def _announce(self, event: RoomEvent, exclude: str | None = None) -> None:
        """Who-is-here events: to every site in a small room, as a count in a large one."""
        if self.large:
            self._count_dirty = True
            subject = getattr(event, "participant", None)
            target = subject.id if subject is not None else getattr(event, "participant_id", None)
            # The site itself always hears about itself (mute, connection).
            own = self.participants.get(target) if target else None
            if own is not None and target != exclude and isinstance(event, ParticipantUpdated):
                own.send(event)
        else:
            self.broadcast(event, exclude)

    def publish(self, event: ConsoleEvent) -> None:
        """Tell the consoles (through the event bus); a carrier copy leaves that to the home.

        Except a plate alert: the camera that read it is in this copy (its reader
        runs on this node), and the home never sees the pass itself.
        """
        if self._publish is not None and (not self.carrier or isinstance(event, PlateAlert)):
            try:
                self._publish(event)
            except Exception:
                logger.exception("console event for room %s failed", self.id)

    def flush_console(self, now: float, force: bool = False) -> None:
        """Send the roll-call rows changed since the last flush, at most once a second."""
        if not force and now - self._last_flush < CONSOLE_FLUSH_SECONDS:
            return
        self._last_flush = now
        changes = self.roll_call.take_changes()
        if changes:
            self.publish(RollCallChanged(sites=changes, tiers=self.roll_call.tiers()))
        if self._count_dirty and self.large:
            self._count_dirty = False
            self.broadcast(ParticipantCount(count=len(self.participants)))

    def console_state(self) -> ConsoleState:
        """Everything a console shows, for a console that just connected."""
        return ConsoleState(
            room={"id": self.id, "name": self.name},
            sites=self.roll_call.snapshot(),
            tiers=self.roll_call.tiers(),
            hands=[RaisedHand(id=s, at=at) for s, at in self.hands.items()],
            floor=self.floor,
            spotlight=self.spotlight,
            speaker=self.detector.speaker,
            locked=self.locked,
            recording=self.recording,
            open=not self.closed,
            # Sites in the room; feeds are not attendance.
            present=sum(p.client != "camera" for p in self.participants.values()),
            presenting=self.presenting.state(),
        )

    # -- what a joining site is told ------------------------------------------------

    def welcome(self, participant: Participant, ice_servers: list[IceServer]) -> Welcome:
        """The ``welcome`` for a site that just joined: itself, the room, who is here."""
        return Welcome(
            participant=participant.info(),
            room=RoomInfo(id=self.id, name=self.name, codec=self.codec),
            ice_servers=ice_servers,
            participants=self._visible_to(participant),
            speaker=self.detector.speaker,
            floor=self.floor,
            count=len(self.participants),
            recording=self.recording,
            presenter=self._shown,
        )

    def _visible_to(self, participant: Participant) -> list[ParticipantInfo]:
        """The sites listed in welcome: all of a small room; in a large one, itself and the hosts."""
        return [
            p.info()
            for p in self.snapshot()
            if not self.large or p.id == participant.id or p.role is Role.HOST
        ]

    def catch_up(self, participant: Participant) -> list[RoomEvent]:
        """What a site that just joined must hear at once: its slots, the floor, its mute."""
        plan = dict(participant.plan)
        by_id = self.participants
        names = {s: by_id[s].name for s in plan.values() if s and s in by_id}
        events: list[RoomEvent] = [SlotsChanged(assignments=plan, names=names)]
        if self.floor is not None:
            holder = by_id.get(self.floor)
            events.append(
                FloorChanged(participant_id=self.floor, name=holder.name if holder else None)
            )
        if self.document is not None:
            events.append(self.document)
        if participant.host_muted:
            events.append(MutedByHost(muted=True))  # a reconnection does not escape the host's mute
        return events

    def snapshot(self) -> list[Participant]:
        """The sites in join order."""
        return list(self.participants.values())

    # -- routing ----------------------------------------------------------------------

    def _site_views(self, now: float) -> list[SiteView]:
        views = []
        for site_id, (deadline, _plan) in list(self.returning.items()):
            if deadline <= now or site_id in self.participants:
                del self.returning[site_id]
            else:
                # Lost, maybe coming back: its slots wait for it (empty meanwhile).
                views.append(SiteView(id=site_id, has_video=True, has_audio=False))
        for p in self.participants.values():
            audio = p.sources.get("audio")
            if "video" in p.sources:
                p.had_video = True
            # A lost connection's sources are gone before the site leaves: its
            # slots wait for the reconnection all the same.
            lost = p.had_video and p.connection in ("failed", "closed")
            views.append(
                SiteView(
                    id=p.id,
                    has_video="video" in p.sources or now < p.returning_until or lost,
                    has_audio=audio is not None,
                    video_muted=p.video_muted,
                    audio_muted=p.audio_muted,
                    activity=0.0 if audio is None or p.audio_muted else audio.speech_activity(now),
                )
            )
        return views

    def featured(self) -> str | None:
        """The site that belongs in everyone's main slot: floor, spotlight, else the speaker."""
        return self.floor or self.spotlight or self.detector.speaker

    def reroute(self, now: float | None = None, force: bool = True) -> None:
        """Recompute subscribers' slots and apply what changed.

        Subscribers whose inputs (the heads of the rankings) did not change
        are skipped unless ``force``: a join in a room of 2,000 sites then
        costs one plan, not 2,000.
        """
        if now is None:
            now = time.monotonic()
        self._last_reroute = now
        views = self._site_views(now)
        order = video_order(views, self.detector.recent)
        ranked, activity = audio_ranking(views)
        featured = self.featured()
        present = set(order)
        screen = self.presentation_source()
        shown = screen.owner if screen is not None else None
        if shown != self._shown:
            self._shown = shown
            if shown is None and self.presenting.presenter is not None:
                # Still the presenter, but its screen ended with its connection.
                self._shown_end_reason = "left"
            # What the sites saw, when they saw it: the composite shows it large then.
            ended = {} if shown is not None else {"reason": self._shown_end_reason}
            self._observe("event", "presenting", shown, ended)
            if shown is not None:
                # Its media flows: a recording starts the presentation's own track.
                self._observe("media_changed", self.participants[shown])
            force = True  # the main slots change source even where the plan keeps its sites
            self.broadcast(
                PresentationChanged(
                    participant_id=shown,
                    name=self.participants[shown].name if shown is not None else None,
                    reason=None if shown is not None else self._shown_end_reason,
                )
            )
            self._shown_end_reason = "stopped"
        # Others see the presenter's camera among the thumbnails, first.
        with_presenter = [shown, *(s for s in order if s != shown)] if shown in present else order
        signature = (featured, shown, tuple(order[:10]), tuple(ranked[:RANK_DEPTH]))
        by_id = self.participants
        for subscriber in list(by_id.values()):
            if not subscriber.slots:
                continue
            if not force and subscriber.plan and subscriber.plan_signature == signature:
                continue
            subscriber.plan_signature = signature
            mains = [s.name for s in subscriber.slots if s.name == "main"]
            thumbs = [s.name for s in subscriber.slots if s.name.startswith("thumb-")]
            audios = [s.name for s in subscriber.slots if s.kind == "audio"]
            # A reconnected site's first plan starts from what it showed before.
            current = subscriber.plan or subscriber.resume_plan
            if shown is not None and subscriber.id != shown:
                # The presentation takes the main slot; the rest as if nobody were featured.
                plan = plan_video(subscriber.id, [], thumbs, current, with_presenter, None, present)
                plan.update({name: shown for name in mains})
            else:
                plan = plan_video(subscriber.id, mains, thumbs, current, order, featured, present)
            plan.update(plan_audio(subscriber.id, audios, current, ranked, activity, featured))
            if plan == subscriber.plan:
                if force:
                    # Same sites, but a site's source may be a new object (a relayed
                    # source whose link was replaced, a renegotiated one): follow it.
                    for slot in subscriber.slots:
                        slot.assign(self._source_for(slot, plan.get(slot.name), shown))
                continue
            for slot in subscriber.slots:
                slot.assign(self._source_for(slot, plan.get(slot.name), shown))
            subscriber.plan = plan
            names = {
                sid: by_id[sid].name for sid in plan.values() if sid is not None and sid in by_id
            }
            subscriber.send(SlotsChanged(assignments=dict(plan), names=names))
        # A camera someone now sees resumes at once, not at the next tick.
        self.publish_control.check(by_id.values(), now)

    def _source_for(self, slot: Slot, site: str | None, shown: str | None) -> Source | None:
        """What ``slot`` carries of ``site``: its presentation in a main slot, else its camera
        (or microphone)."""
        owner = self.participants.get(site) if site is not None else None
        if owner is None:
            return None
        if site == shown and slot.name == "main":
            return owner.sources.get(SCREEN)
        return owner.sources.get(slot.kind)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        """Every tick: find the active speaker, move slots if needed, feed the consoles."""
        try:
            while not self.closed:
                await asyncio.sleep(TICK_SECONDS)
                now = time.monotonic()
                activity = {
                    p.id: p.sources["audio"].speech_activity(now)
                    for p in self.participants.values()
                    if "audio" in p.sources and not p.audio_muted
                }
                speaker_changed = self.detector.update(activity, now)
                if not self.carrier:  # the home keeps the meeting's one timeline
                    self._note_speaker(activity)
                if speaker_changed:
                    # Sites and consoles get the same message.
                    speaker = SpeakerChanged(participant_id=self.detector.speaker)
                    self.broadcast(speaker)
                    self.publish(speaker)
                    self._observe("event", "speaker", self.detector.speaker)
                # Slots only move when the speaker or the loudest few change
                # (joins, leaves and mutes reroute at once); a periodic full
                # pass catches slow drifts past the audio hysteresis margin.
                ranking = tuple(
                    sorted(
                        (site for site, level in activity.items() if level >= MIN_ACTIVITY),
                        key=lambda site: -activity[site],
                    )[:RANK_DEPTH]
                )
                full = now - self._last_reroute >= FULL_REROUTE_SECONDS
                if speaker_changed or ranking != self._ranking or full:
                    self._ranking = ranking
                    self.reroute(now, force=full)
                else:
                    self.publish_control.check(self.participants.values(), now)
                self.flush_console(time.monotonic())
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("room %s routing loop failed", self.id)

    def _note_speaker(self, activity: dict[str, float]) -> None:
        """Tick the speaking timeline with the detector's speaker and whether it is heard."""
        speaker = self.detector.speaker
        holder = self.participants.get(speaker) if speaker is not None else None
        if holder is None:
            self.speaking.tick(None, "", False, time.time())
            return
        heard = activity.get(holder.id, 0.0) >= MIN_ACTIVITY
        self.speaking.tick(holder.id, holder.name, heard, time.time())

    async def close(self, reason: str = "closed") -> None:
        """Tell everyone, stop routing and forget the sites."""
        if self.closed:
            return
        self.speaking.stop(time.time())
        self.broadcast(RoomClosed.because(reason))
        self.publish(ConsoleClosed(reason=reason))
        self.closed = True
        for participant in list(self.participants.values()):
            self._detach(participant)
            self.roll_call.left(participant.id)
        self.participants.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
