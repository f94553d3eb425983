"""The base of every message the server sends: one pydantic model, its JSON as it is.

A message is written once, as a model deriving :class:`WireMessage`; what
goes on the wire is that model's dump. The web layer sends room events and
console events as the rooms made them, without translating them first.

Field names are the wire's names, except where Python wants a clearer one:
such a field goes out under its ``serialization_alias`` (``participant_id``
as ``id``) and is read back under either name. ``None`` is sent as ``null``;
a message that leaves a key out sometimes is two models, not a ``None``
dropped on the way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class WireMessage(BaseModel):
    """A JSON object the server sends (a message, or a part of one).

    Messages declare ``type`` as a ``Literal`` with its one value as the
    default, so ``Speaker(participant_id="167")`` needs no ``type``.
    Instances are frozen: one event object goes to every socket of a room.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        """The message as JSON-ready Python values (for the event bus and ``json.dumps``)."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self) -> str:
        """The message as JSON text (compact, UTF-8 characters as they are)."""
        return self.model_dump_json(by_alias=True)
