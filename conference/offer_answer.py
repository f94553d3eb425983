"""What the server accepts in an SDP offer or answer, and how it shapes its own answer.

aiortc negotiates codecs and the DTLS role; this module adds what the
server's policy needs around it, on aiortc's parsed SDP:

* **Precise refusals.** aiortc only says "Failed to set remote video
  description send parameters". Before handing it an offer, each section is
  checked against the room's codec, and a refusal names what was offered and
  what to use instead ("H.264 profile High (640028) is not accepted in this
  room; use Constrained Baseline (42e01f) or Baseline (42001f)").
* **H.264 by profile, not by string** (``conference.media.h264``): the answer
  carries the offer's profile at the level RFC 6184 allows.
* **The DTLS role.** To an ``actpass`` offer the server answers
  ``passive``, as aiortc already does to ``active`` and as RFC 4145's
  default gives for an offer without ``a=setup``: the server is the DTLS
  server, so it picks a cipher suite for its own ECDSA certificate from what
  the client offers, whatever the client's certificate is (RFC 5763 section
  5 and RFC 8842 section 5.3 let the answerer choose either role; JSEP only
  recommends ``active``). Browsers in meetings are not affected: there the
  server makes the offer (``actpass``) and the browser answers ``active``.
* **One transport.** Several sections must carry ``a=mid`` and share one
  ICE session (BUNDLE); aiortc would otherwise answer wrongly or fail.
* **Opus with in-band FEC and DTX.** aiortc writes no ``a=fmtp`` for Opus,
  and a browser's Opus encoder adds forward error correction only when the
  other side's description asks for it (RFC 7587 ``useinbandfec=1``): on a
  lossy commune link a lost audio packet is then rebuilt from the next one.
  ``usedtx=1`` lets a silent site send one packet per 400 ms instead of 50
  per second (most of a 190-site meeting is silent); the recorder keeps the
  gaps, since it writes audio at its RTP timestamps
  (``tests/test_recording_dtx.py``), and speech activity decays without
  packets. Both the server's offers and its answers ask for both.
"""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import MediaDescription, SessionDescription

from conference.media import h264

ROOM_CODEC_NAMES = {"vp8": "VP8", "h264": "H.264"}
# What the server asks of every Opus sender (RFC 7587 section 7): 10 ms
# packets at the least, in-band FEC, and DTX (no packets in silence but one
# every 400 ms).
OPUS_FMTP = {"minptime": 10, "useinbandfec": 1, "usedtx": 1}


def _is_rtx(codec: RTCRtpCodecParameters) -> bool:
    return codec.mimeType.lower().endswith("/rtx")


def _offered(media: MediaDescription) -> str:
    names = [
        f"{c.mimeType.split('/')[-1]}/{c.clockRate}"
        for c in media.rtp.codecs
        if not _is_rtx(c) and c.mimeType.split("/")[-1].lower() not in ("red", "ulpfec", "cn")
    ]
    return ", ".join(dict.fromkeys(names)) or "none"


def _section(media: MediaDescription) -> str:
    mid = media.rtp.muxId
    return f"the {media.kind} section" + (f" (mid {mid})" if mid else "")


def codec_refusal(media: MediaDescription, video_codec: str) -> str | None:
    """Why a section of an offer or answer has no codec the room uses; None if it has one."""
    codecs = [c for c in media.rtp.codecs if not _is_rtx(c)]
    if media.kind == "audio":
        if any(c.mimeType.lower() == "audio/opus" and c.clockRate == 48000 for c in codecs):
            return None
        return f"{_section(media)} offers no Opus (offered: {_offered(media)}); audio must be Opus"
    if media.kind != "video":
        return None
    room = ROOM_CODEC_NAMES.get(video_codec, video_codec.upper())
    if video_codec == "vp8":
        if any(c.mimeType.lower() == "video/vp8" for c in codecs):
            return None
        return (
            f"{_section(media)} offers no VP8, this room's video codec (offered: {_offered(media)})"
        )
    formats = [c for c in codecs if c.mimeType.lower() == "video/h264" and c.clockRate == 90000]
    if not formats:
        return (
            f"{_section(media)} offers no {room}, this room's video codec "
            f"(offered: {_offered(media)})"
        )
    reasons = [h264.refusal(c.parameters) for c in formats]
    if any(reason is None for reason in reasons):
        return None
    return "; ".join(dict.fromkeys(r for r in reasons if r is not None))


def offer_refusal(description: SessionDescription, video_codec: str) -> str | None:
    """The first reason an offer's audio or video sections cannot be answered, if any."""
    for media in description.media:
        reason = codec_refusal(media, video_codec)
        if reason is not None:
            return reason
    return None


def default_setup(offer_sdp: str) -> str:
    """An offer without any ``a=setup`` gets RFC 4145's default for offers: ``active``.

    aiortc drops the DTLS parameters of a section without a setup attribute
    and would refuse the offer as having no fingerprint.
    """
    if "a=setup:" in offer_sdp or "a=fingerprint:" not in offer_sdp:
        return offer_sdp
    newline = "\r\n" if "\r\n" in offer_sdp else "\n"
    head, separator, rest = offer_sdp.partition(f"{newline}m=")
    if not separator:
        return offer_sdp
    return f"{head}{newline}a=setup:active{separator}{rest}"


def transport_refusal(description: SessionDescription) -> str | None:
    """Why an offer's sections cannot share the server's one ICE and DTLS transport.

    The server runs one transport per session (max-bundle). Several sections
    must therefore be told apart by ``a=mid`` (aiortc otherwise maps them all
    to one transceiver), and must share one ICE session: bundled
    (``a=group:BUNDLE``, which RFC 9725 requires) or with the same ICE
    credentials. A single section needs neither.
    """
    sections = [m for m in description.media if m.kind in ("audio", "video")]
    if len(sections) < 2:
        return None
    for media in sections:
        if not media.rtp.muxId:
            return (
                f"the {media.kind} section has no a=mid: an offer with several sections "
                "must name them (a=mid) and bundle them (a=group:BUNDLE), as RFC 9725 requires"
            )
    mids = [m.rtp.muxId for m in sections]
    if len(set(mids)) != len(mids):
        return f"the offer uses an a=mid twice ({', '.join(mids)})"
    bundled = any(g.semantic == "BUNDLE" and set(mids) <= set(g.items) for g in description.group)
    credentials = {(m.ice.usernameFragment, m.ice.password) for m in sections if m.ice}
    if not bundled and len(credentials) > 1:
        return (
            "the sections are not bundled (a=group:BUNDLE) and each has its own ICE "
            "credentials; this server carries a session on one transport: bundle them"
        )
    return None


def shape_answer(answer_sdp: str, offer: SessionDescription) -> str:
    """Our answer with the DTLS role and the H.264 levels this server's policy wants.

    aiortc answers ``active`` to every ``actpass`` offer, copies its own
    H.264 ``profile-level-id`` (level 3.1) whatever the offer's level, and
    adds a BUNDLE group even when the offer has none.
    """
    answer = SessionDescription.parse(answer_sdp)
    if not any(g.semantic == "BUNDLE" for g in offer.group):
        # RFC 9143: no BUNDLE in the answer to an offer without it (aiortc adds one).
        answer.group = [g for g in answer.group if g.semantic != "BUNDLE"]
    offered = {m.rtp.muxId: m for m in offer.media}
    for media in answer.media:
        theirs = offered.get(media.rtp.muxId)
        if theirs is None:
            continue
        if media.dtls is not None and (theirs.dtls is None or theirs.dtls.role in (None, "auto")):
            media.dtls.role = "server"  # a=setup:passive
        by_type = {c.payloadType: c for c in theirs.rtp.codecs}
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() == "audio/opus":
                codec.parameters.update(OPUS_FMTP)
            if codec.mimeType.lower() != "video/h264":
                continue
            their_codec = by_type.get(codec.payloadType)
            if their_codec is not None and h264.accepted(their_codec.parameters):
                codec.parameters["profile-level-id"] = h264.answer_profile_level_id(
                    their_codec.parameters
                )
    return str(answer)


def ask_opus_fec(offer_sdp: str) -> str:
    """Our offer with :data:`OPUS_FMTP` on each Opus payload type.

    Only ``a=fmtp`` lines are added after Opus ``a=rtpmap`` lines (aiortc
    writes none for Opus); nothing else of aiortc's offer is touched.
    """
    lines = offer_sdp.split("\r\n")
    fmtp = ";".join(f"{key}={value}" for key, value in OPUS_FMTP.items())
    has_fmtp = {line.split()[0][len("a=fmtp:") :] for line in lines if line.startswith("a=fmtp:")}
    shaped: list[str] = []
    for line in lines:
        shaped.append(line)
        if line.startswith("a=rtpmap:") and line.lower().split()[-1].startswith("opus/"):
            payload_type = line.split()[0][len("a=rtpmap:") :]
            if payload_type not in has_fmtp:
                shaped.append(f"a=fmtp:{payload_type} {fmtp}")
    return "\r\n".join(shaped)
