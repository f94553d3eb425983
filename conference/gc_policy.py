"""How the cyclic garbage collector runs in a server process.

A full collection (CPython's oldest generation) walks every tracked object
while holding the event loop's thread: at 190 sites that is about 550,000
objects (aiortc's per-peer parameters, transceivers, queues and events; about
2,900 a site), and one pass took 90-460 ms at 190 sites on this machine
(docs/benchmarks.md, "Issue 10: what holds the loop at 190 sites"). CPython
starts one whenever ten younger collections have run and the objects that
survived them since the last full pass are a quarter of the old ones: during
a meeting, every 5-20 s. Every datagram that arrives meanwhile waits, and a
loop already 85-90 % busy takes seconds to drain that backlog.

The policy ("calm", the default):

* after start-up, one collection and :func:`gc.freeze`: the modules, the app
  and its routes move to the permanent generation, which no pass walks again;
* a full pass only after :data:`OLDEST_THRESHOLD` younger passes instead of
  ten (hours of a busy meeting, not seconds). Young cycles (a dropped
  packet's objects, a finished task's frames) are still collected by the two
  young generations as before; cycles that reached the oldest generation (a
  site that left) wait for the next full pass, so they cost memory for longer,
  never correctness.

``CONFERENCE_GC=default`` keeps CPython's own settings (for comparison).
"""

from __future__ import annotations

import gc
import logging
import os

logger = logging.getLogger(__name__)

MODE_ENV = "CONFERENCE_GC"  # "calm" (the default) or "default"
MODES = ("calm", "default")
# Younger (generation 1) passes between two full passes; CPython's default is 10. About
# two generation-1 passes a second ran at 190 sites: 5,000 is a full pass at most every
# 40 minutes of such a meeting (and rarer when the server is quieter).
OLDEST_THRESHOLD = 5_000


def mode() -> str:
    """``calm`` or ``default``: the collector's policy (env ``CONFERENCE_GC``)."""
    wanted = os.environ.get(MODE_ENV, "calm").strip().lower() or "calm"
    if wanted not in MODES:
        raise ValueError(f"{MODE_ENV} must be calm or default, not {wanted!r}")
    return wanted


def install() -> bool:
    """Apply the policy to this process once its start-up is done; whether it changed anything.

    Called after the app is built: what exists then lives as long as the
    process, so it is frozen out of every later pass.
    """
    if mode() == "default":
        return False
    gc.collect()  # garbage of start-up goes now, not into the permanent generation
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, OLDEST_THRESHOLD)
    logger.info(
        "garbage collector: %d start-up objects frozen, full pass after %d younger ones",
        gc.get_freeze_count(),
        OLDEST_THRESHOLD,
    )
    return True
