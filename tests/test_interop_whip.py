"""WHIP/WHEP with clients that are not aiortc's defaults (issue 8, items 6 and 7).

* aiortc clients whose DTLS certificate is RSA, offering ``actpass``,
  ``passive`` and ``active``: the server must be the DTLS server for the
  first and last, and offer ECDHE-RSA suites as the DTLS client for the
  second.
* GStreamer's webrtcbin (RSA certificate, ``actpass``, H.264 from x264enc
  with ``rtph264pay config-interval=-1``, or VP8 and Opus), driven by
  Debian's Python in a subprocess (``tests/gst_whip_client.py``).
* FFmpeg's WHIP muxer (``setup:passive``, ``profile-level-id=42001e``, an
  RSA certificate, no ICE candidates), from the FFmpeg 8 libraries in the
  PyAV wheel (``tests/ffmpeg_whip_client.py``).
* A DTLS handshake that cannot succeed is logged with its reason and
  counted in ``/metrics``.
* H.264 offers matched by profile: Baseline 3.0 accepted, High, Main and
  packetization-mode 0 refused with a precise message.

Every WHEP viewer here decodes what it receives (PyAV), so "frames flow"
means pictures a decoder accepts, not only packets.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcdtlstransport import RTCCertificate, SRTPProtectionProfile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from OpenSSL import SSL

from tests.support.media import EncodedClip, PacketTrack, encode_h264, encode_opus, encode_vp8
from tests.support.outside import (
    WANTED_FRAMES,
    Decoded,
    OutsideClient,
    metric,
    negotiate,
    post_sdp,
    setups,
    whep_viewer,
    with_setup,
)
from tests.support.peers import SignalingClient, client_pc
from tests.support.server import ROOT
from tests.support.tone import ToneTrack
from tests.support.waiting import wait_until

GST_CLIENT = ROOT / "tests" / "gst_whip_client.py"
FFMPEG_CLIENT = ROOT / "tests" / "ffmpeg_whip_client.py"
SYSTEM_PYTHON = "/usr/bin/python3"

# GStreamer's DTLS agent's cipher list (gstdtlsagent.c): RSA and ECDSA suites alike.
GSTREAMER_CIPHERS = b"ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH"


# -- peers with RSA certificates ---------------------------------------------------------


def _rsa_key_and_certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "interop-rsa")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate


class RsaCertificate(RTCCertificate):
    """An aiortc certificate with an RSA key and a cipher list of the test's choosing."""

    ciphers: bytes = GSTREAMER_CIPHERS

    def _create_ssl_context(self, srtp_profiles: list[SRTPProtectionProfile]) -> SSL.Context:
        context = super()._create_ssl_context(srtp_profiles)
        context.set_cipher_list(self.ciphers)
        return context


def rsa_pc(ciphers: bytes = GSTREAMER_CIPHERS) -> RTCPeerConnection:
    """A bundling aiortc peer connection whose DTLS certificate is RSA."""
    key, certificate = _rsa_key_and_certificate()
    rsa_certificate = RsaCertificate(key=key, cert=certificate)  # type: ignore[arg-type]
    rsa_certificate.ciphers = ciphers
    pc = client_pc()
    # Before any transceiver exists: each DTLS transport takes the certificate when made.
    pc._RTCPeerConnection__certificates = [rsa_certificate]  # type: ignore[attr-defined]
    return pc


def write_rsa_pem(directory: Path) -> tuple[Path, Path]:
    """An RSA certificate and key as PEM files (for FFmpeg)."""
    key, certificate = _rsa_key_and_certificate()
    cert_path, key_path = directory / "rsa.crt", directory / "rsa.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def require_gstreamer() -> None:
    """Fail (never skip): scripts/test installs GStreamer when it is missing."""
    ok = Path(SYSTEM_PYTHON).exists()
    detail = f"{SYSTEM_PYTHON} is missing"
    if ok:
        import subprocess

        check = subprocess.run(
            [SYSTEM_PYTHON, str(GST_CLIENT), "--check"], capture_output=True, text=True
        )
        ok = check.returncode == 0
        detail = (check.stdout + check.stderr).strip()
    if not ok:
        pytest.fail(
            "GStreamer's webrtcbin is not usable from Debian's python3 "
            f"({detail}); scripts/test installs the packages",
            pytrace=False,
        )


# -- DTLS: RSA certificates, every setup role -----------------------------------------------


@pytest.fixture(scope="module")
def vp8_clips() -> tuple[EncodedClip, EncodedClip]:
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


@pytest.mark.parametrize(
    ("setup", "server_setup"),
    [("actpass", "passive"), ("passive", "active"), ("active", "passive")],
)
async def test_rsa_certificate_peers_publish_and_watch(
    server, room, vp8_clips, setup, server_setup
):
    video, audio = vp8_clips
    publisher = rsa_pc()
    viewer: RTCPeerConnection | None = None
    try:
        publisher.addTransceiver(PacketTrack(video), direction="sendonly")
        publisher.addTransceiver(PacketTrack(audio), direction="sendonly")
        token = server.token(room, "Bộ mã hóa RSA", site_id="rsa-encoder")
        answer = await negotiate(server, "whip", room, token, publisher, setup)
        assert setups(answer) == {server_setup}

        viewer, decoded, _, view_answer = await whep_viewer(
            server, room, "vp8", pc=rsa_pc(), setup=setup
        )
        assert setups(view_answer) == {server_setup}
        await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
        assert set(decoded.capture.digests) <= video.digests
        assert decoded.size == (320, 240)
        assert "DTLS handshake failed" not in server.log()
    finally:
        await publisher.close()
        if viewer is not None:
            await viewer.close()


async def test_failed_handshake_is_logged_with_its_reason_and_counted(server, room, vp8_clips):
    # A client that can only do ECDHE-RSA meets the server as DTLS server with
    # its ECDSA certificate: no suite in common.
    assert metric(server, "conference_dtls_handshake_failures_total") == 0
    pc = rsa_pc(ciphers=b"ECDHE-RSA-AES128-GCM-SHA256")
    try:
        pc.addTransceiver(PacketTrack(vp8_clips[0]), direction="sendonly")
        await negotiate(server, "whip", room, server.token(room, "Không khớp"), pc, "actpass")
        await wait_until(lambda: "DTLS handshake failed" in server.log(), timeout=40)
        line = next(x for x in server.log().splitlines() if "DTLS handshake failed" in x)
        assert " WARNING " in line
        assert "no shared cipher" in line
        assert "the server was DTLS server" in line
        assert re.search(r"peer [0-9a-f.:\[\]]+:\d+", line), line
        await wait_until(lambda: metric(server, "conference_dtls_handshake_failures_total") == 1)
    finally:
        await pc.close()


class PassiveRsaSite(SignalingClient):
    """A meeting site with an RSA certificate that answers the server's offer ``passive``."""

    async def _answer(self, offer: dict[str, Any]) -> None:
        self.pc = pc = rsa_pc()
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        kinds = {mid: kind for kind, mid in offer["publish"].items()}
        for transceiver in pc.getTransceivers():
            track = self.publish.get(kinds.get(transceiver.mid or "", ""))
            if track is not None:
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
            elif transceiver.mid in kinds:
                transceiver.direction = "inactive"
        answer = await pc.createAnswer()
        # aiortc takes its DTLS role from the answer it sets: passive makes it the server.
        passive = with_setup(answer.sdp, "passive")
        await pc.setLocalDescription(RTCSessionDescription(passive, "answer"))
        await self.send({"type": "answer", "sdp": pc.localDescription.sdp})


async def test_a_site_answering_passive_with_an_rsa_certificate(server, room, vp8_clips):
    video, audio = vp8_clips
    site = PassiveRsaSite(
        server.base_url,
        room,
        server.token(room, "Xã RSA", site_id="rsa-site"),
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    watcher = SignalingClient(server.base_url, room, server.token(room, "Tỉnh"), publish={})
    try:
        await site.connect()
        await watcher.connect()
        await watcher.wait_for(lambda m: m["type"] == "offer")
        await wait_until(lambda: watcher.current_slots().get("main") == "rsa-site")
        decoded = Decoded(watcher.captures["main"], "vp8")
        await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
        assert site.pc is not None and setups(site.pc.localDescription.sdp) == {"passive"}
        assert "DTLS handshake failed" not in server.log()
    finally:
        await site.close()
        await watcher.close()


async def test_header_extension_ids_other_than_ours(server, room, vp8_clips):
    """A publisher numbering its header extensions differently (as GStreamer, OBS and
    browsers each do) is answered with its numbers and its audio levels are read."""
    watcher = SignalingClient(server.base_url, room, server.token(room, "Tỉnh"), publish={})
    pc = client_pc()
    try:
        await watcher.connect()
        await watcher.wait_for(lambda m: m["type"] == "offer")
        pc.addTransceiver(PacketTrack(vp8_clips[0]), direction="sendonly")
        pc.addTransceiver(ToneTrack(), direction="sendonly")
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        renumber = {1: 9, 2: 10, 3: 11}  # mid, audio level, abs-send-time
        # Our aiortc also lists RID/RRID (simulcast); a WHIP publisher like
        # GStreamer offers none of them, so they leave this offer.
        sdp = re.sub(r"a=extmap:[45] [^\r\n]*\r\n", "", pc.localDescription.sdp)
        sdp = re.sub(
            r"a=extmap:(\d+) ",
            lambda m: f"a=extmap:{renumber[int(m.group(1))]} ",
            sdp,
        )
        token = server.token(room, "Bộ mã hóa", site_id="renumbered")
        status, answer = await post_sdp(server, "whip", room, token, sdp)
        assert status == 201, answer
        ids = dict(re.findall(r"a=extmap:(\d+) (\S+)", answer))
        assert ids == {
            "9": "urn:ietf:params:rtp-hdrext:sdes:mid",
            "10": "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            "11": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        }
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        # The tone's levels are read under id 10: the publisher becomes the speaker.
        await watcher.wait_for(
            lambda m: m["type"] == "speaker" and m["id"] == "renumbered", timeout=40
        )
        decoded = Decoded(watcher.captures["main"], "vp8")
        await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
    finally:
        await pc.close()
        await watcher.close()


async def test_offers_shaped_unlike_aiortcs(server, room, vp8_clips):
    """Sections without a=mid, without BUNDLE, without a=setup: answered or refused
    with a reason (several unnamed sections were a 500 before)."""
    video, audio = vp8_clips
    token = server.token(room, "Bộ mã hóa", site_id="odd")

    async def offer(*tracks: PacketTrack) -> tuple[RTCPeerConnection, str]:
        pc = client_pc()
        for track in tracks:
            pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return pc, pc.localDescription.sdp

    pc, sdp = await offer(PacketTrack(video), PacketTrack(audio))
    await pc.close()
    status, body = await post_sdp(server, "whip", room, token, re.sub(r"a=mid:\S+\r\n", "", sdp))
    assert status == 400 and "has no a=mid" in json.loads(body)["error"]["message"]
    video_part, audio_part = re.sub(r"a=group:BUNDLE[^\r]*\r\n", "", sdp).split("m=audio")
    two_sessions = video_part + "m=audio" + re.sub(r"a=ice-ufrag:\S+", "a=ice-ufrag:zz", audio_part)
    status, body = await post_sdp(server, "whip", room, token, two_sessions)
    assert status == 400 and "not bundled" in json.loads(body)["error"]["message"]

    # One video section with neither a=mid, BUNDLE nor a=setup: published, watched.
    pc, sdp = await offer(PacketTrack(video))
    viewer = None
    try:
        bare = re.sub(r"a=(mid|setup|group:BUNDLE)[^\r]*\r\n", "", sdp)
        bare = re.sub(r"a=extmap:\d+ urn:ietf:params:rtp-hdrext:sdes:mid\r\n", "", bare)
        status, answer = await post_sdp(server, "whip", room, token, bare)
        assert status == 201, answer
        assert setups(answer) == {"passive"}  # RFC 4145: an offer without a=setup is active
        assert "a=mid" not in answer and "a=group:BUNDLE" not in answer
        # Our aiortc client itself keeps mids: give it back the one it knows.
        answer = answer.replace("a=recvonly\r\n", "a=recvonly\r\na=mid:0\r\n")
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        viewer, decoded, _, _ = await whep_viewer(server, room, "vp8")
        await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
    finally:
        await pc.close()
        if viewer is not None:
            await viewer.close()


# -- GStreamer webrtcbin ----------------------------------------------------------------------


@pytest.mark.parametrize(("codec", "audio"), [("h264", False), ("vp8", True)])
async def test_gstreamer_webrtcbin_publishes_to_a_whep_viewer(server, codec, audio):
    require_gstreamer()
    room = server.create_room(f"GStreamer {codec}", codec=codec)
    token = server.token(room, "GStreamer webrtcbin", site_id="gst")
    argv = [SYSTEM_PYTHON, str(GST_CLIENT), f"{server.base_url}/whip/{room}", token]
    argv += ["--codec", codec] + (["--audio"] if audio else [])
    client = OutsideClient(argv)
    viewer = None
    try:
        await client.start()
        await wait_until(lambda: client.event("answer") is not None, timeout=60)
        answered = client.event("answer")
        assert answered is not None and answered["status"] == 201, client.transcript()
        offer = client.event("offer")
        assert offer is not None and setups(offer["sdp"]) == {"actpass"}
        assert setups(answered["body"]) == {"passive"}
        await wait_until(
            lambda: any(e.get("state") == "connected" for e in client.events), timeout=60
        )
        viewer, decoded, sounds, _ = await whep_viewer(server, room, codec, audio=audio)
        try:
            await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
            if sounds is not None:
                await wait_until(lambda: len(sounds.frames) >= 25, timeout=60)
        except AssertionError:
            raise AssertionError(
                f"decoded {decoded.pictures} of {len(decoded.capture.frames)} frames; "
                f"client said:\n{client.transcript()}"
            ) from None
        assert decoded.size == (320, 240)
        assert "DTLS handshake failed" not in server.log()
    finally:
        if viewer is not None:
            await viewer.close()
        await client.stop()


# -- FFmpeg's WHIP muxer ------------------------------------------------------------------------


async def test_ffmpeg_whip_muxer_with_an_rsa_certificate(server, tmp_path):
    room = server.create_room("FFmpeg H.264", codec="h264")
    token = server.token(room, "FFmpeg", site_id="ffmpeg")
    cert, key = write_rsa_pem(tmp_path)
    client = OutsideClient(
        [
            sys.executable,
            str(FFMPEG_CLIENT),
            f"{server.base_url}/whip/{room}",
            token,
            "--cert",
            str(cert),
            "--key",
            str(key),
            "--level",
            "3.0",  # FFmpeg then offers profile-level-id=42001e
        ]
    )
    viewer = None
    try:
        await client.start()
        await wait_until(
            lambda: client.event("frames") is not None or client.event("error") is not None,
            timeout=60,
        )
        assert client.event("error") is None, client.transcript()
        assert "POST /whip/" in server.log()
        viewer, decoded, _, _ = await whep_viewer(server, room, "h264")
        await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
        assert decoded.size == (320, 240)
        assert "DTLS handshake failed" not in server.log()
    finally:
        if viewer is not None:
            await viewer.close()
        await client.stop()


# -- H.264 by profile -------------------------------------------------------------------------


def _h264_offer_text(sdp: str, fmtp: str) -> str:
    """Every H.264 format in the offer given ``fmtp`` as its parameters."""
    pts = re.findall(r"a=rtpmap:(\d+) H264/90000", sdp)
    for pt in pts:
        sdp = re.sub(rf"a=fmtp:{pt} [^\r\n]*", f"a=fmtp:{pt} {fmtp}", sdp)
    return sdp


async def _h264_publisher(clip: EncodedClip) -> RTCPeerConnection:
    pc = client_pc()
    transceiver = pc.addTransceiver(PacketTrack(clip), direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences(
        [c for c in caps if c.mimeType.lower() in ("video/h264", "video/rtx")]
    )
    offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    return pc


async def test_baseline_level_3_offer_is_accepted_and_frames_flow(server):
    room = server.create_room("H.264 Baseline", codec="h264")
    clip = encode_h264(frames=60, gop=30)
    pc = await _h264_publisher(clip)
    viewer = None
    try:
        sdp = _h264_offer_text(
            pc.localDescription.sdp,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001e",
        )
        status, answer = await post_sdp(
            server, "whip", room, server.token(room, "FFmpeg-like"), sdp
        )
        assert status == 201, answer
        # Baseline answered as Baseline; both allow level asymmetry, so at our level.
        assert "profile-level-id=42001f" in answer
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        viewer, decoded, _, _ = await whep_viewer(server, room, "h264")
        await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
        assert decoded.size == (320, 240)
    finally:
        await pc.close()
        if viewer is not None:
            await viewer.close()


@pytest.mark.parametrize(
    ("fmtp", "message"),
    [
        (
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640028",
            "H.264 profile High (640028) is not accepted in this room; "
            "use Constrained Baseline (42e01f) or Baseline (42001f)",
        ),
        (
            "packetization-mode=1;profile-level-id=4d001f",
            "H.264 profile Main (4d001f) is not accepted in this room",
        ),
        (
            "profile-level-id=42e01f",
            "H.264 packetization-mode=0 is not supported; use packetization-mode=1",
        ),
    ],
)
async def test_h264_offers_outside_the_profile_are_refused_precisely(server, fmtp, message):
    room = server.create_room("H.264", codec="h264")
    pc = await _h264_publisher(encode_h264(frames=2))
    try:
        for kind in ("whip", "whep"):
            sdp = _h264_offer_text(pc.localDescription.sdp, fmtp)
            if kind == "whep":
                sdp = sdp.replace("a=sendonly", "a=recvonly")
            status, body = await post_sdp(server, kind, room, server.token(room, "Xã"), sdp)
            assert status == 400, body
            error = json.loads(body)["error"]
            assert error["code"] == "invalid-sdp"
            assert message in error["message"]
    finally:
        await pc.close()


async def test_a_vp8_room_names_what_was_offered(server, room):
    pc = await _h264_publisher(encode_h264(frames=2))
    try:
        status, body = await post_sdp(
            server, "whip", room, server.token(room, "Xã"), pc.localDescription.sdp
        )
        assert status == 400
        message = json.loads(body)["error"]["message"]
        assert "offers no VP8, this room's video codec (offered: H264/90000)" in message
    finally:
        await pc.close()


# -- and a browser watching them ---------------------------------------------------------------


@pytest.mark.browser
async def test_chromium_in_an_h264_room_decodes_gstreamer_and_ffmpeg(server, browser, tmp_path):
    """The meeting page's path is unchanged (server offers actpass, the browser answers
    active) and a browser decodes what outside encoders publish: webrtcbin's
    Constrained Baseline and FFmpeg's Baseline-labelled 42001e."""
    from tests.support.browser import decoded_from, open_site, slot_stats
    from tests.support.waiting import eventually

    require_gstreamer()
    room = server.create_room("Phòng H.264", codec="h264")
    cert, key = write_rsa_pem(tmp_path)
    gst = OutsideClient(
        [
            SYSTEM_PYTHON,
            str(GST_CLIENT),
            f"{server.base_url}/whip/{room}",
            server.token(room, "GStreamer", site_id="gst"),
            "--codec",
            "h264",
        ]
    )
    ffmpeg = OutsideClient(
        [
            sys.executable,
            str(FFMPEG_CLIENT),
            f"{server.base_url}/whip/{room}",
            server.token(room, "FFmpeg", site_id="ffmpeg"),
            "--cert",
            str(cert),
            "--key",
            str(key),
        ]
    )
    try:
        await gst.start()
        await ffmpeg.start()
        page = await open_site(
            browser, f"{server.base_url}/join/{room}?token={server.token(room, 'Tỉnh')}"
        )
        local = await page.evaluate("() => window.conference.pc.localDescription.sdp")
        remote = await page.evaluate("() => window.conference.pc.remoteDescription.sdp")
        assert setups(remote) == {"actpass"} and setups(local) == {"active"}

        async def both_decoded() -> bool:
            stats = await slot_stats(page)
            return decoded_from(stats, "gst") >= 30 and decoded_from(stats, "ffmpeg") >= 30

        try:
            await eventually(both_decoded, timeout=60)
        except AssertionError:
            raise AssertionError(
                f"slots: {await slot_stats(page)}\nGStreamer:\n{gst.transcript()}\n"
                f"FFmpeg:\n{ffmpeg.transcript()}"
            ) from None
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        await gst.stop()
        await ffmpeg.stop()
