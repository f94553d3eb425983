"""The token signing key: made once per data directory, never in the repository."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from conference.private_files import FILE_MODE, private_dir, tighten

KEY_FILE = "secret.key"
ENV_SECRET = "CONFERENCE_SECRET"


def load_or_create_secret(data_dir: Path) -> bytes:
    """The signing key from ``CONFERENCE_SECRET`` or ``DATA_DIR/secret.key``.

    The file is created with mode 0600 on first use. Several nodes that must
    accept each other's tokens share the key through the environment.
    """
    from_env = os.environ.get(ENV_SECRET)
    if from_env:
        if len(from_env) < 32:
            raise ValueError(f"{ENV_SECRET} must be at least 32 characters")
        return from_env.encode("utf-8")
    path = data_dir / KEY_FILE
    if path.exists():
        tighten(path, FILE_MODE)
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ValueError(
                f"{path} holds a key shorter than 32 bytes; delete it to make a new one"
            )
        return key
    private_dir(data_dir)
    key = secrets.token_hex(32).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
