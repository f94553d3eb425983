"""A WHIP publisher built on FFmpeg's own WHIP muxer, for interoperability tests.

Debian 12's ``ffmpeg`` (5.1) has no WHIP muxer; the FFmpeg 8 libraries in
the PyAV wheel the project already installs do (``format="whip"``). Run by
the project's Python::

    .venv/bin/python tests/ffmpeg_whip_client.py URL TOKEN [--cert C --key K] [--profile P]

FFmpeg writes its own offer (``a=setup:passive``: FFmpeg is always the DTLS
server; ``profile-level-id`` from the encoder's SPS with profile-iop 00,
e.g. ``42001e``; no ICE candidates: it sends its checks to the answer's
first candidate and the server learns its address as peer-reflexive), does
the DTLS handshake with its own certificate (``--cert``/``--key``: an RSA
one, as the interop pass used) and sends libx264 video until terminated. It
prints one JSON object a line: ``started``, ``frames`` (every 30), ``error``.
"""

from __future__ import annotations

import argparse
import fractions
import json
import signal
import sys
import time

import av
import numpy as np

LEVELS = {"3.0": "30", "3.1": "31"}


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--cert", help="PEM certificate for DTLS (FFmpeg makes one otherwise)")
    parser.add_argument("--key", help="PEM private key for --cert")
    parser.add_argument("--profile", default="baseline", help="libx264 profile")
    parser.add_argument("--level", default="3.0", choices=sorted(LEVELS))
    args = parser.parse_args()
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    options = {"authorization": args.token, "handshake_timeout": "20000"}
    if args.cert and args.key:
        options.update(cert_file=args.cert, key_file=args.key)
    fps = 30
    try:
        output = av.open(args.url, mode="w", format="whip", options=options)
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.profile = args.profile
        stream.codec_context.options = {
            "tune": "zerolatency",
            "preset": "ultrafast",
            "bf": "0",
            "g": str(fps),
            "level": LEVELS[args.level],
        }
        yy, xx = np.mgrid[0:240, 0:320]
        start = time.monotonic()
        index = 0
        say("started")
        while not stop:
            image = np.zeros((240, 320, 3), dtype=np.uint8)
            image[..., 0] = (xx + index * 7) % 256
            image[..., 1] = (yy + index * 3) % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = fractions.Fraction(1, fps)
            for packet in stream.encode(frame):
                output.mux(packet)
            index += 1
            if index % fps == 0:
                say("frames", count=index)
            delay = start + index / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        output.close()
    except Exception as exc:  # the test reads the reason from stdout
        say("error", message=f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
