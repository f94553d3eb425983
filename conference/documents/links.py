"""Read links of one document for a site in the meeting page, signed and expiring.

A site in the meeting page holds a join token, not a login. It lists the
meeting's documents with that token (``Authorization: Bearer``); each
document in the answer carries a ``key`` that opens that one document until
the token expires. An iframe or a download link can carry the key in its
URL (they cannot send a header), and a key copied out of the page opens one
document for a few hours, never the meeting: the join token itself never
goes into a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import time

_DOMAIN = b"conference-document-link:"  # keys of this kind sign nothing else


def document_key(secret: bytes, meeting_id: str, document_id: str, expires: int) -> str:
    """The key opening ``document_id`` of ``meeting_id`` until ``expires`` (unix seconds)."""
    message = _DOMAIN + f"{meeting_id}/{document_id}/{expires}".encode()
    signature = hmac.new(secret, message, hashlib.sha256).hexdigest()
    return f"{expires}.{signature}"


def key_opens(
    secret: bytes, key: str, meeting_id: str, document_id: str, now: float | None = None
) -> bool:
    """Whether ``key`` opens the document now."""
    expires_text, dot, _signature = key.partition(".")
    if not dot or not expires_text.isdigit() or len(key) > 200:
        return False
    expires = int(expires_text)
    if (time.time() if now is None else now) >= expires:
        return False
    expected = document_key(secret, meeting_id, document_id, expires)
    return hmac.compare_digest(expected.encode(), key.encode("utf-8", "surrogateescape"))
