"""One camera feed in its own process: decode, read plates, annotate, encode once.

A feed runs in a child process so that a slow, stuck or crashing camera (or
the OCR model) never touches the server's event loop, a meeting or another
feed, and so that it gets a core of its own. It talks to the server over a
pipe:

worker -> server
    ``("status", {...})``  state (connecting, online, offline, failed), fps, frames, last frame time, error,
                           ``gate``: how many frames the detector saw (see below), and load
                           shed: ``shed_reads`` (reads refused by the reading budget),
                           ``unread`` (vehicles due a read that got none), ``shedding``
    ``("pass", {...})``    one vehicle pass: plate, confidence, times, JPEG crop and thumbnail
    ``("packet", data, pts, keyframe, codec)``  one encoded video frame (Annex B for H.264), 90 kHz pts
    ``("tile", width, height, bgr)``  the annotated picture made small (:data:`TILE_SIZE`, raw BGR),
                           :data:`TILE_FPS` a second while asked: a wall's composite is made of these
server -> worker
    ``("video", codecs)``  the codecs meetings want now (``[]``, ``["vp8"]``, ``["vp8", "h264"]``):
                           each is encoded once (or, for an H.264 camera marked passthrough,
                           ``h264`` is the camera's own stream, not re-encoded)
    ``("keyframe",)``      the next encoded frame must be a keyframe
    ``("tiles", on)``      send (or stop sending) small annotated pictures for walls in meetings
    ``("alert", plate, text)``  show the alert banner for this plate
    ``("stop",)``

The camera is reopened with exponential backoff (1 s doubling to 60 s) when it
cannot be reached or its stream stops; a file source is replayed in a loop,
paced to its own timestamps, as a camera would be.

Cost follows the traffic: a frame is converted to BGR and given to the
pipeline only when the gate (:mod:`anpr_feed.gating`, motion on the luma
plane at 160x90) says something may be there, and it is annotated and
encoded only while a meeting's viewer, a recording or a relay takes the
feed's video (the server sends ``("video", [])`` when nobody does). An empty
road costs the decode and a tenth of a millisecond a frame.

Every connection is checked first (:func:`anpr_feed.sources.connect_target`):
the camera's host is resolved and checked against the allowed networks, and
FFmpeg opens the checked address with protocol and format whitelists. A
failure to connect reads the same whatever answered, and not sooner than
FFmpeg's own timeout, so the feed's status cannot serve to scan ports; the
details are logged at debug level.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

import av

from anpr_feed.encoder import FeedEncoder
from anpr_feed.gating import GatedPipeline, small_gray
from anpr_feed.sources import (
    CANNOT_CONNECT,
    FILE_UNREADABLE,
    FeedSourceError,
    SourcePolicy,
    Target,
    check_source,
    connect_target,
    is_file_source,
)

logger = logging.getLogger(__name__)

BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
STATUS_SECONDS = 1.0
IO_TIMEOUT_US = 5_000_000  # FFmpeg's socket timeout, microseconds: never hang forever
# A camera that cannot be reached is reported no sooner than this after the attempt
# began: a closed port (refused at once) and a silent one (FFmpeg's timeout) look alike.
OPEN_FAILURE_SECONDS = IO_TIMEOUT_US / 1e6 + 1.0
# A tile of a wall's composite: a quarter of 1280x720 (a 4x4 wall's cell), a few a second.
TILE_SIZE = (320, 180)
TILE_FPS = 5


def _open(target: Target) -> tuple[Any, Any]:
    """Open the source and find its video stream (the container is closed on failure)."""
    container = av.open(target.url, container_options=dict(target.options), timeout=(10.0, 10.0))
    if not container.streams.video:
        container.close()
        raise av.error.InvalidDataError(0, "the source has no video stream")
    return container, container.streams.video[0]


def _why(exc: BaseException) -> str:
    """An exception for the log, without its text: FFmpeg's repeats the URL and its password."""
    return f"{type(exc).__name__} {getattr(exc, 'errno', '')} {getattr(exc, 'strerror', '')}"


def _annexb_filter(stream: Any) -> Any:
    """MP4/MKV keep H.264 length-prefixed; RTP packetisation wants start codes."""
    extradata = stream.codec_context.extradata or b""
    if extradata[:1] == b"\x01":  # an avcC box: length-prefixed NAL units
        from av.bitstream import BitStreamFilterContext

        return BitStreamFilterContext("h264_mp4toannexb", stream)
    return None


def run(
    feed_id: str,
    url: str,
    conn: Connection,
    passthrough: bool = False,
    loop_files: bool = True,
    pipeline_factory: Any = None,
    *,
    policy: SourcePolicy,
    log_level: str = "WARNING",
    gate: bool = True,
) -> None:
    """The worker's main loop (the process target); ``policy`` says where it may read.

    ``gate=False`` gives every frame to the pipeline (as before the gate).
    """
    logging.basicConfig(level=log_level.upper())
    state: dict[str, Any] = {
        "state": "connecting",
        "fps": 0.0,
        "frames": 0,
        "last_frame_at": None,
        "error": None,
        "width": None,
        "height": None,
        "passes": 0,
        "codec": None,
        "passthrough": False,
        "note": None,
        "gate": None,
        # Encoders made since the worker started, and frames encoded by codec: one
        # encoder per codec however many meetings and walls show the feed.
        "encoders_made": 0,
        "encoded_frames": {},
        "shed_reads": 0,
        "unread": 0,
        "shedding": False,
    }
    wanted: set[str] = set()
    keyframe_wanted = False
    tiles_wanted = False
    last_tile = 0.0
    stopping = False
    alerts: list[tuple[str, str]] = []

    def send(*message: Any) -> None:
        try:
            conn.send(message)
        except (BrokenPipeError, EOFError, OSError):
            raise SystemExit(0) from None  # the server is gone: nothing to do

    def poll() -> None:
        nonlocal wanted, keyframe_wanted, stopping, tiles_wanted
        while conn.poll():
            try:
                message = conn.recv()
            except (EOFError, OSError):
                stopping = True
                return
            if message[0] == "video":
                wanted = {c for c in message[1] if c in ("vp8", "h264")}
                keyframe_wanted = True
            elif message[0] == "keyframe":
                keyframe_wanted = True
            elif message[0] == "tiles":
                tiles_wanted = bool(message[1])
            elif message[0] == "alert":
                alerts.append((message[1], message[2]))
            elif message[0] == "stop":
                stopping = True

    def wait(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stopping:
            time.sleep(0.2)
            poll()

    if pipeline_factory is None:
        import cv2

        from anpr_feed.pipeline import Pipeline, PipelineConfig
        from anpr_feed.pipeline_config import LIVE_OCR_BUDGET
        from anpr_feed.reader import RapidOcrReader

        cv2.setNumThreads(1)

        def pipeline_factory() -> Any:
            # One feed, one core: a second onnxruntime thread would only spin against
            # the decoder and the encoder (and other feeds) on a shared machine.
            reader = RapidOcrReader(threads=1)
            reader.warm_up()  # load the models now, not in the middle of the video
            # Reads in a thread: the annotated video goes on while a plate is read. A live
            # camera does not wait: reading gets a share of the core, and sheds the rest.
            return Pipeline(
                reader, PipelineConfig(background_reads=True, ocr_budget=LIVE_OCR_BUDGET)
            )

    try:
        source = check_source(url, policy)
    except FeedSourceError as exc:
        state.update(state="failed", error=str(exc))
        send("status", dict(state))
        return
    # The reader's models (some 100 MiB) are loaded once a camera answers: a
    # registered camera that never does costs a bare process, not a reader.
    pipeline: Any = None
    gated: GatedPipeline | None = None
    is_file = is_file_source(source)
    backoff = BACKOFF_START
    encoders: dict[str, FeedEncoder] = {}
    # Passthrough timestamps run on across reconnections and file loops, as a
    # live camera's would: the meeting's receivers never see time go back.
    pts_shift, last_pts = 0, None
    window_start, window_frames = time.monotonic(), 0
    last_status = 0.0
    while not stopping:
        poll()
        state.update(state="connecting")
        send("status", dict(state))
        attempt = time.monotonic()
        try:
            # Checked again at every connection: a name may resolve elsewhere by now.
            container, stream = _open(connect_target(source, policy, IO_TIMEOUT_US))
        except FeedSourceError as exc:
            if not is_file:  # the camera's name now leads somewhere not allowed
                logger.warning("feed %s: refused: %s", feed_id, exc)
                state.update(state="failed", error=str(exc), fps=0.0)
                send("status", dict(state))
                return
            logger.debug("feed %s: %s", feed_id, exc)
            state.update(state="offline", error=FILE_UNREADABLE, fps=0.0)
            send("status", dict(state))
            wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
            continue
        except (av.FFmpegError, OSError) as exc:
            logger.debug("feed %s: cannot open the source: %s", feed_id, _why(exc))
            if not is_file:
                wait(attempt + OPEN_FAILURE_SECONDS - time.monotonic())
            error = FILE_UNREADABLE if is_file else CANNOT_CONNECT
            state.update(state="offline", error=error, fps=0.0)
            send("status", dict(state))
            wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
            continue
        if pipeline is None:
            pipeline = pipeline_factory()
            gated = GatedPipeline(pipeline, enabled=gate)
        assert gated is not None
        try:
            stream.thread_type = "AUTO"
            source_codec = stream.codec_context.name
            forward, note = passthrough, None
            if passthrough and source_codec != "h264":
                forward, note = False, "passthrough-not-h264"
            elif passthrough and stream.codec_context.has_b_frames:
                # Browsers' WebRTC decoders take no reordered frames: a B-frame stream
                # would show a picture every few seconds. Re-encode it instead.
                forward, note = False, "passthrough-b-frames"
            annexb = _annexb_filter(stream) if forward else None
            state.update(
                state="online",
                error=None,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                codec=source_codec,
                passthrough=forward,
                note=note,
            )
            send("status", dict(state))
            backoff = BACKOFF_START
            started_wall = time.monotonic()
            first_pts: float | None = None
            first_packet = True
            decoded_any = False
            for packet in container.demux(stream):
                poll()
                if stopping:
                    break
                if packet.size == 0:
                    continue
                if is_file:
                    # Replay at the file's own pace (decode order), like a live camera.
                    stamp = packet.dts if packet.dts is not None else packet.pts
                    seconds = float(stamp * packet.time_base) if stamp is not None else 0.0
                    if first_pts is None:
                        first_pts, started_wall = seconds, time.monotonic()
                    delay = started_wall + (seconds - first_pts) - time.monotonic()
                    if delay > 0:
                        time.sleep(min(delay, 1.0))
                try:
                    # Decode before the Annex B filter: the filter takes the packet's data.
                    frames = packet.decode()
                except av.FFmpegError:
                    frames = []  # a corrupt frame: skip it, the next keyframe repairs the picture
                if forward and "h264" in wanted:
                    # The camera's own H.264, not decoded for the meeting and not re-encoded.
                    pts90 = int(float((packet.pts or 0) * packet.time_base) * 90000)
                    if first_packet and last_pts is not None:
                        pts_shift = last_pts + 3600 - pts90
                    first_packet = False
                    pts90 += pts_shift
                    last_pts = pts90
                    key = bool(packet.is_keyframe)  # the filter below empties the packet
                    for out in annexb.filter(packet) if annexb is not None else [packet]:
                        send("packet", bytes(out), pts90, key, "h264")
                for frame in frames:
                    decoded_any = True
                    now_wall = time.time()
                    # BGR only for the frames that need it (the pipeline's, or a viewer's).
                    converted: list[Any] = []

                    def image_of(frame: Any = frame, converted: list[Any] = converted) -> Any:
                        if not converted:
                            converted.append(frame.to_ndarray(format="bgr24"))
                        return converted[0]

                    small = small_gray(frame) if gated.enabled else None
                    for event in gated.process(small, image_of, now_wall):
                        state["passes"] += 1
                        send("pass", _pass_message(event))
                    for plate, text in alerts:
                        pipeline.alert(plate, text)
                    alerts.clear()
                    encode = wanted - {"h264"} if forward else set(wanted)
                    for codec in list(encoders):
                        if codec not in encode:
                            del encoders[codec]  # nobody watches in this codec any more
                    annotated: Any = None
                    if encode:
                        image = image_of()
                        annotated = pipeline.annotate(image)
                        pts = int(time.monotonic() * 90000)
                        for codec in sorted(encode):
                            encoder = encoders.get(codec)
                            if encoder is None:
                                encoder = encoders[codec] = FeedEncoder(
                                    codec, image.shape[1] & ~1, image.shape[0] & ~1, 25
                                )
                                state["encoders_made"] += 1
                            if keyframe_wanted:
                                encoder.force_keyframe = True
                            for data, out_pts, key in encoder.encode(annotated, pts):
                                send("packet", data, out_pts, key, codec)
                            counts = state["encoded_frames"]
                            counts[codec] = counts.get(codec, 0) + 1
                        keyframe_wanted = False
                    if tiles_wanted and time.monotonic() - last_tile >= 1.0 / TILE_FPS:
                        last_tile = time.monotonic()
                        if annotated is None:
                            annotated = pipeline.annotate(image_of())
                        send("tile", *_tile(annotated))
                    state["frames"] += 1
                    state["last_frame_at"] = now_wall
                    window_frames += 1
                    if time.monotonic() - last_status >= STATUS_SECONDS:
                        state["gate"] = gated.stats.as_dict()
                        elapsed = max(time.monotonic() - window_start, 1e-6)
                        state["fps"] = round(window_frames / elapsed, 1)
                        window_start, window_frames = time.monotonic(), 0
                        last_status = time.monotonic()
                        _load_shed(state, pipeline)
                        send("status", dict(state))
            for event in gated.flush():
                state["passes"] += 1
                send("pass", _pass_message(event))
            if is_file and not decoded_any and not stopping:
                raise av.error.InvalidDataError(0, "no frame of the file could be decoded")
            if is_file and loop_files and not stopping:
                continue  # a file replays like a camera that never stops
            if not stopping:
                state.update(state="offline", error="the stream ended", fps=0.0)
                send("status", dict(state))
        except (av.FFmpegError, OSError) as exc:
            logger.debug("feed %s: the source stopped: %s", feed_id, _why(exc))
            error = FILE_UNREADABLE if is_file else "the stream stopped"
            state.update(state="offline", error=error, fps=0.0)
            send("status", dict(state))
        finally:
            container.close()
        if not stopping:
            wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
    state.update(state="stopped", fps=0.0)
    send("status", dict(state))


def _tile(image: Any) -> tuple[int, int, bytes]:
    """The annotated picture at :data:`TILE_SIZE`: (width, height, raw BGR bytes)."""
    import cv2

    width, height = TILE_SIZE
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return width, height, small.tobytes()


def _load_shed(state: dict[str, Any], pipeline: Any) -> None:
    """Copy what the pipeline shed (reads refused, vehicles unread) into the status."""
    stats = getattr(pipeline, "stats", None)
    state["shed_reads"] = int(getattr(stats, "shed", 0))
    state["unread"] = int(getattr(stats, "unread", 0))
    state["shedding"] = bool(getattr(pipeline, "shedding", False))


def _pass_message(event: Any) -> dict[str, Any]:
    plate = event.plate
    return {
        "plate": asdict(plate) if hasattr(plate, "__dataclass_fields__") else dict(plate),
        "confidence": float(event.confidence),
        "started_at": float(event.started_at),
        "ended_at": float(event.ended_at),
        "reads": int(getattr(event, "reads", 1)),
        "colour": getattr(event, "colour", None),
        "crop": bytes(event.crop_jpeg or b""),
        "thumbnail": bytes(event.thumbnail_jpeg or b""),
    }
