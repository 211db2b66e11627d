"""The five states of a classic group and which transitions are allowed.

Kafka's ``ClassicGroupState``; the rules (``docs/design.html``, "Consumer group
protocol", and the state comments in Kafka's source):

``Empty``
    No members. Offsets may still be committed by simple consumers (generation -1)
    and are kept until retention expires them. A JoinGroup starts a rebalance.
``PreparingRebalance``
    Waiting for every known member to (re)join. JoinGroup requests are parked;
    heartbeats and SyncGroup get REBALANCE_IN_PROGRESS; offset commits of the
    previous generation are still accepted.
``CompletingRebalance``
    Everyone joined; the new generation is handed out and the coordinator waits for
    the leader's SyncGroup with the assignment. Followers' SyncGroup requests are
    parked; offset commits get REBALANCE_IN_PROGRESS.
``Stable``
    The assignment is stored. Heartbeats keep members alive; a member that fails,
    leaves or changes its metadata (or the leader rejoining) starts a rebalance.
``Dead``
    The group is gone from this coordinator (unloaded); everything is refused.

Transitions are data: :data:`VALID_PREVIOUS` maps each state to the states it may be
entered from.
"""

from __future__ import annotations

from enum import Enum


class ClassicGroupState(Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


EMPTY = ClassicGroupState.EMPTY
PREPARING_REBALANCE = ClassicGroupState.PREPARING_REBALANCE
COMPLETING_REBALANCE = ClassicGroupState.COMPLETING_REBALANCE
STABLE = ClassicGroupState.STABLE
DEAD = ClassicGroupState.DEAD

#: state -> the states a group may be in just before entering it.
VALID_PREVIOUS: dict[ClassicGroupState, frozenset[ClassicGroupState]] = {
    EMPTY: frozenset({PREPARING_REBALANCE}),
    PREPARING_REBALANCE: frozenset({STABLE, COMPLETING_REBALANCE, EMPTY}),
    COMPLETING_REBALANCE: frozenset({PREPARING_REBALANCE}),
    STABLE: frozenset({COMPLETING_REBALANCE}),
    DEAD: frozenset({STABLE, PREPARING_REBALANCE, COMPLETING_REBALANCE, EMPTY, DEAD}),
}
