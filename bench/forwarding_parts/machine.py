"""The machine a benchmark ran on."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
from typing import Any


def machine_info() -> dict[str, Any]:
    """CPU, memory, kernel, Python and media library versions, and the date."""
    import aiortc
    import av

    model = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = None
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        memory = round(int(handle.readline().split()[1]) / 1024 / 1024, 1)
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiortc": aiortc.__version__,
        "av": av.__version__,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
