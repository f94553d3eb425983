"""Another instance's sites in this room copy: proxies built from its ``sites`` messages.

A proxy is a :class:`~conference.rooms.participant.Participant` with
``remote`` = the node that holds the site's connection, no slots (so
:meth:`Room.reroute` plans nothing for it) and, as sources, the
:class:`~conference.relay.remote_source.RemoteSource` objects of the relay
link to that node: a slot here that takes one subscribes it over the link, and
the stream crosses the link once whatever the number of slots behind it.
Everything else (roll call, who-is-here events, speaker detection, the
recorder) treats it as a site in the room.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Protocol

from conference.cascade.wire import SiteInfo, Sites
from conference.rooms.participant import Participant
from conference.rooms.roll_call import Quality
from conference.rooms.room import Room
from conference.sfu import Source
from conference.tokens import Role

logger = logging.getLogger(__name__)

_QUALITY_FIELDS = {f.name for f in dataclasses.fields(Quality)}


class Link(Protocol):
    """What proxies need of a relay link (:class:`conference.relay.link.RelayLink`)."""

    closed: bool

    def remote_source(
        self, source_id: str, kind: str, rids: list[str] | None = None, owner: str | None = None
    ) -> Source:
        """The peer's source ``source_id`` as a local Source."""
        ...


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        return Role.PARTICIPANT


def _quality(values: dict[str, object] | None) -> Quality | None:
    if not values:
        return None
    try:
        return Quality(**{k: v for k, v in values.items() if k in _QUALITY_FIELDS})  # type: ignore[arg-type]
    except TypeError:
        return None


def proxies_of(room: Room, node: str) -> dict[str, Participant]:
    """The proxies of ``node``'s sites in ``room``, by site id."""
    return {p.id: p for p in room.participants.values() if p.remote == node}


def _sources(link: Link, site: SiteInfo) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for info in site.sources:
        source = link.remote_source(info.id, info.kind, info.rids or None, owner=site.id)
        if info.rids:
            # The camera's layers as the origin has them now (the answer may end some).
            source.add_layers(info.rids)
            source.keep_layers(info.rids)
        sources[info.kind] = source
    return sources


def apply_sites(
    room: Room,
    node: str,
    message: Sites,
    link: Link | None,
    hands: dict[str, float],
    on_join: Callable[[Participant], None] | None = None,
) -> tuple[int, int]:
    """Make ``room``'s proxies of ``node`` what ``message`` says: (joined, left).

    ``link``: the relay link to ``node`` (None while it is being dialled: the
    proxies come in without media, which the next message adds). A site
    connected here too keeps its real connection; the proxy is skipped.
    ``hands``: the raise (its time there) applied last per site of ``node``:
    a hand goes up here once per raise there, so one the host lowered here
    does not come back up while the site's node has not heard of it yet.
    ``on_join``: told of each proxy that came in (the home's auto-record).
    """
    current = proxies_of(room, node)
    announced = {site.id for site in message.sites}
    joined = left = 0
    for site in message.sites:
        here = room.participants.get(site.id)
        if here is not None and here.remote is None:
            continue  # connected here: this copy has the real site
        proxy = current.get(site.id)
        usable = link is not None and not link.closed
        sources = _sources(link, site) if usable and link is not None else {}
        if proxy is None or proxy.joined_at != site.joined_at:
            proxy = Participant(
                id=site.id,
                name=site.name,
                role=_role(site.role),
                client=site.client,
                sources=sources,
                audio_muted=site.audio_muted,
                video_muted=site.video_muted,
                connection=site.connection,
                joined_at=site.joined_at,
                remote=node,
            )
            if room.closed:
                return joined, left
            room.join(proxy)
            if site.connection != "new":
                room.roll_call.connection(site.id, site.connection)  # a join starts "connecting"
            joined += 1
            if on_join is not None:
                on_join(proxy)
        else:
            changed = False
            if sources != proxy.sources and (usable or not site.sources):
                proxy.sources = sources
                changed = True
            if proxy.connection != site.connection:
                proxy.connection = site.connection
                changed = True
            if changed:
                room.media_changed(proxy)
            room.set_muted(proxy, site.audio_muted, site.video_muted)
        if site.hand is not None and hands.get(site.id) != site.hand:
            hands[site.id] = site.hand
            room.raise_hand(site.id, True)
        elif site.hand is None and hands.pop(site.id, None) is not None:
            room.raise_hand(site.id, False)  # lowered there
        quality = _quality(site.quality)
        entry = room.roll_call.entries.get(site.id)
        if quality is not None and (entry is None or entry.quality.at != quality.at):
            room.report_quality(site.id, quality)  # a new measurement there, not a repeat
    for site_id, proxy in current.items():
        if site_id not in announced and room.participants.get(site_id) is proxy:
            room.leave(proxy, "left")
            hands.pop(site_id, None)
            left += 1
    return joined, left


def drop_node(room: Room, node: str, reason: str = "left") -> int:
    """Take every proxy of ``node`` out of ``room`` (it stopped announcing, or closed)."""
    gone = 0
    for proxy in proxies_of(room, node).values():
        if room.participants.get(proxy.id) is proxy:
            room.leave(proxy, reason)
            gone += 1
    return gone
