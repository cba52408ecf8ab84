"""Linux inotify, read in the watcher's own loop: no threads, and no pairing of moves.

Why not watchdog's inotify observer: it reads events in three threads and pairs every
IN_MOVED_FROM with its IN_MOVED_TO by scanning a queue in which an unpaired IN_MOVED_FROM
waits 0.5 s. The watcher's own claims and placements move files out of the watched tree,
so during a burst that queue holds hundreds of unpaired moves and each new move scans it:
in a 1,500-file burst the event thread spent ~1 ms of CPU per file, more than the
watcher's own claiming, hashing, recording and publishing. The watcher needs no pairing:
a name that arrives by a rename (IN_MOVED_TO) is a complete file, and a name that leaves
(IN_MOVED_FROM) is gone, wherever the other end is.

`InotifyTree` watches the inbox and its folders, except dot-folders (the claim box) and
the processed and failed folders when they sit inside the inbox; a folder created or
moved in is watched at once and walked for what it already holds. The kernel's queue
overflowing is reported as an `overflow` change: the watcher then rescans the inbox.

A change is `(kind, src, dest)`, the fields of `workers.watch_events.Event`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator

import structlog
from inotify_simple import INotify
from inotify_simple import flags as f

from workers.files import is_ignored_name
from workers.inbox_fs import DirId

log = structlog.get_logger("docflow.watcher")

Change = tuple[str, str, str]  #: (kind, src, dest), as `workers.watch_events.Event`

#: what a watched folder reports; links are never followed, only folders are watched
WATCH_MASK = (
    f.CLOSE_WRITE
    | f.CREATE
    | f.MODIFY
    | f.MOVED_FROM
    | f.MOVED_TO
    | f.DELETE
    | f.DONT_FOLLOW
    | f.ONLYDIR
    | f.EXCL_UNLINK
)
#: a file event's kind, by the first of its flags found here
FILE_KINDS = (
    (f.CLOSE_WRITE, "closed"),
    (f.MOVED_TO, "moved"),
    (f.MOVED_FROM, "deleted"),
    (f.DELETE, "deleted"),
    (f.CREATE, "created"),
    (f.MODIFY, "modified"),
)


class InotifyTree:
    """inotify watches on a folder tree, read when the caller asks (`read`)."""

    def __init__(self, root: str, excluded: Callable[[], frozenset[DirId]]) -> None:
        """Watch `root` and its folders; OSError if `root` itself cannot be watched."""
        self.root = root
        self._excluded = excluded
        self._paths: dict[int, str] = {}  #: watch descriptor -> folder path
        self._said_limit = False
        self._inotify = INotify()
        try:
            self._paths[self._inotify.add_watch(root, WATCH_MASK)] = root
            for _ in self._watch_below(root):
                pass
        except BaseException:
            self._inotify.close()
            raise

    @property
    def watched(self) -> int:
        """How many folders are watched now."""
        return len(self._paths)

    def close(self) -> None:
        self._inotify.close()

    def read(self, timeout_s: float) -> list[Change]:
        """The events waiting now, or those that come within `timeout_s` if none are."""
        timeout_ms = max(0, round(timeout_s * 1000))
        out: list[Change] = []
        for ev in self._inotify.read(timeout=timeout_ms):
            if ev.mask & f.Q_OVERFLOW:
                log.warning("events_overflow", hint="the inbox is rescanned now")
                out.append(("overflow", "", ""))
                continue
            if ev.mask & f.IGNORED:  # the folder is gone or was unwatched
                self._paths.pop(ev.wd, None)
                continue
            folder = self._paths.get(ev.wd)
            if folder is None or not ev.name:
                continue
            path = os.path.join(folder, ev.name)
            if ev.mask & f.ISDIR:
                out += self._folder_event(ev.mask, path)
            elif not is_ignored_name(ev.name):
                kind = next((kind for flag, kind in FILE_KINDS if ev.mask & flag), None)
                if kind is not None:  # else a flag the watcher does not act on
                    out.append((kind, "", path) if kind == "moved" else (kind, path, ""))
        return out

    def _folder_event(self, mask: int, path: str) -> list[Change]:
        if mask & (f.MOVED_FROM | f.DELETE):
            self._unwatch_below(path)
            return []
        if os.path.basename(path).startswith("."):  # a dot-folder is never watched or taken
            return []
        if mask & f.MOVED_TO:  # moved in whole: its files are complete, the watcher walks it
            for _ in self._watch_below(path, with_self=True):
                pass
            return [("dir_moved", "", path)]
        # created: watched first, then walked, so no file written into it is missed;
        # what is already there waits to settle like any new file
        return [("created", file, "") for file in self._watch_below(path, with_self=True)]

    def _watch_below(self, folder: str, with_self: bool = False) -> Iterator[str]:
        """Watch `folder` (if `with_self`) and every folder below it; yields the files seen.

        Dot-folders, excluded folders and links are neither watched nor walked.
        """
        if with_self and not self._watch(folder):
            return
        try:
            entries = list(os.scandir(folder))
        except OSError:  # gone or swapped meanwhile: a rescan finds what is left
            return
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if not entry.name.startswith("."):
                    yield from self._watch_below(entry.path, with_self=True)
            elif not is_ignored_name(entry.name):
                yield entry.path

    def _watch(self, folder: str) -> bool:
        """Add a watch on one folder; False if it is not to be (or cannot be) watched."""
        try:
            info = os.lstat(folder)
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or (info.st_dev, info.st_ino) in self._excluded():
            return False
        try:
            wd = self._inotify.add_watch(folder, WATCH_MASK)
        except OSError as exc:
            if exc.errno == errno.ENOSPC and not self._said_limit:
                self._said_limit = True
                log.warning(
                    "events_limited",
                    folder=folder,
                    error=str(exc),
                    hint="the inotify watch limit is reached (fs.inotify.max_user_watches): "
                    "files in folders beyond it are found by the periodic rescan",
                )
            return False
        self._paths[wd] = folder
        return True

    def _unwatch_below(self, folder: str) -> None:
        """Stop watching a folder that left (moved away or deleted) and those below it."""
        prefix = folder + os.sep
        for wd, path in list(self._paths.items()):
            if path == folder or path.startswith(prefix):
                del self._paths[wd]
                with contextlib.suppress(OSError):  # already gone with its folder
                    self._inotify.rm_watch(wd)
