"""What the watcher reads of its inbox, always through directory descriptors: which folders
it never walks, which files a folder holds, and taking one file into the claim box."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from workers.claims import Claim, ClaimBox
from workers.files import is_ignored_name
from workers.inbox_fs import DirId, dir_id, lookup, open_parts, open_root, walk_files


def excluded_ids(folders: Iterable[Path]) -> frozenset[DirId]:
    """The processed and failed folders, never walked if someone put them in the inbox."""
    ids = set()
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = open_root(folder)
        except OSError:
            continue
        try:
            ids.add(dir_id(fd))
        finally:
            os.close(fd)
    return frozenset(ids)


def walk_keys(inbox_fd: int, folder_key: str, excluded: frozenset[DirId]) -> Iterator[str]:
    """Keys of regular-looking files under an inbox folder; no dot-folders, no links."""
    try:
        fd = open_parts(inbox_fd, folder_key.split("/") if folder_key else [])
    except OSError:
        return
    prefix = f"{folder_key}/" if folder_key else ""
    try:
        for rel in walk_files(fd, excluded):
            if not is_ignored_name(rel.rsplit("/", 1)[-1]):
                yield prefix + rel
    finally:
        os.close(fd)


def claim_key(
    inbox_fd: int, box: ClaimBox, key: str, excluded: frozenset[DirId]
) -> tuple[Claim | None, int]:
    """Rename the file at `key` into the claim box: (the claim, its size in bytes).

    The claim is None if another watcher won the race. Raises `inbox_fs.Skip` for a file
    not to be taken (a link, a FIFO), OSError for one that is gone, and ClaimFailed if
    the rename itself failed (the claim box's filesystem, not the file).
    """
    fd, name, info = lookup(inbox_fd, key, excluded)
    try:
        return box.claim(fd, name, key), info.st_size
    except OSError as exc:
        raise ClaimFailed(str(exc)) from exc
    finally:
        os.close(fd)


class ClaimFailed(Exception):
    """The rename into the claim box failed (not the file's fault: the box's filesystem)."""
