"""What a publisher's camera should send: the layers someone takes, with hysteresis.

A camera that nobody sees should not spend its site's uplink (a commune's
link is thin), and a layer nobody takes should not either. The room asks each
browser site to keep only the layers that are wanted (``publish``,
``docs/protocol.md``). :class:`PublishDemand` decides when to ask: a layer
that becomes wanted is added at once (a slot is waiting for its keyframe),
one that stops being wanted is dropped only after
:data:`UNWANTED_GRACE_SECONDS`, so a speaker who pauses for breath or a
thumbnail that moves for a moment does not make the encoder stop and restart
(each restart costs a keyframe).
"""

from __future__ import annotations

from collections.abc import Iterable

UNWANTED_GRACE_SECONDS = 2.0
RID_ORDER = ("q", "h", "f")  # low -> high; rids are names, never positions


def in_rid_order(rids: Iterable[str]) -> list[str]:
    """``rids`` low to high (known rids first in their order, unknown ones after, sorted)."""
    unique = set(rids)
    known = [r for r in RID_ORDER if r in unique]
    return known + sorted(unique - set(RID_ORDER))


class PublishDemand:
    """The layers one camera is asked to send, following what its sinks want.

    ``active`` starts as every layer the camera has, because that is what a
    site sends before it has been told anything (its page activates every
    encoding the answer negotiated).
    """

    def __init__(
        self, layers: Iterable[str], now: float, grace: float = UNWANTED_GRACE_SECONDS
    ) -> None:
        self.active: list[str] = in_rid_order(layers)
        self.grace = grace
        # rid -> since when it has been active but unwanted
        self._unwanted_since: dict[str, float] = {rid: now for rid in self.active}
        self.changes = 0

    def update(self, wanted: Iterable[str], now: float) -> list[str] | None:
        """Take the layers wanted now; the new active list if it changed, else None."""
        wanted_set = set(wanted)
        keep = set(wanted_set)
        for rid in self.active:
            if rid in wanted_set:
                self._unwanted_since.pop(rid, None)
                continue
            since = self._unwanted_since.setdefault(rid, now)
            if now - since < self.grace:
                keep.add(rid)
        for rid in list(self._unwanted_since):
            if rid not in keep:
                del self._unwanted_since[rid]
        active = in_rid_order(keep)
        if active == self.active:
            return None
        self.active = active
        self.changes += 1
        return active
