"""When is a dropped file complete? A pure tracker of file sizes and mtimes over time.

The watcher takes a file at once when the platform says a writer closed it (inotify's
close-after-write) or renamed it into place. Files it only sees by rescanning or polling
are taken once their size and modification time have held still for `settle_s` seconds.

Two cases wait longer (`stall_s`), because a quiet file there usually is not done:

* an event said a writer modified the file and no close has been seen since (on inotify a
  close always follows a finished write, so silence means the writer still holds it open,
  or the close event was dropped);
* the file is empty (a writer created it and has not written yet).

The tracker does no I/O: callers pass in what they observed and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: clock readings are floats: 100.3 - 100.0 is a hair under 0.3
_EPSILON = 1e-6


class Verdict(Enum):
    """What one observation of a file means."""

    changed = "changed"  #: new, or size/mtime differ from the last observation
    settling = "settling"  #: unchanged, but not yet for long enough
    stable = "stable"  #: unchanged for long enough: the file is complete


@dataclass
class _Entry:
    size: int
    mtime_ns: int
    since: float  #: when this (size, mtime) was first observed
    writing: bool = False  #: an event showed a writer at work, and no close since
    check_at: float = 0.0  #: when the next observation is worth making


class StabilityTracker:
    """Size and mtime of every file not yet taken, and since when they have held."""

    def __init__(self, settle_s: float, stall_s: float | None = None) -> None:
        if settle_s < 0:
            raise ValueError("settle_s must be >= 0")
        self.settle_s = settle_s
        self.stall_s = max(settle_s, stall_s if stall_s is not None else max(30.0, 10 * settle_s))
        self._entries: dict[str, _Entry] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def required(self, key: str) -> float:
        """How long this file must hold still before it counts as complete."""
        entry = self._entries.get(key)
        if entry is None:
            return self.settle_s
        return self.stall_s if entry.writing or entry.size == 0 else self.settle_s

    def observe(self, key: str, size: int, mtime_ns: int, now: float) -> Verdict:
        """Record one look at a file; `stable` once it has not changed for long enough."""
        entry = self._entries.get(key)
        if entry is None or (entry.size, entry.mtime_ns) != (size, mtime_ns):
            writing = entry.writing if entry is not None else False
            entry = _Entry(size, mtime_ns, since=now, writing=writing)
            self._entries[key] = entry
            entry.check_at = now + self.required(key)
            return Verdict.changed
        wait = self.required(key)
        if now - entry.since >= wait - _EPSILON:
            return Verdict.stable
        entry.check_at = entry.since + wait
        return Verdict.settling

    def writing(self, key: str, now: float) -> None:
        """An event showed a writer modifying the file: wait for its close (or a stall)."""
        entry = self._entries.get(key)
        if entry is None:
            entry = _Entry(size=-1, mtime_ns=-1, since=now)
            self._entries[key] = entry
        entry.writing = True
        entry.since = now
        entry.check_at = now + self.stall_s

    def forget(self, key: str) -> None:
        """The file was taken, deleted or moved away."""
        self._entries.pop(key, None)

    def retain(self, keys: set[str]) -> None:
        """Forget every file not in `keys` (what a full rescan found)."""
        for key in [k for k in self._entries if k not in keys]:
            del self._entries[key]

    def due(self, now: float) -> list[str]:
        """Files worth looking at again now: they may have become stable."""
        return [k for k, entry in self._entries.items() if entry.check_at <= now + _EPSILON]

    def next_due(self) -> float | None:
        """The earliest time at which `due` will return something, if anything is tracked."""
        return min((e.check_at for e in self._entries.values()), default=None)
