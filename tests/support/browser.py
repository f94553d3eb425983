"""Shared by the browser tests: how to start Debian's chromium, and getStats helpers.

The ``browser`` fixture (tests/conftest.py) launches it with :data:`FLAGS`.
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CONFERENCE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]

# Per slot: who is in it and what its receiver decoded, read through getStats().
SLOT_STATS = """
async () => {
  const c = window.conference;
  if (!c || !c.pc) return null;
  const byTrack = new Map();
  for (const r of c.pc.getReceivers()) if (r.track) byTrack.set(r.track.id, r);
  const out = {};
  for (const el of document.querySelectorAll('[data-slot] video, audio[data-slot]')) {
    const holder = el.closest('[data-slot]');
    const slot = holder.dataset.slot;
    const track = el.srcObject && el.srcObject.getTracks()[0];
    const receiver = track && byTrack.get(track.id);
    let decoded = 0, packets = 0;
    if (receiver) {
      (await receiver.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp') {
          decoded += s.framesDecoded || 0;
          packets += s.packetsReceived || 0;
        }
      });
    }
    out[slot] = {participant: c.slots[slot] || null, decoded, packets};
  }
  return out;
}
"""


def decoded_from(stats: dict[str, dict], who: str) -> int:
    return sum(
        s["decoded"]
        for slot, s in stats.items()
        if s["participant"] == who and not slot.startswith("audio")
    )


def audio_from(stats: dict[str, dict], who: str) -> int:
    return sum(
        s["packets"]
        for slot, s in stats.items()
        if s["participant"] == who and slot.startswith("audio")
    )
