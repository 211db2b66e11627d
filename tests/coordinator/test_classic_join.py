"""JoinGroup: the handshake, the initial delay, leader election, protocol selection, refusals."""

from __future__ import annotations

import pytest

from odradek.coordinator.group import GroupCoordinatorConfig
from odradek.coordinator.group.classic.state import (
    COMPLETING_REBALANCE,
    EMPTY,
    PREPARING_REBALANCE,
    STABLE,
)
from odradek.protocol.errors import ErrorCode

from .groups import form_group, stabilize
from .harness import ShardDriver, assignment, subscription


def test_one_member_joins_after_the_member_id_handshake() -> None:
    h = ShardDriver()
    first = h.reply(h.join("g", client_id="app"))
    assert first.error_code == ErrorCode.MEMBER_ID_REQUIRED
    assert first.member_id == "app-1"
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(EMPTY)
    assert group.is_pending_member("app-1")
    assert len(h.log) == 1, "a new group is stored as an empty group"

    parked = h.join("g", "app-1", client_id="app")
    assert parked not in h.replies
    assert group.is_in(PREPARING_REBALANCE)
    h.advance(h.config.initial_rebalance_delay_ms - 1)
    assert parked not in h.replies, "the first rebalance waits group.initial.rebalance.delay.ms"
    h.advance(1)

    joined = h.reply(parked)
    assert joined.error_code == ErrorCode.NONE
    assert (joined.member_id, joined.leader, joined.generation_id) == ("app-1", "app-1", 1)
    assert (joined.protocol_type, joined.protocol_name) == ("consumer", "range")
    assert [(m.member_id, m.metadata) for m in joined.members] == [("app-1", subscription("t"))]
    assert group.is_in(COMPLETING_REBALANCE)

    mine = assignment({"t": [0, 1, 2]})
    synced = h.reply(h.sync("g", "app-1", 1, {"app-1": mine}))
    assert (synced.error_code, synced.assignment) == (ErrorCode.NONE, mine)
    assert group.is_in(STABLE)
    assert group.member("app-1").assignment == mine
    assert h.reply(h.heartbeat("g", "app-1", 1)).error_code == ErrorCode.NONE


def test_before_v4_a_new_member_is_added_at_once() -> None:
    h = ShardDriver()
    handle = h.join("g", version=3, client_id="old")
    assert handle not in h.replies
    h.advance(h.config.initial_rebalance_delay_ms)
    joined = h.reply(handle)
    assert (joined.error_code, joined.member_id, joined.generation_id) == (0, "old-1", 1)
    assert joined.protocol_name == "range"


def test_members_arriving_during_the_initial_delay_extend_it_into_one_generation() -> None:
    h = ShardDriver()
    _, a = h.join_with_id("g", client_id="a")
    h.advance(2_000)
    _, b = h.join_with_id("g", client_id="b")
    h.advance(1_000)  # the first delay runs out, but b arrived during it
    assert a not in h.replies
    assert b not in h.replies
    h.advance(3_000)
    ra, rb = h.reply(a), h.reply(b)
    assert ra.generation_id == rb.generation_id == 1
    assert ra.leader == rb.leader == "a-1"
    assert [m.member_id for m in ra.members] == ["a-1", "b-2"], "the leader sees everyone"
    assert rb.members == [], "followers see no one"


def test_the_initial_delay_never_runs_past_the_rebalance_timeout() -> None:
    h = ShardDriver(config=GroupCoordinatorConfig(initial_rebalance_delay_ms=3_000))
    _, first = h.join_with_id("g", client_id="c", rebalance_ms=7_000)
    start = h.now
    # A newcomer every 2.5s would extend the delay forever; the rebalance timeout caps it.
    while first not in h.replies:
        h.advance(100)
        if (h.now - start) % 2_500 == 0:
            h.join_with_id("g", client_id="c", rebalance_ms=7_000)
    assert h.now - start == 7_000
    assert h.reply(first).generation_id == 1


def test_followers_wait_for_the_leaders_assignment() -> None:
    h = ShardDriver()
    responses = form_group(h, "g", ["a", "b", "c"])
    assignments = stabilize(h, "g", responses)
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(STABLE)
    assert {m: group.member(m).assignment for m in group.members} == assignments


def test_a_leader_that_leaves_members_out_gives_them_an_empty_assignment() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    parked = h.sync("g", b.member_id, b.generation_id)
    h.sync("g", a.member_id, a.generation_id, {a.member_id: assignment({"t": [0]})})
    assert (h.reply(parked).error_code, h.reply(parked).assignment) == (ErrorCode.NONE, b"")


def test_the_protocol_every_member_supports_is_chosen_by_votes() -> None:
    s = subscription("t")
    h = ShardDriver()
    handles = [
        h.join("g", version=3, protocols=[("range", s), ("roundrobin", s)]),
        h.join("g", version=3, protocols=[("roundrobin", s), ("range", s)]),
        h.join("g", version=3, protocols=[("roundrobin", s), ("range", s), ("sticky", s)]),
    ]
    h.advance(10_000)
    assert {h.reply(x).protocol_name for x in handles} == {"roundrobin"}


def test_a_tied_vote_goes_to_the_protocol_voted_for_first() -> None:
    s = subscription("t")
    h = ShardDriver()
    handles = [
        h.join("g", version=3, protocols=[("cooperative-sticky", s), ("range", s)]),
        h.join("g", version=3, protocols=[("range", s), ("cooperative-sticky", s)]),
    ]
    h.advance(10_000)
    assert {h.reply(x).protocol_name for x in handles} == {"cooperative-sticky"}


def test_protocol_name_is_null_from_v7_and_empty_before() -> None:
    h = ShardDriver()
    assert h.reply(h.join("", version=9)).protocol_name is None
    assert h.reply(h.join("", version=6)).protocol_name == ""


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"session_ms": 5_999}, ErrorCode.INVALID_SESSION_TIMEOUT),
        ({"session_ms": 30 * 60_000 + 1}, ErrorCode.INVALID_SESSION_TIMEOUT),
        ({"protocol_type": ""}, ErrorCode.INCONSISTENT_GROUP_PROTOCOL),
        ({"protocols": []}, ErrorCode.INCONSISTENT_GROUP_PROTOCOL),
        ({"member_id": "ghost"}, ErrorCode.UNKNOWN_MEMBER_ID),
    ],
)
def test_joins_refused_outright(kwargs: dict[str, object], error: ErrorCode) -> None:
    h = ShardDriver()
    assert h.reply(h.join("g", **kwargs)).error_code == error  # type: ignore[arg-type]


def test_an_empty_group_id_is_invalid() -> None:
    h = ShardDriver()
    assert h.reply(h.join("")).error_code == ErrorCode.INVALID_GROUP_ID
    assert h.shard.groups == {}


def test_a_member_must_share_the_groups_protocol_type_and_a_protocol() -> None:
    h = ShardDriver()
    form_group(h, "g", ["a"])
    connect = h.join("g", protocol_type="connect", version=3)
    assert h.reply(connect).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    other = h.join("g", protocols=[("sticky", subscription("t"))], version=3)
    assert h.reply(other).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL


def test_group_max_size_refuses_members_beyond_it() -> None:
    h = ShardDriver(config=GroupCoordinatorConfig(max_size=2))
    form_group(h, "g", ["a", "b"])
    third = h.join("g", version=3, client_id="c")
    assert h.reply(third).error_code == ErrorCode.GROUP_MAX_SIZE_REACHED
    group = h.shard.group("g")
    assert group is not None
    assert len(group.members) == 2


def test_a_follower_rejoining_unchanged_gets_the_current_generation() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    again = h.reply(h.join("g", b.member_id))
    assert (again.error_code, again.generation_id, again.leader) == (0, 1, a.member_id)
    assert again.members == []
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(STABLE)


def test_a_follower_rejoining_with_new_metadata_starts_a_rebalance() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    changed = h.join("g", b.member_id, protocols=[("range", subscription("t", "u"))])
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(PREPARING_REBALANCE)
    assert h.reply(h.heartbeat("g", a.member_id, 1)).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    rejoin = h.join("g", a.member_id)
    assert h.reply(rejoin).generation_id == h.reply(changed).generation_id == 2


def test_the_leader_rejoining_starts_a_rebalance() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    lead = h.join("g", a.member_id)
    assert lead not in h.replies
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(PREPARING_REBALANCE)


def test_a_rejoin_during_completing_rebalance_resends_the_join_response() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    again = h.reply(h.join("g", a.member_id))
    assert (again.generation_id, again.leader) == (1, a.member_id)
    assert [m.member_id for m in again.members] == [a.member_id, b.member_id]
