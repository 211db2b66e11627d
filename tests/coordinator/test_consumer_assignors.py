"""The server-side assignors, checked on random groups."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from odradek.coordinator.group.consumer.assignors import (
    MemberSpec,
    range_assignor,
    uniform_assignor,
)
from odradek.coordinator.group.consumer.member import Partitions

TOPICS = [uuid.UUID(int=i + 1) for i in range(4)]


@st.composite
def groups(
    draw: st.DrawFn, homogeneous: bool = False
) -> tuple[dict[str, MemberSpec], dict[uuid.UUID, int]]:
    topics = {t: draw(st.integers(0, 12)) for t in draw(st.sets(st.sampled_from(TOPICS)))}
    names = draw(st.sets(st.text("abcdef", min_size=1, max_size=3), min_size=1, max_size=6))
    common = draw(st.frozensets(st.sampled_from(TOPICS)))
    members = {}
    for name in sorted(names):
        subscribed = common if homogeneous else draw(st.frozensets(st.sampled_from(TOPICS)))
        current: dict[uuid.UUID, frozenset[int]] = {
            t: frozenset(draw(st.sets(st.integers(0, 14), max_size=5)))
            for t in draw(st.sets(st.sampled_from(TOPICS), max_size=2))
        }
        instance = draw(st.one_of(st.none(), st.sampled_from(["i1", "i2", "i3"])))
        members[name] = MemberSpec(instance, subscribed, current)
    return members, topics


def _owners(result: dict[str, Partitions]) -> dict[tuple[uuid.UUID, int], str]:
    owners: dict[tuple[uuid.UUID, int], str] = {}
    for member, partitions in result.items():
        for topic, ids in partitions.items():
            for p in ids:
                assert (topic, p) not in owners, f"{topic}-{p} given twice"
                owners[topic, p] = member
    return owners


def _check_complete(
    members: dict[str, MemberSpec],
    topics: dict[uuid.UUID, int],
    result: dict[str, Partitions],
) -> None:
    owners = _owners(result)
    for (topic, p), member in owners.items():
        assert topic in members[member].topics, "only to a subscriber"
        assert 0 <= p < topics[topic]
    for topic, count in topics.items():
        if any(topic in m.topics for m in members.values()):
            assert all((topic, p) in owners for p in range(count)), "every partition assigned"


def _load(result: dict[str, Partitions]) -> dict[str, int]:
    return {m: sum(len(ps) for ps in parts.values()) for m, parts in result.items()}


@given(groups())
def test_uniform_assigns_every_partition_once_and_cannot_be_improved(
    group: tuple[dict[str, MemberSpec], dict[uuid.UUID, int]],
) -> None:
    members, topics = group
    result = uniform_assignor(members, topics)
    _check_complete(members, topics, result)
    load = _load(result)
    for (topic, _), owner in _owners(result).items():
        for other, spec in members.items():
            if topic in spec.topics:
                assert load[owner] - load[other] <= 1, "a partition could move to a lighter member"


@given(groups(homogeneous=True))
def test_uniform_balances_identical_subscriptions(
    group: tuple[dict[str, MemberSpec], dict[uuid.UUID, int]],
) -> None:
    members, topics = group
    load = _load(uniform_assignor(members, topics))
    assert max(load.values()) - min(load.values()) <= 1


@given(groups())
def test_uniform_is_sticky_once_settled(
    group: tuple[dict[str, MemberSpec], dict[uuid.UUID, int]],
) -> None:
    members, topics = group
    first = uniform_assignor(members, topics)
    settled = {
        m: MemberSpec(spec.instance_id, spec.topics, first[m]) for m, spec in members.items()
    }
    assert uniform_assignor(settled, topics) == first


def test_uniform_keeps_what_members_had_when_a_member_joins() -> None:
    t = TOPICS[0]
    a = MemberSpec(None, frozenset({t}), {t: frozenset(range(6))})
    b = MemberSpec(None, frozenset({t}), {})
    result = uniform_assignor({"a": a, "b": b}, {t: 6})
    assert len(result["a"][t]) == len(result["b"][t]) == 3
    assert result["a"][t] <= frozenset(range(6))


@given(groups())
def test_range_gives_contiguous_balanced_ranges(
    group: tuple[dict[str, MemberSpec], dict[uuid.UUID, int]],
) -> None:
    members, topics = group
    result = range_assignor(members, topics)
    _check_complete(members, topics, result)
    for topic in topics:
        sizes = [len(result[m].get(topic, ())) for m in members if topic in members[m].topics]
        if sizes:
            assert max(sizes) - min(sizes) <= 1
        for parts in result.values():
            ids = sorted(parts.get(topic, ()))
            assert ids == list(range(ids[0], ids[0] + len(ids))) if ids else True


def test_range_orders_static_members_by_instance_id_first() -> None:
    t = TOPICS[0]
    members = {
        "a": MemberSpec(None, frozenset({t}), {}),
        "z": MemberSpec("i1", frozenset({t}), {}),
        "m": MemberSpec("i0", frozenset({t}), {}),
    }
    result = range_assignor(members, {t: 3})
    assert (result["m"][t], result["z"][t], result["a"][t]) == (
        frozenset({0}),
        frozenset({1}),
        frozenset({2}),
    )
