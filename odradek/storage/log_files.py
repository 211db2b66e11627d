"""File names of a partition's log directory, and the durable way to replace a file.

Every file of a segment is named after the segment's base offset, zero-padded to 20
digits so that names sort like offsets: ``00000000000000001234.log`` holds the batches,
``.index`` the offset index, ``.timeindex`` the time index, ``.txnindex`` the aborted
transactions, and ``.snapshot`` the producer state as of that offset. Suffixes appended
to a full name mark files in transit: ``.cleaned`` (a compacted segment being written),
``.swap`` (a compacted segment ready to replace the originals) and ``.deleted`` (a file
waiting for its delayed removal). These are the names of Kafka's ``LogFileUtils``; the
layout is described in ``docs/implementation.html`` ("Log").

:func:`write_atomically` is how every checkpoint is written: to a temporary file, fsync'd,
renamed over the old one, and the directory fsync'd, so that a crash leaves either the old
or the new file, never a mix.
"""

from __future__ import annotations

import os
from pathlib import Path

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
TXN_INDEX_SUFFIX = ".txnindex"
SNAPSHOT_SUFFIX = ".snapshot"
DELETED_SUFFIX = ".deleted"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
DELETE_DIR_SUFFIX = "-delete"

SEGMENT_SUFFIXES = (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)


def offset_prefix(offset: int) -> str:
    """The 20-digit name stem of the segment or snapshot at ``offset``."""
    return f"{offset:020d}"


def log_file(directory: Path, offset: int, suffix: str = "") -> Path:
    return directory / (offset_prefix(offset) + LOG_SUFFIX + suffix)


def offset_index_file(directory: Path, offset: int, suffix: str = "") -> Path:
    return directory / (offset_prefix(offset) + INDEX_SUFFIX + suffix)


def time_index_file(directory: Path, offset: int, suffix: str = "") -> Path:
    return directory / (offset_prefix(offset) + TIME_INDEX_SUFFIX + suffix)


def txn_index_file(directory: Path, offset: int, suffix: str = "") -> Path:
    return directory / (offset_prefix(offset) + TXN_INDEX_SUFFIX + suffix)


def snapshot_file(directory: Path, offset: int) -> Path:
    return directory / (offset_prefix(offset) + SNAPSHOT_SUFFIX)


def offset_from_name(name: str) -> int:
    """The offset a file is named after; :class:`ValueError` if the name has none."""
    return int(name[: name.index(".")])


def is_offset_named(name: str) -> bool:
    dot = name.find(".")
    return dot > 0 and name[:dot].isdigit()


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (new, renamed, removed files) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content.

    As Kafka's ``CheckpointFile.write``: write ``<path>.tmp``, fsync it, rename it over
    ``path``, then fsync the directory so the rename itself survives a power loss.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync:
        fsync_dir(path.parent)


def rename_with_suffix(path: Path, old_suffix: str, new_suffix: str) -> Path:
    """``<name><old_suffix>`` to ``<name><new_suffix>``, renamed on disk; returns the new path."""
    name = path.name
    if old_suffix:
        if not name.endswith(old_suffix):
            raise ValueError(f"{path} does not end with {old_suffix!r}")
        name = name[: -len(old_suffix)]
    target = path.with_name(name + new_suffix)
    os.replace(path, target)
    return target
