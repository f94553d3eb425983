"""The cluster key: what node records are authenticated with.

``CONFERENCE_CLUSTER_SECRET`` if it is set, else derived from the token signing
key, so nodes that share ``CONFERENCE_SECRET`` form a cluster out of the box and
a node with another key is not one of them. Derived, not the signing key
itself: a MAC over a node record can never double as a token signature.
"""

from __future__ import annotations

import hashlib
import hmac
import os

ENV_CLUSTER_SECRET = "CONFERENCE_CLUSTER_SECRET"
_DERIVATION_LABEL = b"conference cluster v1"


def cluster_key(signing_secret: bytes) -> bytes:
    """The key node records are signed with (see the module docstring)."""
    from_env = os.environ.get(ENV_CLUSTER_SECRET)
    if from_env:
        if len(from_env) < 32:
            raise ValueError(f"{ENV_CLUSTER_SECRET} must be at least 32 characters")
        return from_env.encode("utf-8")
    return hmac.new(signing_secret, _DERIVATION_LABEL, hashlib.sha256).digest()
