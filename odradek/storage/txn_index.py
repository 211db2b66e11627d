"""The transaction index: the aborted transactions whose markers lie in a segment.

Kafka's ``TransactionIndex`` and ``AbortedTxn``. A consumer reading with
``isolation.level=read_committed`` must skip the records of aborted transactions; the
fetch response lists, for the range it returns, each aborted transaction as a producer id
and first offset. Finding those without scanning the log is this index's job: when an
ABORT marker is appended, one 34-byte entry is added to the segment holding the marker::

    version           int16   0
    producer_id       int64
    first_offset      int64   first offset of the transaction
    last_offset       int64   offset of the ABORT marker
    last_stable_offset int64  the LSO just after the marker was written

Unlike the offset and time indexes this file is appended to, not preallocated, and it has
an entry only for aborted transactions (``docs/design.html``, "Message Delivery
Semantics"; the entry layout is Kafka's ``AbortedTxn``).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from odradek.storage.mmap_index import CorruptIndexError

_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size  # 34
CURRENT_VERSION = 0


class AbortedTxn(NamedTuple):
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int

    def encode(self) -> bytes:
        return _ENTRY.pack(
            CURRENT_VERSION,
            self.producer_id,
            self.first_offset,
            self.last_offset,
            self.last_stable_offset,
        )


class TxnIndexSearchResult(NamedTuple):
    aborted: list[AbortedTxn]
    #: True when no later segment can hold more aborted transactions for the range.
    is_complete: bool


class TransactionIndex:
    def __init__(self, path: Path, start_offset: int) -> None:
        self.path = path
        self.start_offset = start_offset
        self._fd: int | None = None
        self._size = 0
        self.last_offset: int | None = None
        if path.exists():
            self._open()
            entries = list(self._entries())
            if entries:
                self.last_offset = entries[-1][1].last_offset

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._size = os.fstat(self._fd).st_size
        return self._fd

    def _entries(self) -> Iterator[tuple[int, AbortedTxn]]:
        """(position, entry) for every whole entry in the file."""
        if self._fd is None or self._size < ENTRY_SIZE:
            return
        whole = self._size - self._size % ENTRY_SIZE
        data = os.pread(self._fd, whole, 0)
        for position in range(0, len(data) - ENTRY_SIZE + 1, ENTRY_SIZE):
            version, *fields = _ENTRY.unpack_from(data, position)
            if version > CURRENT_VERSION:
                raise CorruptIndexError(
                    f"transaction index {self.path} has an entry of unknown version {version}"
                )
            yield position, AbortedTxn(*fields)

    def append(self, txn: AbortedTxn) -> None:
        if self.last_offset is not None and self.last_offset >= txn.last_offset:
            raise ValueError(
                f"aborted transaction ending at {txn.last_offset} is not after "
                f"{self.last_offset} in {self.path}"
            )
        fd = self._open()
        data = txn.encode()
        os.pwrite(fd, data, self._size)
        self._size += len(data)
        self.last_offset = txn.last_offset

    def all_aborted_txns(self) -> list[AbortedTxn]:
        return [txn for _, txn in self._entries()]

    def collect_aborted_txns(
        self, fetch_offset: int, upper_bound_offset: int
    ) -> TxnIndexSearchResult:
        """Aborted transactions overlapping ``[fetch_offset, upper_bound_offset)``."""
        found: list[AbortedTxn] = []
        for _, txn in self._entries():
            if txn.last_offset >= fetch_offset and txn.first_offset < upper_bound_offset:
                found.append(txn)
            if txn.last_stable_offset >= upper_bound_offset:
                return TxnIndexSearchResult(found, True)
        return TxnIndexSearchResult(found, False)

    def truncate_to(self, offset: int) -> None:
        """Remove the entries of transactions whose marker is at or past ``offset``."""
        new_last: int | None = None
        for position, txn in self._entries():
            if txn.last_offset >= offset:
                assert self._fd is not None
                os.ftruncate(self._fd, position)
                self._size = position
                self.last_offset = new_last
                return
            new_last = txn.last_offset

    def reset(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._size = 0
        self.last_offset = None

    def flush(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def delete_if_exists(self) -> bool:
        self.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def rename_to(self, path: Path) -> None:
        if self.path.exists():
            os.replace(self.path, path)
        self.path = path

    def sanity_check(self) -> None:
        for _, txn in self._entries():
            if txn.last_offset < self.start_offset:
                raise CorruptIndexError(
                    f"aborted transaction {txn} in {self.path} ends before the segment starts"
                )
