"""A live meeting room: its sites, its active speaker and its slot routing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from conference.rooms.events import (
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RoomClosed,
    RoomEvent,
    SlotsChanged,
    SpeakerChanged,
)
from conference.rooms.participant import Participant
from conference.rooms.router import SiteView, plan_audio, plan_video, video_order
from conference.rooms.speaker import MIN_ACTIVITY, ActiveSpeakerDetector

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.2
FULL_REROUTE_SECONDS = 1.0  # re-check every slot at least this often
RANK_DEPTH = 4  # audio slots (3) plus the first challenger


class Room:
    """The runtime of one room; created when its first site joins."""

    def __init__(self, room_id: str, name: str, codec: str) -> None:
        self.id = room_id
        self.name = name
        self.codec = codec
        self.participants: dict[str, Participant] = {}
        self.detector = ActiveSpeakerDetector()
        self.spotlight: str | None = None
        self.closed = False
        self._task: asyncio.Task[None] | None = None
        self._ranking: tuple[str, ...] = ()
        self._last_reroute = 0.0
        self._on_empty: list[Callable[[Room], None]] = []

    def __repr__(self) -> str:
        return f"Room({self.id!r}, {len(self.participants)} sites)"

    # -- membership -------------------------------------------------------------------

    def join(self, participant: Participant) -> Participant | None:
        """Add a site; returns the connection it replaces (same site reconnecting)."""
        if self.closed:
            raise RuntimeError("room is closed")
        previous = self.participants.pop(participant.id, None)
        self.participants[participant.id] = participant
        if previous is not None:
            self._detach(previous)
            previous.send(ParticipantLeft(previous.id, "replaced"))
            self.broadcast(ParticipantUpdated(participant.info()), exclude=participant.id)
        else:
            self.broadcast(ParticipantJoined(participant.info()), exclude=participant.id)
        self._ensure_running()
        self.reroute()
        return previous

    def leave(self, participant: Participant, reason: str = "left") -> None:
        """Remove a site (no-op if it was already replaced by a newer connection)."""
        if self.participants.get(participant.id) is not participant:
            return
        del self.participants[participant.id]
        self._detach(participant)
        self.detector.forget(participant.id)
        if self.spotlight == participant.id:
            self.spotlight = None
        self.broadcast(ParticipantLeft(participant.id, reason))
        self.reroute()
        if not self.participants:
            for callback in self._on_empty:
                callback(self)

    def on_empty(self, callback: Callable[[Room], None]) -> None:
        """Call ``callback`` when the last site leaves."""
        self._on_empty.append(callback)

    def media_changed(self, participant: Participant) -> None:
        """The site's sources or slots were (re)negotiated, or its connection state moved."""
        if self.participants.get(participant.id) is not participant:
            return
        self.broadcast(ParticipantUpdated(participant.info()))
        self.reroute()

    def set_muted(self, participant: Participant, audio: bool, video: bool) -> None:
        """A site muted or unmuted its microphone or camera."""
        if (participant.audio_muted, participant.video_muted) == (audio, video):
            return
        participant.audio_muted = audio
        participant.video_muted = video
        self.broadcast(ParticipantUpdated(participant.info()))
        self.reroute()

    def _detach(self, participant: Participant) -> None:
        for slot in participant.slots:
            slot.assign(None)
        participant.plan = {}

    # -- events -----------------------------------------------------------------------

    def broadcast(self, event: RoomEvent, exclude: str | None = None) -> None:
        """Send ``event`` to every site (except ``exclude``)."""
        for participant in list(self.participants.values()):
            if participant.id != exclude:
                try:
                    participant.send(event)
                except Exception:  # one broken socket must not stop the others
                    logger.exception("event delivery to %s failed", participant.id)

    def snapshot(self) -> list[Participant]:
        """The sites in join order."""
        return list(self.participants.values())

    # -- routing ----------------------------------------------------------------------

    def _site_views(self, now: float) -> list[SiteView]:
        views = []
        for p in self.participants.values():
            audio = p.sources.get("audio")
            views.append(
                SiteView(
                    id=p.id,
                    has_video="video" in p.sources,
                    has_audio=audio is not None,
                    video_muted=p.video_muted,
                    audio_muted=p.audio_muted,
                    activity=0.0 if audio is None or p.audio_muted else audio.speech_activity(now),
                )
            )
        return views

    def featured(self) -> str | None:
        """The site that belongs in everyone's main slot."""
        return self.spotlight or self.detector.speaker

    def reroute(self, now: float | None = None) -> None:
        """Recompute every subscriber's slots and apply what changed."""
        if now is None:
            now = time.monotonic()
        self._last_reroute = now
        views = self._site_views(now)
        order = video_order(
            [v for v in views if not v.video_muted] + [v for v in views if v.video_muted],
            self.detector.recent,
        )
        featured = self.featured()
        by_id = self.participants
        for subscriber in list(by_id.values()):
            if not subscriber.slots:
                continue
            mains = [s.name for s in subscriber.slots if s.name == "main"]
            thumbs = [s.name for s in subscriber.slots if s.name.startswith("thumb-")]
            audios = [s.name for s in subscriber.slots if s.kind == "audio"]
            plan = plan_video(subscriber.id, mains, thumbs, subscriber.plan, order, featured)
            plan.update(plan_audio(subscriber.id, audios, subscriber.plan, views, featured))
            if plan == subscriber.plan:
                continue
            for slot in subscriber.slots:
                site = plan.get(slot.name)
                owner = by_id.get(site) if site is not None else None
                slot.assign(owner.sources.get(slot.kind) if owner is not None else None)
            subscriber.plan = plan
            subscriber.send(SlotsChanged(subscriber.id, dict(plan)))

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        """Every tick: find the active speaker and move slots if needed."""
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
                if speaker_changed:
                    self.broadcast(SpeakerChanged(self.detector.speaker))
                # Slots only move when the speaker or the loudest few change
                # (joins, leaves and mutes reroute at once); a periodic full
                # pass catches slow drifts past the audio hysteresis margin.
                ranking = tuple(
                    sorted(
                        (site for site, level in activity.items() if level >= MIN_ACTIVITY),
                        key=lambda site: -activity[site],
                    )[:RANK_DEPTH]
                )
                if (
                    speaker_changed
                    or ranking != self._ranking
                    or now - self._last_reroute >= FULL_REROUTE_SECONDS
                ):
                    self._ranking = ranking
                    self.reroute(now)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("room %s routing loop failed", self.id)

    async def close(self, reason: str = "closed") -> None:
        """Tell everyone, stop routing and forget the sites."""
        if self.closed:
            return
        self.broadcast(RoomClosed(reason))
        self.closed = True
        for participant in list(self.participants.values()):
            self._detach(participant)
        self.participants.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
