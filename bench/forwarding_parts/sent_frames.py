"""What a publisher track sent, and how to recognise a received frame as one of them."""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict

from forwarding_parts.clip import TICKS_PER_FRAME, Clip


class SentFrames:
    """What a publisher track sent: frame index -> time, and how to recognise a frame."""

    def __init__(self, clip: Clip, entries: list[tuple[int, int, bool, float]]) -> None:
        self.time: dict[int, float] = {}
        self.by_clip_index: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.digests: set[str] = set()
        video, key = clip.video, clip.video_key
        self._digest_to_clip: dict[str, int] = {}
        for clip_index, payload in enumerate(video.payloads):
            self._digest_to_clip[hashlib.sha1(payload).hexdigest()] = clip_index
        for clip_index, payload in enumerate(key.payloads):
            self._digest_to_clip.setdefault(hashlib.sha1(payload).hexdigest(), clip_index)
        self.on_request: dict[int, bool] = {}
        self.periodic: dict[int, bool] = {}
        payload_digest = {}
        for index, clip_index, use_key, sent_at in entries:
            self.time[index] = sent_at
            self.on_request[index] = use_key
            self.periodic[index] = video.keyframes[clip_index]
            self.by_clip_index[clip_index].append((sent_at, index))
            slot = (clip_index, use_key)
            if slot not in payload_digest:
                payload_digest[slot] = hashlib.sha1(
                    (key if use_key else video).payloads[clip_index]
                ).hexdigest()
            self.digests.add(payload_digest[slot])
        for entries_of_frame in self.by_clip_index.values():
            entries_of_frame.sort()

    def recognise_like(self, other: SentFrames) -> None:
        """Recognise frames by ``other``'s bytes: for a track that sends what ``other`` sent."""
        self.digests = other.digests
        self._digest_to_clip = other._digest_to_clip

    def by_digest(self, digest: str, arrival: float) -> int | None:
        """The sent frame with these bytes: the last one sent before ``arrival``
        (the clip loops in long runs)."""
        clip_index = self._digest_to_clip.get(digest)
        if clip_index is None:
            return None
        candidates = self.by_clip_index.get(clip_index)
        if not candidates:
            return None
        position = bisect.bisect_right(candidates, (arrival + 0.001, 1 << 62)) - 1
        return candidates[position][1] if position >= 0 else None

    def by_timestamp(self, rtp_timestamp: int) -> int | None:
        """The sent frame with this RTP timestamp (publisher and baseline start at 0).

        aiortc's decode/encode round trip of ``pts`` can lose a tick: round.
        """
        index = round(rtp_timestamp / TICKS_PER_FRAME)
        if abs(rtp_timestamp - index * TICKS_PER_FRAME) > 3:
            return None
        return index if index in self.time else None
