"""DescribeGroups, ListGroups, DeleteGroups, and the shard's lifecycle."""

from __future__ import annotations

from typing import Any

from odradek.coordinator.group import (
    Caller,
    GroupCoordinatorConfig,
    GroupCoordinatorShard,
    ShardStatus,
)
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.clients.describe_groups_request import DescribeGroupsRequest
from odradek.protocol.messages.clients.heartbeat_request import HeartbeatRequest
from odradek.protocol.messages.clients.join_group_request import JoinGroupRequest
from odradek.protocol.messages.clients.list_groups_request import ListGroupsRequest

from .groups import form_group, stabilize
from .harness import ShardDriver, subscription


def _describe(h: ShardDriver, *groups: str) -> list[Any]:
    return h.reply(h.call("describe_groups", DescribeGroupsRequest(groups=list(groups)), 5)).groups


def _list(h: ShardDriver, states: list[str] = [], types: list[str] = []) -> list[tuple[str, str]]:  # noqa: B006
    request = ListGroupsRequest(states_filter=states, types_filter=types)
    response = h.reply(h.call("list_groups", request, 5))
    return sorted((g.group_id, g.group_state) for g in response.groups)


def _delete(h: ShardDriver, *groups: str) -> dict[str, int]:
    response = h.reply(h.call("delete_groups", DeleteGroupsRequest(groups_names=list(groups)), 2))
    return {r.group_id: r.error_code for r in response.results}


def test_describe_a_stable_group() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    assignments = stabilize(h, "g", [a, b])
    (described,) = _describe(h, "g")
    assert (described.error_code, described.group_state) == (0, "Stable")
    assert (described.protocol_type, described.protocol_data) == ("consumer", "range")
    assert [
        (m.member_id, m.client_id, m.client_host, m.member_metadata, m.member_assignment)
        for m in described.members
    ] == [
        (a.member_id, "a", "/10.0.0.1", subscription("t"), assignments[a.member_id]),
        (b.member_id, "b", "/10.0.0.1", subscription("t"), assignments[b.member_id]),
    ]


def test_describe_outside_stable_leaves_out_protocol_and_metadata() -> None:
    h = ShardDriver()
    (_a,) = form_group(h, "g", ["a"])
    (described,) = _describe(h, "g")
    assert (described.group_state, described.protocol_data) == ("CompletingRebalance", "")
    assert described.members[0].member_metadata == b""


def test_describe_an_unknown_group_says_dead() -> None:
    h = ShardDriver()
    (described,) = _describe(h, "nobody")
    assert (described.error_code, described.group_id, described.group_state) == (
        0,
        "nobody",
        "Dead",
    )
    assert described.members == []


def test_list_groups_with_filters() -> None:
    h = ShardDriver()
    a, b = form_group(h, "busy", ["a", "b"])
    stabilize(h, "busy", [a, b])
    h.commit("simple", {("t", 0): 1})
    assert _list(h) == [("busy", "Stable"), ("simple", "Empty")]
    assert _list(h, states=["stable"]) == [("busy", "Stable")]
    assert _list(h, states=[" EMPTY "]) == [("simple", "Empty")]
    assert _list(h, types=["Classic"]) == [("busy", "Stable"), ("simple", "Empty")]
    assert _list(h, types=["consumer"]) == []


def test_delete_groups() -> None:
    h = ShardDriver()
    a, b = form_group(h, "busy", ["a", "b"])
    stabilize(h, "busy", [a, b])
    h.commit("idle", {("t", 0): 1, ("u", 1): 1})
    before = len(h.log)
    assert _delete(h, "busy", "idle", "nobody") == {
        "busy": ErrorCode.NON_EMPTY_GROUP,
        "idle": ErrorCode.NONE,
        "nobody": ErrorCode.GROUP_ID_NOT_FOUND,
    }
    assert [value for _, value in h.log[before:]] == [None, None, None]
    assert h.shard.group("idle") is None
    assert list(h.shard.offsets()) == []
    reloaded = h.reload()
    assert reloaded.group("idle") is None
    assert list(reloaded.offsets()) == []


def test_a_loading_shard_answers_load_in_progress() -> None:
    h = ShardDriver()
    shard = h.new_shard()
    assert shard.status is ShardStatus.LOADING
    join = JoinGroupRequest(group_id="g", session_timeout_ms=10_000, protocol_type="consumer")
    result = shard.join_group(Caller(1, 9), join, h.now)
    assert result.reply_to(1).error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS  # type: ignore[union-attr]
    heartbeat = shard.heartbeat(Caller(2, 4), HeartbeatRequest(group_id="g"), h.now)
    assert heartbeat.reply_to(2).error_code == ErrorCode.NONE, "Kafka's quirk"  # type: ignore[union-attr]
    assert shard.next_deadline() is None


def test_unloading_answers_parked_requests_and_then_everything_not_coordinator() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    parked_sync = h.sync("g", b.member_id, 1)
    _, parked_join = h.join_with_id("g2")
    for reply in h.shard.unload():
        h.replies[reply.handle] = reply.response
    assert h.reply(parked_sync).error_code == ErrorCode.NOT_COORDINATOR
    assert h.reply(parked_join).error_code == ErrorCode.NOT_COORDINATOR
    assert h.shard.next_deadline() is None
    late = h.reply(h.heartbeat("g", a.member_id, 1))
    assert late.error_code == ErrorCode.NOT_COORDINATOR
    fetch = h.reply(h.fetch("g", {"t": [0]}, version=7))
    assert fetch.error_code == ErrorCode.NOT_COORDINATOR
    old_fetch = h.reply(h.fetch("g", {"t": [0]}, version=1))
    assert old_fetch.topics[0].partitions[0].error_code == ErrorCode.NOT_COORDINATOR


def test_a_loaded_group_rebalances_if_it_exceeds_a_lowered_max_size() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    shard = GroupCoordinatorShard(
        topics=h.topics, new_member_suffix=h.ids, config=GroupCoordinatorConfig(max_size=1)
    )
    for key, value in h.log:
        shard.load(key, value)
    shard.on_loaded(h.now)
    group = shard.group("g")
    assert group is not None
    assert str(group.state) == "PreparingRebalance"


def test_loaded_members_must_heartbeat() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    h.shard = h.reload()
    h.shard.on_loaded(h.now)
    for _ in range(6):
        h.advance(2_000)
        h.heartbeat("g", a.member_id, 1)
    group = h.shard.group("g")
    assert group is not None
    assert set(group.members) == {a.member_id}
