"""Finding a TrueType font that writes Vietnamese, for every part that draws text.

Unit and site names are Vietnamese ("Ủy ban nhân dân xã Tân Cương"): they need
the Latin Extended Additional block, which DejaVu Sans and Liberation Sans
have (Debian: ``fonts-dejavu-core``, ``fonts-liberation``). The composites'
labels (:mod:`recorder.fonts`) and the minutes' PDF (:mod:`conference.minutes.pdf`)
each name the faces they want and how to check one; the search is here, so
that both look in the same places and fail with the same advice, never with
a silent fallback to a font that shows boxes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

FONT_ENV = "CONFERENCE_RENDER_FONT"
"""Environment variable naming a .ttf/.otf file for the composites' labels."""

FONT_ROOT = Path("/usr/share/fonts")

VIETNAMESE_PROBE = "ẠẢẤẦẨẪẬắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĐđƠơƯư"
"""Vietnamese letters a usable font must all have."""

INSTALL_HINT = "Debian: apt-get install fonts-dejavu-core"


class FontNotFoundError(RuntimeError):
    """No TrueType font able to write Vietnamese was found."""


def search_font(
    root: Path,
    candidates: Sequence[str],
    patterns: Sequence[str],
    check: Callable[[Path], Path],
    purpose: str,
    env: str | None = None,
) -> Path:
    """The first usable font: ``$env`` if set, else ``candidates`` under ``root``, else ``patterns``.

    ``check`` returns the path or raises :class:`FontNotFoundError`;
    ``purpose`` says in the error what needs the font.
    """
    override = os.environ.get(env) if env else None
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontNotFoundError(f"{env}={override} is not a file")
        return check(path)
    for relative in candidates:
        path = root / relative
        if path.is_file():
            return check(path)
    if root.is_dir():
        for pattern in patterns:
            for path in sorted(root.rglob(pattern)):
                return check(path)
    hint = f", or set {env} to a .ttf file that has Vietnamese letters" if env else ""
    raise FontNotFoundError(
        f"no DejaVu Sans or Liberation Sans font under {root}: {purpose} need one "
        f"({INSTALL_HINT}){hint}"
    )
