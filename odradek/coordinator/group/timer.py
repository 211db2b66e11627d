"""Keyed deadlines: the delayed work of a shard, kept inside it.

Kafka's coordinators hand delayed work to a ``CoordinatorTimer``: ``schedule(key,
delay, op)`` replaces any operation under the same key, ``cancel(key)`` drops it, and
an expired operation runs like a command. Here the table of deadlines lives in the
shard itself and time is whatever the caller says it is: the driver asks
:meth:`Timer.next_deadline` when to wake up, and each entry point of the shard runs
the operations whose deadline has passed (see ``GroupCoordinatorShard.tick``).

Operations due at the same millisecond run in the order they were scheduled, so a
run is a function of the commands and their times alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Op = TypeVar("Op", bound=Callable[..., object])


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Op]):
    deadline_ms: int
    seq: int
    op: Op


class Timer(Generic[Op]):
    """Operations keyed by a hashable key, each with a deadline in milliseconds."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry[Op]] = {}
        # Lazily cleaned: an item is live only while its seq matches the entry's.
        self._heap: list[tuple[int, int, Hashable]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def schedule(self, key: Hashable, deadline_ms: int, op: Op) -> None:
        """Run ``op`` at ``deadline_ms``, replacing whatever ``key`` held."""
        self._seq += 1
        self._entries[key] = _Entry(deadline_ms, self._seq, op)
        heapq.heappush(self._heap, (deadline_ms, self._seq, key))

    def cancel(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def deadline(self, key: Hashable) -> int | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.deadline_ms

    def clear(self) -> None:
        self._entries.clear()
        self._heap.clear()

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap:
            _, seq, key = heap[0]
            entry = self._entries.get(key)
            if entry is not None and entry.seq == seq:
                return
            heapq.heappop(heap)

    def next_deadline(self) -> int | None:
        """The earliest deadline of a scheduled operation, or ``None`` if there is none."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ms: int) -> Op | None:
        """Remove and return the earliest operation due at ``now_ms``, if any."""
        self._drop_stale()
        if not self._heap or self._heap[0][0] > now_ms:
            return None
        _, _, key = heapq.heappop(self._heap)
        return self._entries.pop(key).op
