"""Finding and reading dropped files safely (no symlinks out, no FIFOs, size checked first)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from tasks.errors import FileTooLarge, RejectedFile

TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".swp", ".swx", ".partial", ".download")


def is_ignored_name(name: str) -> bool:
    """Dotfiles and temporary names are never taken (until renamed)."""
    return name.startswith((".", "~")) or name.endswith("~") or name.lower().endswith(TEMP_SUFFIXES)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Regular files under the given paths, sorted; dotfiles, temp names and links skipped."""
    for path in paths:
        if path.is_symlink():
            continue
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    candidate = Path(root) / name
                    if not is_ignored_name(name) and _is_regular(candidate):
                        yield candidate
        elif _is_regular(path):
            yield path


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def read_file(path: Path | str, max_bytes: int, *, dir_fd: int | None = None) -> bytes:
    """A regular file's bytes, refusing links, FIFOs, devices and files over the limit.

    With `dir_fd`, `path` is a name inside that folder (no lookup by a swappable path).
    """
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    name = os.path.basename(path)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        raise RejectedFile(
            f"{name}: cannot open the file ({exc.strerror})",
            hint="check it is a regular, readable file",
        ) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RejectedFile(
                f"{name}: not a regular file",
                hint="drop regular files only (no FIFOs, devices or sockets)",
            )
        if info.st_size > max_bytes:
            raise FileTooLarge(
                f"{name}: {info.st_size / 1e6:.1f} MB is over the limit of "
                f"{max_bytes / 1e6:.1f} MB",
                hint="split the file or raise DOCFLOW_MAX_FILE_MB",
            )
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(1 << 20, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileTooLarge(f"{name}: grew over the size limit while being read")
    return data
