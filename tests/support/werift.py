"""werift (a WebRTC stack in TypeScript) as a WHIP publisher and a WHEP viewer.

The Node scripts live in ``tests/werift/`` (``npm ci`` there, as scripts/test
does); :func:`write_rtp_file` prepares what ``publish.js`` sends: our
pre-encoded VP8 and Opus clips, packetized by aiortc's payloaders, as RTP
packets with their send times.
"""

from __future__ import annotations

import fractions
import shutil
import struct
from pathlib import Path

import av
import pytest
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtp import RtpPacket

from tests.support.media import EncodedClip
from tests.support.server import ROOT

WERIFT_DIR = ROOT / "tests" / "werift"
PUBLISH = WERIFT_DIR / "publish.js"
WATCH = WERIFT_DIR / "watch.js"

MAGIC = b"WRTP"
HEADER = struct.Struct(">4sIII")  # magic, loop length (us), video and audio ticks a loop
RECORD = struct.Struct(">IBH")  # send time (us), kind (0 video, 1 audio), packet length
VIDEO, AUDIO = 0, 1
# Any values: werift's sender writes the negotiated SSRC and payload type over them.
FILE_SSRCS = {VIDEO: 0x11111111, AUDIO: 0x22222222}
FILE_PAYLOAD_TYPES = {VIDEO: 96, AUDIO: 111}


def node() -> str:
    """Path of ``node``; fails (never skips): scripts/test installs it and werift."""
    path = shutil.which("node")
    if path is None or not (WERIFT_DIR / "node_modules" / "werift").is_dir():
        pytest.fail(
            "node or tests/werift/node_modules is missing; scripts/test installs "
            "nodejs and runs 'npm ci --prefix tests/werift'",
            pytrace=False,
        )
    return path


def _packets(clip: EncodedClip, kind: int) -> list[tuple[int, bytes]]:
    """(send time in us, RTP packet) for every packet of one clip, sequence numbers from 0."""
    encoder = Vp8Encoder() if kind == VIDEO else OpusEncoder()
    time_base = fractions.Fraction(1, 90000 if kind == VIDEO else 48000)
    out: list[tuple[int, bytes]] = []
    sequence = 0
    for index, data in enumerate(clip.payloads):
        packet = av.Packet(data)
        packet.pts = index * clip.ticks_per_frame
        packet.time_base = time_base
        payloads, timestamp = encoder.pack(packet)
        at = round(index * clip.frame_duration * 1_000_000)
        for number, payload in enumerate(payloads):
            rtp = RtpPacket(
                payload_type=FILE_PAYLOAD_TYPES[kind],
                # Video: the frame's last packet; Opus: every packet is a frame.
                marker=int(kind == VIDEO and number == len(payloads) - 1),
                sequence_number=sequence,
                timestamp=timestamp,
                ssrc=FILE_SSRCS[kind],
                payload=payload,
            )
            out.append((at, rtp.serialize()))
            sequence += 1
    return out


def write_rtp_file(path: Path, video: EncodedClip, audio: EncodedClip) -> Path:
    """Write both clips as one file of timed RTP packets for ``publish.js``.

    The clips should last equally long: the file loops, and each loop moves
    timestamps on by its length.
    """
    seconds = max(
        len(video.payloads) * video.frame_duration, len(audio.payloads) * audio.frame_duration
    )
    records = [(at, VIDEO, rtp) for at, rtp in _packets(video, VIDEO)]
    records += [(at, AUDIO, rtp) for at, rtp in _packets(audio, AUDIO)]
    records.sort(key=lambda record: (record[0], record[1]))  # stable: keeps packet order
    with path.open("wb") as out:
        out.write(
            HEADER.pack(
                MAGIC, round(seconds * 1_000_000), round(seconds * 90000), round(seconds * 48000)
            )
        )
        for at, kind, rtp in records:
            out.write(RECORD.pack(at, kind, len(rtp)))
            out.write(rtp)
    return path
