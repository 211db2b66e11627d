"""A ``__consumer_offsets`` partition as the group coordinator reads and writes it.

Reading (Kafka's ``CoordinatorLoaderImpl``): a shard is loaded by replaying every
record of its partition, from the log start offset to the log end offset, batch by
batch. Control batches (transaction markers) carry no coordinator state and are
skipped, as is a record whose type this coordinator does not know; a record without
a key, or whose bytes do not parse, fails the load: a coordinator that skipped it
would serve state the log does not hold.

Writing (Kafka's ``CoordinatorRuntime``): the records of one command are appended as
one batch, so that a command's effects are committed all together or not at all --
a magic-2 batch without producer id, stamped with the time of the append, compressed
with ``offsets.topic.compression.codec``. Each record's key and value are the
version-prefixed messages of :mod:`odradek.coordinator.group.records`; a null value
is a tombstone, which compaction eventually removes with the key it deletes.

Record formats: ``shared/kafka-spec/group-coordinator/*.json``; the batch format:
``docs/implementation.html``, "Record Batch".
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from odradek.coordinator.group import (
    CoordinatorRecord,
    GroupCoordinatorShard,
    serialize_key,
    serialize_value,
)
from odradek.protocol.primitives import DecodeError
from odradek.protocol.records.batch import RecordBatch, encode_batch, iter_batches, make_attributes
from odradek.protocol.records.record import Record
from odradek.storage.log import FetchIsolation, Log

#: How many bytes one read of a load takes (Kafka's ``offsets.load.buffer.size``).
DEFAULT_LOAD_BUFFER = 5 * 1024 * 1024


class LoadError(Exception):
    """The partition holds something a shard cannot be loaded from."""


async def load_shard(
    log: Log, shard: GroupCoordinatorShard, *, buffer_size: int = DEFAULT_LOAD_BUFFER
) -> int:
    """Replay every record of ``log`` into ``shard``; returns how many were replayed.

    Yields to other tasks between reads, so that a large partition does not stall
    the broker while it loads. The log end offset is taken at the start: nothing else
    appends to a coordinator partition while its shard loads.
    """
    offset = log.log_start_offset
    end = log.log_end_offset
    replayed = 0
    while offset < end:
        data = log.read(offset, buffer_size, FetchIsolation.LOG_END).region.read()
        if not data:
            break  # compaction removed everything from here to the end
        start = offset
        try:
            for batch in iter_batches(data, allow_partial_tail=True):
                if batch.next_offset <= offset:
                    continue
                if not batch.is_control:
                    for record in batch.records:
                        if record.key is None:
                            raise LoadError(
                                f"record at offset {batch.offset_of(record)} of "
                                f"{log.topic_partition} has no key"
                            )
                        if shard.load(record.key, record.value):
                            replayed += 1
                offset = batch.next_offset
        except DecodeError as e:
            raise LoadError(f"{log.topic_partition} at offset {offset}: {e}") from e
        if offset == start:
            raise LoadError(f"{log.topic_partition}: no whole batch at offset {offset}")
        await trio.lowlevel.checkpoint()
    return replayed


def encode_records(
    records: Sequence[CoordinatorRecord], *, now_ms: int, compression: int = 0
) -> bytearray:
    """One batch holding ``records`` in order, ready for :meth:`Log.append_as_leader`."""
    batch = RecordBatch.of(
        [
            Record(
                offset_delta=i,
                timestamp_delta=0,
                key=serialize_key(record),
                value=serialize_value(record),
            )
            for i, record in enumerate(records)
        ],
        base_timestamp=now_ms,
        attributes=make_attributes(compression),
    )
    # Writable, so that the log stamps offsets in place instead of copying.
    return bytearray(encode_batch(batch))
