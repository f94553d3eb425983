"""What a simulated site publishes: its streams, its camera's layers, and its answer's SDP.

The server offers simulcast on the camera's section (``a=rid:q recv`` ...
``a=simulcast:recv q;h;f``, docs/research/issue10-layers.md). aiortc drops
those lines, so the site's answer gets what Chrome writes in their place:
``a=rid:<r> send`` per offered rid and ``a=simulcast:send q;h;f``, and no
``a=ssrc`` lines in that section (the server learns each layer's SSRC from
the RID extension of its first packets). The RID and RRID extension URIs
must be in aiortc's ``HEADER_EXTENSIONS`` for its answer to keep their
extmaps (:func:`install_rid_extensions`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sites_parts.media import VideoLayer

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
RRID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
HISTORY = 1024  # packets a video stream keeps for retransmission (RTX)


def install_rid_extensions() -> None:
    """aiortc keeps RID (id 4) and RRID (id 5) when answering (this process only)."""
    from aiortc.codecs import HEADER_EXTENSIONS
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters

    video = HEADER_EXTENSIONS["video"]
    if not any(e.uri == RID_URI for e in video):
        video += [
            RTCRtpHeaderExtensionParameters(id=4, uri=RID_URI),
            RTCRtpHeaderExtensionParameters(id=5, uri=RRID_URI),
        ]


def section(sdp: str, mid: str) -> list[str]:
    """The lines of the media section with ``a=mid:<mid>`` (empty if none)."""
    sections: list[list[str]] = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            sections.append([])
        if sections:
            sections[-1].append(line)
    return next((s for s in sections if f"a=mid:{mid}" in s), [])


def offered_rids(offer: str, mid: str) -> list[str]:
    """The rids the offer asks section ``mid`` to simulcast (``a=simulcast:recv``); [] = none."""
    for line in section(offer, mid):
        if line.startswith("a=simulcast:recv "):
            return [r.lstrip("~") for r in line.split(" ", 1)[1].split(";") if r]
    return []


def offers_dtx(offer: str, mid: str) -> bool:
    """Whether the offer asks the Opus sender of section ``mid`` for DTX (``usedtx=1``)."""
    return any(line.startswith("a=fmtp:") and "usedtx=1" in line for line in section(offer, mid))


def answer_simulcast(answer: str, mid: str, rids: list[str]) -> str:
    """``answer`` with Chrome's simulcast lines in section ``mid``, and its SSRCs unsignalled."""
    out: list[str] = []
    current = None
    for line in answer.split("\r\n"):
        if line.startswith("m="):
            current = None
        if line.startswith("a=mid:"):
            current = line[6:]
        if current == mid and line.startswith(("a=ssrc:", "a=ssrc-group:")):
            continue
        out.append(line)
        if line == f"a=mid:{mid}":
            out += [f"a=rid:{rid} send" for rid in rids]
            out.append(f"a=simulcast:send {';'.join(rids)}")
    return "\r\n".join(out)


@dataclass
class Outgoing:
    """One of the site's own RTP streams, as negotiated in its answer."""

    ssrc: int
    pt: int
    ext_id: int | None  # audio level (audio) or abs-send-time (video)
    seq: int = 0
    packets: int = 0
    octets: int = 0
    rtx_ssrc: int | None = None
    rtx_pt: int | None = None
    rtx_seq: int = 0
    retransmitted: int = 0
    # seq -> (timestamp, marker, payload): what a NACK may ask again (video only)
    history: dict[int, tuple[int, int, bytes]] = field(default_factory=dict)
    resent_at: dict[int, float] = field(default_factory=dict)  # seq -> last RTX (wall time)

    def remember(self, seq: int, timestamp: int, marker: int, payload: bytes) -> None:
        """Keep a sent packet for RTX; forget the one HISTORY packets older."""
        history = self.history
        history[seq] = (timestamp, marker, payload)
        history.pop((seq - HISTORY) & 0xFFFF, None)
        self.resent_at.pop(seq, None)


@dataclass
class LayerOut:
    """One video encoding the site sends: a simulcast layer, or the one camera stream."""

    clip: VideoLayer
    stream: Outgoing
    rid: str | None  # None: no simulcast (no RID extension)
    ts_offset: int = field(default_factory=lambda: random.getrandbits(32))
    active: bool = True  # every encoding starts active, as the page's do
    want_keyframe: bool = False
    acked: bool = False  # the server reported on this SSRC: MID/RID no longer sent (as Chrome)
    allowed: bool = True  # the uplink estimate (REMB) carries it (see SimSite.allocate)
    clip_bps: float = 0.0  # the layer clip's mean bitrate
    resumed: int = 0  # times the server turned this layer back on
    octets_at_mark: int = 0


@dataclass
class ExtensionIds:
    """The header extension ids the answer negotiated for the camera's section."""

    mid: str
    abs_send_time: int | None = None
    mid_id: int | None = None
    rid_id: int | None = None
    rrid_id: int | None = None
