"""A room tells its sites which camera layers to send, and which of their slots their link paused.

Two messages of ``docs/protocol.md`` come from here:

* ``publish``: per browser site, a :class:`~conference.publish_demand.PublishDemand`
  follows what its camera's layers are wanted for (slots, the recorder) and
  the site hears only when that changes. A site nobody sees stops sending
  video; a layer nobody takes stops too.
* ``link``: the slots the layer policy paused because the site's downlink
  cannot carry them, so that the page marks those tiles "đường truyền yếu"
  instead of leaving a frozen picture.

Checked from the room's tick and after each reroute: per site one call to
``wanted_layers()``, no per-packet work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conference.publish_demand import PublishDemand
from conference.rooms.events import LinkChanged, PublishLayers
from conference.rooms.participant import Participant

if TYPE_CHECKING:
    from conference.sfu import Source
    from conference.slot import Subscription

SINGLE_LAYER = ("f",)  # what a camera without simulcast calls its one encoding


@dataclass
class _Camera:
    source: Source
    layers: tuple[str, ...]
    demand: PublishDemand


def camera_layers(camera: Source) -> tuple[str, ...]:
    """The rids a camera publishes (``("f",)`` for a single-layer one)."""
    return tuple(camera.layers) or SINGLE_LAYER


class PublishControl:
    """The ``publish`` and ``link`` state of one room's sites."""

    def __init__(self) -> None:
        self._cameras: dict[str, _Camera] = {}  # site id -> its camera's demand
        self._paused_for_link: dict[str, tuple[str, ...]] = {}  # site id -> last told
        self.publish_sent = 0  # `publish` messages sent (for /metrics)

    def check(self, participants: Iterable[Participant], now: float) -> None:
        """Tell each browser site whose wanted camera layers changed (with hysteresis)."""
        for participant in participants:
            if participant.client != "browser":
                continue  # WHIP and feeds cannot be told: they send what they send
            camera = participant.sources.get("video")
            if camera is None:
                continue
            state = self._cameras.get(participant.id)
            layers = camera_layers(camera)
            if state is None or state.source is not camera or state.layers != layers:
                # A new connection (or the answer brought its layers): the
                # page starts with every encoding active.
                state = _Camera(camera, layers, PublishDemand(layers, now))
                self._cameras[participant.id] = state
            active = state.demand.update(camera.wanted_layers(), now)
            if active is not None:
                self.publish_sent += 1
                participant.send(PublishLayers(video=active))

    def active_layers(self, site_id: str) -> list[str] | None:
        """The layers ``site_id`` was last asked to send (None: not a camera we steer)."""
        state = self._cameras.get(site_id)
        return list(state.demand.active) if state is not None else None

    def all_active_layers(self) -> list[list[str]]:
        """The layers each steered camera of the room is asked to send."""
        return [list(state.demand.active) for state in self._cameras.values()]

    def cameras_paused(self) -> int:
        """How many steered cameras send no video now (nobody sees them)."""
        return sum(not state.demand.active for state in self._cameras.values())

    def layers_changed(self, participant: Participant, subscription: Subscription) -> None:
        """The layer policy moved this subscriber's slots: send ``link`` if its paused set changed."""
        paused = tuple(slot.name for slot in subscription.slots if slot.link_paused)
        if self._paused_for_link.get(participant.id, ()) == paused:
            return
        self._paused_for_link[participant.id] = paused
        downlink = subscription.downlink_bps
        participant.send(
            LinkChanged(
                paused=list(paused),
                downlink_kbps=round(downlink / 1000) if downlink is not None else None,
            )
        )

    def paused_for_link(self, site_id: str) -> list[str]:
        """The slots of ``site_id`` its link paused, as last told."""
        return list(self._paused_for_link.get(site_id, ()))

    def forget(self, site_id: str) -> None:
        """The site left."""
        self._cameras.pop(site_id, None)
        self._paused_for_link.pop(site_id, None)
