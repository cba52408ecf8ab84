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


#: (result codes, words in the message, what is wrong, what to do): the first match wins.
#: The hint is formatted with the database `path` and its `folder`.
_CAUSES: tuple[tuple[tuple[int, ...], tuple[str, ...], str, str], ...] = (
    (
        (SQLITE_BUSY, SQLITE_LOCKED),
        ("locked", "busy"),
        "is busy or locked by another process",
        "{retried}; if it lasts, find the process holding {path} (fuser {path})",
    ),
    (
        (SQLITE_READONLY,),
        ("readonly", "read-only"),
        "cannot be written: it is read-only",
        "make {path} and the folder {folder} writable by docflow's user (file mode,"
        " owner, read-only mount, chattr -i); {retried}",
    ),
    (
        (SQLITE_FULL,),
        ("disk is full",),
        "cannot grow: the disk (or the database's size limit) is full",
        "free space on the disk holding {folder}; {retried}",
    ),
    (
        (SQLITE_CANTOPEN,),
        ("unable to open",),
        "cannot be opened",
        "check that {folder} exists and is writable by docflow's user (SQLite keeps"
        " -wal and -shm files beside the database) and that the disk has space; {retried}",
    ),
    (
        (SQLITE_IOERR,),
        ("disk i/o error",),
        "hit a disk I/O error",
        "check the disk holding {folder} (free space, `dmesg`); {retried}",
    ),
)


def cannot_write(path: Path, exc: sqlite3.Error) -> StoreUnavailable | None:
    """StoreUnavailable when `exc` means the file cannot be used *now*, else None.

    Locked or busy, read-only, disk full, cannot open, disk I/O error: each says which
    file and what to do. Anything else (a bug, a corrupt file) is not for retrying.
    """
    code = int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    text = str(exc).lower()
    for codes, words, what, hint in _CAUSES:
        if code in codes or any(word in text for word in words):
            return StoreUnavailable(
                f"the store {path} {what} ({exc})",
                hint=hint.format(path=path, folder=path.parent, retried=RETRIED),
            )
    return None


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
