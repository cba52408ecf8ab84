"""Descriptor-based file operations: nothing is looked up by a path someone else can swap.

The inbox is writable by people docflow does not trust. Checking a path and then acting
on it by path are two steps, and a folder swapped for a symbolic link in between sends
the second step elsewhere. So every folder is reached one component at a time with
`O_NOFOLLOW | O_DIRECTORY` relative to its parent's descriptor, and every stat, rename,
link and open is done relative to the descriptor of the folder that was checked. A link
met on the way fails the open (ELOOP) instead of being followed.

Names are kept within NAME_MAX (255 bytes): clash suffixes and error-file names shorten
the stem (whole characters, never the extension) rather than fail with ENAMETOOLONG.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: the longest file name (one path component) Linux filesystems take, in bytes
NAME_MAX = 255
ERROR_SUFFIX = ".error.json"
#: a "suffix" longer than this is part of the name, not an extension worth keeping
MAX_EXTENSION_BYTES = 32
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: link() failures that mean "link not possible here", so the bytes are copied instead
_NO_LINK = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP)

DirId = tuple[int, int]  #: (st_dev, st_ino) of a folder


class Skip(Exception):
    """A path the watcher must not take: a link, not a regular file, or an excluded folder.

    `mark` identifies what was seen (inode, mtime), so the same thing is reported once.
    """

    def __init__(self, reason: str, mark: tuple[int, int]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mark = mark


# ---- names -------------------------------------------------------------------------------


def name_bytes(name: str) -> int:
    return len(os.fsencode(name))


def fit_name(stem: str, tail: str = "", limit: int = NAME_MAX) -> str:
    """`stem + tail` within `limit` bytes: the stem is shortened by whole characters."""
    budget = limit - name_bytes(tail)
    if budget < 1:
        raise ValueError(f"{tail!r} leaves no room for a name")
    if name_bytes(stem) <= budget:
        return stem + tail
    lo, hi = 0, len(stem)  # longest prefix that fits: characters are 1-4 bytes each
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if name_bytes(stem[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return stem[:lo] + tail


def split_name(name: str) -> tuple[str, str]:
    """(stem, extension); an "extension" too long to be one stays in the stem."""
    stem, ext = os.path.splitext(name)
    if not stem or name_bytes(ext) > MAX_EXTENSION_BYTES:
        return name, ""
    return stem, ext


def candidates(name: str) -> Iterator[str]:
    """`name`, then `stem-1.ext`, `stem-2.ext`, ...; every one within NAME_MAX bytes."""
    stem, ext = split_name(name)
    yield fit_name(stem, ext)
    n = 1
    while True:
        yield fit_name(stem, f"-{n}{ext}")
        n += 1


def error_file_name(name: str) -> str:
    """`<name>.error.json`, or, if that is too long, a shortened name + a hash of the full one."""
    full = name + ERROR_SUFFIX
    if name_bytes(full) <= NAME_MAX:
        return full
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:10]
    return fit_name(name, f"~{digest}{ERROR_SUFFIX}")


def temp_name() -> str:
    """A short dot-name (never taken by a watcher) for a file being written."""
    return f".docflow-{secrets.token_hex(6)}.tmp"


def create_temp(dir_fd: int, mode: int) -> tuple[str, int]:
    """A new temporary file in the folder `dir_fd`: its name and a descriptor to write it.

    Created exclusively and never through a symlink, so nothing else is overwritten.
    """
    tmp = temp_name()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return tmp, os.open(tmp, flags, mode, dir_fd=dir_fd)


# ---- folders -----------------------------------------------------------------------------


def open_dir(name: str | Path, dir_fd: int | None = None) -> int:
    """A folder's descriptor; OSError (ELOOP, ENOTDIR) if `name` is a link or not a folder."""
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def open_root(path: Path) -> int:
    """A configured folder (trusted: it may itself be a link an administrator made)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def ensure_dir(name: str, dir_fd: int, mode: int) -> int:
    """Create a sub-folder if missing, then open it without following links."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, mode, dir_fd=dir_fd)
    return open_dir(name, dir_fd)


def dir_id(fd: int) -> DirId:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def open_parts(root_fd: int, parts: list[str], *, create: bool = False, mode: int = 0o755) -> int:
    """The descriptor of `root/parts[0]/.../parts[-1]`, each reached with O_NOFOLLOW."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            if part in ("", ".", "..") or "/" in part:
                raise OSError(errno.EINVAL, f"bad path component {part!r}")
            nxt = ensure_dir(part, fd, mode) if create else open_dir(part, fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def parent_of(
    root_fd: int, rel: str, *, create: bool = False, mode: int = 0o755
) -> Iterator[tuple[int, str]]:
    """(descriptor of the folder holding `rel`, the file's name), closed afterwards."""
    parts = rel.split("/")
    fd = open_parts(root_fd, parts[:-1], create=create, mode=mode)
    try:
        yield fd, parts[-1]
    finally:
        os.close(fd)


def lookup(root_fd: int, rel: str, excluded: frozenset[DirId]) -> tuple[int, str, os.stat_result]:
    """(parent descriptor, name, lstat) of a takeable regular file below `root_fd`.

    Raises Skip for a link (the file or any folder on the way), anything not a regular
    file, or a file inside an excluded folder; OSError (ENOENT...) if it is gone. The
    caller closes the descriptor.
    """
    parts = rel.split("/")
    fd = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            try:
                nxt = open_dir(part, fd)
            except OSError as exc:
                link = _link_mark(part, fd) if exc.errno in (errno.ELOOP, errno.ENOTDIR) else None
                if link is not None:
                    raise Skip("reached through a symbolic link", link) from None
                raise
            os.close(fd)
            fd = nxt
            if dir_id(fd) in excluded:
                raise Skip("inside the processed or failed folder", dir_id(fd))
        info = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            why = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            raise Skip(why, (info.st_ino, info.st_mtime_ns))
    except BaseException:
        os.close(fd)
        raise
    return fd, parts[-1], info


def _link_mark(name: str, dir_fd: int) -> tuple[int, int] | None:
    """(inode, mtime) of `name` if it is a symbolic link, else None."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns) if stat.S_ISLNK(info.st_mode) else None


def walk_files(
    root_fd: int, excluded: frozenset[DirId] = frozenset(), *, dot_dirs: bool = False
) -> Iterator[str]:
    """Relative paths of the non-folder entries below a folder; links are never followed.

    Dot-folders are skipped unless `dot_dirs`; so are excluded folders. A folder swapped
    for a link or removed while being walked is skipped, never followed.
    """
    stack = [("", os.dup(root_fd))]
    try:
        while stack:
            prefix, fd = stack.pop()
            try:
                with os.scandir(fd) as it:
                    entries = sorted(it, key=lambda e: e.name, reverse=True)
            except OSError:
                entries = []
            subdirs = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if not is_dir:
                    yield prefix + entry.name
                elif dot_dirs or not entry.name.startswith("."):
                    subdirs.append(entry.name)
            for name in subdirs:
                try:
                    sub = open_dir(name, fd)
                except OSError:
                    continue
                if dir_id(sub) in excluded:
                    os.close(sub)
                    continue
                stack.append((prefix + name + "/", sub))
            os.close(fd)
    finally:
        for _, fd in stack:
            os.close(fd)


def remove_empty_tree(fd: int) -> None:
    """Remove every empty sub-folder below a folder (files, and folders holding them, stay)."""
    with contextlib.suppress(OSError), os.scandir(fd) as it:
        names = [e.name for e in it if e.is_dir(follow_symlinks=False)]
    for name in names:
        try:
            sub = open_dir(name, fd)
        except OSError:
            continue
        try:
            remove_empty_tree(sub)
        finally:
            os.close(sub)
        with contextlib.suppress(OSError):
            os.rmdir(name, dir_fd=fd)


def exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


# ---- placing files -------------------------------------------------------------------------


def place_at(src_dir_fd: int, src_name: str, dest_root: Path, rel: str) -> Path:
    """Move a file to `dest_root/rel`, never overwriting: `name-1.ext` etc. on a clash.

    Same filesystem: hard link + unlink (atomic no-clobber). Otherwise the bytes are
    copied and fsynced under a temporary name first, then linked into place.
    """
    dest_root.mkdir(parents=True, exist_ok=True)
    parts = rel.split("/")
    root_fd = open_root(dest_root)
    try:
        dest_fd = open_parts(root_fd, parts[:-1], create=True)
    finally:
        os.close(root_fd)
    try:
        final = _move_into(src_dir_fd, src_name, dest_fd, parts[-1])
    finally:
        os.close(dest_fd)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(src_name, dir_fd=src_dir_fd)
    return dest_root.joinpath(*parts[:-1], final)


def _move_into(src_fd: int, src_name: str, dest_fd: int, name: str) -> str:
    try:
        return _link_unique(src_fd, src_name, dest_fd, name)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
    info = os.stat(src_name, dir_fd=src_fd, follow_symlinks=False)
    fin = os.open(src_name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_fd)
    try:
        tmp, fout = create_temp(dest_fd, 0o600)
        try:
            while chunk := os.read(fin, 1 << 20):
                os.write(fout, chunk)
            os.fchmod(fout, stat.S_IMODE(info.st_mode))
            os.utime(fout, ns=(info.st_atime_ns, info.st_mtime_ns))
            os.fsync(fout)
        finally:
            os.close(fout)
    finally:
        os.close(fin)
    try:
        final = _link_unique(dest_fd, tmp, dest_fd, name)
    except OSError:
        final = _rename_unique(dest_fd, tmp, name)
    else:
        os.unlink(tmp, dir_fd=dest_fd)
    return final


def _link_unique(src_fd: int, src_name: str, dest_fd: int, name: str) -> str:
    info = os.stat(src_name, dir_fd=src_fd, follow_symlinks=False)
    for candidate in candidates(name):
        try:
            os.link(
                src_name, candidate, src_dir_fd=src_fd, dst_dir_fd=dest_fd, follow_symlinks=False
            )
            return candidate
        except FileExistsError:
            try:
                other = os.stat(candidate, dir_fd=dest_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if (other.st_ino, other.st_dev) == (info.st_ino, info.st_dev):
                return candidate  # placed already, before a crash cut the move short
    raise AssertionError("unreachable")  # pragma: no cover


def _rename_unique(fd: int, src_name: str, name: str) -> str:
    for candidate in candidates(name):
        if not exists(candidate, fd):
            os.rename(src_name, candidate, src_dir_fd=fd, dst_dir_fd=fd)
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def write_error_file(folder: Path, name: str, info: dict[str, Any]) -> Path:
    """`<name>.error.json` beside a file in `folder` (shortened to fit), written atomically."""
    out = error_file_name(name)
    try:
        body = (json.dumps(info, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a name with undecodable bytes: keep them as \udcXX escapes
        body = (json.dumps(info, indent=2) + "\n").encode("ascii")
    fd = open_root(folder)
    try:
        tmp, wfd = create_temp(fd, 0o644)
        try:
            os.write(wfd, body)
        finally:
            os.close(wfd)
        os.rename(tmp, out, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
    return folder / out
