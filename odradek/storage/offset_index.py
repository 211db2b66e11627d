"""The offset index: from an offset to the file position of the batch holding it.

Kafka's ``OffsetIndex``. Each 8-byte entry is two big-endian int32s: the offset relative
to the segment's base offset, and the byte position of a batch in the ``.log`` file. The
index is sparse: an entry is added about every ``index.interval.bytes`` of log, naming the
last offset of the batch that starts at that position. To find offset *n*, take the last
entry whose offset is <= *n* and scan the log forward from its position
(:mod:`odradek.storage.segment`). Layout: ``docs/implementation.html``, "Log"; details
from Kafka's ``OffsetIndex`` and ``AbstractIndex``.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

from odradek.storage.mmap_index import CorruptIndexError, MmapIndex

_ENTRY = struct.Struct(">ii")
_PACK_INTO = _ENTRY.pack_into


class OffsetPosition(NamedTuple):
    offset: int
    position: int


class OffsetIndex(MmapIndex):
    ENTRY_SIZE = 8

    def __init__(
        self, path: Path, base_offset: int, max_index_size: int, writable: bool = True
    ) -> None:
        super().__init__(path, base_offset, max_index_size, writable)
        self.last_offset = self._last_entry().offset

    def _entry(self, slot: int) -> OffsetPosition:
        assert self._mmap is not None
        relative, position = _ENTRY.unpack_from(self._mmap, slot * 8)
        return OffsetPosition(self.base_offset + relative, position)

    def _key(self, slot: int) -> int:
        assert self._mmap is not None
        return self.base_offset + _ENTRY.unpack_from(self._mmap, slot * 8)[0]

    def _value(self, slot: int) -> int:
        assert self._mmap is not None
        return _ENTRY.unpack_from(self._mmap, slot * 8)[1]

    def _last_entry(self) -> OffsetPosition:
        if self.entries == 0:
            return OffsetPosition(self.base_offset, 0)
        return self._entry(self.entries - 1)

    def _after_resize(self) -> None:
        self.last_offset = self._last_entry().offset

    def entry(self, slot: int) -> OffsetPosition:
        if not 0 <= slot < self.entries:
            raise IndexError(f"slot {slot} of an index of {self.entries} entries")
        return self._entry(slot)

    def lookup(self, target_offset: int) -> OffsetPosition:
        """The last entry with an offset <= ``target_offset``, or (base offset, 0)."""
        slot = self._largest_lower_bound(target_offset, by_key=True)
        if slot < 0:
            return OffsetPosition(self.base_offset, 0)
        return self._entry(slot)

    def fetch_upper_bound_offset(self, start_position: int, fetch_size: int) -> int | None:
        """The offset of the first entry at or past ``start_position + fetch_size``.

        An upper bound on the offsets a read of ``fetch_size`` bytes can contain; used to
        bound the search for aborted transactions.
        """
        slot = self._smallest_upper_bound(start_position + fetch_size, by_key=False)
        return None if slot < 0 else self._entry(slot).offset

    def append(self, offset: int, position: int) -> None:
        entries = self.entries
        if entries >= self.max_entries:
            raise ValueError(f"append to a full index ({entries} entries) {self.path}")
        if entries and offset <= self.last_offset:
            raise ValueError(
                f"offset {offset} is not above the last indexed offset {self.last_offset}"
            )
        mm = self._mmap
        assert mm is not None
        _PACK_INTO(mm, entries * 8, offset - self.base_offset, position)
        self.entries = entries + 1
        self.last_offset = offset

    @staticmethod
    def pack_entries(base_offset: int, flat: list[int]) -> bytes:
        """The index bytes for ``flat``: absolute offset, position, offset, position, ..."""
        count = len(flat) // 2
        relative = flat.copy()
        relative[0::2] = [offset - base_offset for offset in flat[0::2]]
        return struct.pack(f">{2 * count}i", *relative)

    def truncate_to(self, offset: int) -> None:
        """Remove the entries for offsets >= ``offset``."""
        self.truncate_to_entries(self._truncate_slot_for(offset, by_key=True))

    def sanity_check(self) -> None:
        if self.entries and self.last_offset < self.base_offset:
            raise CorruptIndexError(
                f"index {self.path} has last offset {self.last_offset} below its base offset"
            )
        if self.length % self.ENTRY_SIZE:
            raise CorruptIndexError(f"index {self.path} size {self.length} is not whole entries")
