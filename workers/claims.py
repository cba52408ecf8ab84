"""Claim boxes: `<inbox>/.claimed/<watcher id>/`, where a watcher's claimed files wait.

A claim is a rename from the inbox into the box: atomic, so when two watchers race for a
file exactly one wins. Each watcher holds an exclusive `flock` on its box's `.lock` for as
long as it lives; the kernel drops it when the process dies (even on SIGKILL), so any
watcher that can take that lock knows the owner is dead and adopts its claims.

The inbox is writable by others, so `.claimed` is created mode 0700, checked by
descriptor (a folder, owned by this user, writable by nobody else) and then only ever
used through descriptors: replacing `.claimed` or `.claimed/<id>` with a link afterwards
routes nothing elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from tasks.errors import ConfigError
from workers.files import read_file
from workers.inbox_fs import (
    DIR_FLAGS,
    candidates,
    exists,
    open_dir,
    open_parts,
    parent_of,
    place_at,
    remove_empty_tree,
    walk_files,
)

log = structlog.get_logger("docflow.watcher")

CLAIMED_DIR = ".claimed"
LOCK_NAME = ".lock"
#: a claim folder without a lock file is only adopted once it is this old
UNLOCKED_GRACE_S = 60.0
BOX_MODE = 0o700


@dataclass(frozen=True)
class Claim:
    """A file waiting in a claim box: where it is in the box, and its inbox-relative name."""

    box_rel: str
    rel: str


def check_private(fd: int, path: Path) -> None:
    """Refuse a claim folder others could tamper with: it must be ours and not shared."""
    info = os.fstat(fd)
    euid = os.geteuid()
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(
            f"the claim folder {path} is not a folder",
            hint="remove it; the watcher creates it again (mode 700)",
        )
    if info.st_uid != euid:
        raise ConfigError(
            f"the claim folder {path} belongs to uid {info.st_uid}, not to the watcher's "
            f"user (uid {euid}): another user could read or redirect claimed files",
            hint=f"check it holds no files you need, then remove it (`rm -r {path}`) or "
            f"`chown` it to the watcher's user; the watcher creates it mode 700",
        )
    if info.st_mode & 0o022:
        raise ConfigError(
            f"the claim folder {path} is writable by other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}): they could redirect claimed files",
            hint=f"run `chmod 700 {path}`",
        )


class ClaimBox:
    """`<inbox>/.claimed/<id>/`: where this watcher's claimed files wait, under a lock."""

    def __init__(self, inbox: Path, ident: str) -> None:
        self.inbox = inbox
        self.root = inbox / CLAIMED_DIR
        self.ident = ident
        self.folder = self.root / ident  #: for messages only; never used to reach files
        self._inbox_fd: int | None = None
        self._root_fd: int | None = None
        self._fd: int | None = None
        self._lock_fd: int | None = None

    # ---- descriptors --------------------------------------------------------------------
    @property
    def fd(self) -> int:
        if self._fd is None:
            raise RuntimeError("the claim box is not open")
        return self._fd

    @property
    def root_fd(self) -> int:
        if self._root_fd is None:
            raise RuntimeError("the claim box is not open")
        return self._root_fd

    def open(self, inbox_fd: int | None = None) -> None:
        """Create the box with its lock held, atomically (never seen unlocked).

        `inbox_fd` is the inbox's descriptor (else the inbox is opened by its path).
        """
        try:
            self._open(inbox_fd)
        except BaseException:
            self._close_fds()
            raise

    def _open(self, inbox_fd: int | None) -> None:
        if inbox_fd is not None:
            self._inbox_fd = os.dup(inbox_fd)
        else:
            self._inbox_fd = open_dir(self.inbox)
        with contextlib.suppress(FileExistsError):
            os.mkdir(CLAIMED_DIR, BOX_MODE, dir_fd=self._inbox_fd)
        try:
            self._root_fd = open_dir(CLAIMED_DIR, self._inbox_fd)
        except OSError as exc:
            what = f"unusable ({exc.strerror})"
            with contextlib.suppress(OSError):
                mode = os.stat(CLAIMED_DIR, dir_fd=self._inbox_fd, follow_symlinks=False).st_mode
                what = "a symbolic link" if stat.S_ISLNK(mode) else "not a folder"
            raise ConfigError(
                f"the claim folder {self.root} is {what}",
                hint=f"remove it (`rm {self.root}`); the watcher creates it again (mode 700)",
            ) from exc
        check_private(self._root_fd, self.root)
        staging = f".new-{self.ident}"
        os.mkdir(staging, BOX_MODE, dir_fd=self._root_fd)
        box = self._fd = open_dir(staging, self._root_fd)
        lock = os.open(
            LOCK_NAME,
            os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=box,
        )
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(lock, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
        self._fd, self._lock_fd = box, lock
        os.rename(staging, self.ident, src_dir_fd=self._root_fd, dst_dir_fd=self._root_fd)

    # ---- claims -------------------------------------------------------------------------
    def claim(self, src_dir_fd: int, name: str, rel: str) -> Claim | None:
        """Rename `name` (in `src_dir_fd`) into this box; None if someone got there first."""
        parts = rel.split("/")
        dest = open_parts(self.fd, parts[:-1], create=True, mode=BOX_MODE)
        try:
            os.rename(name, parts[-1], src_dir_fd=src_dir_fd, dst_dir_fd=dest)
        except FileNotFoundError:
            return None
        finally:
            os.close(dest)
        return Claim(rel, rel)

    def read(self, claim: Claim, max_bytes: int) -> bytes:
        """A claimed file's bytes (RejectedFile for links, FIFOs, oversize files)."""
        with parent_of(self.fd, claim.box_rel) as (fd, name):
            return read_file(name, max_bytes, dir_fd=fd)

    def place(self, claim: Claim, dest_root: Path, rel: str) -> Path:
        """Move a claimed file out to `dest_root/rel` (unique name, never overwriting)."""
        with parent_of(self.fd, claim.box_rel) as (fd, name):
            return place_at(fd, name, dest_root, rel)

    def holds(self, claim: Claim) -> bool:
        try:
            with parent_of(self.fd, claim.box_rel) as (fd, name):
                return exists(name, fd)
        except OSError:
            return False

    def path(self, claim: Claim) -> Path:
        """Where the claim is, for messages."""
        return self.folder.joinpath(*claim.box_rel.split("/"))

    def files(self, fd: int | None = None) -> list[Claim]:
        """Every claim waiting in a box (this one by default)."""
        found = walk_files(self.fd if fd is None else fd, dot_dirs=True)
        return [Claim(rel, rel) for rel in found if rel != LOCK_NAME]

    # ---- dead watchers ------------------------------------------------------------------
    def adopt_dead(self) -> list[Claim]:
        """Take over the claims of watchers that died; returns what was moved into this box."""
        adopted: list[Claim] = []
        try:
            with os.scandir(self.root_fd) as it:
                names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
        except OSError:
            return adopted
        for name in names:
            if name in (self.ident, f".new-{self.ident}"):
                continue
            try:
                other = os.open(name, DIR_FLAGS, dir_fd=self.root_fd)
            except OSError:
                continue  # gone, or swapped for a link
            try:
                adopted.extend(self._adopt(name, other))
            finally:
                os.close(other)
        return adopted

    def _adopt(self, name: str, other: int) -> list[Claim]:
        info = os.fstat(other)
        if info.st_uid != os.geteuid():
            return []  # not a box this user made: never move files out of it
        lock = _try_lock(other)
        if lock is False:
            return []  # alive
        if lock is None and time.time() - info.st_mtime <= UNLOCKED_GRACE_S:
            return []  # no lock (yet): a watcher being set up or torn down
        moved: list[Claim] = []
        try:
            for claim in self.files(other):
                with (
                    parent_of(other, claim.box_rel) as (src, src_name),
                    parent_of(self.fd, claim.box_rel, create=True, mode=BOX_MODE) as (
                        dst,
                        dst_name,
                    ),
                ):
                    dst_name = next(c for c in candidates(dst_name) if not exists(c, dst))
                    try:
                        os.rename(src_name, dst_name, src_dir_fd=src, dst_dir_fd=dst)
                    except FileNotFoundError:
                        continue  # another watcher adopted it first
                    box_rel = "/".join([*claim.box_rel.split("/")[:-1], dst_name])
                    moved.append(Claim(box_rel, claim.rel))
            with contextlib.suppress(OSError):
                os.unlink(LOCK_NAME, dir_fd=other)
            remove_empty_tree(other)
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=self.root_fd)
        finally:
            if isinstance(lock, int):
                os.close(lock)
        if moved:
            log.warning("claims_recovered", from_watcher=name, files=len(moved), watcher=self.ident)
        return moved

    def close(self) -> int:
        """Drop the lock; remove the box if empty. Returns how many claims it still holds.

        Claims left here (files whose store or broker was down) are adopted, as recovered
        claims, by the next watcher that runs on this inbox.
        """
        if self._fd is None:
            return 0
        kept = len(self.files())
        if not kept:
            with contextlib.suppress(OSError):
                os.unlink(LOCK_NAME, dir_fd=self._fd)
            remove_empty_tree(self._fd)
            with contextlib.suppress(OSError):
                os.rmdir(self.ident, dir_fd=self.root_fd)
        self._close_fds()
        return kept

    def _close_fds(self) -> None:
        for fd in (self._lock_fd, self._fd, self._root_fd, self._inbox_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = self._fd = self._root_fd = self._inbox_fd = None


def _try_lock(box_fd: int) -> int | bool | None:
    """An fd holding the lock of a dead watcher's box; False if its owner lives; None if no lock."""
    try:
        fd = os.open(LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=box_fd)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    return fd
