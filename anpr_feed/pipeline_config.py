"""How the pipeline is tuned: when a track is read, how often, within which budget.

A file is offline work: its passes must not depend on how fast or how loaded
the machine is, so by default every budget is counted in frames and reads
(``max_reads_per_frame``, ``max_reads``, and ``read_rate`` in reader calls per
second of video), never in CPU or wall seconds. Only a live feed, which must
keep up with its camera, sets ``ocr_budget`` (:data:`LIVE_OCR_BUDGET`): then a
burst of traffic sheds reads, and the pipeline counts and reports that
(``StageStats.shed``, ``StageStats.unread``, ``Pipeline.shedding``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anpr_feed.detector import DetectorConfig

# On one core, what is left of the 40 ms of a frame after decoding, detection, annotation
# and one VP8 encode (about 16 ms at 720p), with a margin: a share of a core.
LIVE_OCR_BUDGET = 0.45


@dataclass(frozen=True)
class PipelineConfig:
    """Tuning of :class:`Pipeline`. Sizes are in full-frame pixels."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    max_missed: int = 6  # frames a track coasts on its prediction before it ends
    min_hits: int = 2  # detections before a track may be read
    # px the track must have moved, in a steady run (Track.moving): static text is never read
    min_travel: float = 12.0
    edge_margin: int = 3  # the box must be this far inside the picture to be read
    min_text_height: float = 8.0  # below this (estimated character height) never read
    good_text_height: float = 16.0  # a growing plate is read once its text is this tall
    patience: int = 8  # ... or after this many frames, whatever its size
    reread_gap: int = 3  # frames between two readings of a track
    max_reads: int = 4  # reader calls per track
    max_failures: int = 2  # calls that gave no plate before a track is given up
    confident: float = 0.97  # one reading this sure, and the track is not read again
    max_reads_per_frame: int = 1
    # Live feeds only (the worker sets LIVE_OCR_BUDGET; None: no limit): the share of real
    # time the reader may spend, in CPU seconds per second of video. It depends on the
    # machine's load, so a file read with it could give other passes on a busy machine.
    ocr_budget: float | None = None
    ocr_burst: float = 1.5  # seconds of reading the budget may run ahead
    # A budget counted in reader calls per second of video (None: no limit): a live feed's
    # limit simulated on a file (benchmarks) with the same result on any machine.
    read_rate: float | None = None
    read_burst: float = 4.0  # reader calls the read_rate budget may run ahead
    shed_window: float = 10.0  # seconds a feed says it is shedding after it last shed a read
    # A two-row reading needs a box shaped like a two-row plate (2.0 for a car's, 1.36 for a
    # motorbike's); a one-row line of text split into two "rows" is not a plate.
    max_two_row_aspect: float = 2.6
    # Read in a thread while frames go on (a live feed: the annotated video must not
    # stall for a reader call); off, a read finishes within its frame (files, tests).
    background_reads: bool = False
    min_confidence: float = 0.5  # a pass below this is not emitted
    min_single_confidence: float = 0.8  # a pass resting on one reading needs this
    dedupe_seconds: float = 5.0
    # A track that starts at most this many frames after another was last seen, where that
    # one was heading, with a plate one edit apart, is a piece of the same vehicle
    # (anpr_feed.pass_merge); a pass waits that long for such a piece, and while one is
    # tracked, at most max_hold_frames.
    adjoin_frames: int = 12
    max_hold_frames: int = 250
    # Merged pieces vote with their weight scaled by hits / piece_frames (at most 1): a short
    # piece split off a vehicle's track counts for less than the track it came from.
    piece_frames: int = 25
    crop_margin: tuple[float, float] = (0.3, 0.45)  # of the box's width, height, each side
    thumbnail_width: int = 640
    jpeg_quality: int = 85
    banner_seconds: float = 10.0
    label_size: int = 16
