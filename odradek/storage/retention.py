"""Retention: deleting whole segments from the head of a log.

Kafka's ``UnifiedLog.deleteOldSegments`` and its three policies (``docs/implementation.html``,
"Deletes"; the topic configs ``retention.ms`` and ``retention.bytes``):

* **log start offset** (always): a segment whose successor starts at or below the log
  start offset holds nothing readable any more (DeleteRecords moved the start past it);
* **retention.bytes** (``cleanup.policy`` includes ``delete``): while the log is larger
  than the limit, delete the oldest segments whose removal keeps it at or above the limit;
* **retention.ms** (same): delete the oldest segments whose largest record timestamp (or
  file modification time, if no record has one) is more than ``retention.ms`` old.

Deletion only ever removes a prefix of the log, stops at the first segment that must be
kept, never deletes past the high watermark (so the log start offset cannot pass it) and
never removes an empty active segment. Deleting moves the log start offset to the base
offset of the first remaining segment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from odradek.storage.segment import LogSegment

if TYPE_CHECKING:
    from odradek.storage.log import Log

Predicate = Callable[[LogSegment, "LogSegment | None"], bool]


def delete_old_segments(log: Log, now_ms: int) -> int:
    """Apply the policies in Kafka's order; returns the number of segments deleted."""
    deleted = _delete(log, _log_start_offset_breached(log))
    if log.config.delete:
        deleted += _delete_retention_size_breached(log)
        deleted += _delete_retention_ms_breached(log, now_ms)
    return deleted


def deletable_segments(log: Log, predicate: Predicate) -> list[LogSegment]:
    """The longest prefix of segments that ``predicate`` allows and the HW permits."""
    segments = list(log.segments)
    deletable: list[LogSegment] = []
    for i, segment in enumerate(segments):
        following = segments[i + 1] if i + 1 < len(segments) else None
        last_and_empty = following is None and segment.size == 0
        upper_bound = following.base_offset if following is not None else log.log_end_offset
        if (
            log.high_watermark >= upper_bound
            and predicate(segment, following)
            and not last_and_empty
        ):
            deletable.append(segment)
        else:
            break
    return deletable


def _delete(log: Log, predicate: Predicate) -> int:
    return log.delete_segments(deletable_segments(log, predicate))


def _log_start_offset_breached(log: Log) -> Predicate:
    def breached(segment: LogSegment, following: LogSegment | None) -> bool:
        return following is not None and following.base_offset <= log.log_start_offset

    return breached


def _delete_retention_size_breached(log: Log) -> int:
    limit = log.config.retention_bytes
    size = log.size
    if limit < 0 or size < limit:
        return 0
    excess = size - limit

    def breached(segment: LogSegment, following: LogSegment | None) -> bool:
        nonlocal excess
        if excess - segment.size >= 0:
            excess -= segment.size
            return True
        return False

    return _delete(log, breached)


def _delete_retention_ms_breached(log: Log, now_ms: int) -> int:
    retention_ms = log.config.retention_ms
    if retention_ms < 0:
        return 0

    def breached(segment: LogSegment, following: LogSegment | None) -> bool:
        return now_ms - segment.largest_timestamp() > retention_ms

    return _delete(log, breached)
