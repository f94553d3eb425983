"""The far end of a relayed stream: a Source whose packets come from a relay link."""

from __future__ import annotations

from typing import Protocol

from conference.sfu import SINGLE_LAYER, SfuMetrics, Sink, Source


class Upstream(Protocol):
    """What a RemoteSource asks of its link (:class:`conference.relay.link.RelayLink`)."""

    def want(self, source_id: str, rid: str) -> None:
        """Someone here takes ``source_id`` at layer ``rid``: have the origin send it."""

    def unwant(self, source_id: str, rid: str) -> None:
        """Nobody here takes it any more: have the origin stop sending it."""

    def request_keyframe(self, source_id: str, rid: str) -> None:
        """Ask the origin's publisher for a keyframe of that layer."""

    def release(self, remote: RemoteSource) -> None:
        """``remote`` ended here: unsubscribe whatever of it is still subscribed."""


class RemoteSource(Source):
    """A source published on another instance, as local slots see it.

    Slots, the recorder and rooms use it exactly as a local
    :class:`conference.sfu.Source`: the same id, kind, codec and, for a
    simulcast camera, one layer (itself a RemoteSource) per rid. The link
    subscribes a stream when its first sink attaches and unsubscribes it when
    its last sink leaves, so only what some subscriber here takes crosses the
    link. Keyframe requests go back over the link to the origin's source.
    The source ends when the origin says it ended, or when the link closes.
    """

    def __init__(
        self,
        *,
        upstream: Upstream,
        source_id: str,
        owner: str,
        kind: str,
        metrics: SfuMetrics,
        origin_id: str | None = None,
        rid: str = SINGLE_LAYER,
    ) -> None:
        self.origin_id = source_id if origin_id is None else origin_id
        self.upstream = upstream
        super().__init__(
            source_id=source_id,
            owner=owner,
            kind=kind,
            metrics=metrics,
            keyframe_requester=self._ask_keyframe,
        )
        self.rid = rid

    def _ask_keyframe(self) -> None:
        self.upstream.request_keyframe(self.origin_id, self.rid)

    def _receives(self) -> bool:
        # A camera with layers receives nothing itself: its layers do.
        return not self.layers and not self.ended

    def add_sink(self, sink: Sink) -> None:
        """Attach ``sink``; the first one subscribes the stream over the link."""
        first = not self.sinks
        super().add_sink(sink)
        if first and self.sinks and self._receives():
            self.upstream.want(self.origin_id, self.rid)

    def remove_sink(self, sink: Sink) -> None:
        """Detach ``sink``; after the last one the link unsubscribes the stream."""
        had = bool(self.sinks)
        super().remove_sink(sink)
        if had and not self.sinks and self._receives():
            self.upstream.unwant(self.origin_id, self.rid)

    def end(self) -> None:
        """End it here (and its layers); what is still subscribed is unsubscribed at once."""
        if self.ended:
            return
        if self.parent is None:
            self.upstream.release(self)
        super().end()

    def _new_layer(self, rid: str) -> Source:
        """A RemoteSource layer, with the origin's layer id (``"<id>:<rid>"``)."""
        return RemoteSource(
            upstream=self.upstream,
            source_id=f"{self.id}:{rid}",
            owner=self.owner,
            kind=self.kind,
            metrics=self.metrics,
            origin_id=self.origin_id,
            rid=rid,
        )
