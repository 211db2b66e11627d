"""Building blocks for scenario tests: form a group, agree on an assignment."""

from __future__ import annotations

from typing import Any

from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.join_group_response import JoinGroupResponse

from .harness import ShardDriver, assignment


def form_group(
    h: ShardDriver,
    group: str,
    clients: list[str],
    *,
    instance_ids: list[str | None] | None = None,
    **join_args: Any,
) -> list[JoinGroupResponse]:
    """Start every client's JoinGroup at the same moment; wait out the initial delay.

    Dynamic members go through the MEMBER_ID_REQUIRED handshake first. Returns the
    JoinGroup responses in the clients' order.
    """
    instance_ids = instance_ids or [None] * len(clients)
    handles = []
    for client, instance_id in zip(clients, instance_ids, strict=True):
        if instance_id is None:
            _, handle = h.join_with_id(group, client_id=client, **join_args)
        else:
            handle = h.join(group, instance_id=instance_id, client_id=client, **join_args)
        handles.append(handle)
    for _ in range(20):
        if all(x in h.replies for x in handles):
            break
        h.advance(h.config.initial_rebalance_delay_ms)
    responses = [h.reply(x) for x in handles]
    for r in responses:
        assert r.error_code == ErrorCode.NONE, r
    return responses


def round_robin(responses: list[JoinGroupResponse], partitions: int = 6) -> dict[str, bytes]:
    """What a leader assigns: topic ``t``'s partitions dealt out in member order."""
    leader = next(r for r in responses if r.leader == r.member_id)
    members = [m.member_id for m in leader.members]
    owned: dict[str, list[int]] = {m: [] for m in members}
    for p in range(partitions):
        owned[members[p % len(members)]].append(p)
    return {m: assignment({"t": ps}) for m, ps in owned.items()}


def stabilize(h: ShardDriver, group: str, responses: list[JoinGroupResponse]) -> dict[str, bytes]:
    """The leader syncs with a round-robin assignment, then every follower syncs."""
    assignments = round_robin(responses)
    leader = next(r for r in responses if r.leader == r.member_id)
    followers = [r for r in responses if r is not leader]
    kind, name = leader.protocol_type, leader.protocol_name
    parked = [
        h.sync(group, r.member_id, r.generation_id, protocol_type=kind, protocol_name=name)
        for r in followers
    ]
    assert not any(x in h.replies for x in parked), "followers wait for the leader"
    lead = h.sync(
        group,
        leader.member_id,
        leader.generation_id,
        assignments,
        protocol_type=kind,
        protocol_name=name,
    )
    for handle, r in zip([*parked, lead], [*followers, leader], strict=True):
        reply = h.reply(handle)
        assert reply.error_code == ErrorCode.NONE, reply
        assert reply.assignment == assignments[r.member_id]
    return assignments
