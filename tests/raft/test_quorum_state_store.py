"""The ``quorum-state`` file: Kafka's JSON, both versions, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odradek.raft.election import ElectionState
from odradek.raft.quorum_state_store import (
    FileQuorumStateStore,
    QuorumStateError,
    decode_quorum_state,
    encode_quorum_state,
)

# The two examples of Kafka's FileQuorumStateStore documentation.
KAFKA_VERSION_0 = (
    '{"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,'
    '"currentVoters":[],"data_version":0}'
)
KAFKA_VERSION_1 = (
    '{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ",'
    '"data_version":1}'
)


def test_reads_kafkas_version_0() -> None:
    state = decode_quorum_state(KAFKA_VERSION_0, voters=[1, 2, 3])
    assert state == ElectionState(2, leader_id=1, voted_id=None, voters=frozenset({1, 2, 3}))


def test_reads_kafkas_version_1() -> None:
    state = decode_quorum_state(KAFKA_VERSION_1, voters=[1, 2])
    assert state == ElectionState(2, leader_id=None, voted_id=1, voters=frozenset({1, 2}))


def test_writes_version_0_as_kafka_does() -> None:
    state = ElectionState(7, leader_id=None, voted_id=3, voters=frozenset({3, 1, 2}))
    assert encode_quorum_state(state) == (
        b'{"clusterId":"","leaderId":-1,"leaderEpoch":7,"votedId":3,"appliedOffset":0,'
        b'"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}'
    )


@given(
    st.integers(0, 2**31 - 1),
    st.none() | st.integers(0, 100),
    st.none() | st.integers(0, 100),
    st.frozensets(st.integers(0, 100), max_size=7),
)
def test_round_trip(
    epoch: int, leader: int | None, voted: int | None, voters: frozenset[int]
) -> None:
    state = ElectionState(epoch, leader, voted, voters)
    assert decode_quorum_state(encode_quorum_state(state)) == state


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"leaderId":1,"leaderEpoch":2,"votedId":-1}',
        '{"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":2}',
        '{"leaderEpoch":2,"votedId":-1,"data_version":0}',
        '{"leaderId":1,"leaderEpoch":-4,"votedId":-1,"data_version":1}',
    ],
)
def test_rejects_what_is_not_a_quorum_state(text: str) -> None:
    with pytest.raises(QuorumStateError):
        decode_quorum_state(text)


def test_file_store(tmp_path: Path) -> None:
    store = FileQuorumStateStore.in_directory(tmp_path / "__cluster_metadata-0")
    assert store.read() is None
    first = ElectionState(1, None, 2, frozenset({1, 2, 3}))
    store.write(first)
    assert store.read() == first
    second = ElectionState(2, 3, None, frozenset({1, 2, 3}))
    store.write(second)
    assert store.read() == second
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["quorum-state"]
