"""Connection quality measured from our side, sampled for every connection into its room.

Besides loss, round trip and bitrates, each sample carries the site's link as
the layer policy sees it (downlink estimate, the layer each video slot
receives, the slots paused for its link, the camera layers it is asked to
send), for the host's roll call; :meth:`QualitySampler.link_metrics` sums the
same for ``/metrics`` with a bounded set of labels (per room), and
:meth:`QualitySampler.site_links` lists each site's link for the per-site series
(one set per site present in an open room: they go when it leaves).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from conference.connections import Connection, Connections
from conference.layer_policy import FULL, RATE_NAMES
from conference.rooms.roll_call import Quality
from conference.sfu import RIDS

QUALITY_SECONDS = 5.0
SAMPLE_SLICE = 16  # sites sampled between two yields to the loop


@dataclass
class RoomLink:
    """One room's links, summed for ``/metrics``."""

    sites: int = 0  # browser sites with slots
    sites_link_paused: int = 0  # of them, with at least one slot paused for their link
    downlink_kbps: list[float] = field(default_factory=list)  # the estimates known

    @property
    def downlink_kbps_min(self) -> float | None:
        """The weakest known downlink."""
        return min(self.downlink_kbps) if self.downlink_kbps else None

    @property
    def downlink_kbps_median(self) -> float | None:
        """The median known downlink."""
        return statistics.median(self.downlink_kbps) if self.downlink_kbps else None


@dataclass
class LinkMetrics:
    """The SFU's layers and paused senders at one moment (gauges) and so far (counters)."""

    slots_link_paused: int = 0  # video slots paused because their subscriber's link is weak
    sites_paced: int = 0  # subscribers whose video is paced now (a thin downlink estimate)
    packets_paced_total: int = 0  # the SFU's count (SfuMetrics)
    slots_by_layer: dict[str, int] = field(default_factory=dict)  # rid -> video slots receiving it
    cameras_paused: int = 0  # browser cameras asked to send no video (nobody sees them)
    camera_layers_sent: dict[str, int] = field(default_factory=dict)  # rid -> cameras asked for it
    layer_switches_total: int = 0  # the SFU's count (SfuMetrics)
    publish_messages_total: int = 0
    rooms: dict[str, RoomLink] = field(default_factory=dict)


@dataclass(slots=True)
class SiteLink:
    """One site's link now, for the per-site series of ``/metrics``.

    A copy, never updated: ``/metrics`` formats a list of them in a thread.
    (Not ``frozen``: that makes each one cost twice as much to build, and
    2,000 are built on the event loop at each scrape.)
    """

    room: str
    site: str  # the participant id: the token's subject, the unit code for an invited site
    downlink_kbps: float | None  # its downlink estimate (REMB), once it sent one
    loss: float | None  # 0..1, the roll call's latest figure (the worse of up- and downlink)
    rtt_ms: float | None  # the roll call's latest round trip
    video_slots: int  # video slots it receives (0: a publisher only, e.g. WHIP)
    layers: dict[str, int]  # rid (q, h, f) -> its video slots forwarding that layer now
    link_paused: int  # its video slots paused because its downlink cannot carry them


class _RunningTotal:
    """A process-wide counter summed from per-object counters that come and go.

    Each object's latest value counts; when it goes, its last seen value stays.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._retired = 0

    def total(self, current: dict[str, int]) -> int:
        for key in set(self._seen) - set(current):
            self._retired += self._seen.pop(key)
        self._seen.update(current)
        return self._retired + sum(self._seen.values())


def link_quality(connection: Connection) -> dict[str, Any]:
    """The link fields of a site's :class:`Quality` (see ``roll_call.LINK_FIELDS``)."""
    subscription = connection.session.subscription
    video = [slot for slot in subscription.slots if slot.kind == "video"]
    downlink = subscription.downlink_bps
    return {
        "downlink_kbps": round(downlink / 1000, 1) if downlink is not None else None,
        "layers": {slot.name: slot.layer for slot in video if slot.source is not None},
        "link_paused": [slot.name for slot in video if slot.withholds_for_link],
        "sending": connection.room.publish_control.active_layers(connection.participant.id),
        "layer_switches": subscription.layer_switches,
        "frame_rates": {
            slot.name: RATE_NAMES[slot.rate]
            for slot in video
            if slot.rate != FULL and slot.source is not None and not slot.link_paused
        },
    }


class QualitySampler:
    """Turns each peer session's counters into round trip, loss and bitrates per site."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        # connection id -> (when, packets received, lost, bytes in, bytes out)
        self._previous: dict[str, tuple[float, int, int, int, int]] = {}
        self._publish = _RunningTotal()

    async def run(self) -> None:
        """Sample every :data:`QUALITY_SECONDS` until cancelled.

        A pass over 190 sites took up to 75 ms of the loop in one go (a 190-site
        run, docs/benchmarks.md): every packet waiting behind it waited that long.
        It yields to the loop every :data:`SAMPLE_SLICE` sites instead.
        """
        while True:
            await asyncio.sleep(QUALITY_SECONDS)
            now = time.time()
            connections = list(self.connections.by_id.values())
            for start in range(0, len(connections), SAMPLE_SLICE):
                if start:
                    await asyncio.sleep(0)
                for connection in connections[start : start + SAMPLE_SLICE]:
                    self._sample_one(connection, now)
            self._forget_gone()

    def sample(self, now: float) -> None:
        """One pass: report each connection's quality since the previous pass to its room."""
        for connection in list(self.connections.by_id.values()):
            self._sample_one(connection, now)
        self._forget_gone()

    def _forget_gone(self) -> None:
        for gone in set(self._previous) - set(self.connections.by_id):
            del self._previous[gone]

    def _sample_one(self, connection: Connection, now: float) -> None:
        if self.connections.by_id.get(connection.id) is not connection:
            return  # left while the pass yielded
        previous = self._previous
        try:
            sample = connection.session.quality_counters()
            link = link_quality(connection)
        except Exception:
            return
        before = previous.get(connection.id)
        previous[connection.id] = (now, *sample.counters)
        if before is None:
            return
        elapsed = max(now - before[0], 0.001)
        received, lost, bytes_in, bytes_out = (
            sample.counters[0] - before[1],
            sample.counters[1] - before[2],
            sample.counters[2] - before[3],
            sample.counters[3] - before[4],
        )
        up_loss = lost / (received + lost) if received + lost > 0 else None
        losses = [x for x in (up_loss, sample.down_loss) if x is not None]
        connection.room.report_quality(
            connection.participant.id,
            Quality(
                rtt_ms=sample.rtt_ms,
                loss=max(losses) if losses else None,
                bitrate_in_kbps=round(bytes_out * 8 / elapsed / 1000, 1),
                bitrate_out_kbps=round(bytes_in * 8 / elapsed / 1000, 1),
                source="server",
                at=now,
                **link,
            ),
        )

    def link_metrics(self) -> LinkMetrics:
        """Layers, paused slots and paused cameras across the process, now (for ``/metrics``)."""
        out = LinkMetrics()
        publish: dict[str, int] = {}
        for connection in list(self.connections.by_id.values()):
            room = connection.room
            # By object: a room that closed and opened again counts from 0.
            publish[f"{room.id}:{id(room)}"] = room.publish_control.publish_sent
            subscription = connection.session.subscription
            video = [slot for slot in subscription.slots if slot.kind == "video"]
            if not video:
                continue
            link = out.rooms.setdefault(room.id, RoomLink())
            link.sites += 1
            paused = sum(slot.withholds_for_link for slot in video)
            out.sites_paced += subscription.pacer is not None
            out.slots_link_paused += paused
            link.sites_link_paused += paused > 0
            if subscription.downlink_bps is not None:
                link.downlink_kbps.append(round(subscription.downlink_bps / 1000, 1))
            for slot in video:
                if slot.layer is not None:
                    out.slots_by_layer[slot.layer] = out.slots_by_layer.get(slot.layer, 0) + 1
        for room in {c.room for c in self.connections.by_id.values()}:
            out.cameras_paused += room.publish_control.cameras_paused()
            for rids in room.publish_control.all_active_layers():
                for rid in rids:
                    out.camera_layers_sent[rid] = out.camera_layers_sent.get(rid, 0) + 1
        out.layer_switches_total = self.connections.metrics.layer_switches
        out.packets_paced_total = self.connections.metrics.packets_paced
        out.publish_messages_total = self._publish.total(publish)
        return out

    def site_links(self) -> list[SiteLink]:
        """Each site's link now, one per site present in an open room (for ``/metrics``).

        Loss and round trip are the roll call's (the sampler's RTCP figures or the
        site's own recent report); the downlink, the layers and the paused slots
        are read live. A site whose connection is being replaced by its reconnect
        counts once, with the connection the room holds: two samples with the
        same labels would make Prometheus refuse the whole scrape.
        """
        out: list[SiteLink] = []
        for connection in list(self.connections.by_id.values()):
            room = connection.room
            participant = connection.participant
            if room.closed or room.participants.get(participant.id) is not participant:
                continue
            entry = room.roll_call.entries.get(participant.id)
            quality = entry.quality if entry is not None else Quality()
            subscription = connection.session.subscription
            layers = dict.fromkeys(RIDS, 0)
            video = paused = 0
            for slot in subscription.slots:  # one pass, no lists: 2,000 sites on the loop
                if slot.kind != "video":
                    continue
                video += 1
                layer = slot.layer
                if layer in layers:
                    layers[layer] += 1
                if slot.link_paused:
                    paused += slot.withholds_for_link
            downlink = subscription.downlink_bps
            out.append(
                SiteLink(
                    room=room.id,
                    site=participant.id,
                    downlink_kbps=round(downlink / 1000, 1) if downlink is not None else None,
                    loss=quality.loss,
                    rtt_ms=quality.rtt_ms,
                    video_slots=video,
                    layers=layers,
                    link_paused=paused,
                )
            )
        return out
