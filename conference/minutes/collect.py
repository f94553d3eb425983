"""Gathering a meeting's minutes from the store, its roll call and its live room.

Everything here is read (never written) and small enough for the event loop
except the rendering, which :mod:`conference.minutes.pdf` and
:mod:`conference.minutes.word` do in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conference.minutes.record import (
    AlertLine,
    ChatLine,
    DocumentLine,
    Minutes,
    RecordingLink,
    SiteAttendance,
    SpeakerTotal,
    SpeakingLine,
    TierCount,
    VoteLine,
)
from conference.minutes.text import nfc, tier_name
from conference.rooms.roll_call import EntryKind, RollCall
from conference.store import Meeting, NotFound, SpeakingInterval, Store
from conference.votes import vote_results

ALERTS_NOTE = (
    "Cảnh báo do camera chốt trong cuộc họp phát hiện (biển số trong danh sách theo dõi "
    "hoặc xe từ tỉnh có dịch), như đã hiển thị cho chủ trì."
)


@dataclass
class LiveParts:
    """What only the live room knows: its speaking turn under way."""

    open_turns: list[SpeakingInterval] = field(default_factory=list)


async def collect_minutes(
    store: Store,
    meeting: Meeting,
    roll_call: RollCall,
    running: bool,
    *,
    live: LiveParts | None,
    recordings: list[RecordingLink],
    timezone: str,
    now: float,
) -> Minutes:
    """The minutes of ``meeting`` at ``now`` (``running``: its room is open and times grow)."""
    host_name = await _site_name(store, meeting.host_site)
    tiers, sites = _attendance(roll_call, now)
    came = [e for e in roll_call.entries.values() if e.first_joined_at is not None]
    actual_start = min((e.first_joined_at for e in came if e.first_joined_at), default=None)
    ends = [e.left_at for e in came if e.left_at is not None]
    actual_end = None if running or not ends else max(ends)
    intervals = await store.meeting_speaking(meeting.id)
    if live is not None:
        intervals = [*intervals, *live.open_turns]
    speaking = [SpeakingLine(nfc(i.name), i.start, i.end) for i in intervals]
    return Minutes(
        meeting_id=meeting.id,
        title=nfc(meeting.title),
        agenda=nfc(meeting.agenda),
        host_unit=host_name,
        host_name=host_name,
        created_by=meeting.created_by,
        scheduled_start=meeting.start,
        scheduled_end=meeting.end,
        actual_start=actual_start,
        actual_end=actual_end,
        running=running,
        cancelled=meeting.cancelled_at is not None,
        timezone=timezone,
        made_at=now,
        tiers=tiers,
        sites=sites,
        speaking=speaking,
        speakers=_totals(intervals),
        documents=[
            DocumentLine(nfc(d.name), d.size, d.sha256, d.uploaded_at)
            for d in await store.meeting_documents(meeting.id)
        ],
        votes=await _votes(store, meeting.id),
        chat=[
            ChatLine(m.at, nfc(m.name), m.audience == "host", m.host, nfc(m.text))
            for m in await store.meeting_chat(meeting.id)
        ],
        alerts=[
            AlertLine(a.at, nfc(a.checkpoint), a.plate, nfc(a.reason))
            for a in await store.meeting_alerts(meeting.id)
        ],
        alerts_note=ALERTS_NOTE,
        recordings=sorted(recordings, key=lambda r: r.started_at),
    )


async def _site_name(store: Store, site_id: str) -> str:
    try:
        return nfc((await store.get_site(site_id)).name)
    except NotFound:
        return site_id


def _attendance(roll_call: RollCall, now: float) -> tuple[list[TierCount], list[SiteAttendance]]:
    """Per tier, invited sites that came at some point / invited; and every site's row."""
    counts: dict[tuple[int, str], list[int]] = {}
    sites = []
    for entry in sorted(roll_call.entries.values(), key=lambda e: (e.depth, e.name)):
        tier = tier_name(entry.depth, entry.kind.value)
        came = entry.first_joined_at is not None
        if entry.kind is not EntryKind.SITE and not came:
            continue
        present, total = counts.setdefault((entry.depth, entry.kind.value), [0, 0])
        counts[(entry.depth, entry.kind.value)] = [present + came, total + 1]
        sites.append(
            SiteAttendance(
                name=nfc(entry.name),
                tier=tier,
                came=came,
                first_joined_at=entry.first_joined_at,
                present_seconds=entry.present_for(now),
                invited=entry.kind is EntryKind.SITE,
            )
        )
    tiers = [
        TierCount(tier_name(depth, kind), present, total, attendance=kind == EntryKind.SITE.value)
        for (depth, kind), (present, total) in sorted(counts.items())
    ]
    return tiers, sites


def _totals(intervals: list[SpeakingInterval]) -> list[SpeakerTotal]:
    """Turns and seconds per site, most speaking time first."""
    by_site: dict[str, tuple[str, int, float]] = {}
    for interval in intervals:
        _, turns, seconds = by_site.get(interval.site, ("", 0, 0.0))
        by_site[interval.site] = (nfc(interval.name), turns + 1, seconds + interval.seconds)
    totals = [SpeakerTotal(name, turns, seconds) for name, turns, seconds in by_site.values()]
    return sorted(totals, key=lambda t: (-t.seconds, t.name))


async def _votes(store: Store, meeting_id: str) -> list[VoteLine]:
    lines = []
    for result in await vote_results(store, meeting_id):
        vote = result.vote
        options = [nfc(o) for o in vote.options]
        voters = [
            (nfc(b.name), options[b.choice])
            for b in result.ballots
            if b.choice is not None and 0 <= b.choice < len(options)
        ]
        lines.append(
            VoteLine(
                question=nfc(vote.question),
                secret=vote.secret,
                opened_at=vote.opened_at,
                closed_at=vote.closed_at,
                options=list(zip(options, result.counts, strict=False)),
                answered=result.answered,
                voters=[] if vote.secret else voters,
            )
        )
    return lines
