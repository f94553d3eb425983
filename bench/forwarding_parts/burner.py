"""A CPU burner beside the server: the "loaded" machine of the receive and forwarding benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from forwarding_parts.children import CHILDREN


class Burner:
    """Busy loops (one per core but one) while it runs.

    On a busy machine datagrams queue while the server waits for a core, so
    one wake-up of its loop serves several: the cost per packet falls.
    """

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start the busy loops (and let them get going)."""
        for _ in range(max(1, (os.cpu_count() or 2) - 1)):
            self.processes.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        CHILDREN.append(self)
        time.sleep(0.5)

    def kill(self) -> None:
        """Stop them."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.processes.clear()
        if self in CHILDREN:
            CHILDREN.remove(self)
