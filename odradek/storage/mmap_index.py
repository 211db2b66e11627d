"""The memory-mapped, preallocated, sparse index file shared by the offset and time indexes.

Kafka keeps two lookup tables per segment in files it maps into memory (Kafka's
``AbstractIndex``; the layout is in ``docs/implementation.html``, "Log"):

* When a segment is created, its index files are preallocated to ``segment.index.bytes``
  (rounded down to a whole number of entries) so that appending an entry is a store into
  mapped memory, never a file extension.
* When the segment stops being the active one (it rolls, or the log closes), each index is
  trimmed to the bytes its entries use. A trimmed index therefore tells its own entry count
  from its size; that is how an index is opened: ``entries = size // entry_size``.
* After a crash the active segment's index still has its preallocated size, full of zero
  entries. Nothing trusts that: recovery (:mod:`odradek.storage.recovery`) rebuilds the
  indexes of every segment past the recovery point from the log itself.

Entries are fixed-size and sorted on both columns, so a lookup is a binary search. As in
Kafka, the search first tries the last 8 KiB of entries (the "warm" section): readers that
keep up with the log only touch those pages, which then stay in the page cache, instead of
the pages a plain binary search would visit at 1/2, 3/4, ... of a large index.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import ClassVar


class CorruptIndexError(Exception):
    """An index whose content contradicts its segment; recovery rebuilds it."""


class MmapIndex:
    """A file of fixed-size entries mapped into memory. Subclasses define the entry layout."""

    ENTRY_SIZE: ClassVar[int]
    #: Entries in the warm section that lookups try first (8 KiB worth, as in Kafka).
    WARM_BYTES: ClassVar[int] = 8192

    def __init__(
        self, path: Path, base_offset: int, max_index_size: int, writable: bool = True
    ) -> None:
        self.path = path
        self.base_offset = base_offset
        self.max_index_size = max_index_size
        self.writable = writable
        self._mmap: mmap.mmap | None = None
        entry = self.ENTRY_SIZE
        newly_created = not path.exists()
        if newly_created:
            if not writable:
                raise FileNotFoundError(path)
            if max_index_size < entry:
                raise ValueError(f"invalid max index size {max_index_size}")
        flags = os.O_RDWR | os.O_CREAT if writable else os.O_RDONLY
        fd = os.open(path, flags, 0o644)
        try:
            if newly_created:
                try:
                    # Reserve the blocks, not just the size: a write through the map into
                    # a hole the disk cannot fill would kill the process with SIGBUS,
                    # where a full disk must only fail the append.
                    os.posix_fallocate(fd, 0, max_index_size // entry * entry)
                except OSError:
                    os.unlink(path)
                    raise
            self.length = os.fstat(fd).st_size
            self._map(fd)
        finally:
            os.close(fd)
        self.max_entries = self.length // entry
        # A new index is empty; an existing one is taken to be full up to its size.
        self.entries = 0 if newly_created else self.length // entry

    def _map(self, fd: int) -> None:
        if self.length == 0:
            self._mmap = None  # mmap cannot map an empty file: an empty index needs none
        else:
            access = mmap.ACCESS_WRITE if self.writable else mmap.ACCESS_READ
            self._mmap = mmap.mmap(fd, self.length, access=access)

    @property
    def size_in_bytes(self) -> int:
        """Bytes used by entries (not the preallocated length)."""
        return self.entries * self.ENTRY_SIZE

    def is_full(self) -> bool:
        return self.entries >= self.max_entries

    def resize(self, new_size: int) -> bool:
        """Set the file (and mapping) to ``new_size`` rounded down to whole entries.

        Used to trim on roll and close, and to grow back to ``segment.index.bytes`` when an
        old segment becomes active again (truncation, loading). Returns whether it changed.
        """
        rounded = new_size // self.ENTRY_SIZE * self.ENTRY_SIZE
        if rounded == self.length:
            return False
        if self._mmap is not None:
            self._mmap.close()
            self._mmap = None
        fd = os.open(self.path, os.O_RDWR)
        try:
            if rounded > os.fstat(fd).st_size:
                os.posix_fallocate(fd, 0, rounded)  # reserve blocks, as on creation
            else:
                os.ftruncate(fd, rounded)
            self.length = rounded
            self._map(fd)
        finally:
            os.close(fd)
        self.max_entries = rounded // self.ENTRY_SIZE
        self.entries = min(self.entries, self.max_entries)
        self._after_resize()
        return True

    def _after_resize(self) -> None:
        """Hook for subclasses that cache their last entry."""

    def trim_to_valid_size(self) -> None:
        self.resize(self.entries * self.ENTRY_SIZE)

    def reset(self) -> None:
        """Drop every entry and grow back to the maximum size (before a rebuild)."""
        self.truncate_to_entries(0)
        self.resize(self.max_index_size)

    @staticmethod
    def write_file(path: Path, packed: bytes) -> None:
        """Make the index file ``path`` hold exactly ``packed`` (whole entries), trimmed.

        Recovery's way to rebuild an index: through the file, not a mapping (on a virtual
        machine a page fault costs tens of microseconds), and writing only if the content
        differs, so that an index that was already right keeps its pages untouched. The
        index is mapped when it is next opened.
        """
        size = len(packed)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.pread(fd, size, 0) != packed:
                os.pwrite(fd, packed, 0)
            if os.fstat(fd).st_size != size:
                os.ftruncate(fd, size)
        finally:
            os.close(fd)

    def truncate_to_entries(self, entries: int) -> None:
        self.entries = entries
        self._after_resize()

    def flush(self) -> None:
        if self._mmap is not None:
            self._mmap.flush()

    def close(self) -> None:
        """Trim to the entries in use and unmap: the state a clean shutdown leaves."""
        if self.writable:
            self.trim_to_valid_size()
        self.close_handler()

    def close_handler(self) -> None:
        """Unmap without trimming (used when the file is about to be deleted or is broken)."""
        if self._mmap is not None:
            self._mmap.close()
            self._mmap = None

    def delete_if_exists(self) -> bool:
        self.close_handler()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def rename_to(self, path: Path) -> None:
        os.replace(self.path, path)
        self.path = path

    # -- search -----------------------------------------------------------------------

    def _key(self, slot: int) -> int:
        raise NotImplementedError

    def _value(self, slot: int) -> int:
        raise NotImplementedError

    def _largest_lower_bound(self, target: int, by_key: bool) -> int:
        """Slot of the last entry whose key (or value) is <= ``target``; -1 if none."""
        entries = self.entries
        if entries == 0:
            return -1
        get = self._key if by_key else self._value
        first_hot = max(0, entries - 1 - self.WARM_BYTES // self.ENTRY_SIZE)
        if get(first_hot) < target:
            lo, hi = first_hot, entries - 1
        else:
            if get(0) > target:
                return -1
            lo, hi = 0, first_hot
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            found = get(mid)
            if found > target:
                hi = mid - 1
            elif found < target:
                lo = mid
            else:
                return mid
        return lo

    def _smallest_upper_bound(self, target: int, by_key: bool) -> int:
        """Slot of the first entry whose key (or value) is >= ``target``; -1 if none."""
        entries = self.entries
        if entries == 0:
            return -1
        get = self._key if by_key else self._value
        first_hot = max(0, entries - 1 - self.WARM_BYTES // self.ENTRY_SIZE)
        if get(first_hot) < target:
            lo, hi = first_hot, entries - 1
        else:
            if get(0) > target:
                return 0
            lo, hi = 0, first_hot
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            found = get(mid)
            if found > target:
                hi = mid - 1
            elif found < target:
                lo = mid
            else:
                return mid
        return -1 if lo == entries - 1 else lo + 1

    def _truncate_slot_for(self, offset: int, by_key: bool) -> int:
        """Entries to keep so that none has an offset >= ``offset`` (Kafka's three cases)."""
        slot = self._largest_lower_bound(offset, by_key)
        if slot < 0:
            return 0
        found = self._key(slot) if by_key else self._value(slot)
        return slot if found == offset else slot + 1
