"""The garbage collector's policy (conference/gc_policy.py): start-up frozen, rare full passes.

Each case runs in a subprocess: the policy changes process-wide state
(frozen objects, thresholds) that the rest of the suite should not inherit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conference import gc_policy
from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, json, weakref
from conference import gc_policy

class Node:
    pass

before = {"kept": [1, 2, 3]}  # a container from "start-up", alive for good
tracked_before = any(o is before for o in gc.get_objects())
threshold_before = gc.get_threshold()
changed = gc_policy.install()

# A cycle made after start-up, then dropped: the young generations still collect it.
a, b = Node(), Node()
a.other, b.other = b, a
gone = weakref.ref(a)
del a, b
gc.collect(1)
print(json.dumps({
    "changed": changed,
    "threshold_before": threshold_before,
    "threshold": gc.get_threshold(),
    "frozen": gc.get_freeze_count(),
    "tracked_before": tracked_before,
    "tracked_after": any(o is before for o in gc.get_objects()),
    "young_cycle_collected": gone() is None,
}))
"""


def run_probe(gc_mode: str | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != gc_policy.MODE_ENV}
    if gc_mode is not None:
        env[gc_policy.MODE_ENV] = gc_mode
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_calm_freezes_start_up_and_makes_full_passes_rare() -> None:
    for gc_mode in (None, "calm", " Calm "):  # the default, and spelled loosely
        seen = run_probe(gc_mode)
        assert seen["changed"] is True
        young, middle, _ = seen["threshold_before"]  # type: ignore[misc]
        assert seen["threshold"] == [young, middle, gc_policy.OLDEST_THRESHOLD]
        assert isinstance(seen["frozen"], int) and seen["frozen"] > 1000
        # Start-up's objects leave the generations a pass walks; new cycles still go.
        assert seen["tracked_before"] is True and seen["tracked_after"] is False
        assert seen["young_cycle_collected"] is True


def test_default_keeps_cpythons_collector() -> None:
    seen = run_probe("default")
    assert seen["changed"] is False
    assert seen["threshold"] == seen["threshold_before"]
    assert seen["frozen"] == 0 and seen["tracked_after"] is True
    assert seen["young_cycle_collected"] is True


def test_an_unknown_mode_is_refused_clearly() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, gc_policy.MODE_ENV: "off"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CONFERENCE_GC must be calm or default, not 'off'" in result.stderr


def test_the_server_applies_the_policy_at_start(server: ServerProcess) -> None:
    # The server logs what it froze once start-up is done (before its port opened).
    assert "garbage collector:" in server.log()
    assert "start-up objects frozen, full pass after 5000 younger ones" in server.log()
