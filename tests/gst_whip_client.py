"""A WHIP publisher built on GStreamer's webrtcbin, for interoperability tests.

Run by Debian's ``/usr/bin/python3`` (python3-gi), not the project's
virtualenv, which cannot import ``gi``::

    /usr/bin/python3 tests/gst_whip_client.py URL TOKEN --codec h264|vp8 [--audio]
    /usr/bin/python3 tests/gst_whip_client.py --check   # exit 0 when every element is there

It builds a live test pattern (x264enc + ``rtph264pay config-interval=-1``
with the payloader's default MTU, or vp8enc + rtpvp8pay), lets webrtcbin
make its offer with its own certificate (GStreamer's DTLS agent makes an RSA
one) and its own SDP, waits until ICE gathering is complete (the server has
no trickle ICE), POSTs it, applies the answer and keeps sending until it is
terminated. It prints one JSON object a line: ``offer`` (with the SDP),
``answer`` (HTTP status, body), ``state`` (webrtcbin's connection state
changes), ``error``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO = {
    "h264": (
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=600 ! "
        "video/x-h264,profile=constrained-baseline ! "
        "rtph264pay config-interval=-1 ! "
        "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000"
    ),
    "vp8": (
        "vp8enc deadline=1 keyframe-max-dist=30 target-bitrate=600000 ! "
        "rtpvp8pay picture-id-mode=15-bit ! "
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"
    ),
}
AUDIO = (
    "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! "
    "opusenc ! rtpopuspay ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! "
)


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class Publisher:
    def __init__(self, url: str, token: str, codec: str, audio: bool) -> None:
        self.url = url
        self.token = token
        self.loop = GLib.MainLoop()
        description = (
            "webrtcbin name=sendrecv bundle-policy=max-bundle "
            "videotestsrc is-live=true pattern=ball ! "
            "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! "
            f"{VIDEO[codec]} ! sendrecv. "
        )
        if audio:
            description += AUDIO + "sendrecv. "
        self.pipeline = Gst.parse_launch(description)
        self.webrtc = self.pipeline.get_by_name("sendrecv")
        self.offered = False
        self.webrtc.connect("on-negotiation-needed", self.on_negotiation_needed)
        self.webrtc.connect("notify::ice-gathering-state", self.on_gathering)
        self.webrtc.connect("notify::connection-state", self.on_connection_state)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def run(self) -> None:
        self.pipeline.set_state(Gst.State.PLAYING)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self.stop)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self.stop)
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)

    def stop(self) -> bool:
        self.loop.quit()
        return False

    def on_error(self, _bus: object, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        say("error", message=str(error), debug=str(debug))

    def on_negotiation_needed(self, _element: object) -> None:
        if self.offered:
            return
        self.offered = True
        promise = Gst.Promise.new_with_change_func(self.on_offer_created, None)
        self.webrtc.emit("create-offer", None, promise)

    def on_offer_created(self, promise: Gst.Promise, _data: object) -> None:
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def on_gathering(self, _element: object, _param: object) -> None:
        state = self.webrtc.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            GLib.idle_add(self.post_offer)

    def post_offer(self) -> bool:
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        say("offer", sdp=sdp)
        request = urllib.request.Request(
            self.url,
            data=sdp.encode(),
            method="POST",
            headers={
                "Content-Type": "application/sdp",
                "Authorization": f"Bearer {self.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode(errors="replace")
        say("answer", status=status, body=body)
        if status != 201:
            self.loop.quit()
            return False
        _result, message = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())
        return False

    def on_connection_state(self, _element: object, _param: object) -> None:
        state = self.webrtc.get_property("connection-state")
        say("state", state=state.value_nick)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", nargs="?", help="the WHIP endpoint: http://HOST:PORT/whip/ROOM")
    parser.add_argument("token", nargs="?")
    parser.add_argument("--codec", choices=sorted(VIDEO), default="h264")
    parser.add_argument("--audio", action="store_true", help="send Opus as well")
    parser.add_argument("--check", action="store_true", help="only check the elements are there")
    args = parser.parse_args()
    Gst.init(None)
    missing = [
        name
        for name in (
            "webrtcbin",
            "nicesrc",
            "dtlssrtpenc",
            "x264enc",
            "rtph264pay",
            "vp8enc",
            "rtpvp8pay",
            "opusenc",
            "videotestsrc",
        )
        if Gst.ElementFactory.find(name) is None
    ]
    if missing:
        say("error", message=f"GStreamer elements missing: {', '.join(missing)}")
        return 2
    if args.check:
        return 0
    if not args.url or not args.token:
        parser.error("URL and TOKEN are needed")
    Publisher(args.url, args.token, args.codec, args.audio).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
