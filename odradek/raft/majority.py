"""Majority arithmetic: who wins an election, and how far the log is committed.

The two pieces of Raft that are pure counting, kept apart so they can be read and tested
alone (KIP-595, "Leader Election" and "High Watermark"; Kafka's ``EpochElection`` and
``LeaderState.maybeUpdateHighWatermark``):

* an election is **won** once a majority of the voters granted their vote, and **lost**
  once so many rejected that the rest could no longer make a majority;
* an offset is **committed** once a majority of the voters hold the log up to it; the
  high watermark is the largest such offset, i.e. the ``n // 2``-th largest end offset
  of ``n`` voters (a voter whose end offset is unknown counts as holding nothing).

A leader counts itself in both: its own vote, and its own durable end offset.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping


def majority_size(voter_count: int) -> int:
    """How many voters make a majority: 2 of 3, 3 of 4, 3 of 5."""
    if voter_count <= 0:
        raise ValueError("a quorum needs at least one voter")
    return voter_count // 2 + 1


def majority_end_offset(
    end_offsets: Mapping[int, int | None], voters: Collection[int]
) -> int | None:
    """The largest offset that a majority of ``voters`` have reached, if one is known.

    ``end_offsets`` maps a replica id to the end offset it reported (its next fetch
    offset), or None if it has not reported one in this epoch.
    """
    known = sorted(
        (offset for voter in voters if (offset := end_offsets.get(voter)) is not None),
        reverse=True,
    )
    index = len(voters) // 2
    return known[index] if index < len(known) else None


class VoteTally:
    """The votes of one election (a pre-vote round or a real one) among a fixed voter set.

    Kafka's ``EpochElection``. Each voter's answer is recorded once; a later, different
    answer from the same voter in the same round is ignored, as a stale duplicate would be.
    """

    __slots__ = ("_granted", "_rejected", "voters")

    def __init__(self, voters: Iterable[int]) -> None:
        self.voters = frozenset(voters)
        if not self.voters:
            raise ValueError("an election needs at least one voter")
        self._granted: set[int] = set()
        self._rejected: set[int] = set()

    def record(self, voter: int, granted: bool) -> bool:
        """Record ``voter``'s answer; returns False if it was not a voter or had answered."""
        if voter not in self.voters or voter in self._granted or voter in self._rejected:
            return False
        (self._granted if granted else self._rejected).add(voter)
        return True

    @property
    def granted(self) -> frozenset[int]:
        return frozenset(self._granted)

    @property
    def rejected(self) -> frozenset[int]:
        return frozenset(self._rejected)

    @property
    def unrecorded(self) -> frozenset[int]:
        return self.voters - self._granted - self._rejected

    @property
    def is_won(self) -> bool:
        return len(self._granted) >= majority_size(len(self.voters))

    @property
    def is_lost(self) -> bool:
        still_possible = len(self.voters) - len(self._rejected)
        return still_possible < majority_size(len(self.voters))

    def __repr__(self) -> str:
        return (
            f"VoteTally(granted={sorted(self._granted)}, rejected={sorted(self._rejected)}, "
            f"voters={sorted(self.voters)})"
        )
