"""Positions in the replicated log: an offset with the epoch of the leader that wrote it.

Kafka's ``OffsetAndEpoch`` and ``ValidOffsetAndEpoch`` (KIP-595, "Fetch"; KIP-630 for the
snapshot case). In Raft a log position is only meaningful with its epoch: two logs that
hold the same epoch at the same offset hold the same records up to there. So a vote
compares the candidate's last ``(epoch, offset)`` with the voter's, and a Fetch carries
the follower's end offset with the epoch of its last record, which the leader checks
against its own log (:func:`odradek.raft.log.validate_offset_and_epoch`).
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class OffsetAndEpoch(NamedTuple):
    """An end offset and the epoch of the record before it (or of a snapshot)."""

    offset: int
    epoch: int

    def __str__(self) -> str:
        return f"{self.offset}@{self.epoch}"


def is_at_least(candidate: OffsetAndEpoch, other: OffsetAndEpoch) -> bool:
    """Raft's "at least as up to date": the later epoch wins, then the longer log.

    Kafka orders ``OffsetAndEpoch`` by epoch first (``OffsetAndEpoch.compareTo``), which is
    why this is not the tuple order of :class:`OffsetAndEpoch`.
    """
    return (candidate.epoch, candidate.offset) >= (other.epoch, other.offset)


class ValidityKind(enum.Enum):
    #: The fetch position lies on the leader's log: send records from it.
    VALID = "valid"
    #: The follower's log diverged: it must truncate to the returned position.
    DIVERGING = "diverging"
    #: The position is below the leader's log start: fetch the returned snapshot.
    SNAPSHOT = "snapshot"


class ValidOffsetAndEpoch(NamedTuple):
    """The leader's verdict on a follower's fetch position."""

    kind: ValidityKind
    offset_and_epoch: OffsetAndEpoch

    @classmethod
    def valid(cls, position: OffsetAndEpoch) -> ValidOffsetAndEpoch:
        return cls(ValidityKind.VALID, position)

    @classmethod
    def diverging(cls, position: OffsetAndEpoch) -> ValidOffsetAndEpoch:
        return cls(ValidityKind.DIVERGING, position)

    @classmethod
    def snapshot(cls, snapshot_id: OffsetAndEpoch) -> ValidOffsetAndEpoch:
        return cls(ValidityKind.SNAPSHOT, snapshot_id)
