"""One relay link: an established association between two instances.

A :class:`RelayLink` is symmetric: each end can export its local sources (the
origin side: a :class:`.sink.RelaySink` per stream a peer subscribed) and
import the peer's (the far side: :meth:`RelayLink.remote_source` gives a
:class:`.remote_source.RemoteSource`). Every datagram is sealed and opened by
:mod:`.cipher`; what does not open is dropped and counted in
``metrics.dropped`` by reason. The :class:`.endpoint.RelayEndpoint` (the
instance's socket) makes links and hands each its datagrams.

Media is sent once and never retransmitted: a packet lost on the link is a
gap the far slots' own subscribers see as loss, and their NACKs and keyframe
requests work as for a local source (a keyframe request crosses the link).
Control (subscribe, unsubscribe, announce, ended, missing) is numbered,
acknowledged, retransmitted every endpoint tick until acknowledged, and
applied in order. A link with nothing received for :data:`LINK_TIMEOUT`
closes: its remote sources end and its exported streams are detached.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conference.media.ntp import abs_send_time_bytes, ntp_from_unix
from conference.relay import handshake
from conference.relay.cipher import LinkCipher, Rejected
from conference.relay.messages import (
    BYE,
    CONTROL,
    CONTROL_ACK,
    FLAG_KEYFRAME,
    FLAG_LEVEL,
    KEYFRAME,
    MAX_STREAM_ID,
    MEDIA,
    MEDIA_HEADER,
    PING,
    REPORT,
    SENDER_REPORT,
    SEQUENCED,
    SHORT,
    BadMessage,
    Control,
)
from conference.relay.remote_source import RemoteSource
from conference.relay.sink import RelaySink
from conference.sfu import SINGLE_LAYER, MediaPacket, Source

if TYPE_CHECKING:
    from conference.relay.endpoint import RelayEndpoint

logger = logging.getLogger(__name__)

Address = tuple[str, int]

KEEPALIVE = 1.0  # seconds without sending anything before a PING
LINK_TIMEOUT = 10.0  # seconds without a valid datagram before the link is closed
MAX_CONTROL_AHEAD = 256  # control messages buffered out of order at most


@dataclass
class RelayMetrics:
    """Counters of an endpoint (datagrams no link claimed) or of one link."""

    datagrams_sent: int = 0
    bytes_sent: int = 0
    datagrams_received: int = 0
    bytes_received: int = 0
    media_sent: int = 0
    media_received: int = 0
    keyframe_requests_sent: int = 0
    keyframe_requests_received: int = 0
    control_sent: int = 0
    control_retransmitted: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


class RelayLink:
    """One established association with another instance (see the module docstring)."""

    def __init__(
        self,
        endpoint: RelayEndpoint,
        address: Address,
        keys: handshake.LinkKeys,
        hello_nonce: bytes,
        ack: bytes | None,
        peer_clock: float,
    ) -> None:
        self.endpoint = endpoint
        self.address = address
        self.peer_id = keys.peer_id
        self.metrics = RelayMetrics()
        self.closed = False
        self.unsubscribe_linger = endpoint.unsubscribe_linger
        self.hello_nonce = hello_nonce  # the HELLO this link answers (a resent HELLO: resend ACK)
        self.ack = ack  # what we answered (responder), to resend if the ACK was lost
        self.peer_clock = peer_clock  # the peer's clock in its handshake message of this link
        self._cipher = LinkCipher(keys)
        self._transport = endpoint.transport
        now = time.monotonic()
        self._last_sent = now
        self._last_received = now
        self.closed_callbacks: list[Callable[[RelayLink], None]] = []
        # Control, both directions.
        self._control_next = 0
        self._control_unacked: dict[int, bytes] = {}
        self._control_expected = 0
        self._control_ahead: dict[int, Control | None] = {}
        # Origin side: the streams we export over this link.
        self._exports: dict[tuple[str, str], RelaySink] = {}
        self._export_streams: dict[int, RelaySink] = {}
        self._next_stream = 0
        # Far side: the sources we import.
        self._remotes: dict[str, RemoteSource] = {}
        self._wanted: set[tuple[str, str]] = set()
        self._lingering: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._streams: dict[int, Source] = {}
        self._stream_of: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"RelayLink({self.endpoint.node_id!r} <-> {self.peer_id!r} at {self.address})"

    # -- sending -----------------------------------------------------------------------

    def send(self, plaintext: bytes) -> None:
        """Seal and send one message (media goes out once; nothing is queued)."""
        if self.closed:
            return
        datagram = self._cipher.seal(plaintext)
        self._transport.sendto(datagram, self.address)
        metrics = self.metrics
        metrics.datagrams_sent += 1
        metrics.bytes_sent += len(datagram)
        self._last_sent = time.monotonic()

    def _send_media(self, plaintext: bytes) -> None:
        self.metrics.media_sent += 1
        self.send(plaintext)

    def send_control(self, message: Control) -> None:
        """Send ``message`` reliably, in order (retransmitted until acknowledged)."""
        sequence = self._control_next
        self._control_next += 1
        plaintext = SEQUENCED.pack(CONTROL, sequence) + message.encode()
        self._control_unacked[sequence] = plaintext
        self.metrics.control_sent += 1
        self.send(plaintext)

    @property
    def control_pending(self) -> int:
        """Control messages sent and not yet acknowledged by the peer."""
        return len(self._control_unacked)

    # -- the far side: importing the peer's sources ------------------------------------

    def remote_source(
        self, source_id: str, kind: str, rids: list[str] | None = None, owner: str | None = None
    ) -> RemoteSource:
        """The peer's source ``source_id`` as a local Source (one per id per link).

        ``rids``: the layers of a simulcast camera (none: one stream). Nothing
        crosses the link until a sink attaches to the source or one of its layers.
        """
        remote = self._remotes.get(source_id)
        if remote is not None and not remote.ended:
            return remote
        remote = RemoteSource(
            upstream=self,
            source_id=source_id,
            owner=source_id.split(":", 1)[0] if owner is None else owner,
            kind=kind,
            metrics=self.endpoint.sfu_metrics,
        )
        if rids:
            remote.add_layers(rids)
        self._remotes[source_id] = remote
        return remote

    @property
    def remote_sources(self) -> dict[str, RemoteSource]:
        """The peer's sources imported over this link, by id."""
        return dict(self._remotes)

    def want(self, source_id: str, rid: str) -> None:
        """Subscribe ``source_id`` at ``rid`` (see :class:`.remote_source.Upstream`)."""
        key = (source_id, rid)
        lingering = self._lingering.pop(key, None)
        if lingering is not None:
            lingering.cancel()
        if key in self._wanted or self.closed:
            return
        self._wanted.add(key)
        self.send_control(Control("subscribe", source_id, rid))

    def unwant(self, source_id: str, rid: str) -> None:
        """Unsubscribe after :attr:`unsubscribe_linger` (a slot moving between layers comes back)."""
        key = (source_id, rid)
        if key not in self._wanted or key in self._lingering or self.closed:
            return
        if self.unsubscribe_linger <= 0:
            self._unsubscribe(key)
            return
        loop = asyncio.get_running_loop()
        self._lingering[key] = loop.call_later(self.unsubscribe_linger, self._unsubscribe, key)

    def _unsubscribe(self, key: tuple[str, str]) -> None:
        self._lingering.pop(key, None)
        if key not in self._wanted or self.closed:
            return
        self._wanted.discard(key)
        stream = self._stream_of.pop(key, None)
        if stream is not None:
            self._streams.pop(stream, None)
        self.send_control(Control("unsubscribe", *key))

    def request_keyframe(self, source_id: str, rid: str) -> None:
        """Ask the origin for a keyframe of a stream it already announced."""
        stream = self._stream_of.get((source_id, rid))
        if stream is None:
            return  # not announced yet: the origin asks for one when it attaches the stream
        self.metrics.keyframe_requests_sent += 1
        self.send(SHORT.pack(KEYFRAME, stream))

    def release(self, remote: RemoteSource) -> None:
        """``remote`` was ended here: unsubscribe its streams now (no linger), forget it."""
        for rid in list(remote.layers) or [remote.rid]:
            key = (remote.origin_id, rid)
            lingering = self._lingering.pop(key, None)
            if lingering is not None:
                lingering.cancel()
            self._unsubscribe(key)
        self._forget_remote(remote)

    def _forget_remote(self, remote: RemoteSource) -> None:
        for rid in list(remote.layers) or [remote.rid]:
            key = (remote.origin_id, rid)
            lingering = self._lingering.pop(key, None)
            if lingering is not None:
                lingering.cancel()
            self._wanted.discard(key)
            stream = self._stream_of.pop(key, None)
            if stream is not None:
                self._streams.pop(stream, None)
        if self._remotes.get(remote.id) is remote:
            del self._remotes[remote.id]

    # -- the origin side: exporting our sources ----------------------------------------

    @property
    def exports(self) -> dict[tuple[str, str], RelaySink]:
        """The streams sent over this link now, by (source id, rid)."""
        return dict(self._exports)

    def _allocate_stream(self) -> int:
        for _ in range(MAX_STREAM_ID + 1):
            stream = self._next_stream
            self._next_stream = (stream + 1) & MAX_STREAM_ID
            if stream not in self._export_streams:
                return stream
        raise RuntimeError("no free stream id on this link")

    def _on_subscribe(self, source_id: str, rid: str) -> None:
        key = (source_id, rid)
        sink = self._exports.get(key)
        if sink is None:
            source = self.endpoint.lookup(source_id)
            stream: Source | None = None
            if source is not None and not source.ended:
                if source.layers:
                    stream = source.layers.get(rid)
                elif rid == SINGLE_LAYER:
                    stream = source
            if stream is None or stream.ended:
                self.send_control(Control("missing", source_id, rid))
                return
            sink = RelaySink(
                stream_id=self._allocate_stream(),
                source=stream,
                source_id=source_id,
                rid=rid,
                send=self._send_media,
                ended=self._export_ended,
            )
            self._exports[key] = sink
            self._export_streams[sink.stream_id] = sink
        source = sink.source
        codec = source.codec or (source.parent.codec if source.parent is not None else "")
        self.send_control(
            Control("announce", source_id, rid, sink.stream_id, kind=source.kind, codec=codec)
        )
        source.add_sink(sink)
        # The far subscriber starts with a keyframe, as a local slot would ask.
        source.request_keyframe()

    def _on_unsubscribe(self, source_id: str, rid: str) -> None:
        sink = self._exports.pop((source_id, rid), None)
        if sink is not None:
            del self._export_streams[sink.stream_id]
            sink.source.remove_sink(sink)

    def _export_ended(self, sink: RelaySink, whole: bool) -> None:
        if self._exports.get((sink.source_id, sink.rid)) is not sink:
            return
        del self._exports[(sink.source_id, sink.rid)]
        del self._export_streams[sink.stream_id]
        self.send_control(Control("ended", sink.source_id, sink.rid, sink.stream_id, whole=whole))

    # -- receiving ---------------------------------------------------------------------

    def on_datagram(self, data: bytes) -> None:
        """One datagram from the peer's address (called by the endpoint)."""
        metrics = self.metrics
        try:
            plaintext = self._cipher.open(data)
        except Rejected as rejected:
            self.endpoint.count_drop(metrics, rejected.reason)
            return
        metrics.datagrams_received += 1
        metrics.bytes_received += len(data)
        self._last_received = time.monotonic()
        kind = plaintext[0] if plaintext else -1
        if kind == MEDIA:
            self._on_media(plaintext)
        elif kind == KEYFRAME and len(plaintext) == SHORT.size:
            self._on_keyframe_request(SHORT.unpack(plaintext)[1])
        elif kind == CONTROL and len(plaintext) > SEQUENCED.size:
            self._on_control(SEQUENCED.unpack_from(plaintext)[1], plaintext[SEQUENCED.size :])
        elif kind == CONTROL_ACK and len(plaintext) == SEQUENCED.size:
            acked = SEQUENCED.unpack(plaintext)[1]
            for sequence in [s for s in self._control_unacked if s < acked]:
                del self._control_unacked[sequence]
        elif kind == SENDER_REPORT and len(plaintext) == REPORT.size:
            _, stream, wall_clock, rtp_timestamp = REPORT.unpack(plaintext)
            target = self._streams.get(stream)
            if target is not None:
                target.sender_report = (wall_clock, rtp_timestamp)
        elif kind == PING and len(plaintext) == 1:
            pass
        elif kind == BYE and len(plaintext) == 1:
            logger.info("%r: closed by the peer", self)
            self.close(say_bye=False)
        else:
            self.endpoint.count_drop(metrics, "bad_message")

    def _on_media(self, plaintext: bytes) -> None:
        if len(plaintext) < MEDIA_HEADER.size:
            self.endpoint.count_drop(self.metrics, "bad_message")
            return
        _, stream, seq, timestamp, flags, level = MEDIA_HEADER.unpack_from(plaintext)
        target = self._streams.get(stream)
        if target is None:
            # Not announced yet, or unsubscribed with packets still on the way.
            self.endpoint.count_drop(self.metrics, "unknown_stream")
            return
        self.metrics.media_received += 1
        now = time.time()
        ntp = ntp_from_unix(now)
        target.push(
            MediaPacket(
                sequence_number=seq,
                timestamp=timestamp,
                marker=flags & 1,
                payload=plaintext[MEDIA_HEADER.size :],
                keyframe=bool(flags & FLAG_KEYFRAME),
                audio_level=level if flags & FLAG_LEVEL else None,
                arrival=time.monotonic(),
                abs_send_time=abs_send_time_bytes(ntp),
                ntp=ntp,
            )
        )

    def _on_keyframe_request(self, stream: int) -> None:
        sink = self._export_streams.get(stream)
        if sink is None:
            self.endpoint.count_drop(self.metrics, "unknown_stream")
            return
        self.metrics.keyframe_requests_received += 1
        sink.source.request_keyframe()

    def _on_control(self, sequence: int, body: bytes) -> None:
        expected = self._control_expected
        if expected <= sequence < expected + MAX_CONTROL_AHEAD:
            try:
                message: Control | None = Control.decode(body)
            except BadMessage:
                self.endpoint.count_drop(self.metrics, "bad_control")
                message = None  # skipped, but in its place: later messages still apply
            self._control_ahead[sequence] = message
            while self._control_expected in self._control_ahead:
                ready = self._control_ahead.pop(self._control_expected)
                self._control_expected += 1
                if ready is not None:
                    self._apply(ready)
                if self.closed:
                    return
        # Acknowledge every time, duplicates too: the previous ACK may have been lost.
        self.send(SEQUENCED.pack(CONTROL_ACK, self._control_expected))

    def _apply(self, message: Control) -> None:
        op = message.op
        if op == "subscribe":
            self._on_subscribe(message.source, message.rid)
        elif op == "unsubscribe":
            self._on_unsubscribe(message.source, message.rid)
        elif op == "announce":
            self._on_announce(message)
        elif op == "ended":
            self._on_ended(message)
        elif op == "missing":
            remote = self._remotes.get(message.source)
            if remote is not None and (message.source, message.rid) in self._wanted:
                self._forget_remote(remote)
                remote.end()

    def _on_announce(self, message: Control) -> None:
        key = (message.source, message.rid)
        remote = self._remotes.get(message.source)
        if remote is None or key not in self._wanted:
            return  # unsubscribed since: its packets are dropped as unknown_stream
        target: Source | None
        if remote.layers:
            target = remote.layers.get(message.rid)
        else:
            target = remote if message.rid == SINGLE_LAYER else None
        if target is None or message.kind != remote.kind:
            self.endpoint.count_drop(self.metrics, "bad_control")
            return
        if message.codec:
            target.codec = message.codec
            remote.codec = remote.codec or message.codec
        old = self._stream_of.get(key)
        if old is not None:
            self._streams.pop(old, None)
        self._stream_of[key] = message.stream
        self._streams[message.stream] = target

    def _on_ended(self, message: Control) -> None:
        key = (message.source, message.rid)
        target = self._streams.get(message.stream)
        if self._stream_of.get(key) == message.stream:
            del self._stream_of[key]
            self._streams.pop(message.stream, None)
        self._wanted.discard(key)
        remote = self._remotes.get(message.source)
        if remote is None or target is None:
            return
        if message.whole or target is remote:
            self._forget_remote(remote)
            remote.end()
        else:
            # One layer the origin no longer has (its answer dropped it): drop it here too.
            remote.keep_layers(r for r in remote.layers if r != message.rid)

    # -- time --------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Retransmit unacknowledged control, keep the link alive, close it when silent."""
        if now - self._last_received > LINK_TIMEOUT:
            logger.warning("%r: nothing received for %.0f s, closing", self, LINK_TIMEOUT)
            self.close(say_bye=False)
            return
        for plaintext in list(self._control_unacked.values())[:MAX_CONTROL_AHEAD]:
            self.metrics.control_retransmitted += 1
            self.send(plaintext)
        if now - self._last_sent > KEEPALIVE:
            self.send(bytes([PING]))

    def close(self, say_bye: bool = True) -> None:
        """End the imported sources, detach the exported streams, forget the peer.

        ``say_bye``: tell the peer, which then does the same at once instead of
        after :data:`LINK_TIMEOUT` (not when the peer is gone or said bye itself).
        """
        if self.closed:
            return
        if say_bye:
            self.send(bytes([BYE]))
        self.closed = True
        for handle in self._lingering.values():
            handle.cancel()
        self._lingering.clear()
        for sink in list(self._exports.values()):
            sink.source.remove_sink(sink)
        self._exports.clear()
        self._export_streams.clear()
        remotes = list(self._remotes.values())
        self._remotes.clear()
        self._streams.clear()
        self._stream_of.clear()
        self._wanted.clear()
        for remote in remotes:
            remote.end()
        self.endpoint.forget(self)
        for callback in self.closed_callbacks:
            try:
                callback(self)
            except Exception:
                logger.exception("relay link close callback failed")
