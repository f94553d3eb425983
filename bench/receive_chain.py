"""Hot-loop cost of the receive chain after SRTP: parse, route, receiver, ``Source.push`` (no sinks).

Run by hand (it is not a test), on this tree or an older one (it falls back
to aiortc's ``RtpPacket`` path where ``conference.media.rtp_header`` is missing)::

    PYTHONPATH=. .venv/bin/python bench/receive_chain.py

20,000 plaintext VP8 packets of a real clip with abs-send-time, one
negotiated single-stream receiver; prints µs per packet. Results:
``docs/benchmarks.md`` ("Issue 10: lean receive path").
"""

import asyncio
import time

from aiortc import RTCSessionDescription

from conference.media.ntp import NTP_EPOCH_OFFSET
from conference.peer import PeerSession
from conference.sfu import SfuMetrics
from tests.support.peers import client_pc
from tests.support.simulcast import rtp_packet
from tests.support.slots import video_packets

try:
    from conference.media.fast_receive import _route
    from conference.media.rtp_header import extension_ids, parse_rtp

    LEAN = True
except ImportError:
    from aiortc.rtp import RtpPacket

    LEAN = False


async def main():
    session = PeerSession(owner="p", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    session.add_publish("video")
    pc = client_pc()
    await pc.setRemoteDescription(
        RTCSessionDescription(sdp=await session.create_offer(), type="offer")
    )
    for t in pc.getTransceivers():
        t.direction = "sendonly"
    await pc.setLocalDescription(await pc.createAnswer())
    await session.apply_answer(pc.localDescription.sdp)
    tr = next(t for t in session.pc.getTransceivers() if t.kind == "video")
    receiver = tr.receiver

    async def send(data):
        pass

    receiver.transport._send_rtp = send
    await receiver.receive(session.pc._RTCPeerConnection__remoteRtp(tr))
    pt = next(c.payloadType for c in receiver._codecs.values() if c.name == "VP8")
    frames = video_packets(60, first_seq=0, first_ts=0)
    datas = []
    for i in range(20000):
        p = frames[i % len(frames)]
        ts = p.timestamp + (i // len(frames)) * 180000
        at = ts / 90000 + (i % 4) * 0.0003  # a frame's packets paced 0.3 ms apart, 30 fps
        sent = int(at * (1 << 18)) & 0xFFFFFF
        datas.append(
            (
                rtp_packet(
                    ssrc=0x5151,
                    seq=i & 0xFFFF,
                    ts=ts & 0xFFFFFFFF,
                    pt=pt,
                    payload=p.payload,
                    abs_send_time=sent,
                ),
                1_800_000_000.0 + at + 0.02,
            )
        )
    transport = receiver.transport
    m = transport._rtp_header_extensions_map
    router = transport._rtp_router
    t0 = time.perf_counter()
    for data, now in datas:
        ms = int((now + NTP_EPOCH_OFFSET) * 1000)
        if LEAN:
            f = parse_rtp(data, extension_ids(m))
            r = _route(router, f[4], f[0])
            r.receive_fields(f, ms, now)
        else:
            pk = RtpPacket.parse(data, m)
            r = router.route_rtp(pk)
            r.handle_rtp(pk, ms)
    el = time.perf_counter() - t0
    print(
        ("lean" if LEAN else "before"),
        round(el / len(datas) * 1e6, 2),
        "us/packet",
        session.sources["video"].top_layer().packets,
    )
    await pc.close()
    await session.close()


asyncio.run(main())
