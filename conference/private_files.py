"""Files only the service's own account may read.

The data directory holds the store (accounts, session hashes, meetings),
the signing key, the TLS key, recordings and checkpoint pictures: nothing in
it is for other local users. ``conference`` sets the process umask to 0077
at start (so whatever a library writes is private too), and the places that
create the data's files and folders ask for 0600 and 0700 themselves, so the
rule holds also when the code runs under another umask (tests, embedding).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def use_private_umask() -> int:
    """New files of this process (and its children) get no group or other bits."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; tighten it if it is looser."""
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
    tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it is missing; tighten it if it is looser."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    tighten(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (replacing what it held), readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tighten(path, FILE_MODE)


def tighten(path: Path, mode: int) -> None:
    """Drop group and other bits from an existing ``path`` (no error if it is gone or not ours)."""
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(mode)
    except FileNotFoundError:
        pass
    except PermissionError:
        pass  # not ours: whoever owns it decides (and we could not write it anyway)
