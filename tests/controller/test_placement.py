"""The striped replica placer: racks first, leaders spread, deterministic per seed."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odradek.controller.placement import UsableBroker, place_replicas, usable_brokers
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from tests.controller.support import cluster, replay, rng


def brokers(
    racks: dict[int, str | None], fenced: frozenset[int] | set[int] = frozenset()
) -> list[UsableBroker]:
    return [UsableBroker(b, r, b in fenced) for b, r in sorted(racks.items())]


def place(pool: list[UsableBroker], partitions: int, rf: int, seed: int = 0) -> list[list[int]]:
    return place_replicas(pool, num_partitions=partitions, replication_factor=rf, rng=rng(seed))


def test_same_seed_same_placement() -> None:
    pool = brokers({1: "a", 2: "a", 3: "b", 4: "b", 5: "c"})
    assert place(pool, 20, 3, seed=4) == place(pool, 20, 3, seed=4)


def test_replicas_span_racks() -> None:
    pool = brokers({1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"})
    rack = {b.broker_id: b.rack for b in pool}
    for replicas in place(pool, 30, 3, seed=1):
        assert len(set(replicas)) == 3
        assert len({rack[r] for r in replicas}) == 3


def test_leaders_are_spread_evenly() -> None:
    pool = brokers(dict.fromkeys(range(1, 5)))
    leaders = Counter(replicas[0] for replicas in place(pool, 40, 2, seed=2))
    assert sorted(leaders.values()) == [10, 10, 10, 10]


def test_fenced_brokers_never_lead_but_may_follow() -> None:
    pool = brokers({1: None, 2: None, 3: None}, fenced={3})
    placements = place(pool, 12, 3)
    assert all(replicas[0] != 3 for replicas in placements)
    assert all(3 in replicas for replicas in placements)


@pytest.mark.parametrize(
    ("rf", "fenced", "message"),
    [
        (0, set(), "Invalid replication factor 0: the replication factor must be positive."),
        (
            4,
            set(),
            "The target replication factor of 4 cannot be reached because only 3 broker(s) "
            "are registered.",
        ),
        (1, {1, 2, 3}, "All brokers are currently fenced."),
    ],
)
def test_impossible_placements(rf: int, fenced: set[int], message: str) -> None:
    with pytest.raises(KafkaError) as info:
        place(brokers(dict.fromkeys((1, 2, 3)), fenced), 1, rf)
    assert info.value.code == ErrorCode.INVALID_REPLICATION_FACTOR
    assert info.value.message == message


def test_brokers_in_controlled_shutdown_are_not_usable() -> None:
    image = cluster([1, 2])
    epoch = image.cluster.brokers[2].epoch
    shutting = replay(
        image,
        [
            VersionedRecord(
                BrokerRegistrationChangeRecord(
                    broker_id=2, broker_epoch=epoch, in_controlled_shutdown=1
                ),
                1,
            )
        ],
    )
    assert [b.broker_id for b in usable_brokers(shutting.cluster)] == [1]


@given(
    racks=st.dictionaries(
        st.integers(0, 30), st.none() | st.sampled_from("abc"), min_size=1, max_size=9
    ),
    fenced=st.sets(st.integers(0, 30)),
    rf=st.integers(1, 4),
    partitions=st.integers(1, 12),
    seed=st.integers(0, 100),
)
def test_placements_are_valid(
    racks: dict[int, str | None], fenced: set[int], rf: int, partitions: int, seed: int
) -> None:
    pool = brokers(racks, fenced & set(racks))
    unfenced = {b.broker_id for b in pool if not b.fenced}
    if rf > len(pool) or not unfenced:
        with pytest.raises(KafkaError):
            place(pool, partitions, rf, seed)
        return
    placements = place(pool, partitions, rf, seed)
    assert len(placements) == partitions
    for replicas in placements:
        assert len(replicas) == rf
        assert len(set(replicas)) == rf
        assert set(replicas) <= set(racks)
        assert replicas[0] in unfenced
