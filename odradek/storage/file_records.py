"""A segment's ``.log`` file: record batches laid end to end, appended and read in place.

Kafka's ``FileRecords`` and ``FileLogInputStream``. The file is nothing but RecordBatches
(``docs/implementation.html``, "Record Batch") one after another, exactly as they travel
on the wire, so a read is a byte range of the file that can go to a socket with
``sendfile`` and an append is one ``write`` of the bytes a producer or leader sent.

Walking the file means reading the 12 bytes at each position (base offset and batch
length) to find the next batch. :func:`FileRecords.batches` does that, reading ahead in
large blocks; recovery, which checks every batch's CRC, takes the batches a block at a time
(:meth:`FileRecords.checked_batch_blocks`). Like Kafka, the walk stops quietly at a
partial batch at the end of the file (an interrupted append), and raises
:class:`~odradek.storage.errors.CorruptRecordError` at a batch whose length is impossible,
or, when asked to validate, whose magic byte is not 2 or whose CRC32C does not match.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import crc32c

from odradek.protocol.records.batch_header import (
    ATTRIBUTES_OFFSET,
    CURRENT_MAGIC,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
    BatchHeader,
)
from odradek.storage.errors import CorruptRecordError

# Positions in the header tuple that HEADER_STRUCT unpacks (the fields of BatchHeader).
BASE_OFFSET = 0
BATCH_LENGTH = 1
PARTITION_LEADER_EPOCH = 2
MAGIC = 3
CRC = 4
ATTRIBUTES = 5
LAST_OFFSET_DELTA = 6
BASE_TIMESTAMP = 7
MAX_TIMESTAMP = 8
PRODUCER_ID = 9
PRODUCER_EPOCH = 10
BASE_SEQUENCE = 11
RECORDS_COUNT = 12

#: Bytes that must remain for a batch to be considered: base offset, length, epoch, magic.
HEADER_SIZE_UP_TO_MAGIC = 17
#: The smallest batch length field Kafka accepts before looking at the magic byte (v0).
MIN_BATCH_LENGTH = 14
#: How much a walk first reads: most lookups land within a few KiB of their target.
FIRST_READ = 4096
#: How far the read size grows for long walks; a larger batch is read whole on its own.
READ_AHEAD = 1 << 20


class FileRegion(NamedTuple):
    """Bytes ``[position, position + size)`` of an open file, ready for ``os.sendfile``."""

    fd: int
    position: int
    size: int

    def read(self) -> bytes:
        """The region's bytes (one ``pread``)."""
        if self.size == 0:
            return b""
        return os.pread(self.fd, self.size, self.position)

    def read_into(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer[:size]`` with the region; returns the byte count."""
        view = memoryview(buffer)[: self.size]
        done = 0
        while done < self.size:
            n = os.preadv(self.fd, [view[done:]], self.position + done)
            if n == 0:
                raise EOFError(f"file ended inside a region at {self.position + done}")
            done += n
        return done


class LogOffsetPosition(NamedTuple):
    """A batch found by offset: its last offset, position and size in bytes."""

    offset: int
    position: int
    size: int


class FileRecords:
    """An open ``.log`` file, with its size kept in memory as the end of the valid data."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self.fd = fd
        self.size = size

    @classmethod
    def open(cls, path: Path, *, create: bool, preallocate_bytes: int = 0) -> FileRecords:
        """Open (or create) a log file. ``size`` is the file length unless preallocated.

        With ``preallocate`` the file is extended to ``segment.bytes`` up front and its
        real end is found by the recovery walk, as in Kafka.
        """
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        fd = os.open(path, flags, 0o644)
        size = os.fstat(fd).st_size
        if create and preallocate_bytes and size == 0:
            os.posix_fallocate(fd, 0, preallocate_bytes)
            return cls(path, fd, 0)
        return cls(path, fd, size)

    # -- writing ----------------------------------------------------------------------

    def append(self, data: bytes | bytearray | memoryview) -> int:
        """Write ``data`` at the end; returns the number of bytes written."""
        size = self.size
        written = os.pwrite(self.fd, data, size)
        if written != len(data):
            # A short write to a regular file happens only when the disk is full or failing;
            # finish it so the file never ends inside a batch we reported as appended.
            view = memoryview(data)
            while written < len(view):
                n = os.pwrite(self.fd, view[written:], size + written)
                if n <= 0:
                    raise OSError(f"short write to {self.path}")
                written += n
        self.size = size + written
        return written

    def truncate_to(self, size: int) -> int:
        """Cut the file to ``size`` bytes; returns how many bytes were removed."""
        if size > self.size or size < 0:
            raise ValueError(f"cannot truncate {self.path} of {self.size} bytes to {size}")
        removed = self.size - size
        if removed or os.fstat(self.fd).st_size != size:
            os.ftruncate(self.fd, size)
        self.size = size
        return removed

    def trim(self) -> None:
        """Drop any preallocated space past the valid data (when a segment stops being active)."""
        if os.fstat(self.fd).st_size != self.size:
            os.ftruncate(self.fd, self.size)

    def flush(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def rename_to(self, path: Path) -> None:
        os.replace(self.path, path)
        self.path = path

    # -- reading ----------------------------------------------------------------------

    def region(self, position: int, size: int) -> FileRegion:
        end = min(self.size, position + size)
        return FileRegion(self.fd, position, max(0, end - position))

    def read(self, position: int, size: int) -> bytes:
        return self.region(position, size).read()

    def batches(
        self, start: int = 0, end: int | None = None, *, validate: bool = False
    ) -> Iterator[tuple[int, BatchHeader]]:
        """``(position, header)`` of each whole batch in ``[start, end)``.

        Stops at a partial batch; raises :class:`CorruptRecordError` (with ``.position``)
        at a batch with an impossible length and, when ``validate``, at one whose magic or
        CRC is wrong.
        """
        for position, fields in self.raw_batches(start, end, validate=validate):
            yield position, BatchHeader._make(fields)

    def raw_batches(
        self, start: int = 0, end: int | None = None, *, validate: bool = False
    ) -> Iterator[tuple[int, tuple[int, ...]]]:
        """As :meth:`batches` with the header as a plain tuple (the hot loops)."""
        if validate:
            for checked in self.checked_batch_blocks(start, end):
                yield from checked
            return
        limit = self.size if end is None else min(end, self.size)
        fd = self.fd
        unpack = HEADER_STRUCT.unpack_from
        stop = limit - HEADER_SIZE_UP_TO_MAGIC
        position = start
        block = b""
        block_start = start
        block_end = 0  # len(block), kept apart: it is read for every batch
        # A search reads little at first (most land within a few KiB) and more as it goes.
        read_size = FIRST_READ
        while position < stop:
            offset_in_block = position - block_start
            if offset_in_block + HEADER_SIZE > block_end:
                block_start = position
                block = os.pread(fd, min(read_size, limit - position), position)
                read_size = min(read_size * 2, READ_AHEAD)
                offset_in_block = 0
                block_end = len(block)
                if block_end < HEADER_SIZE_UP_TO_MAGIC:
                    return
            if block_end - offset_in_block < HEADER_SIZE:
                # Fewer than 61 bytes left: no batch fits, but an impossible length field
                # is corruption rather than a torn tail.
                if _length_at(block, offset_in_block) < MIN_BATCH_LENGTH:
                    raise _corrupt(self.path, position, "impossible batch length")
                return
            fields = unpack(block, offset_in_block)
            length = fields[1]  # batchLength
            if length < MIN_BATCH_LENGTH:
                raise _corrupt(self.path, position, f"batch length {length}")
            size = length + LOG_OVERHEAD
            if position + size > limit:
                return
            yield position, fields
            position += size

    def checked_batch_blocks(
        self, start: int = 0, end: int | None = None
    ) -> Iterator[list[tuple[int, tuple[int, ...]]]]:
        """The whole batches in ``[start, end)``, CRC-checked, a list per block read.

        Recovery's walk. The file is read in blocks of :data:`READ_AHEAD` bytes into one
        reused buffer, and every batch wholly in the block is checked (length, magic,
        CRC32C) before the block's ``(position, header)`` list is yielded: one step of the
        generator per block instead of one per batch. A batch cut by the end of a block
        starts the next block; one larger than a block is read on its own.

        As :meth:`batches` with ``validate``: the walk stops quietly at a partial batch at
        the end; at an invalid batch the valid ones before it are yielded, then
        :class:`CorruptRecordError` is raised.
        """
        limit = self.size if end is None else min(end, self.size)
        fd = self.fd
        unpack = HEADER_STRUCT.unpack_from
        checksum = crc32c.crc32c
        buffer = bytearray(READ_AHEAD)
        whole = memoryview(buffer)
        position = start
        while limit - position > HEADER_SIZE_UP_TO_MAGIC:
            count = os.preadv(fd, [whole[: limit - position]], position)
            # A block shorter than the buffer holds the end of the data (or of a file
            # that is shorter than it should be): a batch cut there is a torn tail.
            at_end = count < READ_AHEAD
            batches: list[tuple[int, tuple[int, ...]]] = []
            failure: CorruptRecordError | None = None
            offset = 0
            while True:
                if count - offset < HEADER_SIZE:
                    if (
                        at_end
                        and count - offset > HEADER_SIZE_UP_TO_MAGIC
                        and _length_at(buffer, offset) < MIN_BATCH_LENGTH
                    ):
                        failure = _corrupt(self.path, position + offset, "impossible length")
                    break
                fields = unpack(buffer, offset)
                length = fields[1]
                if length < MIN_BATCH_LENGTH:
                    failure = _corrupt(self.path, position + offset, f"batch length {length}")
                    break
                batch_end = offset + length + LOG_OVERHEAD
                if batch_end > count:
                    break
                if fields[3] != CURRENT_MAGIC or length + LOG_OVERHEAD < HEADER_SIZE:
                    failure = _corrupt(
                        self.path, position + offset, f"magic {fields[3]}, length {length}"
                    )
                    break
                if checksum(whole[offset + ATTRIBUTES_OFFSET : batch_end]) != fields[4]:
                    failure = _corrupt(self.path, position + offset, "CRC mismatch")
                    break
                batches.append((position + offset, fields))
                offset = batch_end
            if batches:
                yield batches
            if failure is not None:
                raise failure
            if at_end:
                return
            position += offset
            if offset == 0:
                # The batch here is larger than a block: read and check it on its own.
                size = _length_at(buffer, 0) + LOG_OVERHEAD
                data = os.pread(fd, size, position) if position + size <= limit else b""
                if len(data) < size:
                    return
                fields = unpack(data, 0)
                if fields[3] != CURRENT_MAGIC:
                    raise _corrupt(self.path, position, f"magic {fields[3]}")
                if checksum(memoryview(data)[ATTRIBUTES_OFFSET:]) != fields[4]:
                    raise _corrupt(self.path, position, "CRC mismatch")
                yield [(position, fields)]
                position += size

    def base_offset_at(self, position: int) -> int:
        """The base offset of the batch that starts at ``position``."""
        return int.from_bytes(os.pread(self.fd, 8, position), "big", signed=True)

    def search_for_offset_with_size(
        self, target_offset: int, start: int
    ) -> LogOffsetPosition | None:
        """The first batch at or after ``start`` whose last offset is >= ``target_offset``."""
        for position, fields in self.raw_batches(start):
            last_offset = fields[BASE_OFFSET] + fields[LAST_OFFSET_DELTA]
            if last_offset >= target_offset:
                return LogOffsetPosition(last_offset, position, fields[BATCH_LENGTH] + LOG_OVERHEAD)
        return None

    def largest_timestamp_after(self, start: int) -> tuple[int, int]:
        """``(max timestamp, last offset of its batch)`` over the batches from ``start``."""
        max_timestamp = -1
        offset = -1
        for _, fields in self.raw_batches(start):
            if fields[MAX_TIMESTAMP] > max_timestamp:
                max_timestamp = fields[MAX_TIMESTAMP]
                offset = fields[BASE_OFFSET] + fields[LAST_OFFSET_DELTA]
        return max_timestamp, offset


def _length_at(buffer: bytes | bytearray, offset: int) -> int:
    """The batchLength field of the batch at ``offset``."""
    return int.from_bytes(buffer[offset + 8 : offset + 12], "big", signed=True)


def _corrupt(path: Path, position: int, why: str) -> CorruptRecordError:
    return CorruptRecordError(f"corrupt batch in {path} at position {position}: {why}", position)
