"""A benchmark's result as it leaves: JSON on stdout, and in a file when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def print_json(out: dict[str, Any], path: Path | None) -> None:
    """Print ``out`` as indented JSON; write the same text to ``path`` too when given."""
    text = json.dumps(out, ensure_ascii=False, indent=2)
    print(text)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
