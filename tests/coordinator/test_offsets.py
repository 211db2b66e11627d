"""Committed offsets: commit, fetch, delete, expire."""

from __future__ import annotations

import pytest

from odradek.coordinator.group import GroupCoordinatorConfig
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.offset_delete_request import (
    OffsetDeleteRequest,
    OffsetDeleteRequestPartition,
    OffsetDeleteRequestTopic,
)
from odradek.protocol.messages.clients.offset_fetch_request import (
    OffsetFetchRequest,
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopics,
)

from .groups import form_group, stabilize
from .harness import ShardDriver, subscription

DAY_MS = 24 * 60 * 60_000


def _errors(response: object) -> dict[tuple[str, int], int]:
    return {
        (t.name, p.partition_index): p.error_code
        for t in response.topics  # type: ignore[attr-defined]
        for p in t.partitions
    }


def _fetched(response: object) -> dict[tuple[str, int], tuple[int, str]]:
    return {
        (t.name, p.partition_index): (p.committed_offset, p.metadata)
        for t in response.topics  # type: ignore[attr-defined]
        for p in t.partitions
    }


def _delete(h: ShardDriver, group: str, partitions: dict[str, list[int]]) -> int:
    request = OffsetDeleteRequest(
        group_id=group,
        topics=[
            OffsetDeleteRequestTopic(
                name=t, partitions=[OffsetDeleteRequestPartition(partition_index=p) for p in ps]
            )
            for t, ps in partitions.items()
        ],
    )
    return h.call("offset_delete", request, 0)


def test_a_simple_consumer_commits_and_fetches() -> None:
    h = ShardDriver()
    committed = h.reply(h.commit("simple", {("t", 0): 10, ("t", 1): 20}, metadata="m"))
    assert set(_errors(committed).values()) == {ErrorCode.NONE}
    assert len(h.log) == 2
    group = h.shard.group("simple")
    assert group is not None
    assert group.protocol_type is None
    assert group.is_empty
    fetched = h.reply(h.fetch("simple", {"t": [0, 1, 2]}))
    assert _fetched(fetched) == {("t", 0): (10, "m"), ("t", 1): (20, "m"), ("t", 2): (-1, "")}
    everything = h.reply(h.fetch("simple", None))
    assert _fetched(everything) == {("t", 0): (10, "m"), ("t", 1): (20, "m")}


def test_fetching_an_unknown_group_finds_nothing() -> None:
    h = ShardDriver()
    fetched = h.reply(h.fetch("nobody", {"t": [0]}))
    assert (fetched.error_code, _fetched(fetched)) == (0, {("t", 0): (-1, "")})
    assert _fetched(h.reply(h.fetch("nobody", None))) == {}


def test_offset_fetch_v8_batches_groups() -> None:
    h = ShardDriver()
    h.commit("g1", {("t", 0): 1})
    h.commit("g2", {("u", 2): 2})
    request = OffsetFetchRequest(
        groups=[
            OffsetFetchRequestGroup(
                group_id="g1",
                topics=[OffsetFetchRequestTopics(name="t", partition_indexes=[0])],
            ),
            OffsetFetchRequestGroup(group_id="g2", topics=None),
        ],
        require_stable=True,
    )
    response = h.reply(h.call("offset_fetch", request, 8))
    got = {
        (g.group_id, t.name, p.partition_index): p.committed_offset
        for g in response.groups
        for t in g.topics
        for p in t.partitions
    }
    assert got == {("g1", "t", 0): 1, ("g2", "u", 2): 2}


def test_commits_to_partitions_that_do_not_exist_are_refused() -> None:
    h = ShardDriver()
    response = h.reply(h.commit("g", {("t", 0): 1, ("t", 99): 1, ("gone", 0): 1}))
    assert _errors(response) == {
        ("t", 0): ErrorCode.NONE,
        ("t", 99): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ("gone", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    }
    assert len(h.log) == 1


def test_metadata_longer_than_the_limit_is_refused() -> None:
    h = ShardDriver(config=GroupCoordinatorConfig(offset_metadata_max_bytes=4))
    long_one = h.reply(h.commit("g", {("t", 0): 1}, metadata="12345"))
    assert _errors(long_one) == {("t", 0): ErrorCode.OFFSET_METADATA_TOO_LARGE}
    fits = h.reply(h.commit("g", {("t", 0): 1}, metadata="1234"))
    assert _errors(fits) == {("t", 0): ErrorCode.NONE}


@pytest.mark.parametrize(
    ("version", "error"), [(9, ErrorCode.GROUP_ID_NOT_FOUND), (8, ErrorCode.ILLEGAL_GENERATION)]
)
def test_a_member_commit_to_an_unknown_group(version: int, error: ErrorCode) -> None:
    h = ShardDriver()
    response = h.reply(h.commit("g", {("t", 0): 1}, member_id="m", generation=3, version=version))
    assert _errors(response) == {("t", 0): error}


def test_a_group_with_members_refuses_anonymous_commits() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    anonymous = h.reply(h.commit("g", {("t", 0): 1}))
    assert _errors(anonymous) == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
    member = h.reply(h.commit("g", {("t", 0): 1}, member_id=a.member_id, generation=1))
    assert _errors(member) == {("t", 0): ErrorCode.NONE}


def test_a_commit_keeps_a_member_alive() -> None:
    h = ShardDriver()
    (a,) = form_group(h, "g", ["a"])
    stabilize(h, "g", [a])
    for _ in range(10):
        h.advance(3_000)
        h.commit("g", {("t", 0): 1}, member_id=a.member_id, generation=1)
    group = h.shard.group("g")
    assert group is not None
    assert group.has_member(a.member_id)


def test_offsets_are_stored_in_the_log() -> None:
    h = ShardDriver()
    h.commit("g", {("t", 0): 7}, metadata="x")
    h.commit("g", {("t", 0): 8}, metadata="y")
    reloaded = h.reload()
    offset = reloaded.committed_offset("g", "t", 0)
    assert offset is not None
    assert (offset.offset, offset.metadata) == (8, "y")
    assert offset.commit_timestamp_ms == h.now


def test_offset_delete() -> None:
    h = ShardDriver()
    h.commit("g", {("t", 0): 1, ("t", 1): 2})
    response = h.reply(_delete(h, "g", {"t": [0, 5, 99]}))
    assert _errors(response) == {
        ("t", 0): ErrorCode.NONE,
        ("t", 5): ErrorCode.NONE,
        ("t", 99): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    }
    assert h.shard.committed_offset("g", "t", 0) is None
    assert h.shard.committed_offset("g", "t", 1) is not None
    assert h.reply(_delete(h, "nobody", {"t": [0]})).error_code == ErrorCode.GROUP_ID_NOT_FOUND


def test_offset_delete_spares_topics_a_consumer_group_subscribes_to() -> None:
    h = ShardDriver()
    (a,) = form_group(h, "g", ["a"], protocols=[("range", subscription("t"))])
    stabilize(h, "g", [a])
    h.commit("g", {("t", 0): 1, ("u", 0): 1}, member_id=a.member_id, generation=1)
    response = h.reply(_delete(h, "g", {"t": [0], "u": [0]}))
    assert _errors(response) == {
        ("t", 0): ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
        ("u", 0): ErrorCode.NONE,
    }


def test_offset_delete_refuses_other_groups_with_members() -> None:
    h = ShardDriver()
    (a,) = form_group(h, "g", ["a"], protocol_type="connect")
    stabilize(h, "g", [a])
    assert h.reply(_delete(h, "g", {"t": [0]})).error_code == ErrorCode.NON_EMPTY_GROUP


def test_simple_group_offsets_expire_after_retention_and_the_group_goes() -> None:
    config = GroupCoordinatorConfig(offsets_retention_ms=DAY_MS)
    h = ShardDriver(config=config)
    h.commit("simple", {("t", 0): 1})
    h.advance(DAY_MS - 1)
    assert h.shard.committed_offset("simple", "t", 0) is not None
    h.advance(config.offsets_retention_check_interval_ms)  # the next sweep
    assert h.shard.committed_offset("simple", "t", 0) is None
    assert h.shard.group("simple") is None
    assert h.log[-1][1] is None, "the group's tombstone is the last record"
    assert h.reload().group("simple") is None


def test_offsets_of_an_empty_group_count_from_when_it_became_empty() -> None:
    config = GroupCoordinatorConfig(offsets_retention_ms=DAY_MS)
    h = ShardDriver(config=config)
    (a,) = form_group(h, "g", ["a"], protocols=[("range", subscription("t"))])
    stabilize(h, "g", [a])
    h.commit("g", {("t", 0): 1}, member_id=a.member_id, generation=1)
    for _ in range(DAY_MS // 5_000):  # a day of heartbeats: the group is in use
        h.advance(5_000)
        h.heartbeat("g", a.member_id, 1)
    assert h.shard.committed_offset("g", "t", 0) is not None
    h.leave("g", (a.member_id, None))
    h.advance(DAY_MS - 1)
    assert h.shard.committed_offset("g", "t", 0) is not None
    h.advance(config.offsets_retention_check_interval_ms)  # the next sweep
    assert h.shard.committed_offset("g", "t", 0) is None
    assert h.shard.group("g") is None


def test_a_stable_consumer_group_loses_offsets_of_topics_it_dropped() -> None:
    config = GroupCoordinatorConfig(offsets_retention_ms=60 * 60_000)
    h = ShardDriver(config=config)
    (a,) = form_group(h, "g", ["a"], protocols=[("range", subscription("t"))])
    stabilize(h, "g", [a])
    h.commit("g", {("t", 0): 1, ("u", 0): 1}, member_id=a.member_id, generation=1)
    for _ in range(2 * 60 * 60_000 // 5_000):
        h.advance(5_000)
        h.heartbeat("g", a.member_id, 1)
    assert h.shard.committed_offset("g", "t", 0) is not None
    assert h.shard.committed_offset("g", "u", 0) is None


def test_an_explicit_retention_time_sets_an_expiry() -> None:
    h = ShardDriver()
    h.commit("g", {("t", 0): 1}, retention_ms=30 * 60_000, version=2)
    offset = h.shard.committed_offset("g", "t", 0)
    assert offset is not None
    assert offset.expire_timestamp_ms == h.now + 30 * 60_000
    h.advance(40 * 60_000)
    assert h.shard.committed_offset("g", "t", 0) is None


def test_deleted_topics_lose_their_offsets() -> None:
    h = ShardDriver()
    h.commit("g1", {("t", 0): 1, ("u", 0): 1})
    h.commit("g2", {("t", 0): 1})
    h.handle(h.shard.on_partitions_deleted([("t", 0)], h.now))
    assert [(g, t, p) for g, t, p, _ in h.shard.offsets()] == [("g1", "u", 0)]
