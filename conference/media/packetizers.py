"""RTP payloads of encoded frames, cut by aiortc's own packetisers (VP8, H.264).

For media the server itself sends (a feed's encoded frames). aiortc glue: the
packetisers are private static methods of aiortc's encoders.
"""

from __future__ import annotations

from typing import cast


def packetize_vp8(frame: bytes, picture_id: int) -> list[bytes]:
    """RTP payloads of one encoded VP8 frame (aiortc's packetiser: descriptor, 1,300-byte cuts)."""
    from aiortc.codecs.vpx import Vp8Encoder

    return cast(list[bytes], Vp8Encoder._packetize(frame, picture_id))


def packetize_h264(annex_b: bytes) -> list[bytes]:
    """RTP payloads of one H.264 access unit in Annex B (aiortc's STAP-A/FU-A packetiser)."""
    from aiortc.codecs.h264 import H264Encoder

    return cast(list[bytes], H264Encoder._packetize(H264Encoder._split_bitstream(annex_b)))
