"""Probe: can aiortc 1.16 carry a RID-simulcast answer if we (1) add the RID/RRID URIs to
HEADER_EXTENSIONS and (2) munge a=rid/a=simulcast into the publish video section?"""
import asyncio, re, struct
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import HEADER_EXTENSIONS
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters as X
from aiortc.rtp import RtpPacket
RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
RRID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
HEADER_EXTENSIONS["video"] += [X(id=4, uri=RID), X(id=5, uri=RRID)]   # the one aiortc patch
from conference.peer import PeerSession, SlotLayout
from conference.sfu import SfuMetrics

def add_simulcast_recv(sdp: str, mid: str) -> str:
    sections = re.split(r"(?=\r\nm=)", sdp)
    out = []
    for s in sections:
        if f"\r\na=mid:{mid}\r\n" in s:
            s = s.rstrip("\r\n") + "\r\na=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n"
        out.append(s)
    return "".join(out)

async def main():
    a = PeerSession(owner="x", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    a.add_publish("audio"); a.add_publish("video"); a.add_slots(SlotLayout(1, 1, 1))
    offer = add_simulcast_recv(await a.create_offer(), a.publish_mids["video"])
    print("offer video publish section has:", [l for l in offer.split("\r\n") if l.startswith(("a=rid", "a=simulcast", "a=extmap:4", "a=extmap:5"))][:6])
    b = RTCPeerConnection()
    await b.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    for t in b.getTransceivers():
        if t.mid in a.publish_mids.values(): t.direction = "sendonly"
    ans = await b.createAnswer(); await b.setLocalDescription(ans)
    answer = b.localDescription.sdp
    # what Chrome would add to its answer for the publish video section
    answer = re.sub(r"(a=mid:%s\r\n)" % a.publish_mids["video"], r"\1a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n", answer)
    await a.apply_answer(answer)
    tr = a._receive_transceivers["video"]
    print("negotiated video header extensions:", [(e.id, e.uri.rsplit(':',1)[-1]) for e in tr._headerExtensions])
    print("pc.localDescription keeps a=rid?", "a=rid" in a.pc.localDescription.sdp, "| remoteDescription keeps a=simulcast?", "a=simulcast" in a.pc.remoteDescription.sdp)
    dtls = tr.receiver.transport
    from aiortc.rtcrtpparameters import RTCRtpParameters
    dtls._rtp_header_extensions_map.configure(RTCRtpParameters(headerExtensions=tr._headerExtensions))  # what receive() does once DTLS is up (rtcdtlstransport.py:690)
    ext = bytes([0x40, ord("h"), 0, 0])  # id 4, len 1: rid "h"
    pkt = struct.pack("!BBHII", 0x90, 97, 1, 1, 0xABC) + struct.pack("!HH", 0xBEDE, 1) + ext + b"\x90\x80\x01\x00"
    print("rid parsed from a packet:", RtpPacket.parse(pkt, dtls._rtp_header_extensions_map).extensions.rtp_stream_id)
    await a.close(); await b.close()
asyncio.run(main())
