"""What must hold after every step of a consumer group, for the state-machine tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .harness import ShardDriver
from .test_records import _durable


class OwningClient(Protocol):
    """A simulated client: its name, its member id and what it consumes."""

    name: str
    member_id: str
    owned: dict[str, list[int]]


def assert_no_partition_owned_twice(
    h: ShardDriver, group_id: str, clients: Iterable[OwningClient]
) -> None:
    """No partition is consumed by two clients the coordinator still counts as members."""
    group = h.shard.consumer_group(group_id)
    members = {} if group is None else group.members
    seen: dict[tuple[str, int], str] = {}
    for c in clients:
        if c.member_id not in members:
            continue  # fenced: it will learn so at its next heartbeat
        for topic, partitions in c.owned.items():
            for p in partitions:
                other = seen.setdefault((topic, p), c.name)
                assert other == c.name, f"{topic}-{p} owned by {other} and {c.name}"


def assert_targets_disjoint(h: ShardDriver, group_id: str) -> None:
    """Every partition is in at most one member's target."""
    group = h.shard.consumer_group(group_id)
    if group is None:
        return
    seen: set[tuple[object, int]] = set()
    for target in group.target_assignment.values():
        for topic, partitions in target.items():
            for p in partitions:
                assert (topic, p) not in seen
                seen.add((topic, p))


def assert_log_holds_the_shard(h: ShardDriver) -> None:
    """Replaying the log into an empty shard gives exactly the live state."""
    assert _durable(h.reload()) == _durable(h.shard)
