"""py-spy (optional): where the server's time goes during the measurement window."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from forwarding_parts.children import CHILDREN
from forwarding_parts.paths import RESULTS, ROOT


def start_py_spy(pid: int, seconds: float, work_dir: Path, rate: int) -> tuple[Any, Path]:
    """Start py-spy on ``pid`` for ``seconds``; the process and its output file."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = work_dir / "py-spy.txt"
    spy = subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--threads",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    CHILDREN.append(_Popen(spy))
    return spy, out


class _Popen:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def finish_py_spy(spy: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    """Wait for py-spy; its summary, its raw output kept in ``bench/results/``."""
    try:
        _, err = spy.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        return {"error": "py-spy did not finish"}
    if not out.exists():
        return {"error": (err or b"").decode(errors="replace")[-500:]}
    profile = summarise_collapsed(out.read_text())
    keep = RESULTS / f"py-spy-{datetime.datetime.now():%Y%m%d-%H%M%S}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, keep)
    profile["raw"] = str(keep.relative_to(ROOT))
    return profile


# Leaf frames that are a thread waiting, which py-spy does not always recognise as idle.
IDLE_LEAVES = {
    "_worker (thread.py)",
    "EpollSelector.select (selectors.py)",
    "Condition.wait (threading.py)",
    "Event.wait (threading.py)",
}


def summarise_collapsed(text: str, top: int = 25) -> dict[str, Any]:
    """Self and inclusive share of each function from py-spy's collapsed stacks.

    Shares are of the samples where the server was working: samples whose leaf
    is a thread waiting (an idle executor thread, the event loop in epoll) are
    left out and counted in ``idle_samples``.
    """
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [
            f
            for f in stack.split(";")
            if not f.startswith("thread ") and not f.startswith("process ")
        ]
        if not frames:
            continue
        total += count
        # "Slot.on_packet (conference/sfu.py:416)" -> "Slot.on_packet (sfu.py)"
        names = [re.sub(r" \((?:.*/)?([^/:]*)(?::\d+)?\)$", r" (\1)", f) for f in frames]
        if names[-1] in IDLE_LEAVES:
            idle += count
            total -= count
            continue
        self_time[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
    total = max(total, 1)
    return {
        "samples": total,
        "idle_samples": idle,
        "self": [(name, round(c / total * 100, 1)) for name, c in self_time.most_common(top)],
        "inclusive": [
            (name, round(c / total * 100, 1)) for name, c in inclusive.most_common(top * 2)
        ],
    }
