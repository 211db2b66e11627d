"""Producer state: what each idempotent or transactional producer last wrote to a partition.

This is Kafka's ``ProducerStateManager``, ``ProducerStateEntry``, ``ProducerAppendInfo`` and
``BatchMetadata`` (semantics: ``docs/design.html``, "Message Delivery Semantics"; KIP-98
and KIP-360).

For every producer id the partition keeps the epoch, the coordinator epoch of its last
transaction marker, the first offset of its open transaction if any, and the metadata of
its last five batches (sequence range, last offset, timestamp). Five, because a producer
keeps at most five requests in flight per connection: any retry it can send is one of the
five. With that:

* a batch whose producer epoch is below the one on record is refused with
  ``INVALID_PRODUCER_EPOCH``;
* a batch whose sequence range equals one of the five cached ones is a retry, answered
  with the offsets it was first given (:meth:`ProducerStateManager.find_duplicate`);
* otherwise its first sequence must follow the last one (``last + 1``, wrapping from
  ``2**31 - 1`` to 0), or be 0 at a new epoch, else ``OUT_OF_ORDER_SEQUENCE_NUMBER``; a
  producer the partition has no epoch for may start anywhere (Kafka since KIP-360).

Batches that arrive by replication are not checked (the leader already did). Transactions
are tracked too: the first transactional batch of a producer opens a transaction at its
offset; a COMMIT or ABORT marker closes it. The first offset of the oldest open (or not yet
replicated) transaction bounds the last stable offset that ``read_committed`` consumers may
read up to, and each aborted transaction goes to the segment's transaction index.

The state is rebuilt on load from the newest ``.snapshot`` file plus the batches after it
(:mod:`odradek.storage.recovery`), and a snapshot is taken at each roll.
"""

from __future__ import annotations

import enum
import functools
import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from odradek.protocol.records.batch_header import NO_PRODUCER_EPOCH, NO_SEQUENCE
from odradek.storage import log_files, producer_snapshot
from odradek.storage.errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceError,
    TransactionCoordinatorFencedError,
)

NUM_BATCHES_TO_RETAIN = 5
INT32_MAX = 0x7FFFFFFF
NO_TIMESTAMP = -1


class AppendOrigin(enum.Enum):
    """Where an append comes from, which decides how much is checked."""

    CLIENT = "client"  # a producer: epochs and sequences are checked
    COORDINATOR = "coordinator"  # group/transaction coordinator and markers: epochs only
    REPLICATION = "replication"  # a follower copying its leader: nothing is checked
    RAFT_LEADER = "raft_leader"  # the metadata log's leader: offsets are already assigned


# Looking a member up on an Enum class goes through EnumType.__getattr__ (slow in 3.11),
# and the checks below run for every batch of an idempotent producer.
_CLIENT = AppendOrigin.CLIENT
_REPLICATION = AppendOrigin.REPLICATION


def decrement_sequence(sequence: int, decrement: int) -> int:
    """``sequence - decrement`` on Kafka's wrapping 31-bit sequence numbers."""
    if sequence < decrement:
        return sequence - decrement + INT32_MAX + 1
    return sequence - decrement


class BatchMetadata(NamedTuple):
    """What is remembered of one of a producer's recent batches."""

    last_seq: int
    last_offset: int
    offset_delta: int
    timestamp: int

    @property
    def first_seq(self) -> int:
        return decrement_sequence(self.last_seq, self.offset_delta)

    @property
    def first_offset(self) -> int:
        return self.last_offset - self.offset_delta


#: Builds a :class:`BatchMetadata` without the Python-level ``__new__`` that NamedTuple
#: generates: one is made for every batch of an idempotent producer.
_new_batch_metadata = functools.partial(tuple.__new__, BatchMetadata)


@dataclass(slots=True)
class ProducerStateEntry:
    producer_id: int
    producer_epoch: int = NO_PRODUCER_EPOCH
    coordinator_epoch: int = -1
    last_timestamp: int = NO_TIMESTAMP
    current_txn_first_offset: int | None = None
    batches: deque[BatchMetadata] = field(
        default_factory=functools.partial(deque, maxlen=NUM_BATCHES_TO_RETAIN)
    )

    @property
    def is_empty(self) -> bool:
        return not self.batches

    @property
    def first_seq(self) -> int:
        return self.batches[0].first_seq if self.batches else NO_SEQUENCE

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else NO_SEQUENCE

    @property
    def last_data_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1

    @property
    def last_offset_delta(self) -> int:
        return self.batches[-1].offset_delta if self.batches else 0

    def copy_without_batches(self) -> ProducerStateEntry:
        return ProducerStateEntry(
            self.producer_id,
            self.producer_epoch,
            self.coordinator_epoch,
            self.last_timestamp,
            self.current_txn_first_offset,
        )

    def maybe_update_producer_epoch(self, epoch: int) -> None:
        if self.producer_epoch != epoch:
            # A new epoch starts its sequences afresh: the old batches say nothing of it.
            self.batches.clear()
            self.producer_epoch = epoch

    def add_batch(
        self, epoch: int, last_seq: int, last_offset: int, offset_delta: int, timestamp: int
    ) -> None:
        if self.producer_epoch != epoch:
            self.maybe_update_producer_epoch(epoch)
        self.batches.append(_new_batch_metadata((last_seq, last_offset, offset_delta, timestamp)))
        self.last_timestamp = timestamp

    def update(self, other: ProducerStateEntry) -> None:
        """Fold in the changes an append made to a copy of this entry."""
        if self.producer_epoch != other.producer_epoch:
            self.maybe_update_producer_epoch(other.producer_epoch)
        self.batches.extend(other.batches)
        self.coordinator_epoch = other.coordinator_epoch
        self.current_txn_first_offset = other.current_txn_first_offset
        self.last_timestamp = other.last_timestamp

    def find_duplicate(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        if epoch != self.producer_epoch:
            return None
        for batch in self.batches:
            if batch.last_seq == last_seq and batch.first_seq == first_seq:
                return batch
        return None


class CompletedTxn(NamedTuple):
    producer_id: int
    first_offset: int
    last_offset: int
    is_aborted: bool


@dataclass
class TxnMetadata:
    producer_id: int
    first_offset: int
    last_offset: int | None = None


class ProducerAppendInfo:
    """The changes one append makes to one producer, checked before they are applied.

    Works on a copy of the producer's entry; :meth:`ProducerStateManager.update` commits it
    once the batches are in the log.
    """

    def __init__(
        self,
        topic_partition: str,
        producer_id: int,
        current: ProducerStateEntry,
        origin: AppendOrigin,
    ) -> None:
        self.topic_partition = topic_partition
        self.producer_id = producer_id
        self.current = current
        self.origin = origin
        self.updated = current.copy_without_batches()
        self.started_transactions: list[TxnMetadata] = []

    def _check_producer_epoch(self, epoch: int, offset: int) -> None:
        if epoch < self.updated.producer_epoch and self.origin is not _REPLICATION:
            raise InvalidProducerEpochError(
                f"epoch {epoch} of producer {self.producer_id} at offset {offset} in "
                f"{self.topic_partition} is below the last seen epoch "
                f"{self.updated.producer_epoch}"
            )

    def _check_sequence(self, epoch: int, first_seq: int, offset: int) -> None:
        updated = self.updated
        if epoch != updated.producer_epoch:
            if first_seq != 0 and updated.producer_epoch != NO_PRODUCER_EPOCH:
                raise OutOfOrderSequenceError(
                    f"producer {self.producer_id} starts epoch {epoch} at sequence "
                    f"{first_seq} (offset {offset}) in {self.topic_partition}; it must be 0"
                )
            return
        current = self.current
        # A producer whose state was removed (retention, DeleteRecords) may go on anywhere.
        if current.producer_epoch == NO_PRODUCER_EPOCH:
            return
        if updated.batches:
            current_last = updated.batches[-1].last_seq
        elif epoch == current.producer_epoch:
            current_last = current.last_seq
        else:
            current_last = NO_SEQUENCE
        if not (first_seq == current_last + 1 or (first_seq == 0 and current_last == INT32_MAX)):
            raise OutOfOrderSequenceError(
                f"out of order sequence {first_seq} from producer {self.producer_id} at offset "
                f"{offset} in {self.topic_partition}; the last sequence is {current_last}"
            )

    def append_data_batch(
        self,
        epoch: int,
        first_seq: int,
        last_seq: int,
        max_timestamp: int,
        first_offset: int,
        last_offset: int,
        is_transactional: bool,
    ) -> None:
        updated = self.updated
        if epoch < updated.producer_epoch:
            self._check_producer_epoch(epoch, first_offset)
        if self.origin is _CLIENT:
            self._check_sequence(epoch, first_seq, first_offset)
        updated.add_batch(epoch, last_seq, last_offset, last_offset - first_offset, max_timestamp)
        if updated.current_txn_first_offset is not None:
            if not is_transactional:
                raise InvalidTxnStateError(
                    f"non-transactional batch from producer {self.producer_id} at offset "
                    f"{first_offset} in {self.topic_partition} while its transaction is open"
                )
        elif is_transactional:
            updated.current_txn_first_offset = first_offset
            self.started_transactions.append(TxnMetadata(self.producer_id, first_offset))

    def append_end_txn_marker(
        self, is_abort: bool, coordinator_epoch: int, epoch: int, offset: int, timestamp: int
    ) -> CompletedTxn | None:
        self._check_producer_epoch(epoch, offset)
        updated = self.updated
        if updated.coordinator_epoch > coordinator_epoch and self.origin is not _REPLICATION:
            raise TransactionCoordinatorFencedError(
                f"marker from coordinator epoch {coordinator_epoch} for producer "
                f"{self.producer_id} at offset {offset} in {self.topic_partition}; "
                f"the current coordinator epoch is {updated.coordinator_epoch}"
            )
        completed = None
        # A marker without data changes neither the LSO nor the transaction index.
        if updated.current_txn_first_offset is not None:
            completed = CompletedTxn(
                self.producer_id, updated.current_txn_first_offset, offset, is_abort
            )
        updated.maybe_update_producer_epoch(epoch)
        updated.coordinator_epoch = coordinator_epoch
        updated.current_txn_first_offset = None
        updated.last_timestamp = timestamp
        return completed


class ProducerStateManager:
    """The producer table of one partition, its open transactions and its snapshots."""

    def __init__(
        self,
        log_dir: Path,
        topic_partition: str = "",
        producer_id_expiration_ms: int = 86_400_000,
    ) -> None:
        self.log_dir = log_dir
        self.topic_partition = topic_partition
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.producers: dict[int, ProducerStateEntry] = {}
        # Keyed by first offset and kept in offset order (see _add_ongoing).
        self._ongoing: dict[int, TxnMetadata] = {}
        # Completed transactions whose marker is not yet below the high watermark.
        self._unreplicated: dict[int, TxnMetadata] = {}
        #: The offset up to which this state reflects the log (exclusive).
        self.map_end_offset = 0
        self.last_snap_offset = 0
        self.snapshots: dict[int, Path] = {}
        self._load_snapshot_index()

    # -- snapshots ------------------------------------------------------------------

    def _load_snapshot_index(self) -> None:
        self.snapshots = {}
        if not self.log_dir.is_dir():
            return
        for entry in os.scandir(self.log_dir):
            name = entry.name
            if name.endswith(log_files.SNAPSHOT_SUFFIX) and log_files.is_offset_named(name):
                self.snapshots[log_files.offset_from_name(name)] = Path(entry.path)

    def latest_snapshot_offset(self) -> int | None:
        return max(self.snapshots) if self.snapshots else None

    def take_snapshot(self, sync: bool = True) -> Path | None:
        """Write the table as of :attr:`map_end_offset`, unless that offset has one already."""
        if self.map_end_offset <= self.last_snap_offset:
            return None
        path = log_files.snapshot_file(self.log_dir, self.map_end_offset)
        entries = [
            producer_snapshot.SnapshotEntry(
                pid,
                e.producer_epoch,
                e.last_seq,
                e.last_data_offset,
                e.last_offset_delta,
                e.last_timestamp,
                e.coordinator_epoch,
                -1 if e.current_txn_first_offset is None else e.current_txn_first_offset,
            )
            for pid, e in self.producers.items()
        ]
        log_files.write_atomically(path, producer_snapshot.encode(entries), sync=sync)
        self.snapshots[self.map_end_offset] = path
        self.last_snap_offset = self.map_end_offset
        return path

    def _remove_snapshot(self, offset: int) -> None:
        path = self.snapshots.pop(offset, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def delete_snapshot(self, offset: int) -> None:
        self._remove_snapshot(offset)

    def remove_stray_snapshots(self, segment_base_offsets: Iterable[int]) -> None:
        """Keep snapshots at segment bases, plus the newest other one if past the last segment.

        Kafka's rule: a snapshot that matches no segment is stray, except the latest such
        one when it is above every segment (the snapshot at the log end written on close).
        """
        self._load_snapshot_index()
        bases = set(segment_base_offsets)
        stray = sorted(o for o in self.snapshots if o not in bases)
        for offset in stray[:-1]:
            self._remove_snapshot(offset)
        if stray and bases and stray[-1] < max(bases):
            self._remove_snapshot(stray[-1])

    def _load_from_snapshot(self, log_start_offset: int, now_ms: int) -> None:
        while self.snapshots:
            offset = max(self.snapshots)
            path = self.snapshots[offset]
            try:
                entries = producer_snapshot.decode(path.read_bytes())
            except (producer_snapshot.CorruptSnapshotError, OSError):
                self._remove_snapshot(offset)
                continue
            for e in entries:
                entry = ProducerStateEntry(
                    e.producer_id,
                    e.epoch,
                    e.coordinator_epoch,
                    e.timestamp,
                    None if e.current_txn_first_offset < 0 else e.current_txn_first_offset,
                )
                if e.last_offset >= 0:
                    entry.batches.append(
                        BatchMetadata(e.last_sequence, e.last_offset, e.offset_delta, e.timestamp)
                    )
                if not self._is_expired(now_ms, entry):
                    self.load_producer_entry(entry)
            self.last_snap_offset = offset
            self.map_end_offset = offset
            return
        self.last_snap_offset = log_start_offset
        self.map_end_offset = log_start_offset

    def load_producer_entry(self, entry: ProducerStateEntry) -> None:
        self.producers[entry.producer_id] = entry
        if entry.current_txn_first_offset is not None:
            self._add_ongoing(TxnMetadata(entry.producer_id, entry.current_txn_first_offset))

    # -- transactions -----------------------------------------------------------------

    def _add_ongoing(self, txn: TxnMetadata) -> None:
        ongoing = self._ongoing
        if ongoing and txn.first_offset < next(reversed(ongoing)):
            ongoing[txn.first_offset] = txn
            self._ongoing = dict(sorted(ongoing.items()))
        else:
            ongoing[txn.first_offset] = txn

    def first_undecided_offset(self) -> int | None:
        return next(iter(self._ongoing), None)

    def first_unstable_offset(self) -> int | None:
        """First offset of the oldest transaction that is open or not yet replicated."""
        undecided = next(iter(self._ongoing), None)
        unreplicated = min(self._unreplicated) if self._unreplicated else None
        if unreplicated is None:
            return undecided
        if undecided is None:
            return unreplicated
        return min(undecided, unreplicated)

    def last_stable_offset(self, completed: CompletedTxn) -> int:
        """The LSO right after ``completed``'s marker: the next open transaction of another."""
        for txn in self._ongoing.values():
            if txn.producer_id != completed.producer_id:
                return txn.first_offset
        return completed.last_offset + 1

    def complete_txn(self, completed: CompletedTxn) -> None:
        txn = self._ongoing.pop(completed.first_offset, None)
        if txn is None:
            raise ValueError(f"transaction {completed} on {self.topic_partition} was not started")
        txn.last_offset = completed.last_offset
        self._unreplicated[completed.first_offset] = txn

    def on_high_watermark_updated(self, high_watermark: int) -> None:
        self._remove_unreplicated_below(high_watermark)

    def _remove_unreplicated_below(self, offset: int) -> None:
        for first, txn in list(self._unreplicated.items()):
            if txn.last_offset is not None and txn.last_offset < offset:
                del self._unreplicated[first]

    # -- appends ----------------------------------------------------------------------

    def last_entry(self, producer_id: int) -> ProducerStateEntry | None:
        return self.producers.get(producer_id)

    def prepare_update(self, producer_id: int, origin: AppendOrigin) -> ProducerAppendInfo:
        current = self.producers.get(producer_id) or ProducerStateEntry(producer_id)
        return ProducerAppendInfo(self.topic_partition, producer_id, current, origin)

    def update(self, info: ProducerAppendInfo) -> None:
        current = self.producers.get(info.producer_id)
        if current is not None:
            current.update(info.updated)
        else:
            self.producers[info.producer_id] = info.updated
        for txn in info.started_transactions:
            self._add_ongoing(txn)

    def update_map_end_offset(self, offset: int) -> None:
        self.map_end_offset = offset

    # -- expiry and truncation ------------------------------------------------------

    def _is_expired(self, now_ms: int, entry: ProducerStateEntry) -> bool:
        return (
            entry.current_txn_first_offset is None
            and now_ms - entry.last_timestamp >= self.producer_id_expiration_ms
        )

    def remove_expired_producers(self, now_ms: int) -> None:
        """Forget producers idle for ``producer.id.expiration.ms`` with no open transaction."""
        for pid in [p for p, e in self.producers.items() if self._is_expired(now_ms, e)]:
            del self.producers[pid]

    def is_empty(self) -> bool:
        return not self.producers and not self._unreplicated

    def truncate_and_reload(self, log_start_offset: int, log_end_offset: int, now_ms: int) -> None:
        """Reset to the newest snapshot within ``(log_start_offset, log_end_offset]``."""
        for offset in list(self.snapshots):
            if offset > log_end_offset or offset <= log_start_offset:
                self._remove_snapshot(offset)
        if log_end_offset != self.map_end_offset:
            self.producers.clear()
            self._ongoing.clear()
            self._unreplicated.clear()
            self._load_from_snapshot(log_start_offset, now_ms)
        else:
            self.on_log_start_offset_incremented(log_start_offset)

    def on_log_start_offset_incremented(self, log_start_offset: int) -> None:
        self._remove_unreplicated_below(log_start_offset)
        if self.map_end_offset < log_start_offset:
            self.map_end_offset = log_start_offset
        latest = self.latest_snapshot_offset()
        self.last_snap_offset = log_start_offset if latest is None else latest

    def truncate_fully_and_start_at(self, offset: int) -> None:
        self.producers.clear()
        self._ongoing.clear()
        self._unreplicated.clear()
        for snap in list(self.snapshots):
            self._remove_snapshot(snap)
        self.last_snap_offset = 0
        self.map_end_offset = offset
