"""One simulated site: the meeting WebSocket, a real ICE/DTLS/SRTP peer, lean media.

aiortc does the handshakes (ICE, DTLS, SDP) and nothing per packet: its
senders' encode loops and its receivers' jitter buffers, decoder threads and
estimators never run (:func:`install_lean_peers`). A site sends the
pre-packetized clip through the project's lean SRTP path
(:class:`conference.media.srtp_output.DtlsRtpOutput`) on a timer, and its
datagrams are taken off aioice's socket before aioice parses them
(:func:`install_site_demux`): decrypted, the RTP header read with slicing,
counted. A *checking* site also reassembles each VP8 frame and compares its
bytes with the clip. PLI/FIR from the server make the next frame a keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from conference.media.codecs import vp8_is_keyframe
from sites_parts.link import LinkSpec
from sites_parts.linked import LinkedSite
from sites_parts.media import (
    AUDIO_FRAME_TICKS,
    AUDIO_SECONDS,
    FRAME_SECONDS,
    OPUS_SILENCE,
    RTP_HEADER,
    SILENT_LEVEL,
    SPEAKING_LEVEL,
    VIDEO_CLOCK,
    SiteClip,
    abs_send_time_element,
    audio_level_extension,
    extension_block,
    text_element,
)
from sites_parts.publishing import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    RID_URI,
    RRID_URI,
    ExtensionIds,
    LayerOut,
    Outgoing,
    answer_simulcast,
    offered_rids,
    offers_dtx,
)
from sites_parts.receive import Poller, read_now

_RR_HEADER = struct.Struct("!BBHI")
_SEQ_TS_SSRC = struct.Struct("!HII")  # at offset 2 of an RTP header, in the clear in SRTP
_REPORT_BLOCK = struct.Struct("!IIIIII")
AUDIO_RTCP_S = 5.0  # Chrome's audio RTCP interval (its video streams': ~1 s, as _send_rtcp's)
RTX_MIN_INTERVAL_S = 0.15  # about the commune link's RTT
LINK_TICK_S = 0.05  # a linked site's NACK retries and frame judging
DTX_FRAMES = 20  # Opus DTX: one 20 ms frame per 400 ms of silence
MAX_REDIRECTS = 3  # `redirect` messages a joining site follows (the page follows them too)
SEGMENT_JUMP_S = 0.5  # a jump this large in (arrival - RTP time) is a new source epoch

# aioice connection -> the site whose datagrams it carries (see install_site_demux)
SITES: dict[Any, SimSite] = {}


def install_lean_peers() -> None:
    """aiortc senders and receivers that start nothing (this process only).

    A sender's RTP loop would poll every 20 ms with no track and its RTCP
    loop would send empty sender reports; a receiver would start a decoder
    thread, a jitter buffer and RTCP. Media goes around them (see module doc).
    """
    from aiortc import RTCRtpReceiver, RTCRtpSender

    async def idle_rtp(self: Any, codec: Any) -> None:
        self._RTCRtpSender__rtp_started.set()
        await asyncio.Future()

    async def idle_rtcp(self: Any) -> None:
        self._RTCRtpSender__rtcp_started.set()
        await asyncio.Future()

    async def register_only(self: Any, parameters: Any) -> None:
        self._RTCRtpReceiver__transport._register_rtp_receiver(self, parameters)

    RTCRtpSender._run_rtp = idle_rtp  # type: ignore[method-assign]
    RTCRtpSender._run_rtcp = idle_rtcp  # type: ignore[method-assign]
    RTCRtpReceiver.receive = register_only  # type: ignore[method-assign]


def install_site_demux() -> None:
    """SRTP/SRTCP datagrams of a connected site go straight to it (RFC 7983 first byte)."""
    from aioice.ice import StunProtocol

    previous = StunProtocol.datagram_received

    def datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if isinstance(data, bytes) and data and 127 < data[0] < 192:
            site = SITES.get(self.receiver)
            if site is not None:
                site.on_datagram(data)
                return
        previous(self, data, addr)

    StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]


class LeanUnprotect:
    """``pylibsrtp.Session.unprotect`` without its per-call allocation (as the SFU's
    ``LeanProtect`` does for protect): the same libsrtp call on the session's buffer."""

    __slots__ = ("_buffer", "_cdata", "_length", "_limit", "_srtp", "_unprotect", "session")

    def __init__(self, session: Any) -> None:
        from pylibsrtp._binding import ffi, lib

        self.session = session  # keeps the libsrtp context below alive
        self._srtp = session._srtp[0]
        self._cdata = session._cdata
        self._buffer = session._buffer
        self._length = ffi.new("int *")
        self._unprotect = lib.srtp_unprotect
        self._limit = len(session._cdata)

    def __call__(self, packet: bytes) -> bytes:
        size = len(packet)
        if size > self._limit:
            raise ValueError("packet is too long")
        self._length[0] = size
        self._buffer[0:size] = packet
        if self._unprotect(self._srtp, self._cdata, self._length):
            raise ValueError("srtp_unprotect failed")
        return self._buffer[0 : self._length[0]]


@dataclass(frozen=True)
class SiteSpec:
    """Who a site is and what it does."""

    index: int
    name: str
    token: str
    speaking: bool
    checking: bool  # reassemble frames: byte identity
    phase: float  # seconds after the common start its frames are due
    layers: bool = True  # answer the server's simulcast offer with q, h, f
    link: LinkSpec | None = None  # behind this emulated link (both directions)
    url: str | None = None  # join at this node (--place), else at the server's public URL


@dataclass
class StreamCount:
    """What a site received on one SSRC (a slot of the server)."""

    slot: str
    kind: str
    packets: int = 0
    octets: int = 0
    rtx_packets: int = 0
    first_ext: int = -1
    ext: int = -1  # highest sequence number, unwrapped
    frames: int = 0
    ts0: int = -1
    last_delay: float | None = None
    segment_min: float = 0.0
    delays: list[float] = field(default_factory=list)  # per frame, above the segment's fastest
    pending: list[bytes] = field(default_factory=list)  # checking sites: the frame so far
    next_start: int = -1  # counting sites: the sequence number that starts the next frame
    layer_frames: dict[str, int] = field(default_factory=dict)  # checking: rid -> frames seen
    frames_checked: int = 0
    frames_identical: int = 0
    reported: tuple[int, int] = (0, -1)  # (packets, ext) at the last receiver report
    last_sr: tuple[int, float] = (0, 0.0)  # (LSR: middle of the server's NTP time, arrival)

    def snapshot(self) -> tuple[int, int, int]:
        """(packets, highest sequence number, bytes) now."""
        return self.packets, self.ext, self.octets


class SimSite:
    """A simulated site: joins, answers the server's offer, sends the clip, counts."""

    def __init__(
        self,
        spec: SiteSpec,
        clip: SiteClip,
        base_url: str,
        room: str,
        t0: float,
        poller: Poller | None = None,
    ):
        self.spec = spec
        self.poller = poller  # counting sites are read on its tick (see receive.py)
        self.clip = clip
        self.base_url = base_url
        self.room = room
        self.t0 = t0  # wall clock of the common schedule's start
        self.speaking = spec.speaking
        self.participant_id: str | None = None
        self.pc: Any = None
        self.connected = asyncio.Event()
        self.error: str | None = None
        self.connect_ms: float | None = None
        self._redirect: str | None = None  # where a `redirect` message sent us
        self.redirects = 0
        self.layers: dict[
            str, LayerOut
        ] = {}  # rid -> what the camera sends ("f" alone: no simulcast)
        self.video_ext = ExtensionIds(mid="")
        self.audio: Outgoing | None = None
        self.dtx = False  # the offer asked for Opus DTX: a silent site sends every 400 ms
        self.publish_messages = 0
        self.uplink_estimate_bps: int | None = None  # what the layers were last given
        self.remb_bps: int | None = None  # the server's REMB for our streams
        self.loss_cap_bps: float | None = None  # lowered when its RRs say > 10 % lost
        self.link: LinkedSite | None = None  # behind an emulated link (spec.link)
        self._rtx_to_media: dict[int, int] = {}  # the slots' RTX SSRC -> media SSRC (offer)
        self._slot_abs_send_time_id: int | None = None
        self.output: Any = None
        self.rx: Any = None
        self.unprotect: Any = None
        self.streams: dict[int, StreamCount] = {}
        self.rtx_pts: set[int] = set()
        self.slots: dict[str, str | None] = {}
        self.slot_changes: list[tuple[float, str, str | None]] = []
        self.main_keyframes: list[float] = []  # arrival of each keyframe in the main slot
        self.messages: dict[str, int] = {}
        self.keyframe_requests = 0
        self.nacks_received = 0
        self.undecryptable = 0
        self.rtcp_sent = 0
        self.send_failures = 0  # RTP packets our socket refused (full send buffer)
        self._audio_rtcp_at = 0.0  # when the audio streams' next SR / report blocks are due
        self.send_lag: list[float] = []
        self.measuring = False
        self._video_frame = 0
        self._audio_frame = 0
        self._session: Any = None
        self._ws: Any = None
        self._tasks: list[asyncio.Future[Any]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._wall_to_loop = 0.0
        self._mark: dict[int, tuple[int, int, int]] = {}
        self._mark_sent = (0, 0)
        self._mark_time = time.time()
        self._started = time.time()

    # -- signaling -----------------------------------------------------------------

    async def join(self, session: Any) -> None:
        """Open the socket, send ``join``, wait for the peer to connect.

        A ``redirect`` (the meeting's home is another node or worker) is followed
        as the page follows it: the same join at the home, up to three times.
        """
        self._session = session
        for _ in range(MAX_REDIRECTS + 1):
            self._redirect = None
            url = self.base_url.replace("http", "ws", 1) + f"/ws/{self.room}"
            self._ws = await session.ws_connect(url, heartbeat=None)
            await self._ws.send_str(
                json.dumps(
                    {
                        "type": "join",
                        "token": self.spec.token,
                        "thumbnails": 8,
                        "publish_audio": True,
                        "publish_video": True,
                    }
                )
            )
            reader = asyncio.ensure_future(self._read())
            self._tasks.append(reader)
            connected = asyncio.ensure_future(self.connected.wait())
            await asyncio.wait({reader, connected}, return_when=asyncio.FIRST_COMPLETED)
            if self.connected.is_set() or self._redirect is None:
                connected.cancel()
                await self.connected.wait()
                break
            connected.cancel()
            self.redirects += 1
            self.base_url = self._redirect.split("/join/", 1)[0]
        else:
            self.error = self.error or f"more than {MAX_REDIRECTS} redirects"
        self.connect_ms = (time.time() - self._started) * 1000

    async def _read(self) -> None:
        import aiohttp

        try:
            async for raw in self._ws:
                if raw.type != aiohttp.WSMsgType.TEXT:
                    break
                message = json.loads(raw.data)
                kind = message.get("type", "?")
                self.messages[kind] = self.messages.get(kind, 0) + 1
                if kind == "welcome":
                    self.participant_id = message["participant"]["id"]
                elif kind == "offer":
                    await self._answer(message)
                elif kind == "slots":
                    self._on_slots(message["assignments"])
                elif kind == "publish":
                    self.on_publish([str(r) for r in message.get("video") or []])
                elif kind == "redirect":
                    self._redirect = str(message.get("url") or "")
                elif kind == "error":
                    self.error = f"server error: {message}"
                elif kind == "bye":
                    self.error = self.error or f"bye: {message.get('reason')}"
        except Exception as exc:  # a site that fails says why; the run goes on
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if not self.connected.is_set() and not self._redirect:
                self.error = self.error or "socket closed before the peer connected"
                self.connected.set()

    async def _answer(self, offer: dict[str, Any]) -> None:
        from aiortc import RTCSessionDescription
        from aiortc.sdp import SessionDescription

        from conference.media.srtp_output import DtlsRtpOutput
        from tests.support.peers import client_pc

        self.pc = pc = client_pc()
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        publish_mids = {mid: kind for kind, mid in offer["publish"].items()}
        slot_of_mid = {s["mid"]: (s["slot"], s["kind"]) for s in offer["slots"]}
        for transceiver in pc.getTransceivers():
            if transceiver.mid in publish_mids:
                transceiver.direction = "sendonly"
        for media in SessionDescription.parse(offer["sdp"]).media:
            slot = slot_of_mid.get(media.rtp.muxId)
            if slot is None:
                continue
            for codec in media.rtp.codecs:
                if codec.mimeType.lower().endswith("/rtx") and codec.payloadType is not None:
                    self.rtx_pts.add(codec.payloadType)
            for ssrc in media.ssrc:
                self.streams[ssrc.ssrc] = StreamCount(slot[0], slot[1])
            for group in media.ssrc_group:
                if group.semantic == "FID" and len(group.items) == 2:
                    self._rtx_to_media[int(group.items[1])] = int(group.items[0])
            for extension in media.rtp.headerExtensions:
                if extension.uri == ABS_SEND_TIME_URI:
                    self._slot_abs_send_time_id = extension.id
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        sdp = pc.localDescription.sdp
        local = SessionDescription.parse(sdp)
        senders = {t.mid: t.sender for t in pc.getTransceivers()}
        video_mid = offer["publish"].get("video")
        rids = offered_rids(offer["sdp"], video_mid) if video_mid else []
        if not (self.spec.layers and self.clip.layers):
            rids = []  # --no-layers: one stream, as a browser without simulcast answers
        rids = [r for r in rids if r in self.clip.layers]
        for media in local.media:
            kind = publish_mids.get(media.rtp.muxId)
            if kind is None:
                continue
            ids = {e.uri: e.id for e in media.rtp.headerExtensions}
            sender = senders[media.rtp.muxId]
            pt = media.rtp.codecs[0].payloadType or 0
            if kind == "audio":
                self.audio = Outgoing(sender._ssrc, pt, ids.get(AUDIO_LEVEL_URI))
                self.dtx = offers_dtx(offer["sdp"], media.rtp.muxId)
                continue
            rtx_pt = next(
                (
                    c.payloadType
                    for c in media.rtp.codecs
                    if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == pt
                ),
                None,
            )
            self.video_ext = ExtensionIds(
                mid=media.rtp.muxId,
                abs_send_time=ids.get(ABS_SEND_TIME_URI),
                mid_id=ids.get(MID_URI),
                rid_id=ids.get(RID_URI),
                rrid_id=ids.get(RRID_URI),
            )
            if rids and self.video_ext.rid_id is not None:
                for rid in rids:
                    stream = Outgoing(_ssrc(), pt, self.video_ext.abs_send_time)
                    stream.rtx_ssrc, stream.rtx_pt = _ssrc(), rtx_pt
                    layer = LayerOut(self.clip.layers[rid], stream, rid)
                    layer.clip_bps = self.clip.layer_bps[rid]
                    self.layers[rid] = layer
                sdp = answer_simulcast(sdp, media.rtp.muxId, rids)
            else:
                stream = Outgoing(sender._ssrc, pt, self.video_ext.abs_send_time)
                stream.rtx_ssrc, stream.rtx_pt = sender._rtx_ssrc, rtx_pt
                self.layers["f"] = LayerOut(self.clip.single, stream, None, ts_offset=0)
        await self._ws.send_str(json.dumps({"type": "answer", "sdp": sdp}))

        @pc.on("connectionstatechange")
        def changed() -> None:
            if pc.connectionState == "connected" and not self.connected.is_set():
                dtls = next(t.sender.transport for t in pc.getTransceivers())
                self.output = DtlsRtpOutput(dtls)
                self.rx = dtls._rx_srtp
                self.unprotect = LeanUnprotect(self.rx)
                connection = dtls.transport._connection
                SITES[connection] = self
                if self.spec.link is not None:
                    self.link = self._make_link()
                    read_now(connection, self.link.down.push)
                elif self.spec.checking or self.poller is None:
                    read_now(connection, self.on_datagram)
                else:
                    self.poller.add(connection, self.count_datagram)
                self._start_sending()
                self.connected.set()
            elif pc.connectionState in ("failed", "closed"):
                self.error = self.error or f"peer connection {pc.connectionState}"
                self.connected.set()

    def _make_link(self) -> LinkedSite:
        import random

        assert self.spec.link is not None and self.output is not None
        link = LinkedSite(
            self.spec.link,
            self.output.send_rtp,
            self.output.send_rtcp,
            self.on_datagram,
            random.Random(self.spec.index),
        )
        link.rtx_to_media = self._rtx_to_media
        link.abs_send_time_id = self._slot_abs_send_time_id
        link.reporter_ssrc = self._reporter_ssrc()
        self._schedule_link_tick()
        return link

    def _schedule_link_tick(self) -> None:
        self._timers["link"] = asyncio.get_running_loop().call_later(LINK_TICK_S, self._link_tick)

    def _link_tick(self) -> None:
        if self.link is not None and self.output is not None:
            self.link.tick(time.time())
            self._schedule_link_tick()

    def _jitter(self, ssrc: int) -> int:
        tracked = self.link.streams.get(ssrc) if self.link is not None else None
        return int(tracked.jitter) if tracked is not None else 0

    def _reporter_ssrc(self) -> int:
        if self.layers:
            return next(iter(self.layers.values())).stream.ssrc
        return self.audio.ssrc if self.audio is not None else 1

    def _on_slots(self, assignments: dict[str, str | None]) -> None:
        now = time.time()
        for slot, source in assignments.items():
            if self.slots.get(slot) != source:
                self.slot_changes.append((now, slot, source))
        self.slots = dict(assignments)

    # -- sending ------------------------------------------------------------------

    def _start_sending(self) -> None:
        loop = asyncio.get_running_loop()
        now = time.time()
        # The next frame and audio packet due on the common schedule.
        self._video_frame = max(0, int((now - self.t0 - self.spec.phase) / FRAME_SECONDS) + 1)
        self._audio_frame = max(0, int((now - self.t0 - self.spec.phase) / AUDIO_SECONDS) + 1)
        self._wall_to_loop = loop.time() - now
        self._schedule_video()
        self._schedule_audio()
        self._schedule_rtcp()

    def _schedule_rtcp(self) -> None:
        # Like a browser (and aiortc): one compound RTCP packet every 0.5-1.5 s.
        delay = 0.5 + (self.spec.index * 0.618034 + time.time()) % 1.0
        self._timers["rtcp"] = asyncio.get_running_loop().call_later(delay, self._send_rtcp)

    def _send_rtcp(self) -> None:
        """Sender reports for the site's streams, receiver reports for the slots (RFC 3550)."""
        if self.output is None:
            return
        from conference.media.ntp import NTP_EPOCH_OFFSET
        from conference.media.rtcp import build_sender_report

        now = time.time()
        ntp_seconds = now + NTP_EPOCH_OFFSET
        ntp = (int(ntp_seconds) << 32) | int((ntp_seconds % 1) * (1 << 32))
        packets = b""
        for layer in self.layers.values():
            if not layer.active:
                continue
            rtp = (int((now - self.t0) * VIDEO_CLOCK) + layer.ts_offset) & 0xFFFFFFFF
            video = layer.stream
            packets += build_sender_report(video.ssrc, ntp, rtp, video.packets, video.octets)
        # Chrome's audio streams report every ~5 s, its video streams every ~1 s
        # (libwebrtc's kAudioReportInterval / kVideoReportInterval).
        audio_due = now >= self._audio_rtcp_at
        if audio_due:
            self._audio_rtcp_at = now + AUDIO_RTCP_S * (0.5 + (self.spec.index * 0.618034) % 1.0)
        if self.audio is not None and audio_due:
            frames = (now - self.t0 - self.spec.phase) / AUDIO_SECONDS
            rtp = int(frames * AUDIO_FRAME_TICKS)
            packets += build_sender_report(
                self.audio.ssrc, ntp, rtp, self.audio.packets, self.audio.octets
            )
        blocks = b""
        count = 0
        for ssrc, stream in self.streams.items():
            if stream.ext < 0 or count == 31 or (stream.kind == "audio" and not audio_due):
                continue
            count += 1
            packets0, ext0 = stream.reported
            if ext0 < 0:
                ext0 = stream.first_ext - 1
            expected = stream.ext - ext0
            lost_now = max(0, expected - (stream.packets - packets0))
            fraction = (lost_now * 256 // expected) if expected > 0 else 0
            lost_total = max(0, stream.ext - stream.first_ext + 1 - stream.packets)
            stream.reported = (stream.packets, stream.ext)
            lsr, at = stream.last_sr
            dlsr = int((now - at) * 65536) if lsr else 0
            blocks += _REPORT_BLOCK.pack(
                ssrc,
                (min(fraction, 255) << 24) | min(lost_total, 0x7FFFFF),
                stream.ext & 0xFFFFFFFF,
                self._jitter(ssrc),  # RFC 3550; measured behind an emulated link only
                lsr,
                dlsr,
            )
        if not packets and not count:
            self._schedule_rtcp()  # nothing sent, nothing received yet: nothing to report
            return
        reporter = self._reporter_ssrc()
        packets += _RR_HEADER.pack(0x80 | count, 201, 1 + 6 * count, reporter) + blocks
        with contextlib.suppress(Exception):
            if self.link is not None:
                self.link.up.push(packets)
            else:
                self.output.send_rtcp(packets)
            self.rtcp_sent += 1
        self._schedule_rtcp()

    def _due(self, frame: int, seconds: float) -> float:
        return self.t0 + self.spec.phase + frame * seconds

    def _schedule_video(self) -> None:
        loop = asyncio.get_running_loop()
        due = self._due(self._video_frame, FRAME_SECONDS)
        self._timers["video"] = loop.call_at(due + self._wall_to_loop, self._send_video)

    def _schedule_audio(self) -> None:
        loop = asyncio.get_running_loop()
        due = self._due(self._audio_frame, AUDIO_SECONDS)
        self._timers["audio"] = loop.call_at(due + self._wall_to_loop, self._send_audio)

    def _send_video(self) -> None:
        if self.output is None:
            return
        now = time.time()
        frame = self._video_frame
        if self.measuring:
            self.send_lag.append(now - self._due(frame, FRAME_SECONDS))
        sending = False
        for layer in self.layers.values():
            if layer.active and layer.allowed:
                self._send_frame(layer, frame, now)
                sending = True
        # Never catch up in a burst: a frame more than two late is skipped.
        self._video_frame = max(frame + 1, int((now - self.t0 - self.spec.phase) / FRAME_SECONDS))
        if sending:
            self._schedule_video()
        else:
            # A paused camera has no frame timer (30 wake-ups a second for nothing at
            # each of ~180 unseen sites); _wake_video starts it again.
            del self._timers["video"]

    def _wake_video(self) -> None:
        """Restart the frame timer of a paused camera once a layer may be sent again."""
        if self.output is None or "video" in self._timers:
            return
        if any(x.active and x.allowed for x in self.layers.values()):
            now = time.time()
            due = int((now - self.t0 - self.spec.phase) / FRAME_SECONDS) + 1
            self._video_frame = max(self._video_frame, due)
            self._schedule_video()

    def _send_frame(self, layer: LayerOut, frame: int, now: float) -> None:
        """One frame of one layer: its RTP packets, kept for RTX."""
        clip, stream, ids = layer.clip, layer.stream, self.video_ext
        index = frame % len(clip.video)
        key = layer.want_keyframe and not clip.keyframes[index]
        layer.want_keyframe = False
        payloads = (clip.video_key if key else clip.video)[index]
        # RTP time is the real send time (plus the layer's own offset, as each of
        # Chrome's encoders draws one): receivers measure the delay after sending.
        timestamp = (int((now - self.t0) * VIDEO_CLOCK) + layer.ts_offset) & 0xFFFFFFFF
        elements = []
        if ids.abs_send_time is not None:
            elements.append(abs_send_time_element(ids.abs_send_time, now))
        if layer.rid is not None and not layer.acked:
            # Chrome sends MID and RID until the receiver's RR names the SSRC.
            if ids.mid_id is not None:
                elements.append(text_element(ids.mid_id, ids.mid))
            if ids.rid_id is not None:
                elements.append(text_element(ids.rid_id, layer.rid))
        ext = extension_block(*elements) if elements else b""
        flags = 0x90 if ext else 0x80
        last = len(payloads) - 1
        send = self.send_rtp
        for i, payload in enumerate(payloads):
            marker = 1 if i == last else 0
            seq = stream.seq
            data = (
                RTP_HEADER.pack(flags, (marker << 7) | stream.pt, seq, timestamp, stream.ssrc)
                + ext
                + payload
            )
            stream.remember(seq, timestamp, marker, payload)
            stream.seq = (seq + 1) & 0xFFFF
            send(data)
            stream.packets += 1
            stream.octets += len(data) + 10  # + SRTP auth tag

    def retransmit(self, media_ssrc: int, lost: list[int]) -> None:
        """Answer a NACK: the lost packets again, as RTX (RRID until acked), if still kept."""
        layer = next((x for x in self.layers.values() if x.stream.ssrc == media_ssrc), None)
        if layer is None or self.output is None:
            return
        stream, ids = layer.stream, self.video_ext
        if stream.rtx_ssrc is None or stream.rtx_pt is None:
            return
        now = time.time()
        for seq in lost:
            kept = stream.history.get(seq)
            if kept is None:
                continue
            # As libwebrtc's packet history: a packet is resent at most once per RTT.
            if now - stream.resent_at.get(seq, 0.0) < RTX_MIN_INTERVAL_S:
                continue
            stream.resent_at[seq] = now
            timestamp, marker, payload = kept
            elements = []
            if ids.abs_send_time is not None:
                elements.append(abs_send_time_element(ids.abs_send_time))
            if layer.rid is not None and not layer.acked and ids.rrid_id is not None:
                elements.append(text_element(ids.rrid_id, layer.rid))
            ext = extension_block(*elements) if elements else b""
            data = (
                RTP_HEADER.pack(
                    0x90 if ext else 0x80,
                    (marker << 7) | stream.rtx_pt,
                    stream.rtx_seq,
                    timestamp,
                    stream.rtx_ssrc,
                )
                + ext
                + seq.to_bytes(2, "big")
                + payload
            )
            stream.rtx_seq = (stream.rtx_seq + 1) & 0xFFFF
            self.send_rtp(data)
            stream.retransmitted += 1
            stream.octets += len(data) + 10

    def send_rtp(self, data: bytes) -> None:
        """One RTP packet out (through the emulated link, if the site has one)."""
        if self.link is not None:
            self.link.up.push(data)
        elif self.output is not None and not self.output.send_rtp(data):
            # Our socket's send buffer is full (on loopback it stays charged until the
            # server reads): the packet is lost before the server, as UDP would lose it.
            self.send_failures += 1

    def _on_uplink_loss(self, fraction: float) -> None:
        """Loss-based estimate (as GCC's): > 10 % lost cuts, < 2 % lets it grow 8 %."""
        sending = sum(x.clip_bps for x in self.layers.values() if x.active and x.allowed)
        if fraction > 0.1:
            self.loss_cap_bps = sending * (1 - 0.5 * fraction)
        elif fraction < 0.02 and self.loss_cap_bps is not None:
            self.loss_cap_bps *= 1.08
        self.allocate()

    def allocate(self) -> None:
        """Our uplink's estimate (REMB, capped on loss): the layers it carries, as Chrome does.

        Chrome gives its simulcast layers the estimate low to high, each its
        rate, and keeps the lowest; a layer over the estimate is not sent
        (whatever ``publish`` says). One stream without simulcast stays on
        (a real encoder would lower its rate; a pre-encoded clip cannot).
        """
        sending = sum(x.clip_bps for x in self.layers.values() if x.active and x.allowed)
        caps = [c for c in (self.remb_bps, self.loss_cap_bps) if c is not None]
        if self.remb_bps is not None and self.remb_bps >= 0.85 * sending:
            # A REMB that only tracks what we send says no congestion: Chrome would
            # probe above it; without probing a paused layer could never come back.
            caps.remove(self.remb_bps)
        if not caps:
            for layer in self.layers.values():
                if not layer.allowed and layer.active:
                    layer.want_keyframe = True
                layer.allowed = True
            self.uplink_estimate_bps = None
            self._wake_video()
            return
        bitrate = int(min(caps))
        self.uplink_estimate_bps = bitrate
        budget = bitrate
        for i, layer in enumerate(self.layers.values()):
            if layer.rid is None:
                continue
            cost = layer.clip_bps * 1.1
            fits = i == 0 or cost <= budget
            if fits and not layer.allowed and layer.active:
                layer.want_keyframe = True  # an encoder that comes back starts with one
            layer.allowed = fits
            if fits:
                budget -= cost
        self._wake_video()

    def on_publish(self, video: list[str]) -> None:
        """The server's ``publish``: keep the listed layers on, pause the rest.

        A single-encoding camera is on iff any rid is listed; a layer that
        comes back starts with a keyframe (as a re-enabled encoder does).
        """
        self.publish_messages += 1
        for rid, layer in self.layers.items():
            on = bool(video) if layer.rid is None else rid in video
            if on and not layer.active and layer.allowed:
                layer.want_keyframe = True
                layer.resumed += 1
            layer.active = on
        self._wake_video()

    def _send_audio(self) -> None:
        stream = self.audio
        if stream is None or self.output is None:
            return
        now = time.time()
        frame = self._audio_frame
        if self.speaking:
            payload = self.clip.audio[frame % len(self.clip.audio)]
            level, voice = SPEAKING_LEVEL, True
        else:
            payload, level, voice = OPUS_SILENCE, SILENT_LEVEL, False
        ext = audio_level_extension(stream.ext_id, level, voice) if stream.ext_id else b""
        data = (
            RTP_HEADER.pack(
                0x90 if ext else 0x80,
                stream.pt,
                stream.seq,
                (frame * AUDIO_FRAME_TICKS) & 0xFFFFFFFF,
                stream.ssrc,
            )
            + ext
            + payload
        )
        stream.seq = (stream.seq + 1) & 0xFFFF
        self.send_rtp(data)
        stream.packets += 1
        stream.octets += len(data) + 10
        # With DTX (as Chrome's Opus) silence is one small packet per 400 ms.
        step = DTX_FRAMES if self.dtx and not self.speaking else 1
        self._audio_frame = max(
            frame + step, int((now - self.t0 - self.spec.phase) / AUDIO_SECONDS)
        )
        self._schedule_audio()

    def set_speaking(self, speaking: bool) -> None:
        """Start or stop speaking; speech after DTX silence starts at once, not 400 ms later."""
        was = self.speaking
        self.speaking = speaking
        if speaking and not was and self.dtx and "audio" in self._timers:
            self._timers["audio"].cancel()
            now = time.time()
            self._audio_frame = int((now - self.t0 - self.spec.phase) / AUDIO_SECONDS) + 1
            self._schedule_audio()

    # -- receiving ----------------------------------------------------------------

    def count_datagram(self, data: bytes) -> None:
        """One datagram, counted from the RTP header that SRTP leaves in the clear.

        Nothing is decrypted but SRTCP (the server's PLI and sender reports)
        and the first packet of each frame in the main slot (is it a
        keyframe: the speaker change's arrival).
        """
        b1 = data[1]
        if 191 < b1 < 224:
            self._on_rtcp(data)
            return
        seq, _ts, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
        stream = self.streams.get(ssrc)
        if stream is None:
            stream = self.streams[ssrc] = StreamCount("?", "?")
        if (b1 & 0x7F) in self.rtx_pts:
            stream.rtx_packets += 1
            stream.octets += len(data)
            return
        stream.packets += 1
        stream.octets += len(data)
        if stream.ext < 0:
            stream.ext = stream.first_ext = seq
        else:
            delta = (seq - stream.ext) & 0xFFFF
            if delta < 0x8000:
                stream.ext += delta
        if stream.kind != "video":
            return
        if seq == stream.next_start and stream.slot == "main":
            try:
                plain = self.unprotect(data)
            except ValueError:
                self.undecryptable += 1
                return
            if _starts_keyframe(plain):
                self.main_keyframes.append(time.time())
        if b1 & 0x80:
            stream.frames += 1
            stream.next_start = (seq + 1) & 0xFFFF

    def on_datagram(self, data: bytes, arrival: float | None = None) -> None:
        """One SRTP or SRTCP datagram from the server (``arrival``: the emulated link's)."""
        if arrival is None:
            arrival = time.time()
        if 191 < data[1] < 224:
            self._on_rtcp(data, arrival)
            return
        try:
            plain = self.unprotect(data)
        except ValueError:
            self.undecryptable += 1
            return
        ssrc = int.from_bytes(plain[8:12], "big")
        link = self.link
        if (plain[1] & 0x7F) in self.rtx_pts:
            media = self.streams.get(self._rtx_to_media.get(ssrc, -1))
            if link is not None and media is not None and link.on_rtx(ssrc, plain, arrival):
                media.packets += 1  # a packet it had lost, repaired
            stream = self.streams.get(ssrc) or self.streams.setdefault(ssrc, StreamCount("?", "?"))
            stream.rtx_packets += 1
            stream.octets += len(data)
            return
        stream = self.streams.get(ssrc)
        if stream is None:
            stream = self.streams[ssrc] = StreamCount("?", "?")
        stream.packets += 1
        stream.octets += len(data)
        seq = (plain[2] << 8) | plain[3]
        if stream.ext < 0:
            stream.ext = stream.first_ext = seq
        else:
            delta = (seq - stream.ext) & 0xFFFF
            if delta < 0x8000:
                stream.ext += delta
        video = stream.kind == "video"
        key = video and (link is not None or stream.slot == "main") and _starts_keyframe(plain)
        if link is not None:
            link.on_media(link.stream(ssrc, stream.slot, stream.kind), plain, arrival, key)
        if not video:
            return
        if self.spec.checking:
            self._reassemble(stream, plain)
        if stream.slot == "main" and key:
            self.main_keyframes.append(arrival)
        if plain[1] & 0x80:
            self._frame_done(stream, int.from_bytes(plain[4:8], "big"), arrival)

    def _frame_done(self, stream: StreamCount, timestamp: int, now: float) -> None:
        stream.frames += 1
        if stream.ts0 < 0:
            stream.ts0 = timestamp
        delay = now - ((timestamp - stream.ts0) & 0xFFFFFFFF) / VIDEO_CLOCK
        last = stream.last_delay
        stream.last_delay = delay
        if last is None or abs(delay - last) > SEGMENT_JUMP_S:
            stream.segment_min = delay  # a new source (or the first frame): a new baseline
        elif delay < stream.segment_min:
            stream.segment_min = delay
        if self.measuring and self.link is None:  # latency: the SFU's, not the link's
            stream.delays.append(delay - stream.segment_min)

    def main_arrival(self, source: str) -> tuple[float | None, float | None]:
        """When ``source`` last came into the main slot, and the first keyframe after."""
        told = None
        for at, slot, who in self.slot_changes:
            if slot == "main":
                told = at if who == source else None
        if told is None:
            return None, None
        return told, next((t for t in self.main_keyframes if t >= told), None)

    def _reassemble(self, stream: StreamCount, plain: bytes) -> None:
        from conference.media.codecs import parse_vp8_descriptor

        header = 12 + 4 * (plain[0] & 0x0F)
        if plain[0] & 0x10:
            header += 4 + 4 * int.from_bytes(plain[header + 2 : header + 4], "big")
        payload = plain[header:]
        descriptor = parse_vp8_descriptor(payload)
        if descriptor is None:
            return
        if descriptor.start_of_partition and descriptor.partition_id == 0:
            stream.pending = []
        stream.pending.append(payload[descriptor.header_size :])
        if plain[1] & 0x80 and self.measuring:
            digest = hashlib.sha1(b"".join(stream.pending)).hexdigest()
            stream.frames_checked += 1
            rid = self.clip.digests.get(digest)
            stream.frames_identical += rid is not None
            if rid is not None:
                stream.layer_frames[rid] = stream.layer_frames.get(rid, 0) + 1
            stream.pending = []

    def _on_rtcp(self, data: bytes, now: float | None = None) -> None:
        try:
            plain = self.rx.unprotect_rtcp(data)
        except Exception:
            self.undecryptable += 1
            return
        pos, size = 0, len(plain)
        now = time.time() if now is None else now
        by_ssrc = {layer.stream.ssrc: layer for layer in self.layers.values()}
        while pos + 8 <= size:
            fmt, pt = plain[pos] & 0x1F, plain[pos + 1]
            end = min(size, pos + (int.from_bytes(plain[pos + 2 : pos + 4], "big") + 1) * 4)
            if pt == 200 and pos + 16 <= size:  # the server's sender report for a slot
                stream = self.streams.get(int.from_bytes(plain[pos + 4 : pos + 8], "big"))
                if stream is not None:
                    lsr = int.from_bytes(plain[pos + 10 : pos + 14], "big")
                    stream.last_sr = (lsr, now)
            if pt in (200, 201):  # report blocks on our streams: those SSRCs are known
                block = pos + (28 if pt == 200 else 8)
                for _ in range(fmt):
                    layer = by_ssrc.get(int.from_bytes(plain[block : block + 4], "big"))
                    if layer is not None:
                        layer.acked = True
                        self._on_uplink_loss(plain[block + 4] / 256)
                    block += 24
            elif pt == 206 and fmt == 1:  # PLI: a keyframe on that layer
                layer = by_ssrc.get(int.from_bytes(plain[pos + 8 : pos + 12], "big"))
                if layer is not None:
                    layer.want_keyframe = True
                    self.keyframe_requests += 1
            elif pt == 206 and fmt == 4:  # FIR: the layers named in its entries
                for entry in range(pos + 12, end - 7, 8):
                    layer = by_ssrc.get(int.from_bytes(plain[entry : entry + 4], "big"))
                    if layer is not None:
                        layer.want_keyframe = True
                        self.keyframe_requests += 1
            elif pt == 206 and fmt == 15 and plain[pos + 12 : pos + 16] == b"REMB":
                from aiortc.rtp import unpack_remb_fci

                self.remb_bps = unpack_remb_fci(plain[pos + 12 : end])[0]
                self.allocate()
            elif pt == 205 and fmt == 1:  # NACK: retransmit (RTX)
                lost = []
                for entry in range(pos + 12, end - 3, 4):
                    pid = int.from_bytes(plain[entry : entry + 2], "big")
                    blp = int.from_bytes(plain[entry + 2 : entry + 4], "big")
                    lost.append(pid)
                    lost += [(pid + 1 + i) & 0xFFFF for i in range(16) if blp >> i & 1]
                self.nacks_received += 1
                self.retransmit(int.from_bytes(plain[pos + 8 : pos + 12], "big"), lost)
            pos = end if end > pos else size

    # -- reports ------------------------------------------------------------------

    def mark(self) -> None:
        """Start of the measurement window."""
        self.measuring = True
        self._mark_time = time.time()
        for layer in self.layers.values():
            layer.octets_at_mark = layer.stream.octets
        self._mark = {ssrc: s.snapshot() for ssrc, s in self.streams.items()}
        self._mark_sent = self._sent()

    def _sent(self) -> tuple[int, int]:
        streams = [x.stream for x in self.layers.values()]
        streams += [self.audio] if self.audio is not None else []
        return sum(s.packets for s in streams), sum(s.octets for s in streams)

    def report(self) -> dict[str, Any]:
        """What the site sent and received in the window."""
        self.measuring = False
        received = expected = down_bytes = 0
        video_received = 0
        per_slot: dict[str, list[int]] = {}  # slot -> [expected, received] in the window
        delays: list[float] = []
        checked = identical = 0
        for ssrc, stream in self.streams.items():
            packets0, ext0, bytes0 = self._mark.get(ssrc, (0, -1, 0))
            if ext0 < 0:
                # No packet before the mark: the window starts at the stream's first
                # number, not at 0 (a slot's numbers start anywhere in 0..32767).
                ext0 = stream.first_ext - 1
            down_bytes += stream.octets - bytes0
            if stream.ext >= 0:
                received += stream.packets - packets0
                expected += stream.ext - ext0
                counts = per_slot.setdefault(f"{stream.kind}:{stream.slot}", [0, 0])
                counts[0] += stream.ext - ext0
                counts[1] += stream.packets - packets0
                if stream.kind == "video":
                    video_received += stream.packets - packets0
            delays += stream.delays
            checked += stream.frames_checked
            identical += stream.frames_identical
        sent_packets, sent_bytes = self._sent()
        return {
            "name": self.spec.name,
            "id": self.participant_id,
            "speaking": self.speaking,
            "checking": self.spec.checking,
            "connected": self.connect_ms is not None and self.output is not None,
            "redirects": self.redirects,
            "received_packets": received,
            "expected_packets": expected,
            "per_slot_packets": per_slot,
            "index": self.spec.index,
            "video_packets": video_received,
            "down_bytes": down_bytes,
            "up_bytes": sent_bytes - self._mark_sent[1],
            "up_packets": sent_packets - self._mark_sent[0],
            "delays": delays,
            "frames_checked": checked,
            "frames_identical": identical,
            "send_lag": self.send_lag,
            "slots": self.slots,
            "keyframe_requests": self.keyframe_requests,
            "rtcp_sent": self.rtcp_sent,
            "send_failures": self.send_failures,
            "undecryptable": self.undecryptable,
            "error": self.error,
            "messages": self.messages,
            "publish_messages": self.publish_messages,
            "simulcast": any(x.rid is not None for x in self.layers.values()),
            "layers_sent": {
                rid: {
                    "active": x.active,
                    "allowed_by_remb": x.allowed,
                    "resumed": x.resumed,
                    "up_bytes": x.stream.octets - x.octets_at_mark,
                    "retransmitted": x.stream.retransmitted,
                }
                for rid, x in self.layers.items()
            },
            "layer_frames": {
                s.slot: dict(s.layer_frames) for s in self.streams.values() if s.layer_frames
            },
            "nacks_received": self.nacks_received,
            "uplink_estimate_kbps": (
                None if self.uplink_estimate_bps is None else self.uplink_estimate_bps // 1000
            ),
            "link": self.link.window(self._mark_time, time.time()) if self.link else None,
        }

    async def leave(self) -> None:
        """Say goodbye on the socket (the peer connection dies with the process)."""
        for timer in self._timers.values():
            timer.cancel()
        if self.link is not None:
            self.link.close()
        self.output = None
        with contextlib.suppress(Exception):
            await self._ws.send_str(json.dumps({"type": "leave"}))
            await asyncio.wait_for(self._ws.close(), 2)


def _ssrc() -> int:
    """A random SSRC for a stream the answer does not signal (a simulcast layer, its RTX)."""
    import random

    return random.randint(1, 0xFFFFFFFF)


def _starts_keyframe(plain: bytes) -> bool:
    """Whether an RTP packet (decrypted) starts a VP8 keyframe."""
    header = 12 + 4 * (plain[0] & 0x0F)
    if plain[0] & 0x10:
        header += 4 + 4 * int.from_bytes(plain[header + 2 : header + 4], "big")
    # Only a frame's first packet (S bit, partition 0) can start one: parse no other.
    if len(plain) <= header or plain[header] & 0x17 != 0x10:
        return False
    return vp8_is_keyframe(plain[header:])
