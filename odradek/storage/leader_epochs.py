"""The leader epoch cache: at which offset each leader epoch began, and its checkpoint.

Kafka's ``LeaderEpochFileCache`` (KIP-101, KIP-279; ``docs/design.html``, "Replicated
Logs"). Every batch carries the epoch of the leader that appended it; the cache keeps, for
each epoch, the first offset written in it. With it a follower that comes back can ask the
leader "where did my last epoch end?" (OffsetsForLeaderEpoch) and truncate exactly the
entries that diverge, instead of trusting its high watermark.

Entries only ever grow in both epoch and start offset. Assigning an entry that breaks that
order (a new leader whose epoch start lies below older entries) first drops the entries in
the way, as Kafka does. The cache is persisted in ``leader-epoch-checkpoint`` (see
:mod:`odradek.storage.checkpoints`), synchronously when an entry is added; truncations are
persisted too, and the log loader truncates the cache again to the recovered log, so a
stale checkpoint after a crash is harmless.
"""

from __future__ import annotations

from pathlib import Path

from odradek.storage.checkpoints import (
    EpochEntry,
    read_leader_epoch_checkpoint,
    write_leader_epoch_checkpoint,
)

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LeaderEpochFileCache:
    def __init__(self, checkpoint_path: Path) -> None:
        self.path = checkpoint_path
        self._epochs: dict[int, EpochEntry] = {}
        #: The latest epoch (None: no entry), as :meth:`latest_epoch` returns it. Every
        #: append compares its batches' epoch with it, so it is kept, not looked up.
        self.latest: int | None = None
        for entry in read_leader_epoch_checkpoint(checkpoint_path):
            self._assign(entry)

    # -- reading ----------------------------------------------------------------------

    def entries(self) -> list[EpochEntry]:
        return list(self._epochs.values())

    def is_empty(self) -> bool:
        return not self._epochs

    def latest_entry(self) -> EpochEntry | None:
        return self._epochs[next(reversed(self._epochs))] if self._epochs else None

    def latest_epoch(self) -> int | None:
        return self.latest

    def earliest_entry(self) -> EpochEntry | None:
        return self._epochs[next(iter(self._epochs))] if self._epochs else None

    def epoch_for_offset(self, offset: int) -> int | None:
        """The epoch in which ``offset`` was written (None if before every entry)."""
        previous = None
        for entry in self._epochs.values():
            if entry.start_offset == offset:
                return entry.epoch
            if entry.start_offset > offset:
                return previous
            previous = entry.epoch
        return previous

    def end_offset_for(self, requested_epoch: int, log_end_offset: int) -> tuple[int, int]:
        """``(epoch, end offset)`` for OffsetsForLeaderEpoch, following Kafka's cases.

        The end offset of an epoch is the start offset of the next larger one; for the
        latest epoch it is the log end offset. A requested epoch below every entry answers
        with the first entry's start offset; one above every entry is undefined.
        """
        if requested_epoch == UNDEFINED_EPOCH:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        latest = self.latest_epoch()
        if latest is not None and latest == requested_epoch:
            return requested_epoch, log_end_offset
        higher = [e for e in self._epochs.values() if e.epoch > requested_epoch]
        if not higher:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        floor = [e for e in self._epochs.values() if e.epoch <= requested_epoch]
        if not floor:
            return requested_epoch, higher[0].start_offset
        return floor[-1].epoch, higher[0].start_offset

    def entries_in_range(self, start_offset: int, end_offset: int) -> list[EpochEntry]:
        """The entries covering ``[start_offset, end_offset)`` (for tiered segment metadata)."""
        epochs = dict(self._epochs)
        if start_offset >= 0:
            _truncate_from_start(epochs, start_offset)
        _truncate_from_end(epochs, end_offset)
        return list(epochs.values())

    # -- writing ----------------------------------------------------------------------

    def assign(self, epoch: int, start_offset: int) -> None:
        """Record that ``epoch`` starts at ``start_offset`` (a no-op if already known)."""
        if self._assign(EpochEntry(epoch, start_offset)):
            self._write()

    def _assign(self, entry: EpochEntry) -> bool:
        if entry.epoch < 0 or entry.start_offset < 0:
            raise ValueError(f"invalid leader epoch entry {entry}")
        latest = self.latest_entry()
        if (
            latest is not None
            and entry.epoch == latest.epoch
            and entry.start_offset >= latest.start_offset
        ):
            return False
        # Drop the entries that would break the order: same or newer epochs, or entries
        # starting at or after the new one (a leader that truncated the old tail away).
        for epoch in reversed(list(self._epochs)):
            existing = self._epochs[epoch]
            if existing.epoch >= entry.epoch or existing.start_offset >= entry.start_offset:
                del self._epochs[epoch]
            else:
                break
        self._epochs[entry.epoch] = entry
        self.latest = entry.epoch
        return True

    def truncate_from_end(self, end_offset: int) -> None:
        """Drop the entries that start at or after ``end_offset`` (log truncation)."""
        if _truncate_from_end(self._epochs, end_offset):
            self._changed()
            self._write()

    def truncate_from_start(self, start_offset: int) -> None:
        """Drop entries wholly before ``start_offset``; the one covering it starts there."""
        if _truncate_from_start(self._epochs, start_offset):
            self._changed()
            self._write()

    def clear_and_flush(self) -> None:
        self.clear()
        self._write()

    def clear(self) -> None:
        self._epochs.clear()
        self.latest = None

    def _changed(self) -> None:
        epochs = self._epochs
        self.latest = next(reversed(epochs)) if epochs else None

    def _write(self) -> None:
        if self.path.parent.exists():
            write_leader_epoch_checkpoint(self.path, self._epochs.values())


def _truncate_from_end(epochs: dict[int, EpochEntry], end_offset: int) -> bool:
    if end_offset < 0 or not epochs:
        return False
    removed = False
    for epoch in reversed(list(epochs)):
        if epochs[epoch].start_offset >= end_offset:
            del epochs[epoch]
            removed = True
        else:
            break
    return removed


def _truncate_from_start(epochs: dict[int, EpochEntry], start_offset: int) -> bool:
    last_removed = None
    removed = 0
    for epoch in list(epochs):
        if epochs[epoch].start_offset <= start_offset:
            last_removed = epochs.pop(epoch)
            removed += 1
        else:
            break
    if last_removed is None:
        return False
    # Re-insert at the front: the dict must stay in epoch order.
    rest = dict(epochs)
    epochs.clear()
    epochs[last_removed.epoch] = EpochEntry(last_removed.epoch, start_offset)
    epochs.update(rest)
    # Only the first entry moving (or entries going) is a change worth writing.
    return removed > 1 or last_removed.start_offset != start_offset
