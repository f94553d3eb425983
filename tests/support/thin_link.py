"""A real thin downlink for a real Chromium: a network namespace behind a shaped veth.

This kernel has no ``sch_netem`` (see ``bench/sites_parts/link.py``), but it
has network namespaces, veth pairs and the token bucket filter (``tbf``).
:class:`ThinLink` makes a namespace whose only way out is a veth pair to
this host (``10.231.N.1`` here, ``10.231.N.2`` inside, a /30), and shapes the
host side's egress: what the server sends the namespace (the site's
downlink) leaves at ``rate``, what does not fit in the filter's queue is
dropped, as at a commune's router. The uplink is not shaped.

A server listening on ``0.0.0.0`` is reached from inside at ``10.231.N.1``:
aioice gathers a host candidate on every interface address, so the media
goes through the veth too. :meth:`ThinLink.chromium` writes a launcher that
runs Chromium inside the namespace (Playwright drives it over a pipe, which
a namespace does not cut). Needs root; every name carries the test
process's id, and :meth:`ThinLink.close` removes the namespace and the pair.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.support.browser import CHROMIUM


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")


def _free_subnet(start: int) -> int:
    """A third octet for ``10.231.X.0/30`` that no interface of this host uses yet."""
    used = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=30
    ).stdout
    for step in range(250):
        subnet = (start + step) % 250 + 1
        if f" 10.231.{subnet}." not in used:
            return subnet
    raise RuntimeError("no free 10.231.X.0/30 for a thin link")


class ThinLink:
    """A network namespace reached through a veth pair whose downlink can be shaped."""

    def __init__(self, index: int = 0) -> None:
        tag = f"{os.getpid()}-{index}"
        self.namespace = f"thin-{tag}"
        short = f"{os.getpid() % 100000}{index}"
        self.host_side = f"thh{short}"  # interface names: at most 15 characters
        self.inner_side = f"thi{short}"
        subnet = _free_subnet(os.getpid() * 4 + index)
        self.host_address = f"10.231.{subnet}.1"
        self.inner_address = f"10.231.{subnet}.2"
        self.rate_kbit: int | None = None
        self._made: list[str] = []
        try:
            _run("ip", "netns", "add", self.namespace)
            self._made.append("netns")
            _run(
                "ip", "link", "add", self.host_side, "type", "veth", "peer", "name", self.inner_side
            )
            self._made.append("veth")
            _run("ip", "link", "set", self.inner_side, "netns", self.namespace)
            # No IPv6 link-local address: it would appear a second or two after
            # the link comes up (duplicate address detection), and a browser
            # already running takes that late change as "network changed".
            _run("ip", "link", "set", "dev", self.host_side, "addrgenmode", "none")
            _run("ip", "addr", "add", f"{self.host_address}/30", "dev", self.host_side)
            _run("ip", "link", "set", self.host_side, "up")
            inside = ("ip", "netns", "exec", self.namespace)
            _run(*inside, "ip", "link", "set", "dev", self.inner_side, "addrgenmode", "none")
            _run(*inside, "ip", "addr", "add", f"{self.inner_address}/30", "dev", self.inner_side)
            _run(*inside, "ip", "link", "set", self.inner_side, "up")
            _run(*inside, "ip", "link", "set", "lo", "up")
            self._wait_for_carrier()
        except BaseException:
            self.close()
            raise

    def _wait_for_carrier(self, seconds: float = 10.0) -> None:
        """Return once the host side has its carrier: the last change the pair makes."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = subprocess.run(
                ["ip", "-o", "link", "show", "dev", self.host_side],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            if "LOWER_UP" in shown and "state UP" in shown:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.host_side} has no carrier after {seconds:.0f} s")

    def shape(self, rate_kbit: int, queue_ms: int = 300) -> None:
        """Let the downlink carry ``rate_kbit`` kbit/s; a queue of ``queue_ms`` at that rate."""
        # The bucket holds a few full-size packets, so a burst is not dropped
        # for its size alone; a video keyframe's burst waits in the queue (or
        # overflows it) as on a real thin link.
        _run(
            "tc", "qdisc", "replace", "dev", self.host_side, "root", "tbf",
            "rate", f"{rate_kbit}kbit", "burst", "6000", "latency", f"{queue_ms}ms",
        )  # fmt: skip
        self.rate_kbit = rate_kbit

    def unshape(self) -> None:
        """Take the shaping off: the link recovers."""
        if self.rate_kbit is not None:
            _run("tc", "qdisc", "del", "dev", self.host_side, "root")
            self.rate_kbit = None

    def counters(self) -> dict[str, int]:
        """What the shaper sent and dropped so far (``tc -s``), zeros when not shaping."""
        out = subprocess.run(
            ["tc", "-s", "qdisc", "show", "dev", self.host_side],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        sent = dropped = 0
        for line in out.splitlines():
            words = line.split()
            if words[:1] == ["Sent"] and "dropped" in line:
                sent = int(words[1])
                dropped = int(words[words.index("(dropped") + 1].rstrip(","))
        return {"bytes_sent": sent, "dropped": dropped}

    def chromium(self, directory: Path) -> Path:
        """An executable that runs Chromium inside the namespace with the arguments it gets."""
        launcher = directory / f"chromium-{self.namespace}"
        launcher.write_text(
            f'#!/bin/sh\nexec ip netns exec {self.namespace} {CHROMIUM} "$@"\n', encoding="utf-8"
        )
        launcher.chmod(0o755)
        return launcher

    def close(self) -> None:
        """Remove the pair and the namespace (deleting one side of a veth deletes both)."""
        if "veth" in self._made:
            subprocess.run(["ip", "link", "del", self.host_side], capture_output=True, timeout=30)
        if "netns" in self._made:
            subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30)
        self._made.clear()
