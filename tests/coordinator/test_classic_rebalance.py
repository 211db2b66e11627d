"""Heartbeats, timeouts, leaving and fencing in a classic group."""

from __future__ import annotations

from odradek.coordinator.group.classic.state import (
    COMPLETING_REBALANCE,
    EMPTY,
    PREPARING_REBALANCE,
    STABLE,
)
from odradek.protocol.errors import ErrorCode

from .groups import form_group, stabilize
from .harness import SESSION_MS, ShardDriver


def _stable_pair(h: ShardDriver, **join_args: object) -> tuple[str, str]:
    a, b = form_group(h, "g", ["a", "b"], **join_args)  # type: ignore[arg-type]
    stabilize(h, "g", [a, b])
    return a.member_id, b.member_id


def _keep_alive(h: ShardDriver, member_id: str, generation: int, ms: int) -> None:
    for _ in range(ms // 2_000):
        h.advance(2_000)
        h.heartbeat("g", member_id, generation)


def test_a_member_that_stops_heartbeating_is_removed_and_the_group_rebalances() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    _keep_alive(h, a, 1, SESSION_MS)
    group = h.shard.group("g")
    assert group is not None
    assert not group.has_member(b)
    assert group.is_in(PREPARING_REBALANCE)
    assert h.reply(h.heartbeat("g", a, 1)).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    rejoin = h.reply(h.join("g", a))
    assert (rejoin.generation_id, rejoin.leader) == (2, a)
    assert [m.member_id for m in rejoin.members] == [a]
    assert h.reply(h.heartbeat("g", b, 1)).error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_heartbeats_and_errors() -> None:
    h = ShardDriver()
    a, _ = _stable_pair(h)
    assert h.reply(h.heartbeat("g", a, 1)).error_code == ErrorCode.NONE
    assert h.reply(h.heartbeat("g", a, 0)).error_code == ErrorCode.ILLEGAL_GENERATION
    assert h.reply(h.heartbeat("g", "who", 1)).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.reply(h.heartbeat("nope", a, 1)).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.reply(h.heartbeat("", a, 1)).error_code == ErrorCode.INVALID_GROUP_ID


def test_members_may_heartbeat_while_the_leader_assigns() -> None:
    h = ShardDriver()
    _, b = form_group(h, "g", ["a", "b"])
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(COMPLETING_REBALANCE)
    assert h.reply(h.heartbeat("g", b.member_id, 1)).error_code == ErrorCode.NONE


def test_a_parked_member_is_spared_by_its_session_timer() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    # The leader rejoins and waits for b, which keeps heartbeating but takes its time.
    parked = h.join("g", a)
    _keep_alive(h, b, 1, SESSION_MS + 2_000)
    group = h.shard.group("g")
    assert group is not None
    assert group.has_member(a), "a parked JoinGroup keeps a alive"
    h.join("g", b)
    assert h.reply(parked).generation_id == 2


def test_members_that_do_not_rejoin_in_time_are_dropped() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    lead = h.join("g", a)  # the leader rejoins: a rebalance starts
    _keep_alive(h, b, 1, 30_000)  # b keeps heartbeating but never rejoins
    rejoined = h.reply(lead)
    assert (rejoined.generation_id, [m.member_id for m in rejoined.members]) == (2, [a])
    assert h.reply(h.heartbeat("g", b, 1)).error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_a_member_that_never_syncs_is_dropped_after_the_rebalance_timeout() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    h.sync("g", a.member_id, 1, {a.member_id: b"", b.member_id: b""})
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(STABLE)
    for _ in range(15):  # both heartbeat; only b's SyncGroup never comes
        h.advance(2_000)
        h.heartbeat("g", a.member_id, 1)
        h.heartbeat("g", b.member_id, 1)
    assert not group.has_member(b.member_id)
    assert group.is_in(PREPARING_REBALANCE)


def test_a_new_member_parked_too_long_is_dropped() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h, rebalance_ms=10 * 60_000)
    start = h.now
    newcomer = h.join("g", version=3, client_id="late")
    # The old members heartbeat but take their (long) rebalance timeout to rejoin;
    # the newcomer's parked JoinGroup gives up after the new-member join timeout.
    while newcomer not in h.replies:
        h.advance(2_000)
        h.heartbeat("g", a, 1)
        h.heartbeat("g", b, 1)
    assert h.reply(newcomer).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    timeout = h.config.new_member_join_timeout_ms
    assert timeout <= h.now - start < timeout + 2_000
    group = h.shard.group("g")
    assert group is not None
    assert set(group.members) == {a, b}


def test_a_pending_member_that_never_rejoins_expires() -> None:
    h = ShardDriver()
    first = h.reply(h.join("g"))
    group = h.shard.group("g")
    assert group is not None
    assert group.is_pending_member(first.member_id)
    h.advance(SESSION_MS)
    assert not group.is_pending_member(first.member_id)
    assert h.reply(h.join("g", first.member_id)).error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_leave_group_batches_members() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    left = h.reply(h.leave("g", (b, None), ("nobody", None)))
    assert [(m.member_id, m.error_code) for m in left.members] == [
        (b, ErrorCode.NONE),
        ("nobody", ErrorCode.UNKNOWN_MEMBER_ID),
    ]
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(PREPARING_REBALANCE)
    assert h.reply(h.join("g", a)).generation_id == 2


def test_leave_group_before_v3_answers_at_the_top_level() -> None:
    h = ShardDriver()
    a, _ = _stable_pair(h)
    assert h.reply(h.leave("g", ("who", None), version=0)).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.reply(h.leave("g", (a, None), version=0)).error_code == ErrorCode.NONE
    assert h.reply(h.leave("nope", (a, None), version=1)).error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_the_last_member_leaving_empties_the_group_and_stores_that() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    h.leave("g", (a, None), (b, None))
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(EMPTY)
    assert group.generation_id == 2
    assert group.protocol_name is None
    reloaded = h.reload().group("g")
    assert reloaded is not None
    assert reloaded.is_in(EMPTY)
    assert reloaded.generation_id == 2


def test_leaving_answers_a_parked_join() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    parked = h.join("g", a)
    h.leave("g", (a, None))
    assert h.reply(parked).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    rejoined = h.reply(h.join("g", b))
    assert (rejoined.generation_id, rejoined.leader) == (2, b)


def test_a_member_leaves_and_rejoins_as_a_new_member() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    h.leave("g", (b, None))
    alone = h.reply(h.join("g", a))
    assert (alone.generation_id, [m.member_id for m in alone.members]) == (2, [a])
    new_b, rejoin_b = h.join_with_id("g", client_id="b")
    assert new_b != b
    assert rejoin_b not in h.replies
    assert h.reply(h.sync("g", a, 2)).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    rejoin_a = h.join("g", a)
    results = [h.reply(rejoin_a), h.reply(rejoin_b)]
    assert {r.generation_id for r in results} == {3}
    assert {r.member_id for r in results} == {a, new_b}


def test_sync_checks_generation_member_and_protocol() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    assert h.reply(h.sync("g", a, 0)).error_code == ErrorCode.ILLEGAL_GENERATION
    assert h.reply(h.sync("g", "who", 1)).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.reply(h.sync("nope", a, 1)).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    wrong = h.sync("g", a, 1, protocol_name="roundrobin")
    assert h.reply(wrong).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    missing = h.sync("g", a, 1, protocol_type=None, version=5)
    assert h.reply(missing).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    old_client = h.sync("g", b, 1, protocol_type=None, protocol_name=None, version=4)
    assert h.reply(old_client).error_code == ErrorCode.NONE


def test_sync_during_preparing_rebalance_means_rejoin() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    h.join("g", a)
    assert h.reply(h.sync("g", b, 1)).error_code == ErrorCode.REBALANCE_IN_PROGRESS


def test_a_rebalance_during_completing_rebalance_releases_parked_syncs() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    parked = h.sync("g", b.member_id, 1)
    h.join("g", version=3, client_id="c")  # a newcomer: the generation is void
    assert h.reply(parked).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    assert h.reply(h.sync("g", a.member_id, 1)).error_code == ErrorCode.REBALANCE_IN_PROGRESS


def test_fenced_generations_cannot_commit() -> None:
    h = ShardDriver()
    a, b = _stable_pair(h)
    h.join("g", a)  # PreparingRebalance: generation 1 may still commit
    ok = h.reply(h.commit("g", {("t", 0): 5}, member_id=b, generation=1))
    assert ok.topics[0].partitions[0].error_code == ErrorCode.NONE
    h.join("g", b)  # everyone joined: generation 2 is handed out
    stale = h.reply(h.commit("g", {("t", 0): 6}, member_id=b, generation=1))
    assert stale.topics[0].partitions[0].error_code == ErrorCode.ILLEGAL_GENERATION
    early = h.reply(h.commit("g", {("t", 0): 6}, member_id=b, generation=2))
    assert early.topics[0].partitions[0].error_code == ErrorCode.REBALANCE_IN_PROGRESS
    assert h.reply(h.heartbeat("g", b, 1)).error_code == ErrorCode.ILLEGAL_GENERATION
    offset = h.shard.committed_offset("g", "t", 0)
    assert offset is not None
    assert offset.offset == 5
