"""One WebRTC connection between the server and a site, built on aiortc.

A :class:`PeerSession` owns an ``RTCPeerConnection`` whose transceivers are
fixed at creation: up to two that receive the site's microphone and camera
(each feeding a :class:`~conference.sfu.Source`), and the site's receive
slots (each a :class:`~conference.slot.Slot`). Browsers get an offer from the
server; WHIP and WHEP clients bring their own offer and get an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aiortc import (
    RTCConfiguration,
    RTCDtlsTransport,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import SessionDescription, candidate_from_sdp

from conference import offer_answer
from conference.media import (
    h264,
    ice_consent,  # noqa: F401  (RFC 7675 consent on thin links)
    peer_connect,  # noqa: F401  (aiortc's connect task, quiet after close)
)
from conference.media.dtls import handshake_failure, harden
from conference.media.fast_receive import disable_fast_receive, enable_fast_receive
from conference.media.forwarding_receiver import ForwardingReceiver, make_forwarding_receiver
from conference.media.simulcast import RIDS, answered_layers, offer_simulcast
from conference.media.slot_sender import make_slot_sender, slim_unused_receiver
from conference.settings import IceServer, VideoCodec
from conference.sfu import SfuMetrics, Source
from conference.slot import Slot, Subscription
from conference.wire import WireMessage

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
CLOSE_TIMEOUT = 2.0


class SdpError(ValueError):
    """An SDP the server cannot use; the message says why, for the client."""


@dataclass(frozen=True)
class QualityCounters:
    """Cumulative counters and current RTCP figures of one site's connection."""

    counters: tuple[int, int, int, int]  # packets from it, lost from it, bytes from it, bytes to it
    rtt_ms: float | None
    down_loss: float | None  # fraction lost on the way to it, from its receiver reports


@dataclass(frozen=True)
class SlotLayout:
    """How many receive slots a subscriber has."""

    main: int = 1
    thumbnails: int = 8
    audio: int = 3

    def names(self) -> list[tuple[str, str]]:
        """(slot name, kind) in m-line order."""
        out = [("main", "video")] if self.main else []
        out += [(f"thumb-{i + 1}", "video") for i in range(self.thumbnails)]
        out += [(f"audio-{i + 1}", "audio") for i in range(self.audio)]
        return out


class SlotSection(WireMessage):
    """One receive slot and the m-line (``mid``) that carries it, as ``offer`` lists it."""

    slot: str
    kind: Literal["audio", "video"]
    mid: str


def _codec_preferences(
    kind: str, video_codec: VideoCodec, answering: bool = False
) -> list[RTCRtpCodecCapability]:
    """Only the room's codec (and its RTX) is offered: a forwarded stream is
    only useful to subscribers that accept the publisher's codec.

    For H.264 the server offers Constrained Baseline 3.1 (``42e01f``), which
    every browser answers. Answering a WHIP/WHEP client it also takes
    Baseline (aiortc's ``42001f`` entry, which aiortc matches by profile, so
    FFmpeg's ``42001e`` or ``42000d`` fits it); ``conference.media.h264``
    says why Main and High are refused.
    """
    capabilities = RTCRtpReceiver.getCapabilities(kind)
    assert capabilities is not None
    h264_wanted = [h264.OUR_PROFILE_LEVEL_ID] + (["42001f"] if answering else [])
    wanted: list[RTCRtpCodecCapability] = []
    for codec in capabilities.codecs:
        name = codec.mimeType.split("/")[1].lower()
        if kind == "audio" and name == "opus":
            wanted.append(codec)
        elif kind == "video" and name == "rtx":
            wanted.append(codec)
        elif kind == "video" and name == video_codec:
            if name == "h264" and codec.parameters.get("profile-level-id") not in h264_wanted:
                continue
            wanted.append(codec)
    if kind == "video" and video_codec == "h264":
        # Constrained Baseline first: it is the one put in the answer when both are offered.
        wanted.sort(key=lambda c: c.parameters.get("profile-level-id") != h264.OUR_PROFILE_LEVEL_ID)
    return wanted


def validate_sdp(text: str) -> SessionDescription:
    """Parse an SDP offer or answer and reject what aiortc would choke on."""
    if not isinstance(text, str) or not text.strip():
        raise SdpError("SDP is empty")
    if len(text.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise SdpError(f"SDP is larger than {MAX_SDP_BYTES} bytes")
    if not text.lstrip().startswith("v=0"):
        raise SdpError("SDP must start with v=0")
    try:
        description = SessionDescription.parse(text)
    except Exception as exc:
        raise SdpError(f"SDP could not be parsed: {exc}") from exc
    for media in description.media:
        if media.kind in ("audio", "video") and media.dtls is None and "a=fingerprint:" in text:
            raise SdpError(
                f"{media.kind} section has no a=setup (RFC 8842: actpass in an offer, "
                "active or passive in an answer)"
            )
        if media.kind in ("audio", "video") and (media.dtls is None or not media.dtls.fingerprints):
            raise SdpError(f"{media.kind} section has no DTLS fingerprint")
        if media.kind in ("audio", "video") and media.ice is None:
            raise SdpError(f"{media.kind} section has no ICE credentials")
        for candidate in media.ice_candidates:
            check_candidate(candidate)
    return description


def check_candidate(candidate: RTCIceCandidate) -> None:
    """Refuse an ICE candidate whose numbers are out of range.

    aiortc parses them as plain integers; a port of 99999999 is only noticed
    when the first connectivity check is sent to it, where it raises inside
    the UDP transport, which then closes with a traceback in the log.
    """
    ports = [candidate.port] + ([candidate.relatedPort] if candidate.relatedPort else [])
    if not all(0 <= port <= 65535 for port in ports):
        raise SdpError("invalid ICE candidate: a port is not between 0 and 65535")
    if not 0 <= candidate.priority <= 0xFFFFFFFF:
        raise SdpError("invalid ICE candidate: the priority is not a 32-bit number")
    if not 1 <= candidate.component <= 256:
        raise SdpError("invalid ICE candidate: the component is not between 1 and 256")


def ice_configuration(servers: list[IceServer]) -> RTCConfiguration:
    """aiortc's configuration for the same STUN/TURN servers the browser gets."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in servers
        ],
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


class PeerSession:
    """The server side of one site's peer connection."""

    def __init__(
        self,
        *,
        owner: str,
        metrics: SfuMetrics,
        ice_servers: list[IceServer],
        video_codec: VideoCodec,
        on_closed: Callable[[PeerSession], None] | None = None,
    ) -> None:
        self.owner = owner
        self.id = secrets.token_hex(6)
        self.metrics = metrics
        self.video_codec = video_codec
        self.pc = RTCPeerConnection(ice_configuration(ice_servers))
        self.sources: dict[str, Source] = {}
        self.subscription = Subscription([], cname=f"sfu-{self.id}")
        self.publish_mids: dict[str, str] = {}
        self.slot_mids: dict[str, str] = {}
        self.closed = False
        self.connected = asyncio.Event()
        self._on_closed = on_closed
        self._receive_transceivers: dict[str, RTCRtpTransceiver] = {}
        self._slot_transceivers: list[tuple[Slot, RTCRtpTransceiver]] = []
        self.pc.on("connectionstatechange", self._on_connection_state)

    @property
    def connection_state(self) -> str:
        """aiortc's connection state: new, connecting, connected, failed, closed."""
        return str(self.pc.connectionState)

    @property
    def slots(self) -> list[Slot]:
        """The receive slots, in m-line order."""
        return self.subscription.slots

    # -- building the transceivers ---------------------------------------------------

    def add_publish(self, kind: str, name: str | None = None) -> Source:
        """A transceiver that receives the site's ``kind`` and the source it feeds.

        ``name`` (default: the kind) is the source's key in :attr:`sources`
        and in ``offer.publish``: ``screen`` is a second video section, the
        site's presentation, one stream (no simulcast: its one layer is the
        full-size picture, see docs/architecture.md, "Presenting").
        """
        name = name or kind
        transceiver = self.pc.addTransceiver(kind, direction="recvonly")
        transceiver.setCodecPreferences(_codec_preferences(kind, self.video_codec))
        source = Source(
            source_id=f"{self.owner}:{name}", owner=self.owner, kind=kind, metrics=self.metrics
        )
        make_forwarding_receiver(transceiver.receiver, source)
        self.metrics.sources += 1
        self.sources[name] = source
        self._receive_transceivers[name] = transceiver
        return source

    def add_slots(self, layout: SlotLayout) -> list[Slot]:
        """Sending transceivers for every slot of ``layout``."""
        return [self.add_slot(name, kind) for name, kind in layout.names()]

    def add_slot(self, name: str, kind: str) -> Slot:
        """One sending transceiver carrying a slot called ``name``."""
        transceiver = self.pc.addTransceiver(kind, direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences(kind, self.video_codec))
        slot = Slot(name, kind, self.metrics)
        make_slot_sender(transceiver.sender, slot, self.subscription)
        slim_unused_receiver(transceiver.receiver)
        self.subscription.slots.append(slot)
        self._slot_transceivers.append((slot, transceiver))
        return slot

    def publish_sections(self) -> dict[str, str]:
        """Source (``audio``, ``video``, ``screen``) -> the ``mid`` of the section it is sent on."""
        return dict(self.publish_mids)

    def slot_sections(self) -> list[SlotSection]:
        """Each negotiated slot and the ``mid`` of its section, in m-line order."""
        return [
            # Validated: a slot's kind is a plain string on the media side.
            SlotSection.model_validate(
                {"slot": slot.name, "kind": slot.kind, "mid": self.slot_mids[slot.name]}
            )
            for slot in self.slots
            if slot.name in self.slot_mids
        ]

    def _note_mids(self) -> None:
        self.publish_mids = {
            kind: t.mid for kind, t in self._receive_transceivers.items() if t.mid is not None
        }
        self.slot_mids = {
            slot.name: t.mid for slot, t in self._slot_transceivers if t.mid is not None
        }

    # -- server-driven negotiation (browsers) -----------------------------------------

    async def create_offer(self) -> str:
        """The server's offer; ICE candidates are gathered into it.

        The camera's section asks for simulcast (``a=simulcast:recv q;h;f``):
        a browser that can answers with three layers (conference.media.simulcast).
        """
        self._harden_dtls()
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        self._note_mids()
        sdp = offer_answer.ask_opus_fec(str(self.pc.localDescription.sdp))
        mid = self.publish_mids.get("video")
        transceiver = self._receive_transceivers.get("video")
        if mid is None or transceiver is None:
            return sdp
        receiver = transceiver.receiver
        if isinstance(receiver, ForwardingReceiver):
            receiver.use_layers(RIDS)  # the answer may take fewer (settled in apply_answer)
        return offer_simulcast(sdp, mid, RIDS)

    async def apply_answer(self, sdp: str) -> None:
        """Apply the site's answer to our offer."""
        description = validate_sdp(sdp)
        if self.pc.signalingState != "have-local-offer":
            raise SdpError("no offer is waiting for an answer")
        self._check_answer_directions(description)
        for media in description.media:
            if media.port == 0 or media.direction == "inactive":
                continue  # a section the site declined carries no codec
            reason = offer_answer.codec_refusal(media, self.video_codec)
            if reason is not None:
                raise SdpError(f"answer refused: {reason}")
        self._use_answered_layers(sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise SdpError(f"answer rejected: {exc}") from exc
        self._drop_unused_publishers()

    def _use_answered_layers(self, sdp: str) -> None:
        """Keep the camera's layers the answer sends (``a=simulcast:send``).

        Done before aiortc applies the answer, so that the layers are settled
        before the first packet can arrive. An answer without ``a=simulcast``
        sends one stream, which feeds the ``f`` layer.
        """
        mid = self.publish_mids.get("video")
        transceiver = self._receive_transceivers.get("video")
        if mid is None or transceiver is None:
            return
        receiver = transceiver.receiver
        if isinstance(receiver, ForwardingReceiver):
            receiver.settle_layers(answered_layers(sdp, mid))

    def _check_answer_directions(self, answer: SessionDescription) -> None:
        """A site may only send on its publish sections and only receive on its slots.

        Anything else would make aiortc start a stock receiver (with a decoder
        thread) on a slot, or send into a publish section.
        """
        allowed = {mid: ("sendonly", "inactive") for mid in self.publish_mids.values()}
        allowed.update({mid: ("recvonly", "inactive") for mid in self.slot_mids.values()})
        mids = [m.rtp.muxId for m in answer.media if m.kind in ("audio", "video")]
        if sorted(mids) != sorted(allowed):
            raise SdpError("answer must have exactly the media sections of the offer")
        for media in answer.media:
            if media.kind in ("audio", "video") and media.direction not in allowed[media.rtp.muxId]:
                raise SdpError(
                    f"section {media.rtp.muxId} may not be {media.direction} "
                    f"(allowed: {' or '.join(allowed[media.rtp.muxId])})"
                )

    async def add_ice_candidate(
        self, candidate: str | None, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """A trickled candidate from the site (None: end of candidates)."""
        if candidate is None or candidate == "":
            return  # aiortc needs no end-of-candidates mark to finish checks
        text = candidate[len("candidate:") :] if candidate.startswith("candidate:") else candidate
        try:
            parsed: RTCIceCandidate = candidate_from_sdp(text)
        except Exception as exc:
            raise SdpError(f"invalid ICE candidate: {exc}") from exc
        check_candidate(parsed)
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index
        await self.pc.addIceCandidate(parsed)

    # -- client-driven negotiation (WHIP, WHEP) ----------------------------------------

    async def answer_publish_offer(self, sdp: str) -> str:
        """WHIP: accept a client's sendonly offer; return our answer."""
        sdp = offer_answer.default_setup(sdp)
        description = validate_sdp(sdp)
        kinds = [m.kind for m in description.media if m.kind in ("audio", "video")]
        if not kinds:
            raise SdpError("offer has neither audio nor video")
        for kind in ("audio", "video"):
            if kinds.count(kind) > 1:
                raise SdpError(f"offer has more than one {kind} section")
        for media in description.media:
            if media.kind in ("audio", "video"):
                if media.direction not in ("sendonly", "sendrecv"):
                    raise SdpError(f"WHIP {media.kind} section must be sendonly")
                self.add_publish(media.kind)
        return await self._answer(sdp, description)

    async def answer_view_offer(self, sdp: str, max_video: int = 9, max_audio: int = 3) -> str:
        """WHEP: accept a client's recvonly offer; each section becomes a slot."""
        sdp = offer_answer.default_setup(sdp)
        description = validate_sdp(sdp)
        videos = audios = 0
        for media in description.media:
            if media.kind not in ("audio", "video"):
                continue
            if media.direction not in ("recvonly", "sendrecv"):
                raise SdpError(f"WHEP {media.kind} section must be recvonly")
            if media.kind == "video":
                videos += 1
                if videos > max_video:
                    raise SdpError(f"at most {max_video} video sections")
                self.add_slot("main" if videos == 1 else f"thumb-{videos - 1}", "video")
            else:
                audios += 1
                if audios > max_audio:
                    raise SdpError(f"at most {max_audio} audio sections")
                self.add_slot(f"audio-{audios}", "audio")
        if not videos and not audios:
            raise SdpError("offer has neither audio nor video")
        return await self._answer(sdp, description)

    async def _answer(self, sdp: str, description: SessionDescription) -> str:
        reason = offer_answer.transport_refusal(description) or offer_answer.offer_refusal(
            description, self.video_codec
        )
        if reason is not None:
            raise SdpError(reason)
        for transceiver in self.pc.getTransceivers():
            transceiver.setCodecPreferences(
                _codec_preferences(transceiver.kind, self.video_codec, answering=True)
            )
        self._harden_dtls()
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:
            if "codec" in str(exc).lower() or "parameters" in str(exc).lower():
                raise SdpError(
                    f"offer has no codec this room accepts (room video codec: "
                    f"{self.video_codec.upper()}, audio: Opus)"
                ) from exc
            raise SdpError(f"offer rejected: {exc}") from exc
        # aiortc makes a transceiver for any section we did not pre-create.
        for transceiver in self.pc.getTransceivers():
            if transceiver not in self._receive_transceivers.values() and transceiver not in [
                t for _, t in self._slot_transceivers
            ]:
                raise SdpError("offer has media sections of an unexpected kind or direction")
        try:
            answer = await self.pc.createAnswer()
            shaped = offer_answer.shape_answer(answer.sdp, description)
            await self.pc.setLocalDescription(RTCSessionDescription(sdp=shaped, type="answer"))
        except ValueError as exc:  # an offer aiortc took but cannot answer
            raise SdpError(f"offer cannot be answered: {exc}") from exc
        self._note_mids()
        self._drop_unused_publishers()
        return str(self.pc.localDescription.sdp)

    def _drop_unused_publishers(self) -> None:
        """A site that answered without camera (or microphone, or screen section) publishes no
        such source."""
        for name, transceiver in list(self._receive_transceivers.items()):
            if transceiver.currentDirection in ("inactive", "sendonly", None) and (
                self.pc.signalingState == "stable"
            ):
                source = self.sources.pop(name, None)
                if source is not None:
                    source.end()
                    self.metrics.sources -= 1

    # -- life cycle --------------------------------------------------------------------

    def _harden_dtls(self) -> None:
        """Cipher suites for RSA peers and a reason when a handshake fails (media/dtls.py)."""
        for transport in self._dtls_transports():
            harden(transport)

    def _report_dtls_failure(self) -> None:
        for transport in self._dtls_transports():
            failure = handshake_failure(transport)
            if failure is not None:
                self.metrics.dtls_failures += 1
                logger.warning(
                    "DTLS handshake failed: peer %s (site %s, session %s), "
                    "the server was DTLS %s: %s",
                    failure.peer,
                    self.owner,
                    self.id,
                    failure.role,
                    failure.reason,
                )
                return

    async def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            for transport in self._dtls_transports():
                enable_fast_receive(transport)
            self.connected.set()
        elif state in ("failed", "closed"):
            if state == "failed" and not self.closed:
                self._report_dtls_failure()
            await self.close()

    def quality_counters(self) -> QualityCounters:
        """What our RTCP knows of this site's connection."""
        received = lost = 0
        for transceiver in self._receive_transceivers.values():
            receiver = transceiver.receiver
            if isinstance(receiver, ForwardingReceiver):
                got, missed = receiver.reception_counters()
                received += got
                lost += missed
        bytes_in = sum(source.bytes for source in self.sources.values())
        bytes_out = sum(slot.octets_sent for slot in self.slots)
        active = [slot.report for slot in self.slots if slot.packets_sent]
        rtts = [r.round_trip_time for r in active if r.round_trip_time is not None]
        return QualityCounters(
            (received, lost, bytes_in, bytes_out),
            round(1000 * sum(rtts) / len(rtts), 1) if rtts else None,
            max((r.fraction_lost for r in active), default=None),
        )

    def _dtls_transports(self) -> list[RTCDtlsTransport]:
        unique: dict[int, RTCDtlsTransport] = {}
        for transceiver in self.pc.getTransceivers():
            unique[id(transceiver.receiver.transport)] = transceiver.receiver.transport
        return list(unique.values())

    async def close(self) -> None:
        """End every source, detach every slot and close the connection."""
        if self.closed:
            return
        self.closed = True
        for transport in self._dtls_transports():
            disable_fast_receive(transport)
        for source in self.sources.values():
            source.end()
            self.metrics.sources -= 1
        self.sources.clear()
        self.subscription.close()
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT)
        if self._on_closed is not None:
            self._on_closed(self)
