"""Roll call ("điểm danh"): every invited site, its status and its connection quality.

Built for thousands of sites: the table is a dict by site id, counts per tier
are kept up to date incrementally, and changes are collected so that the host
console gets one batch per second, not one message per site.

Attendance is the invited sites' tiers. Sites that come in uninvited (guests)
and feeds a host brought in have rows too, so the console can
show and remove them, but each kind is its own group after the real tiers and
neither counts towards "present / invited".
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

POOR_LOSS = 0.05  # 5 % packet loss
POOR_RTT_MS = 400.0
QUALITY_STALE_SECONDS = 15.0


class SiteStatus(StrEnum):
    """Where a site is in the meeting."""

    NOT_JOINED = "not-joined"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    POOR = "poor"  # connected, but losing packets or slow
    LEFT = "left"
    REMOVED = "removed"


PRESENT = {SiteStatus.CONNECTING, SiteStatus.CONNECTED, SiteStatus.POOR}


class EntryKind(StrEnum):
    """What a roll-call row stands for."""

    SITE = "site"  # an invited site: attendance
    GUEST = "guest"  # a site that came in without an invitation
    FEED = "camera"  # a feed brought into the meeting (the value stays: clients read it)


# Groups of the uninvited rows, after every unit tier (units are at most 16 deep).
GUEST_DEPTH = 1000
FEED_DEPTH = 1001
GUEST_LABEL = "Khách mời"
FEED_LABEL = "Camera"  # the group's label the console shows


@dataclass
class Quality:
    """A site's connection, from its own report or from our RTCP."""

    rtt_ms: float | None = None
    loss: float | None = None  # 0..1, the worse of up- and downlink
    bitrate_in_kbps: float | None = None  # what the site receives
    bitrate_out_kbps: float | None = None  # what the site sends
    source: str = "server"  # "client" (its getStats) or "server" (RTCP)
    at: float = 0.0
    # The site's link as the server sees it (never in a client's own report):
    downlink_kbps: float | None = None  # its downlink estimate (REMB)
    layers: dict[str, str | None] | None = None  # video slot -> layer it receives (None: none)
    link_paused: list[str] | None = None  # slots paused because its downlink cannot carry them
    sending: list[str] | None = None  # camera layers it is asked to send ([]: camera paused)
    layer_switches: int | None = None  # layer changes of its slots so far
    # Video slots forwarded at a reduced frame rate -> "half" or "base" (absent: every frame).
    frame_rates: dict[str, str] | None = None

    def link(self) -> dict[str, Any]:
        """The server-only link fields, to carry over to a sample that lacks them."""
        return {name: getattr(self, name) for name in LINK_FIELDS}

    @property
    def poor(self) -> bool:
        """Whether this counts as a poor connection."""
        return (self.loss is not None and self.loss >= POOR_LOSS) or (
            self.rtt_ms is not None and self.rtt_ms >= POOR_RTT_MS
        )


@dataclass
class RollCallEntry:
    """One row of the roll call."""

    site_id: str
    name: str
    unit_code: str | None
    depth: int
    unit_type: str
    invited: bool
    kind: EntryKind = EntryKind.SITE
    status: SiteStatus = SiteStatus.NOT_JOINED
    joined_at: float | None = None  # the latest join
    left_at: float | None = None
    first_joined_at: float | None = None
    present_seconds: float = 0.0  # in the meeting over the joins that ended (see present_for)
    hand_raised_at: float | None = None
    audio_muted: bool = False
    video_muted: bool = False
    quality: Quality = field(default_factory=Quality)

    def as_json(self) -> dict[str, Any]:
        """The row on the wire."""
        # Field by field: dataclasses.asdict deep-copies, and a 2,000-site
        # snapshot (a console connecting, the attendance being saved) runs on
        # the event loop that forwards media: 44 ms with asdict, ~7 without.
        out = {name: getattr(self, name) for name in _ENTRY_FIELDS}
        out["status"] = self.status.value
        out["kind"] = self.kind.value
        out["quality"] = {name: getattr(self.quality, name) for name in _QUALITY_FIELDS}
        return out

    def present_for(self, now: float) -> float:
        """Seconds in the meeting so far, the current join included."""
        if self.status in PRESENT and self.joined_at is not None:
            return self.present_seconds + max(0.0, now - self.joined_at)
        return self.present_seconds


_ENTRY_FIELDS = tuple(f.name for f in fields(RollCallEntry))
_QUALITY_FIELDS = tuple(f.name for f in fields(Quality))
LINK_FIELDS = (
    "downlink_kbps",
    "layers",
    "link_paused",
    "sending",
    "layer_switches",
    "frame_rates",
)


@dataclass(frozen=True)
class InvitedSite:
    """What the roll call needs to know of an invited site."""

    site_id: str
    name: str
    unit_code: str | None
    depth: int
    unit_type: str


class RollCall:
    """The live table of a meeting's sites."""

    def __init__(self, invited: list[InvitedSite] | None = None) -> None:
        self.entries: dict[str, RollCallEntry] = {}
        self._dirty: set[str] = set()
        self._present_by_depth: Counter[int] = Counter()
        self._total_by_depth: Counter[int] = Counter()
        self._types_by_depth: dict[int, Counter[str]] = {}
        self._kind_by_depth: dict[int, EntryKind] = {}
        self.revision = 0  # counts joins, leaves and status moves: when a saved copy is stale
        self.arrivals = 0  # sites (and feeds) that joined for the first time here
        for site in invited or []:
            self._add(site, EntryKind.SITE)

    def _add(self, site: InvitedSite, kind: EntryKind) -> RollCallEntry:
        entry = RollCallEntry(
            site.site_id,
            site.name,
            site.unit_code,
            site.depth,
            site.unit_type,
            invited=kind is EntryKind.SITE,
            kind=kind,
        )
        self._kind_by_depth.setdefault(site.depth, kind)
        self.entries[site.site_id] = entry
        self._total_by_depth[site.depth] += 1
        self._types_by_depth.setdefault(site.depth, Counter())[site.unit_type] += 1
        self._changed(site.site_id)
        self.revision += 1
        return entry

    def _changed(self, site_id: str) -> None:
        self._dirty.add(site_id)

    def _set_status(self, entry: RollCallEntry, status: SiteStatus) -> None:
        was_present = entry.status in PRESENT
        entry.status = status
        is_present = status in PRESENT
        if was_present != is_present:
            self._present_by_depth[entry.depth] += 1 if is_present else -1
        self._changed(entry.site_id)
        self.revision += 1

    def entry(self, site_id: str, name: str, feed: bool = False) -> RollCallEntry:
        """The row of a site, added as a guest (or a feed) if it was not invited."""
        found = self.entries.get(site_id)
        if found is None:
            if feed:
                uninvited = InvitedSite(site_id, name, None, FEED_DEPTH, FEED_LABEL)
                found = self._add(uninvited, EntryKind.FEED)
            else:
                uninvited = InvitedSite(site_id, name, None, GUEST_DEPTH, GUEST_LABEL)
                found = self._add(uninvited, EntryKind.GUEST)
        return found

    def joined(self, site_id: str, name: str, now: float | None = None, feed: bool = False) -> None:
        """A site (or a feed) connected; its peer connection may still be coming up."""
        entry = self.entry(site_id, name, feed)
        if now is None:
            now = time.time()
        if entry.status in PRESENT and entry.joined_at is not None:
            # The same site again (a reconnect replacing its connection): the
            # time so far counts, and a new stretch begins.
            entry.present_seconds += max(0.0, now - entry.joined_at)
        entry.joined_at = now
        if entry.first_joined_at is None:
            entry.first_joined_at = now
            self.arrivals += 1
        entry.left_at = None
        self._set_status(entry, SiteStatus.CONNECTING)

    def connection(self, site_id: str, state: str) -> None:
        """The site's peer connection state moved."""
        entry = self.entries.get(site_id)
        if entry is None or entry.status not in PRESENT:
            return
        if state == "connected":
            self._set_status(entry, SiteStatus.POOR if entry.quality.poor else SiteStatus.CONNECTED)
        elif state in ("new", "connecting"):
            self._set_status(entry, SiteStatus.CONNECTING)

    def left(self, site_id: str, removed: bool = False, now: float | None = None) -> None:
        """A site went away (or was removed by the host)."""
        entry = self.entries.get(site_id)
        if entry is None:
            return
        if now is None:
            now = time.time()
        if entry.status in PRESENT and entry.joined_at is not None:
            entry.present_seconds += max(0.0, now - entry.joined_at)
        entry.left_at = now
        entry.hand_raised_at = None
        self._set_status(entry, SiteStatus.REMOVED if removed else SiteStatus.LEFT)

    def readmitted(self, site_id: str) -> None:
        """A removed site may come back: it shows as having left (or never joined)."""
        entry = self.entries.get(site_id)
        if entry is not None and entry.status is SiteStatus.REMOVED:
            self._set_status(entry, SiteStatus.LEFT if entry.joined_at else SiteStatus.NOT_JOINED)

    def quality(self, site_id: str, quality: Quality) -> None:
        """A new measurement of a present site's connection."""
        entry = self.entries.get(site_id)
        if entry is None or entry.status not in PRESENT:
            return
        current = entry.quality
        # A recent report of the site's own getStats wins over our RTCP view,
        # but only the server knows the link fields (layers, paused slots).
        if (
            quality.source == "server"
            and current.source == "client"
            and quality.at - current.at < QUALITY_STALE_SECONDS
        ):
            if current.link() != quality.link():
                entry.quality = replace(current, **quality.link())
                self._changed(site_id)
            return
        if quality.source == "client":
            quality = replace(quality, **current.link())
        entry.quality = quality
        if entry.status in (SiteStatus.CONNECTED, SiteStatus.POOR):
            self._set_status(entry, SiteStatus.POOR if quality.poor else SiteStatus.CONNECTED)
        self._changed(site_id)

    def hand(self, site_id: str, raised_at: float | None) -> None:
        """A site raised (time) or lowered (None) its hand."""
        entry = self.entries.get(site_id)
        if entry is not None and entry.hand_raised_at != raised_at:
            entry.hand_raised_at = raised_at
            self._changed(site_id)

    def muted(self, site_id: str, audio: bool, video: bool) -> None:
        """A site's microphone and camera state."""
        entry = self.entries.get(site_id)
        if entry is not None and (entry.audio_muted, entry.video_muted) != (audio, video):
            entry.audio_muted, entry.video_muted = audio, video
            self._changed(site_id)

    def tiers(self) -> list[dict[str, Any]]:
        """Present/total per tier, top tier first, then guests and feeds.

        A unit tier is named after its commonest unit type. ``kind`` says
        whether a group is attendance (``site``) or not (``guest``, ``camera`` for feeds:
        their total is how many came, not how many were invited).
        """
        out = []
        for depth in sorted(self._total_by_depth):
            label = self._types_by_depth[depth].most_common(1)[0][0]
            out.append(
                {
                    "depth": depth,
                    "label": label,
                    "kind": self._kind_by_depth[depth].value,
                    "present": self._present_by_depth[depth],
                    "total": self._total_by_depth[depth],
                }
            )
        return out

    def restore(self, rows: list[dict[str, Any]], saved_at: float) -> None:
        """Take back a saved copy of this meeting's roll call (the room reopened).

        Who came, when, and for how long is kept; a site that was in when the
        copy was saved counts as having left then. A row this version cannot
        read is skipped, never fatal.
        """
        for row in rows:
            try:
                site_id = str(row["site_id"])
                kind = EntryKind(row.get("kind", EntryKind.SITE.value))
                status = SiteStatus(row["status"])
            except (KeyError, TypeError, ValueError):
                continue
            if status is SiteStatus.NOT_JOINED:
                continue
            entry = self.entry(site_id, str(row.get("name") or site_id), kind is EntryKind.FEED)
            joined_at = _seconds(row.get("joined_at"))
            entry.first_joined_at = _seconds(row.get("first_joined_at")) or joined_at
            entry.joined_at = joined_at
            entry.present_seconds = _seconds(row.get("present_seconds")) or 0.0
            entry.left_at = _seconds(row.get("left_at"))
            if status in PRESENT:
                if joined_at is not None:
                    entry.present_seconds += max(0.0, saved_at - joined_at)
                entry.left_at = saved_at
                status = SiteStatus.LEFT
            self._set_status(entry, status)

    def take_changes(self) -> list[dict[str, Any]]:
        """The rows changed since the last call, as JSON."""
        changed = [self.entries[s].as_json() for s in self._dirty if s in self.entries]
        self._dirty.clear()
        return changed

    def snapshot(self) -> list[dict[str, Any]]:
        """Every row, top tier first, then by name."""
        rows = sorted(self.entries.values(), key=lambda e: (e.depth, e.name))
        return [e.as_json() for e in rows]


def _seconds(value: Any) -> float | None:
    """A time or duration from a saved row (a number), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
