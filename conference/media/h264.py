"""H.264 in SDP: which profiles a room accepts, and the level to answer with.

An H.264 ``profile-level-id`` (RFC 6184 section 8.1) is three bytes in hex:
``profile_idc``, ``profile-iop`` (the constraint_set flags) and
``level_idc``. Two of them name the same stream format when their *profiles*
match; the level may differ, and is settled separately (RFC 6184 section
8.2.2, ``level-asymmetry-allowed``). Comparing the strings byte for byte
refuses, for instance, FFmpeg's ``42001e`` (Baseline 3.0) for ours
``42e01f`` (Constrained Baseline 3.1).

The profile rules are libwebrtc's (``h264_profile_level_id.cc``), which every
browser follows, so the server and a browser agree on what is the same
profile: ``42e0..``, ``42c0..``, ``4240..``, ``4d8...`` and ``58c0..`` are all
Constrained Baseline.

A room accepts Constrained Baseline and Baseline: the two that every browser
offers and answers (``42e01f`` and ``42001f``), and that the encoders in
use actually send as Constrained Baseline (no FMO, ASO or redundant slices).
Main and High are refused: the SFU forwards a publisher's stream unchanged to
subscribers that negotiated Constrained Baseline, and a Main or High stream
may carry B-frames (reordered pictures), which browsers' real-time decoders
show as a handful of frames, and CABAC, which Constrained Baseline decoders
(hardware, OpenH264) need not decode. Nothing in an offer tells whether an
encoder will send B-frames, so the refusal says what to change instead.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

# Ours: Constrained Baseline, level 3.1 (1280x720 at 30 frames per second).
OUR_PROFILE_LEVEL_ID = "42e01f"
OUR_LEVEL = 31
DEFAULT_PROFILE_LEVEL_ID = "42e01f"  # what libwebrtc assumes when the parameter is absent
LEVEL_1B = 0  # level 1b; it sorts between 1.0 and 1.1 (see _level_key)


class Profile(enum.Enum):
    """The H.264 profiles WebRTC endpoints name in SDP."""

    CONSTRAINED_BASELINE = "Constrained Baseline"
    BASELINE = "Baseline"
    MAIN = "Main"
    CONSTRAINED_HIGH = "Constrained High"
    HIGH = "High"
    PREDICTIVE_HIGH_444 = "Predictive High 4:4:4"


ACCEPTED_PROFILES = (Profile.CONSTRAINED_BASELINE, Profile.BASELINE)

# (profile_idc, profile-iop pattern with x for "any", profile), first match wins.
_PATTERNS: tuple[tuple[int, str, Profile], ...] = (
    (0x42, "x1xx0000", Profile.CONSTRAINED_BASELINE),
    (0x4D, "1xxx0000", Profile.CONSTRAINED_BASELINE),
    (0x58, "11xx0000", Profile.CONSTRAINED_BASELINE),
    (0x42, "x0xx0000", Profile.BASELINE),
    (0x58, "10xx0000", Profile.BASELINE),
    (0x4D, "0x0x0000", Profile.MAIN),
    (0x64, "00000000", Profile.HIGH),
    (0x64, "00001100", Profile.CONSTRAINED_HIGH),
    (0xF4, "00000000", Profile.PREDICTIVE_HIGH_444),
)

# The profile-level-id we write for each profile (libwebrtc's canonical form).
_CANONICAL_PREFIX = {
    Profile.CONSTRAINED_BASELINE: "42e0",
    Profile.BASELINE: "4200",
    Profile.MAIN: "4d00",
    Profile.CONSTRAINED_HIGH: "640c",
    Profile.HIGH: "6400",
    Profile.PREDICTIVE_HIGH_444: "f400",
}

_HEX6 = re.compile(r"^[0-9a-fA-F]{6}$")
# level_idc values, 0 being level 1b as libwebrtc writes it (6.x: H.264 2016 and later).
_LEVELS = {0, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60, 61, 62}
CONSTRAINT_SET3 = 0x10


def _matches(pattern: str, value: int) -> bool:
    for bit, want in enumerate(pattern):
        if want != "x" and ((value >> (7 - bit)) & 1) != int(want):
            return False
    return True


@dataclass(frozen=True)
class ProfileLevelId:
    """A parsed ``profile-level-id``: the profile, if it is one WebRTC knows, and the level."""

    text: str  # as offered, lower case
    profile: Profile | None  # None: a profile WebRTC does not use (High 10, 4:2:2...)
    level: int  # level_idc (31 = 3.1); LEVEL_1B for level 1b

    @property
    def profile_name(self) -> str:
        """The profile's name, or its profile_idc when it has none here."""
        if self.profile is not None:
            return self.profile.value
        return f"profile_idc {int(self.text[:2], 16)}"

    @property
    def level_name(self) -> str:
        if self.level == LEVEL_1B:
            return "1b"
        return f"{self.level // 10}.{self.level % 10}"


def parse_profile_level_id(value: object) -> ProfileLevelId | None:
    """Parse a ``profile-level-id`` value; None when it is not six hex digits or no level.

    An absent parameter (``None``) means Constrained Baseline 3.1, as libwebrtc
    and aiortc take it (RFC 6184's default, Baseline 1.0, predates WebRTC).
    """
    text = DEFAULT_PROFILE_LEVEL_ID if value is None else str(value).strip()
    if not _HEX6.match(text):
        return None
    text = text.lower()
    profile_idc, iop, level_idc = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    if level_idc not in _LEVELS:
        return None
    profile = next(
        (p for idc, pattern, p in _PATTERNS if idc == profile_idc and _matches(pattern, iop)),
        None,
    )
    # Level 1b: level_idc 11 with constraint_set3, or level_idc 0 (libwebrtc's rule).
    level = LEVEL_1B if level_idc == 11 and iop & CONSTRAINT_SET3 else level_idc
    return ProfileLevelId(text, profile, level)


def _level_key(level: int) -> float:
    return 10.5 if level == LEVEL_1B else float(level)


def _format(profile: Profile, level: int) -> str:
    prefix = _CANONICAL_PREFIX[profile]
    if level == LEVEL_1B:  # level_idc 11 with constraint_set3
        return prefix[:2] + f"{int(prefix[2:], 16) | CONSTRAINT_SET3:02x}0b"
    return prefix + f"{level:02x}"


def _asymmetry(parameters: Mapping[str, object]) -> bool:
    return str(parameters.get("level-asymmetry-allowed", "0")).strip() == "1"


def packetization_mode(parameters: Mapping[str, object]) -> str:
    """The ``packetization-mode`` (``"0"`` when absent, as RFC 6184 says)."""
    return str(parameters.get("packetization-mode", "0")).strip()


def refusal(parameters: Mapping[str, object]) -> str | None:
    """Why an offered H.264 format is not accepted, in a sentence; None if it is."""
    mode = packetization_mode(parameters)
    if mode != "1":
        return (
            f"H.264 packetization-mode={mode} is not supported; "
            "use packetization-mode=1 (non-interleaved)"
        )
    raw = parameters.get("profile-level-id")
    parsed = parse_profile_level_id(raw)
    if parsed is None:
        return f"H.264 profile-level-id={raw} is not a valid profile and level"
    if parsed.profile not in ACCEPTED_PROFILES:
        return (
            f"H.264 profile {parsed.profile_name} ({parsed.text}) is not accepted in this room; "
            f"use Constrained Baseline ({OUR_PROFILE_LEVEL_ID}) or Baseline (42001f)"
        )
    return None


def accepted(parameters: Mapping[str, object]) -> bool:
    """Whether an offered H.264 format can be published into or watched from a room."""
    return refusal(parameters) is None


def answer_profile_level_id(offered: Mapping[str, object]) -> str:
    """The ``profile-level-id`` to answer an accepted offered format with.

    The offer's profile, at our level when both sides allow level asymmetry
    (the level then only says what we can receive), else at the lower of the
    two (RFC 6184 section 8.2.2).
    """
    parsed = parse_profile_level_id(offered.get("profile-level-id"))
    if parsed is None or parsed.profile is None:
        raise ValueError(f"not an accepted H.264 format: {dict(offered)}")
    level = OUR_LEVEL
    if not _asymmetry(offered) and _level_key(parsed.level) < _level_key(OUR_LEVEL):
        level = parsed.level
    return _format(parsed.profile, level)
