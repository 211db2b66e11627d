"""The ordered set of a log's segments, keyed by base offset (Kafka's ``LogSegments``).

Lookups are by offset: the *floor* segment of an offset is the one with the greatest base
offset not above it, which is where the offset lives if the log has it. The last segment
is the active one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

from odradek.storage.segment import LogSegment
from odradek.storage.txn_index import AbortedTxn


class LogSegments:
    def __init__(self) -> None:
        self._bases: list[int] = []
        self._segments: dict[int, LogSegment] = {}

    def __len__(self) -> int:
        return len(self._bases)

    def __iter__(self) -> Iterator[LogSegment]:
        segments = self._segments
        return (segments[base] for base in list(self._bases))

    def iter_from(self, base_offset: int) -> Iterator[LogSegment]:
        """The segments from the one at ``base_offset`` on, looked up as the walk goes."""
        segment = self._segments.get(base_offset)
        while segment is not None:
            yield segment
            segment = self.higher(segment.base_offset)

    def __contains__(self, base_offset: int) -> bool:
        return base_offset in self._segments

    def base_offsets(self) -> list[int]:
        return list(self._bases)

    def add(self, segment: LogSegment) -> LogSegment | None:
        """Insert ``segment``; returns the segment it replaced at that base offset, if any."""
        base = segment.base_offset
        previous = self._segments.get(base)
        if previous is None:
            bisect.insort(self._bases, base)
        self._segments[base] = segment
        return previous

    def remove(self, base_offset: int) -> LogSegment | None:
        segment = self._segments.pop(base_offset, None)
        if segment is not None:
            del self._bases[bisect.bisect_left(self._bases, base_offset)]
        return segment

    def clear(self) -> None:
        self._bases.clear()
        self._segments.clear()

    def get(self, base_offset: int) -> LogSegment | None:
        return self._segments.get(base_offset)

    @property
    def active(self) -> LogSegment:
        return self._segments[self._bases[-1]]

    def first(self) -> LogSegment | None:
        return self._segments[self._bases[0]] if self._bases else None

    def last(self) -> LogSegment | None:
        return self._segments[self._bases[-1]] if self._bases else None

    def floor(self, offset: int) -> LogSegment | None:
        i = bisect.bisect_right(self._bases, offset)
        return self._segments[self._bases[i - 1]] if i else None

    def lower(self, offset: int) -> LogSegment | None:
        i = bisect.bisect_left(self._bases, offset)
        return self._segments[self._bases[i - 1]] if i else None

    def higher(self, offset: int) -> LogSegment | None:
        i = bisect.bisect_right(self._bases, offset)
        return self._segments[self._bases[i]] if i < len(self._bases) else None

    def range(self, from_offset: int, to_offset: int) -> list[LogSegment]:
        """Segments holding offsets in ``[from_offset, to_offset)``: from the floor of
        ``from_offset`` (or the first segment) up to the one before ``to_offset``."""
        if from_offset > to_offset:
            raise ValueError(f"invalid segment range [{from_offset}, {to_offset})")
        if from_offset == to_offset:
            return []
        start = bisect.bisect_right(self._bases, from_offset)
        start = max(0, start - 1)
        end = bisect.bisect_left(self._bases, to_offset)
        return [self._segments[b] for b in self._bases[start:end]]

    def non_active_from(self, from_offset: int) -> list[LogSegment]:
        """The inactive segments from the floor of ``from_offset`` on."""
        if not self._bases or from_offset > self._bases[-1]:
            return []
        return self.range(from_offset, self._bases[-1])

    def size_in_bytes(self) -> int:
        return sum(s.size for s in self._segments.values())


def collect_aborted(
    segments: Iterable[LogSegment], start_offset: int, upper_bound_offset: int
) -> list[AbortedTxn]:
    """Aborted transactions overlapping ``[start_offset, upper_bound_offset)``.

    ``segments`` are consecutive, from the one holding ``start_offset``; the walk stops at
    the first transaction index whose entries reach past the upper bound (Kafka's
    ``collectAbortedTransactions``).
    """
    result: list[AbortedTxn] = []
    for segment in segments:
        search = segment.collect_aborted_txns(start_offset, upper_bound_offset)
        result.extend(search.aborted)
        if search.is_complete:
            break
    return result
