"""The leader's append buffer: records wait up to a linger time to share one batch.

Kafka's ``BatchAccumulator`` (KIP-595; ``controller.quorum.append.linger.ms``). The state
machine appends records; each append gets its offsets at once (so the caller knows where
its records will land) and its records always end up in one batch, together, or not at
all. A batch is written to the log when it has waited ``linger_ms``, or sooner when the
next append would not fit. If the leader loses its leadership first, the pending records
are dropped: they were never in the log, and the state machine learns of the new leader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class RecordBatchTooLargeError(ValueError):
    """One append is larger than the largest batch the leader may write."""


@dataclass(slots=True)
class PendingBatch:
    base_offset: int
    created_ms: int
    records: list[bytes] = field(default_factory=list)
    size_bytes: int = 0

    @property
    def last_offset(self) -> int:
        return self.base_offset + len(self.records) - 1


class BatchAccumulator:
    def __init__(self, epoch: int, next_offset: int, linger_ms: int, max_batch_bytes: int) -> None:
        self.epoch = epoch
        self.next_offset = next_offset
        self._linger_ms = linger_ms
        self._max_batch_bytes = max_batch_bytes
        self._current: PendingBatch | None = None
        self._completed: list[PendingBatch] = []

    def append(self, records: Sequence[bytes], now_ms: int) -> int:
        """Queue ``records`` for one batch; returns the offset the last one will have."""
        if not records:
            raise ValueError("an append needs at least one record")
        size = sum(len(r) for r in records)
        if size > self._max_batch_bytes:
            raise RecordBatchTooLargeError(
                f"{size} bytes of records exceed the batch limit of {self._max_batch_bytes}"
            )
        current = self._current
        if current is not None and current.size_bytes + size > self._max_batch_bytes:
            self._completed.append(current)
            current = None
        if current is None:
            current = self._current = PendingBatch(self.next_offset, now_ms)
        current.records.extend(records)
        current.size_bytes += size
        self.next_offset += len(records)
        return self.next_offset - 1

    def drain_deadline(self) -> int | None:
        """When :meth:`drain` will next have something (a time in ms), or None."""
        if self._completed:
            return 0
        if self._current is not None:
            return self._current.created_ms + self._linger_ms
        return None

    def drain(self, now_ms: int) -> list[PendingBatch]:
        """The batches ready to be written: full ones, and the current one once it lingered."""
        ready = self._completed
        self._completed = []
        current = self._current
        if current is not None and now_ms >= current.created_ms + self._linger_ms:
            ready.append(current)
            self._current = None
        return ready

    @property
    def is_empty(self) -> bool:
        return self._current is None and not self._completed
