"""What to do when PostgreSQL refuses work for now (retryable), by SQLSTATE."""

from __future__ import annotations

_RETRIED = "docflow waits and retries by itself"
#: what to do when the server refuses work for now, by SQLSTATE (class or exact code)
_WHAT_TO_DO = {
    "53100": "the server's disk is full: free space on its data or WAL volume",
    "53200": "the server is out of memory: check its memory settings and load",
    "53300": "the server has no free connection: raise max_connections or run fewer workers",
    "25006": "the server only accepts reads (a standby, or default_transaction_read_only"
    " is on): point DOCFLOW_STORE_URL at the primary or turn read-only off",
    "57P01": "the server is shutting down: start it again",
    "57P02": "the server is shutting down: start it again",
    "57P03": "the server is starting up or in recovery: wait for it",
    "58030": "the server hit a disk I/O error: check its disks",
    "53": "the server ran out of a resource: check its disk, memory and connection limits",
}


def what_to_do(exc: BaseException) -> str:
    """The advice for an error that means "the store cannot be written now"."""
    code = str(getattr(exc, "sqlstate", None) or "")
    todo = _WHAT_TO_DO.get(code) or _WHAT_TO_DO.get(code[:2])
    return f"{todo or 'check that PostgreSQL is running and reachable'}; {_RETRIED}"
