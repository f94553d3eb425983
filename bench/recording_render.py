"""Composite rendering benchmark: how fast recordings of 4 and 16 sites become one MP4.

Run by hand (it is not a test)::

    .venv/bin/python bench/recording_render.py [--sites 4 16] [--seconds 60]
        [--layouts grid speaker]

For every site count it writes a synthetic recording (tests/support/recordings.py:
VP8 640x360 at 25 fps and ~600 kbit/s with camera-like content — a still
textured room, a moving face-sized blob, sensor noise — plus Opus audio with
a beep every 2 s per site; the active speaker changes every 10 s), cached in
``bench/.cache/recording-render/``. Then it renders each layout in a fresh
subprocess (1280x720, 25 fps, the defaults) so that each run's peak RSS is its
own, and reports per run: seconds of media, seconds of rendering, speed as a
multiple of real time, CPU seconds and peak RSS.

Progress goes to stderr; one JSON document goes to stdout at the end (and a
copy to ``bench/results/``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from recorder.manifest import Event  # noqa: E402
from tests.support.recordings import BASE_TIME, SiteSpec, write_recording  # noqa: E402

CACHE = ROOT / "bench" / ".cache" / "recording-render"
RESULTS = ROOT / "bench" / "results"
FIXTURE_VERSION = 1  # bump when the synthetic content changes


def _recording(sites: int, seconds: float) -> Path:
    """The cached synthetic recording of ``sites`` sites, written if missing."""
    directory = CACHE / f"v{FIXTURE_VERSION}-{sites}-sites-{seconds:g}s"
    if (directory / "manifest.json").is_file():
        return directory
    print(f"writing a {seconds:g} s recording of {sites} sites…", file=sys.stderr, flush=True)
    started = time.monotonic()
    specs = [
        SiteSpec(
            f"site-{i:02d}",
            f"Ủy ban nhân dân xã số {i + 1}",
            beep_hz=400 + 100 * i,
            width=640,
            height=360,
            pattern="motion",
        )
        for i in range(sites)
    ]
    speakers = [
        Event(at=BASE_TIME + at, type="speaker", site_id=specs[k % sites].site_id)
        for k, at in enumerate(range(10, int(seconds), 10))
    ]
    partial = directory.with_name(directory.name + ".partial")
    write_recording(partial, specs, seconds, host_site=specs[0].site_id, events=speakers)
    partial.rename(directory)
    print(f"  written in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return directory


def _child(directory: Path, layout: str, output: Path) -> None:
    """Render once in this process and print its measurements as JSON."""
    from recorder.render import render
    from recorder.render_cli import ProgressBar

    bar = ProgressBar(sys.stderr)
    started = time.monotonic()
    cpu = time.process_time()
    render(directory, layout, output=output, progress=bar)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    bar.finish()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "render_seconds": round(elapsed, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "output_mb": round(output.stat().st_size / 1e6, 2),
            }
        )
    )


def _run(directory: Path, layout: str, sites: int, seconds: float) -> dict[str, Any]:
    output = directory / f"bench-{layout}.mp4"
    print(f"{sites} sites, {layout}:", file=sys.stderr, flush=True)
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(directory), layout, str(output)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    output.unlink(missing_ok=True)
    return {
        "sites": sites,
        "layout": layout,
        "media_seconds": seconds,
        **measured,
        "speed_x_realtime": round(seconds / measured["render_seconds"], 2),
    }


def main() -> None:
    """Benchmark every site count and layout asked for; JSON to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--layouts", nargs="+", default=["grid", "speaker"])
    parser.add_argument("--child", nargs=3, metavar=("DIRECTORY", "LAYOUT", "OUTPUT"))
    arguments = parser.parse_args()
    if arguments.child:
        directory, layout, output = arguments.child
        _child(Path(directory), layout, Path(output))
        return
    runs = []
    for sites in arguments.sites:
        directory = _recording(sites, arguments.seconds)
        for layout in arguments.layouts:
            runs.append(_run(directory, layout, sites, arguments.seconds))
            print(f"  {json.dumps(runs[-1])}", file=sys.stderr, flush=True)
    report = {
        "benchmark": "recording_render",
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "output": {"width": 1280, "height": 720, "fps": 25, "video": "libx264 veryfast crf 23"},
        "sources": {"width": 640, "height": 360, "fps": 25, "codec": "vp8 ~600 kbit/s"},
        "runs": runs,
    }
    text = json.dumps(report, indent=1)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"recording-render-{stamp}.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
