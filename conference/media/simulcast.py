"""Simulcast in the SDP: the server asks a browser for its camera in three layers.

The server offers and the browser answers (``docs/protocol.md``). A browser
that reads ``a=rid:q recv`` ... ``a=simulcast:recv q;h;f`` in the camera's
section of an offer answers ``a=simulcast:send q;h;f`` and sends one SSRC per
rid (libwebrtc ``GetSendEncodingsFromRemoteDescription``). aiortc 1.16
neither writes nor reads ``a=rid`` / ``a=simulcast`` (its parser drops them),
so the lines are added to the offer's text and read back from the answer's
text here; aiortc never needs them.

What aiortc does need is the RID and RRID header extensions: a browser
refuses a simulcast section without the RID extension, and aiortc only
negotiates (and parses) the extensions listed in its ``HEADER_EXTENSIONS``.
:func:`install_rid_extensions` adds them, on import, like
:mod:`conference.media.bounded_estimators`: aiortc glue, which is why
``pyproject.toml`` pins aiortc.

Layers are identified by rid NAME, never by order: ``q`` (a quarter of the
capture's size), ``h`` (half), ``f`` (full), from low to high.
"""

from __future__ import annotations

from collections.abc import Sequence

from conference.sfu import RIDS, SINGLE_LAYER, rid_rank, sort_rids

__all__ = [
    "RIDS",
    "RID_URI",
    "RRID_URI",
    "SINGLE_LAYER",
    "answered_layers",
    "install_rid_extensions",
    "offer_simulcast",
    "rid_rank",
]

RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
RRID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
# BUNDLE shares one id space: mid is 1, audio level 2, abs-send-time 3.
RID_EXTENSION_ID = 4
RRID_EXTENSION_ID = 5


def install_rid_extensions() -> None:
    """Let aiortc offer, accept and parse the RID and RRID header extensions (video)."""
    from aiortc.codecs import HEADER_EXTENSIONS
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters

    video = HEADER_EXTENSIONS["video"]
    if not any(ext.uri == RID_URI for ext in video):
        video.append(RTCRtpHeaderExtensionParameters(id=RID_EXTENSION_ID, uri=RID_URI))
        video.append(RTCRtpHeaderExtensionParameters(id=RRID_EXTENSION_ID, uri=RRID_URI))


install_rid_extensions()


def _sections(sdp: str) -> tuple[str, list[str]]:
    """The SDP's line break and its sections (the session part first), each with its lines."""
    newline = "\r\n" if "\r\n" in sdp else "\n"
    sections: list[str] = []
    current: list[str] = []
    for line in sdp.split(newline):
        if line.startswith("m=") and current:
            sections.append(newline.join(current))
            current = []
        current.append(line)
    sections.append(newline.join(current))
    return newline, sections


def offer_simulcast(sdp: str, mid: str, rids: Sequence[str] = RIDS) -> str:
    """``sdp`` with ``a=rid:<r> recv`` per rid and ``a=simulcast:recv q;h;f`` in section ``mid``.

    Only the section whose ``a=mid`` is ``mid`` changes; the lines go at its
    end. WebKit validates ``a=simulcast`` strictly, so it is written exactly
    as RFC 8853 spells it.
    """
    newline, sections = _sections(sdp)
    out: list[str] = []
    for section in sections:
        lines = section.split(newline)
        if section.startswith("m=") and f"a=mid:{mid}" in lines:
            # Keep a trailing empty line (the SDP's final break) at the very end.
            tail: list[str] = []
            while lines and lines[-1] == "":
                tail.append(lines.pop())
            lines += [f"a=rid:{rid} recv" for rid in rids]
            lines.append("a=simulcast:recv " + ";".join(rids))
            lines += tail
        out.append(newline.join(lines))
    return newline.join(out)


def answered_layers(sdp: str, mid: str) -> list[str]:
    """The rids the answer's section ``mid`` will send (``a=simulcast:send``), low to high.

    A paused rid (``~q``) is still a layer: it may be resumed later. ``[]``
    when the section has no ``a=simulcast`` send list: one layer, as WHIP
    clients and browsers that ignore simulcast send.
    """
    newline, sections = _sections(sdp)
    for section in sections:
        lines = section.split(newline)
        if not (section.startswith("m=") and f"a=mid:{mid}" in lines):
            continue
        for line in lines:
            if not line.startswith("a=simulcast:"):
                continue
            words = line[len("a=simulcast:") :].split()
            for direction, layers in zip(words[::2], words[1::2], strict=False):
                if direction != "send":
                    continue
                # RFC 8853: ';' separates streams, ',' alternatives of one stream.
                names = [alt.lstrip("~") for group in layers.split(";") for alt in group.split(",")]
                return sort_rids(names)
    return []
