"""Files only their owner may read (the secret key, TLS private keys),
readable by nobody else from their first byte: written to a temporary file
created with mode 0600 in the same directory, then moved into place. A
file created with the default mode and chmod-ed afterwards leaves a window
in which another local user can open it and keep reading. Pure: no Django."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write data to path with mode 0600. With replace=False an existing file
    is kept (another process made it first: use theirs). Returns whether
    this call's data is what path now holds. The directory is made (0700)
    if missing; the data is on disk before the file appears under its name,
    so a reader (a worker watching for a renewed certificate) sees the old
    contents or the new, never part of them."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)  # never replaces: the first writer wins
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)
