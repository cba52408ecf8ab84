"""Which SQLite errors mean "the store cannot be written right now" (retryable)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tasks.errors import StoreUnavailable

#: SQLite's primary result codes for "the file cannot be written right now"
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = (
    5,
    6,
    8,
    10,
    13,
    14,
)
RETRIED = "docflow waits and retries by itself"


def cannot_write(path: Path, exc: sqlite3.Error) -> StoreUnavailable | None:
    """StoreUnavailable when `exc` means the file cannot be used *now*, else None.

    Locked or busy, read-only, disk full, cannot open, disk I/O error: each says which
    file and what to do. Anything else (a bug, a corrupt file) is not for retrying.
    """
    code = int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    text = str(exc).lower()
    folder = path.parent
    if code in (SQLITE_BUSY, SQLITE_LOCKED) or "locked" in text or "busy" in text:
        what = "is busy or locked by another process"
        hint = f"{RETRIED}; if it lasts, find the process holding {path} (fuser {path})"
    elif code == SQLITE_READONLY or "readonly" in text or "read-only" in text:
        what = "cannot be written: it is read-only"
        hint = (
            f"make {path} and the folder {folder} writable by docflow's user (file mode,"
            f" owner, read-only mount, chattr -i); {RETRIED}"
        )
    elif code == SQLITE_FULL or "disk is full" in text:
        what = "cannot grow: the disk (or the database's size limit) is full"
        hint = f"free space on the disk holding {folder}; {RETRIED}"
    elif code == SQLITE_CANTOPEN or "unable to open" in text:
        what = "cannot be opened"
        hint = (
            f"check that {folder} exists and is writable by docflow's user (SQLite keeps"
            f" -wal and -shm files beside the database) and that the disk has space; {RETRIED}"
        )
    elif code == SQLITE_IOERR or "disk i/o error" in text:
        what = "hit a disk I/O error"
        hint = f"check the disk holding {folder} (free space, `dmesg`); {RETRIED}"
    else:
        return None
    return StoreUnavailable(f"the store {path} {what} ({exc})", hint=hint)


def stuck_connection(exc: sqlite3.Error) -> bool:
    """Does `exc` leave the connection unusable even once its cause is fixed?

    Read-only (SQLite reopened the file read-only and keeps it so), cannot open, and disk
    I/O errors: the connection is dropped and the next call opens a fresh one.
    """
    code = int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    text = str(exc).lower()
    return code in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_IOERR) or any(
        word in text for word in ("readonly", "read-only", "unable to open", "disk i/o error")
    )
