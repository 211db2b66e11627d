"""Fetches the leader holds back until there is something to answer.

Kafka's ``ThresholdPurgatory`` for Fetch (KIP-595, "Fetch"). A follower that is caught up
sends Fetch with ``max_wait_ms`` (500 ms); rather than answer "nothing new" at once, the
leader parks the request and answers it as soon as its log grows past the fetch offset,
the high watermark moves (so followers learn of commits quickly), it stops being leader,
or the wait runs out. This long poll is what keeps an idle quorum from spinning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from odradek.raft.messages import Request


@dataclass(slots=True)
class ParkedFetch:
    request: Request
    fetch_offset: int
    deadline_ms: int


class FetchPurgatory:
    def __init__(self) -> None:
        self._parked: list[ParkedFetch] = []

    def park(self, request: Request, fetch_offset: int, deadline_ms: int) -> None:
        self._parked.append(ParkedFetch(request, fetch_offset, deadline_ms))

    def take_expired(self, now_ms: int) -> list[ParkedFetch]:
        return self._take(lambda p: p.deadline_ms <= now_ms)

    def take_satisfied(self, end_offset: int) -> list[ParkedFetch]:
        """The fetches that now have records to read."""
        return self._take(lambda p: p.fetch_offset < end_offset)

    def take_all(self) -> list[ParkedFetch]:
        parked, self._parked = self._parked, []
        return parked

    def earliest_deadline(self) -> int | None:
        return min((p.deadline_ms for p in self._parked), default=None)

    def __len__(self) -> int:
        return len(self._parked)

    def _take(self, matches: Callable[[ParkedFetch], bool]) -> list[ParkedFetch]:
        taken = [p for p in self._parked if matches(p)]
        if taken:
            self._parked = [p for p in self._parked if not matches(p)]
        return taken
