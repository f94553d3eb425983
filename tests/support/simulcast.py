"""A publisher that answers the server's offer with simulcast, as Chrome does.

aiortc neither reads nor writes ``a=rid`` / ``a=simulcast``, so an aiortc
client's answer gets the lines Chrome adds to the camera's section
(``a=rid:<r> send`` and ``a=simulcast:send q;h;f``), and its packets are
built by hand: one SSRC per layer, each carrying the RID extension, RTX
carrying RRID.
"""

from __future__ import annotations

import struct

from aiortc import RTCSessionDescription

from conference.media.simulcast import RID_EXTENSION_ID, RRID_EXTENSION_ID
from conference.peer import PeerSession
from tests.support.peers import client_pc

ABS_SEND_TIME_ID = 3


def add_simulcast_send(answer: str, mid: str, rids: str = "q;h;f") -> str:
    """``answer`` with Chrome's simulcast lines in section ``mid`` (``~`` marks a paused rid)."""
    lines = answer.split("\r\n")
    out: list[str] = []
    for line in lines:
        out.append(line)
        if line == f"a=mid:{mid}":
            out += [f"a=rid:{rid.lstrip('~')} send" for rid in rids.split(";")]
            out.append(f"a=simulcast:send {rids}")
    return "\r\n".join(out)


async def answer_with_simulcast(session: PeerSession, offer: str, rids: str = "q;h;f"):
    """An aiortc client's answer to ``offer``, sending on the publish sections, with simulcast."""
    pc = client_pc()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    for transceiver in pc.getTransceivers():
        if transceiver.mid in session.publish_mids.values():
            transceiver.direction = "sendonly"
    await pc.setLocalDescription(await pc.createAnswer())
    answer = add_simulcast_send(pc.localDescription.sdp, session.publish_mids["video"], rids)
    return pc, answer


def rtp_packet(
    *,
    ssrc: int,
    seq: int,
    ts: int,
    pt: int,
    payload: bytes,
    marker: int = 0,
    rid: str | None = None,
    rrid: str | None = None,
    abs_send_time: int = 0,
) -> bytes:
    """One plaintext RTP packet with one-byte header extensions (RFC 8285)."""
    ext = b""
    if rid is not None:
        ext += bytes([(RID_EXTENSION_ID << 4) | (len(rid) - 1)]) + rid.encode()
    if rrid is not None:
        ext += bytes([(RRID_EXTENSION_ID << 4) | (len(rrid) - 1)]) + rrid.encode()
    ext += bytes([(ABS_SEND_TIME_ID << 4) | 2]) + (abs_send_time & 0xFFFFFF).to_bytes(3, "big")
    ext += b"\x00" * (-len(ext) % 4)
    header = struct.pack("!BBHII", 0x90, (marker << 7) | pt, seq & 0xFFFF, ts, ssrc)
    return header + struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext + payload
