"""The origin's end of a relayed stream: a sink that sends each packet once over a link."""

from __future__ import annotations

from collections.abc import Callable

from conference.relay.messages import (
    FLAG_KEYFRAME,
    FLAG_LEVEL,
    MEDIA,
    MEDIA_HEADER,
    REPORT,
    SENDER_REPORT,
)
from conference.sfu import MediaPacket, Source


class RelaySink:
    """A :class:`conference.sfu.Sink` of one local stream (a source, or one layer of a camera).

    However many subscribers the far instance has behind the link, the
    stream has one RelaySink per link, so each packet crosses the link once.
    It keeps what a slot needs from the packet (sequence number, timestamp,
    marker, keyframe flag, audio level, payload) and tags it with the
    link's small ``stream_id`` for the stream (announced in a control
    message) instead of the source id. After each new RTCP sender report of
    the publisher it also sends that report's clock mapping once.
    """

    __slots__ = (
        "_ended",
        "_report",
        "_send",
        "packets",
        "rid",
        "source",
        "source_id",
        "stream_id",
    )

    def __init__(
        self,
        *,
        stream_id: int,
        source: Source,
        source_id: str,
        rid: str,
        send: Callable[[bytes], None],
        ended: Callable[[RelaySink, bool], None],
    ) -> None:
        self.stream_id = stream_id
        self.source = source  # the Source this sink is attached to (a layer, or the source)
        self.source_id = source_id  # the id the far end asked for (the camera's for a layer)
        self.rid = rid
        self.packets = 0
        self._send = send
        self._ended = ended
        self._report: tuple[float, int] | None = None

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        """Send ``packet`` over the link (the forwarding hot path: one pack, one seal)."""
        self.packets += 1
        report = source.sender_report
        if report is not self._report:
            # A new RTCP sender report from the publisher (a new tuple each time).
            self._report = report
            if report is not None:
                self._send(REPORT.pack(SENDER_REPORT, self.stream_id, report[0], report[1]))
        level = packet.audio_level
        flags = (packet.marker & 1) | (FLAG_KEYFRAME if packet.keyframe else 0)
        if level is not None:
            flags |= FLAG_LEVEL
        header = MEDIA_HEADER.pack(
            MEDIA,
            self.stream_id,
            packet.sequence_number,
            packet.timestamp,
            flags,
            level or 0,
        )
        self._send(header + packet.payload)

    def on_source_ended(self, source: Source) -> None:
        """Tell the far end; ``whole`` when the source itself ended, not only this layer."""
        parent = source.parent
        self._ended(self, parent is None or parent.ended)
