"""What a relay link carries inside its encrypted datagrams (:mod:`.cipher`).

The first byte says what follows:

* ``MEDIA``: stream id (u16), RTP sequence number (u16), RTP timestamp (u32),
  flags (u8: marker, keyframe, has an audio level), the RFC 6464 audio level
  byte (u8), then the RTP payload as the publisher sent it. 11 bytes of
  header: the rest of the RTP header (SSRC, payload type, extensions) is the
  receiving slot's to write, as for a local source.
* ``KEYFRAME``: stream id (u16): the far end asks the origin for a keyframe.
* ``SENDER_REPORT``: stream id (u16), the publisher's wall clock (f64 Unix
  seconds) and the RTP timestamp it maps to (u32), from the publisher's
  latest RTCP sender report: what a recorder aligns tracks with. Sent with
  the first packet after each new report; a lost one waits for the next.
* ``CONTROL``: a sequence number (u32) and one JSON object (:class:`Control`);
  control is delivered reliably and in order by the link (retransmitted until
  acknowledged), media is not.
* ``CONTROL_ACK``: the next control sequence number the sender expects (u32).
* ``PING``: nothing; keeps the link alive when nothing else is sent.
* ``BYE``: nothing; the sender closed the link (a lost BYE: the link times out).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

MEDIA = 0x10
KEYFRAME = 0x11
PING = 0x12
SENDER_REPORT = 0x13
BYE = 0x14
CONTROL = 0x20
CONTROL_ACK = 0x21

FLAG_MARKER = 1
FLAG_KEYFRAME = 2
FLAG_LEVEL = 4

MEDIA_HEADER = struct.Struct("!BHHIBB")
SHORT = struct.Struct("!BH")
REPORT = struct.Struct("!BHdI")
SEQUENCED = struct.Struct("!BI")
MAX_STREAM_ID = 0xFFFF
MAX_CONTROL_BYTES = 1000  # one control message fits in a datagram
OPS = ("subscribe", "unsubscribe", "announce", "ended", "missing")


class BadMessage(Exception):
    """A decrypted message that does not parse (a bug or a node of another version)."""


@dataclass(frozen=True, slots=True)
class Control:
    """One control message.

    ``subscribe``/``unsubscribe`` (far end -> origin): send / stop sending
    ``source`` at layer ``rid``. ``announce`` (origin -> far end): that layer
    comes as ``stream``, of ``kind`` and ``codec``. ``ended``: the stream
    ends; ``whole`` if the whole source (not only that layer) ended.
    ``missing``: the origin has no such source or layer.
    """

    op: str
    source: str
    rid: str
    stream: int = -1
    kind: str = ""
    codec: str = ""
    whole: bool = False

    def encode(self) -> bytes:
        """The JSON of this message."""
        fields: dict[str, Any] = {"op": self.op, "source": self.source, "rid": self.rid}
        if self.op in ("announce", "ended"):
            fields["stream"] = self.stream
        if self.op == "announce":
            fields["kind"], fields["codec"] = self.kind, self.codec
        if self.op == "ended":
            fields["whole"] = self.whole
        data = json.dumps(fields, separators=(",", ":")).encode()
        if len(data) > MAX_CONTROL_BYTES:
            raise ValueError("control message too large")
        return data

    @classmethod
    def decode(cls, data: bytes) -> Control:
        """Parse and check one control message; BadMessage if it is not one."""
        try:
            fields = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise BadMessage("not JSON") from None
        if not isinstance(fields, dict) or fields.get("op") not in OPS:
            raise BadMessage("unknown control message")
        source, rid = fields.get("source"), fields.get("rid")
        stream = fields.get("stream", -1)
        kind, codec = fields.get("kind", ""), fields.get("codec", "")
        whole = fields.get("whole", False)
        if not (isinstance(source, str) and isinstance(rid, str)):
            raise BadMessage("source and rid are strings")
        if not (isinstance(kind, str) and isinstance(codec, str) and isinstance(whole, bool)):
            raise BadMessage("bad field type")
        if type(stream) is not int or not -1 <= stream <= MAX_STREAM_ID:
            raise BadMessage("bad stream id")
        if fields["op"] in ("announce", "ended") and stream < 0:
            raise BadMessage("no stream id")
        return cls(fields["op"], source, rid, stream, kind, codec, whole)
