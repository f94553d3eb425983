"""docs/protocol.md documents every signaling message and error code the server uses."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from web import messages
from web.signaling import CLOSE_CODES

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()


def message_types() -> set[str]:
    union = typing.get_args(typing.get_args(messages.ClientMessage)[0])
    client = {typing.get_args(m.model_fields["type"].annotation)[0] for m in union}
    server = {
        typing.get_args(m.model_fields["type"].annotation)[0]
        for m in typing.get_args(messages.ServerMessage)
    }
    return client | server


def test_every_message_type_has_a_section():
    headings = set(re.findall(r"^### `([a-z-]+)`", DOC, flags=re.M))
    headings |= {
        h for pair in re.findall(r"^### `([a-z-]+)`, `([a-z-]+)`", DOC, flags=re.M) for h in pair
    }
    assert message_types() <= headings


def test_every_error_code_is_in_the_table():
    source = (Path(__file__).resolve().parent.parent / "web" / "signaling.py").read_text()
    codes = set(re.findall(r'self\.error\(\s*"([a-z-]+)"', source)) | set(CLOSE_CODES) - {
        "slow-consumer"
    }
    for code in codes:
        assert f"`{code}`" in DOC, code
