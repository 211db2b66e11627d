"""The group coordinator: consumer groups and their committed offsets, as a pure state machine.

This is Kafka's new group coordinator (the ``group-coordinator`` module of Apache
Kafka): classic groups (JoinGroup/SyncGroup, :mod:`.classic`), consumer groups of
KIP-848 (ConsumerGroupHeartbeat, :mod:`.consumer`) and committed offsets. The design
docs are ``docs/design.html`` ("Consumer group protocol") and the record formats
``group-coordinator/*.json`` under ``shared/kafka-spec``.

Theory of operation
-------------------

Each partition of ``__consumer_offsets`` is a shard (:class:`GroupCoordinatorShard`)
owning the groups that hash to it. A shard's state -- groups, members, generations,
offsets -- is what its records say: a command never changes durable state directly,
it *writes* records, and writing replays them into the state at once and queues them
for the log (:mod:`.context`, :mod:`.replay`). Loading a partition replays all of
its records from the start; the live path replays each record as it is written.

What no record holds is soft state, lost on failover exactly as in Kafka: the
position of a classic rebalance in flight (who has rejoined, the generation handed
out before the leader's assignment is stored), parked requests, session timers. A
classic group's *stored* generation changes only by replay; a member of an
interrupted rebalance finds it on the new coordinator and rejoins. A consumer group
has no such in-flight state: every step of its rebalance is a record.

A group can change protocol while it has members (KIP-848's online migration,
:mod:`.consumer.migration`): a consumer group holds *classic members* that speak
JoinGroup/SyncGroup (:mod:`.consumer.classic_members`) alongside members that speak
ConsumerGroupHeartbeat, and converts back to a classic group when the last of the
latter leaves.

Commands answer through replies addressed to the request they answer
(:class:`Caller` handle -> :class:`Reply`), so a JoinGroup parked until a
rebalance completes is answered in the result of whatever completes it.

The driver's loop
-----------------

The broker's trio task that owns a shard::

    shard = GroupCoordinatorShard(topics=image.topics, new_member_suffix=uuid_str)
    for key, value in partition records:            # as the partition is loaded
        shard.load(key, value)
    handle(shard.on_loaded(now_ms()))
    loop:
        wait for a request, or until shard.next_deadline()
        result = shard.join_group(caller, request, now_ms())   # or tick(now_ms())
        handle(result)

    handle(result):
        append result.records (serialize_key / serialize_value) to the partition
        when everything appended so far is committed: send each result.replies
            entry to its handle's connection
        if the append fails: answer the waiting replies with the error, call
            shard.unload() and send its replies, then reload from the log

Replies are held until all records written before them are committed, even when
their own result has none: a reply never reveals state the log could lose.

Public API: :class:`GroupCoordinatorShard`, :class:`GroupCoordinatorConfig`,
:class:`Caller`, :class:`Reply`, :class:`CoordinatorResult`, the records of
:mod:`.records` with :func:`serialize_key`, :func:`serialize_value`,
:func:`deserialize`, :func:`partition_for` (which shard owns a group), and
:func:`error_response` for requests that reach no shard.
"""

from .config import GroupCoordinatorConfig
from .context import MemberIdSource
from .error_responses import error_response
from .partitioning import partition_for
from .records import CoordinatorRecord, deserialize, serialize_key, serialize_value
from .result import Caller, CoordinatorResult, Reply, Response
from .shard import GroupCoordinatorShard, ShardStatus
from .topics import TopicsView, TopicView

__all__ = [
    "Caller",
    "CoordinatorRecord",
    "CoordinatorResult",
    "GroupCoordinatorConfig",
    "GroupCoordinatorShard",
    "MemberIdSource",
    "Reply",
    "Response",
    "ShardStatus",
    "TopicView",
    "TopicsView",
    "deserialize",
    "error_response",
    "partition_for",
    "serialize_key",
    "serialize_value",
]
