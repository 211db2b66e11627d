"""The records of ``__consumer_offsets``: bytes on disk, and replaying them back into state."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from odradek.coordinator.group import (
    GroupCoordinatorShard,
    deserialize,
    serialize_key,
    serialize_value,
)
from odradek.coordinator.group.consumer.group import ConsumerGroup
from odradek.coordinator.group.records import (
    UnknownRecordTypeError,
    group_metadata_record,
    group_tombstone,
    offset_commit_record,
    offset_tombstone,
)
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.group_coordinator.group_metadata_value import (
    GroupMetadataValue,
    MemberMetadata,
)
from odradek.protocol.messages.group_coordinator.offset_commit_value import (
    OffsetCommitValue,
)
from odradek.protocol.primitives import DecodeError

from .groups import form_group, stabilize
from .harness import ShardDriver, subscription


def _string(s: str) -> bytes:
    return struct.pack(">h", len(s)) + s.encode()


def test_key_bytes_are_the_record_type_then_the_key() -> None:
    assert serialize_key(group_tombstone("g")) == b"\x00\x02" + _string("g")
    assert serialize_key(offset_tombstone("g", "t", 3)) == (
        b"\x00\x01" + _string("g") + _string("t") + struct.pack(">i", 3)
    )


def test_offset_commit_value_bytes() -> None:
    value = OffsetCommitValue(offset=42, leader_epoch=7, metadata="m", commit_timestamp=1000)
    record = offset_commit_record("g", "t", 0, value)
    assert serialize_value(record) == (
        b"\x00\x03" + struct.pack(">qi", 42, 7) + _string("m") + struct.pack(">q", 1000)
    )
    expiring = offset_commit_record(
        "g",
        "t",
        0,
        OffsetCommitValue(offset=1, metadata="", commit_timestamp=5, expire_timestamp=9),
    )
    assert serialize_value(expiring) == (
        b"\x00\x01" + struct.pack(">q", 1) + _string("") + struct.pack(">qq", 5, 9)
    )


def test_tombstones_have_no_value() -> None:
    assert serialize_value(group_tombstone("g")) is None
    assert serialize_value(offset_tombstone("g", "t", 0)) is None


@pytest.mark.parametrize(
    "record",
    [
        group_tombstone("g"),
        offset_tombstone("g", "t", 1),
        offset_commit_record("g", "t", 1, OffsetCommitValue(offset=5, commit_timestamp=3)),
        group_metadata_record(
            "g",
            GroupMetadataValue(
                protocol_type="consumer",
                generation=4,
                protocol="range",
                leader="m-1",
                current_state_timestamp=99,
                members=[
                    MemberMetadata(
                        member_id="m-1",
                        group_instance_id="i",
                        client_id="c",
                        client_host="/h",
                        rebalance_timeout=300,
                        session_timeout=100,
                        subscription=b"sub",
                        assignment=b"asg",
                    )
                ],
            ),
        ),
    ],
)
def test_records_round_trip(record: Any) -> None:
    assert deserialize(serialize_key(record), serialize_value(record)) == record


def test_the_old_offset_key_type_still_reads() -> None:
    key = b"\x00\x00" + _string("g") + _string("t") + struct.pack(">i", 2)
    record = deserialize(key, None)
    assert (record.record_type, record.key.partition) == (0, 2)  # type: ignore[union-attr]


def test_unknown_and_malformed_records() -> None:
    with pytest.raises(UnknownRecordTypeError):
        deserialize(b"\x00\x0b" + _string("g"), None)
    with pytest.raises(DecodeError):
        deserialize(b"\x00", None)
    with pytest.raises(DecodeError):
        deserialize(b"\x00\x02" + _string("g"), b"\x00\x03\x00")


def test_a_loading_shard_skips_record_types_it_does_not_handle() -> None:
    h = ShardDriver()
    shard = h.new_shard()
    assert shard.load(b"\x00\x0b" + _string("share-group"), b"\x00\x00") is False


def _durable(shard: GroupCoordinatorShard) -> dict[str, Any]:
    """What the log determines: groups with their members, and offsets."""
    groups: dict[str, Any] = {}
    for group_id, g in shard.groups.items():
        if isinstance(g, ConsumerGroup):
            groups[group_id] = (
                str(g.state),
                g.group_epoch,
                g.assignment_epoch,
                dict(g.subscription_metadata),
                dict(g.members),
                dict(g.target_assignment),
                dict(g.static_members),
                g.owned_partitions(),
            )
            continue
        members = [
            (
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                m.rebalance_timeout_ms,
                m.session_timeout_ms,
                m.metadata(g.protocol_name) if g.protocol_name else None,
                m.assignment,
            )
            for m in g.members.values()
        ]
        groups[group_id] = (
            str(g.state),
            g.generation_id,
            g.protocol_type,
            g.protocol_name,
            g.leader_id,
            g.state_timestamp_ms,
            members,
            dict(g.static_members),
            g.subscribed_topics,
        )
    return {"groups": groups, "offsets": list(shard.offsets())}


def test_records_replayed_into_an_empty_shard_give_the_same_state() -> None:
    h = ShardDriver()
    a, b = form_group(h, "busy", ["a", "b"], protocols=[("range", subscription("t", "u"))])
    stabilize(h, "busy", [a, b])
    s1, s2 = form_group(h, "static", ["x", "y"], instance_ids=["ix", "iy"])
    stabilize(h, "static", [s1, s2])
    h.join("static", instance_id="iy")  # a static member restarts: new member id, stored
    h.commit("busy", {("t", 0): 5, ("u", 1): 6}, member_id=a.member_id, generation=1)
    h.commit("simple", {("t", 2): 7}, metadata="kept")
    h.commit("simple", {("t", 2): 8}, metadata="newer")
    h.commit("gone", {("t", 0): 1})
    (lonely,) = form_group(h, "emptied", ["z"])
    stabilize(h, "emptied", [lonely])
    h.leave("emptied", (lonely.member_id, None))
    h.call("delete_groups", DeleteGroupsRequest(groups_names=["gone"]), 2)
    # A consumer group caught mid-reconciliation: every step of it is in the log.
    first = h.reply(h.consumer_heartbeat("kip848", topics=["t"], instance_id="i"))
    h.reply(h.consumer_heartbeat("kip848", topics=["t", "u"], regex="u.*"))
    h.consumer_heartbeat("kip848", first.member_id, 1, instance_id="i", owned={"t": [0, 1, 2]})
    live = h.shard
    for group_id, g in live.groups.items():
        if group_id != "kip848":
            assert str(g.state) in ("Stable", "Empty"), "no classic rebalance in flight"
    assert str(live.groups["kip848"].state) == "Reconciling"
    assert _durable(h.reload()) == _durable(live)


def test_a_rebalance_in_flight_is_not_in_the_log() -> None:
    h = ShardDriver()
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    h.join("g", a.member_id)
    h.join("g", b.member_id)  # generation 2 handed out, no assignment yet
    live = h.shard.group("g")
    stored = h.reload().group("g")
    assert live is not None
    assert stored is not None
    assert (str(live.state), live.generation_id) == ("CompletingRebalance", 2)
    assert (str(stored.state), stored.generation_id) == ("Stable", 1)
