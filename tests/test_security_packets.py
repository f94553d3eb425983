"""Any packet the transport can carry is forwarded; one it cannot is counted and logged.

Found by an outside publisher (issue 8, item 5): GStreamer's H.264 payloader
sends 1,400-byte packets, and the SRTP buffer capped plaintext at 1,356
bytes, so every keyframe lost packets on the way out, NACKs went unanswered,
and nothing said why.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request

import pylibsrtp
import pytest

from conference.media import srtp_output
from conference.media.srtp_output import LeanProtect
from tests.support.media import PacketTrack, encode_vp8
from tests.support.peers import SignalingClient, whip_publish
from tests.support.waiting import wait_until

KEY = bytes(range(30))  # 16-byte master key and 14-byte salt, as DTLS would export


def _session(direction: int) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(key=KEY, ssrc_type=direction)
    return pylibsrtp.Session(policy=policy)


def _rtp(size: int, seq: int = 1) -> bytes:
    header = bytes((0x80, 96)) + seq.to_bytes(2, "big") + (1000).to_bytes(4, "big")
    header += (0x1234).to_bytes(4, "big")
    return header + os.urandom(size - len(header))


@pytest.mark.parametrize("size", [1200, 1357, 1400, 1500, 9000, 65_000])
def test_srtp_protects_and_unprotects_any_datagram_sized_packet(size):
    sender = _session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    receiver = _session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    plain = _rtp(size)
    protected = LeanProtect(sender)(plain)
    assert len(protected) > size
    assert receiver.unprotect(protected) == plain


def test_pylibsrtp_sessions_share_the_large_buffer_of_their_thread():
    one = _session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    two = _session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    assert one._cdata is two._cdata
    assert len(one._cdata) >= srtp_output.MAX_UDP_PAYLOAD
    # aiortc's own calls (protect_rtcp, unprotect_rtcp) get the same room
    rtcp = bytes((0x80, 200, 0x05, 0xDC)) + (0x1234).to_bytes(4, "big") + os.urandom(6000)
    receiver = _session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    assert receiver.unprotect_rtcp(one.protect_rtcp(rtcp)) == rtcp


def test_a_packet_larger_than_any_datagram_is_refused_not_mangled():
    protect = LeanProtect(_session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    with pytest.raises(ValueError):
        protect(_rtp(srtp_output.SRTP_BUFFER_BYTES))


def _metric(server, name: str) -> float:
    with urllib.request.urlopen(server.base_url + "/metrics", timeout=30) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.parametrize("packet_max", [1400, 8000])
async def test_large_packets_reach_a_viewer_intact(server, room, monkeypatch, packet_max):
    """A WHIP publisher cutting VP8 frames into ``packet_max``-byte packets.

    1,400 is GStreamer's default; 8,000 fits loopback's MTU. The viewer must
    receive the publisher's frames byte for byte, keyframes included.
    """
    import aiortc.codecs.vpx

    monkeypatch.setattr(aiortc.codecs.vpx, "PACKET_MAX", packet_max)
    clip = encode_vp8(frames=60, width=640, height=360, bitrate=2_500_000, gop=10)
    sent = {hashlib.sha1(p).hexdigest() for p in clip.payloads}
    largest = max(len(p) for p in clip.payloads)
    assert largest > packet_max, "the clip's frames must need packets of the full size"

    watcher = SignalingClient(server.base_url, room, server.token(room, "Tỉnh"), thumbnails=0)
    await watcher.connect()
    token = server.token(room, "Bộ mã hóa", site_id="encoder")
    pc, response, body = await whip_publish(server.base_url, room, token, [PacketTrack(clip)])
    try:
        assert response.status == 201, body
        await wait_until(lambda: watcher.current_slots().get("main") == "encoder", timeout=60)
        await wait_until(lambda: "main" in watcher.captures, timeout=60)
        capture = watcher.captures["main"]
        await wait_until(lambda: len(capture.frames) >= 40, timeout=90)
        received = capture.digests[:40]
        intact = [d for d in received if d in sent]
        assert len(intact) == len(received), "frames arrived altered"
        big = [f for f in capture.frames[:40] if len(f) > packet_max]
        assert big, "no frame that needed full-size packets got through"
        assert _metric(server, "conference_packets_oversized_total") == 0
    finally:
        await pc.close()
        await watcher.close()
    assert "Traceback" not in server.log()


def test_an_empty_datagram_reaches_neither_ice_nor_dtls():
    # Anyone who knows a media port can send one: aiortc's DTLS reader died on it
    # (IndexError on data[0]) and the site's connection with it.
    from types import SimpleNamespace

    from aioice.ice import StunProtocol

    import conference.media.fast_receive  # noqa: F401  (installs the demux)

    received = []
    protocol = StunProtocol.__new__(StunProtocol)
    protocol.receiver = SimpleNamespace(data_received=lambda data, c: received.append(data))
    protocol.local_candidate = SimpleNamespace(component=1)
    protocol.datagram_received(b"", ("127.0.0.1", 9))
    protocol.datagram_received(b"\x16\xfe\xfd", ("127.0.0.1", 9))  # a DTLS record still goes on
    assert received == [b"\x16\xfe\xfd"]
