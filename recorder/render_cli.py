"""Rendering from the command line or a server subprocess, with progress reports.

``conference recording render ID [--layout grid|speaker]`` calls
:func:`render_command`. Two ways to report:

* for a person (default): a progress bar on stderr, redrawn in place
  (``\\r``) with the percentage, the time elapsed and an estimate of the time
  left, then the output's path on stdout;
* for a program (``json_progress``): one JSON object per line on stdout,
  ``{"progress": 0.42}`` as it goes, then ``{"done": "/path/composite-grid.mp4"}``,
  or ``{"error": "..."}`` if it failed (the exit status is then non-zero).
  Warnings (an unreadable track) go to stderr in both modes.

``python -m recorder.render_cli DIRECTORY [--layout speaker] [--json]`` runs
it without the conference CLI.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import TextIO, cast

import av

from recorder.fonts import FontNotFoundError
from recorder.render import LAYOUTS, Layout, RenderError, render


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """A one-line progress bar redrawn with ``\\r`` (at most ten times a second)."""

    WIDTH = 30

    def __init__(self, stream: TextIO, started: float | None = None) -> None:
        self.stream = stream
        self.started = time.monotonic() if started is None else started
        self._drawn_at = 0.0
        self._longest = 0

    def line(self, fraction: float, now: float) -> str:
        """The bar's text for ``fraction`` done at monotonic time ``now``."""
        fraction = min(max(fraction, 0.0), 1.0)
        elapsed = now - self.started
        filled = round(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        eta = _clock(elapsed * (1 - fraction) / fraction) if fraction > 0 else "?"
        return f"[{bar}] {fraction * 100:5.1f} %  elapsed {_clock(elapsed)}  ETA {eta}"

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        line = self.line(fraction, now)
        # Pad over the end of a longer previous line ("ETA 1:02:03" -> "ETA 9:59").
        self.stream.write("\r" + line.ljust(self._longest))
        self._longest = max(self._longest, len(line))
        self.stream.flush()

    def finish(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()


def _emit(stream: TextIO, **fields: object) -> None:
    stream.write(json.dumps(fields, ensure_ascii=False) + "\n")
    stream.flush()


def render_command(recording_dir: Path, layout: str, json_progress: bool) -> int:
    """Render ``recording_dir`` in ``layout``, reporting progress; returns the exit status.

    0: done; 1: the recording could not be rendered; 2: bad arguments.
    """
    out, err = sys.stdout, sys.stderr
    if layout not in LAYOUTS:
        message = f"unknown layout {layout!r} (choose {' or '.join(LAYOUTS)})"
        if json_progress:
            _emit(out, error=message)
        print(message, file=err)
        return 2
    bar: ProgressBar | None = None
    if json_progress:

        def report(fraction: float) -> None:
            _emit(out, progress=round(fraction, 4))

    else:
        bar = ProgressBar(err)
        report = bar
    try:
        path = render(Path(recording_dir), cast(Layout, layout), progress=report)
    except (RenderError, FontNotFoundError, OSError, av.FFmpegError) as error:
        if bar is not None:
            bar.finish()
        message = f"cannot render {recording_dir}: {error}"
        if json_progress:
            _emit(out, error=message)
        print(message, file=err)
        return 1
    if json_progress:
        _emit(out, done=str(path))
    else:
        assert bar is not None
        bar.finish()
        print(path, file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m recorder.render_cli``."""
    parser = argparse.ArgumentParser(description="Render a recording into one MP4.")
    parser.add_argument("directory", type=Path, help="the recording's directory")
    parser.add_argument("--layout", default="grid", choices=LAYOUTS)
    parser.add_argument("--json", action="store_true", help="JSON progress lines on stdout")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return render_command(arguments.directory, arguments.layout, arguments.json)


if __name__ == "__main__":
    sys.exit(main())
