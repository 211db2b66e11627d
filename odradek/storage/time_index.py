"""The time index: from a timestamp to the offset of the first batch reaching it.

Kafka's ``TimeIndex``. Each 12-byte entry is a big-endian int64 timestamp and an int32
offset relative to the segment's base offset. An entry is added with each offset-index
entry, holding the largest timestamp seen so far in the segment and the last offset of the
batch that carried it, and only if that timestamp grew; so both columns only increase.
The last slot is reserved: when a segment stops being active, one final entry records its
largest timestamp, which retention by time then reads without scanning the segment.
Layout: ``docs/implementation.html``, "Log"; details from Kafka's ``TimeIndex``.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

from odradek.storage.mmap_index import CorruptIndexError, MmapIndex

_ENTRY = struct.Struct(">qi")
_PACK_INTO = _ENTRY.pack_into

NO_TIMESTAMP = -1


class TimestampOffset(NamedTuple):
    timestamp: int
    offset: int


class TimeIndex(MmapIndex):
    ENTRY_SIZE = 12

    def __init__(
        self, path: Path, base_offset: int, max_index_size: int, writable: bool = True
    ) -> None:
        super().__init__(path, base_offset, max_index_size, writable)
        self.last_entry = self._last_entry_from_file()

    def _entry(self, slot: int) -> TimestampOffset:
        assert self._mmap is not None
        timestamp, relative = _ENTRY.unpack_from(self._mmap, slot * 12)
        return TimestampOffset(timestamp, self.base_offset + relative)

    def _key(self, slot: int) -> int:
        assert self._mmap is not None
        return _ENTRY.unpack_from(self._mmap, slot * 12)[0]

    def _value(self, slot: int) -> int:
        assert self._mmap is not None
        return self.base_offset + _ENTRY.unpack_from(self._mmap, slot * 12)[1]

    def _last_entry_from_file(self) -> TimestampOffset:
        if self.entries == 0:
            return TimestampOffset(NO_TIMESTAMP, self.base_offset)
        return self._entry(self.entries - 1)

    def _after_resize(self) -> None:
        self.last_entry = self._last_entry_from_file()

    def is_full(self) -> bool:
        # One slot stays free for the entry written when the segment becomes inactive.
        return self.entries >= self.max_entries - 1

    def entry(self, slot: int) -> TimestampOffset:
        if not 0 <= slot < self.entries:
            raise IndexError(f"slot {slot} of an index of {self.entries} entries")
        return self._entry(slot)

    def lookup(self, target_timestamp: int) -> TimestampOffset:
        """The last entry with a timestamp <= the target, or (-1, base offset)."""
        slot = self._largest_lower_bound(target_timestamp, by_key=True)
        if slot < 0:
            return TimestampOffset(NO_TIMESTAMP, self.base_offset)
        return self._entry(slot)

    def maybe_append(self, timestamp: int, offset: int, skip_full_check: bool = False) -> None:
        """Add ``(timestamp, offset)`` if the timestamp is larger than the last entry's."""
        entries = self.entries
        if not skip_full_check and entries >= self.max_entries - 1:
            raise ValueError(f"append to a full time index ({entries} entries) {self.path}")
        last_timestamp, last_offset = self.last_entry
        if entries:
            if offset < last_offset:
                raise ValueError(
                    f"offset {offset} is below the last time-indexed offset {last_offset}"
                )
            if timestamp < last_timestamp:
                raise ValueError(
                    f"timestamp {timestamp} is below the last indexed {last_timestamp}"
                )
        # Equal timestamps add nothing: closing a segment twice appends its final entry once.
        if timestamp > last_timestamp:
            mm = self._mmap
            assert mm is not None
            _PACK_INTO(mm, entries * 12, timestamp, offset - self.base_offset)
            self.entries = entries + 1
            self.last_entry = TimestampOffset(timestamp, offset)

    @staticmethod
    def pack_entries(base_offset: int, flat: list[int]) -> bytes:
        """The index bytes for ``flat``: timestamp, absolute offset, timestamp, ..."""
        count = len(flat) // 2
        relative = flat.copy()
        relative[1::2] = [offset - base_offset for offset in flat[1::2]]
        return struct.pack(">" + "qi" * count, *relative)

    def truncate_to(self, offset: int) -> None:
        """Remove the entries for offsets >= ``offset``."""
        self.truncate_to_entries(self._truncate_slot_for(offset, by_key=False))

    def sanity_check(self) -> None:
        last = self.last_entry
        if self.entries and last.timestamp < self._key(0):
            raise CorruptIndexError(f"time index {self.path} is not sorted by timestamp")
        if self.entries and last.offset < self.base_offset:
            raise CorruptIndexError(f"time index {self.path} has an offset below its base")
        if self.length % self.ENTRY_SIZE:
            raise CorruptIndexError(f"time index {self.path} size {self.length} is not whole")
