"""The ``.snapshot`` file: the producer state of a partition as of one offset.

Kafka writes one when a segment rolls (named after the new segment's base offset) and at
shutdown, so that loading a log replays only the batches after the newest snapshot instead
of the whole log. The format is the ``ProducerSnapshot`` message of
``storage/ProducerSnapshot.json`` at version 1 (not flexible), prefixed with its version::

    version          int16    1
    crc              uint32   CRC32C of every byte after this field
    producer_entries int32 count, then per producer:
        producer_id int64, epoch int16, last_sequence int32, last_offset int64,
        offset_delta int32, timestamp int64, coordinator_epoch int32,
        current_txn_first_offset int64   (-1 when no transaction is open)

Reading is Kafka's ``ProducerStateManager.readSnapshot``: a wrong version, a short file or
a CRC mismatch is :class:`CorruptSnapshotError`, and the caller falls back to an older
snapshot or to replaying the log.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import crc32c

VERSION = 1
_PREFIX = struct.Struct(">hIi")  # version, crc, entry count
_ENTRY = struct.Struct(">qhiqiqiq")
#: Where the CRC'd bytes begin: after the version and the CRC itself.
CRC_START = 6


class CorruptSnapshotError(Exception):
    """A producer snapshot that cannot be trusted."""


class SnapshotEntry(NamedTuple):
    producer_id: int
    epoch: int
    last_sequence: int
    last_offset: int
    offset_delta: int
    timestamp: int
    coordinator_epoch: int
    current_txn_first_offset: int


def encode(entries: list[SnapshotEntry]) -> bytes:
    out = bytearray(_PREFIX.size + _ENTRY.size * len(entries))
    _PREFIX.pack_into(out, 0, VERSION, 0, len(entries))
    position = _PREFIX.size
    for entry in entries:
        _ENTRY.pack_into(out, position, *entry)
        position += _ENTRY.size
    struct.pack_into(">I", out, 2, crc32c.crc32c(memoryview(out)[CRC_START:]))
    return bytes(out)


def decode(data: bytes) -> list[SnapshotEntry]:
    if len(data) < _PREFIX.size:
        raise CorruptSnapshotError(f"snapshot of {len(data)} bytes is too short")
    version, crc, count = _PREFIX.unpack_from(data, 0)
    if version != VERSION:
        raise CorruptSnapshotError(f"snapshot has unknown version {version}")
    if count < 0 or len(data) != _PREFIX.size + count * _ENTRY.size:
        raise CorruptSnapshotError(f"snapshot of {len(data)} bytes cannot hold {count} entries")
    computed = crc32c.crc32c(memoryview(data)[CRC_START:])
    if computed != crc:
        raise CorruptSnapshotError(f"snapshot CRC {crc:#x} does not match {computed:#x}")
    return [
        SnapshotEntry._make(_ENTRY.unpack_from(data, _PREFIX.size + i * _ENTRY.size))
        for i in range(count)
    ]
