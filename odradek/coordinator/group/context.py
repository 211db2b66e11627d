"""A shard's state, and the context one operation on it runs in.

:class:`ShardState` is everything a shard keeps: the groups and offsets that replay
builds, the timers, and what it was given (settings, a view of the cluster's topics, a
source of member ids). :class:`Context` is one command or one expired timer at work:
it knows the time, and it builds the :class:`~.result.CoordinatorResult`.

``Context.write`` is the one way an operation changes durable state: it replays the
record into the state at once (so later steps of the same operation, and later
operations, see it, as Kafka's runtime does) and queues it for the log.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from .classic.group import ClassicGroup
from .config import GroupCoordinatorConfig
from .consumer.group import ConsumerGroup
from .offsets import OffsetStore
from .records import CoordinatorRecord
from .replay import replay
from .result import Caller, CoordinatorResult, Reply, Response
from .timer import Timer
from .topics import TopicsView

#: Returns a fresh unique string each call (a UUID in production). As in Kafka, a
#: classic member id is ``<client id or group instance id>-<this>``; a consumer group
#: member that joins without an id gets ``<this>``.
MemberIdSource = Callable[[], str]

TimerOp = Callable[["Context"], None]


@dataclass(slots=True)
class ShardState:
    config: GroupCoordinatorConfig
    topics: TopicsView
    new_member_suffix: MemberIdSource
    groups: dict[str, ClassicGroup | ConsumerGroup] = field(default_factory=dict)
    offsets: OffsetStore = field(default_factory=OffsetStore)
    timer: Timer[TimerOp] = field(default_factory=Timer)

    def classic_group(self, group_id: str) -> ClassicGroup | None:
        group = self.groups.get(group_id)
        return group if isinstance(group, ClassicGroup) else None

    def consumer_group(self, group_id: str) -> ConsumerGroup | None:
        group = self.groups.get(group_id)
        return group if isinstance(group, ConsumerGroup) else None

    def partition_exists(self, topic: str, partition: int) -> bool:
        view = self.topics.get_by_name(topic)
        return view is not None and partition in view.partitions


class Context:
    """One operation on a shard at ``now_ms``, and the result it is building."""

    def __init__(self, state: ShardState, now_ms: int) -> None:
        self.state = state
        self.now_ms = now_ms
        self.result = CoordinatorResult()

    @property
    def config(self) -> GroupCoordinatorConfig:
        return self.state.config

    def write(self, record: CoordinatorRecord) -> None:
        """Replay ``record`` into the state and queue it for the log."""
        replay(self.state.groups, self.state.offsets, record)
        self.result.records.append(record)

    def reply(self, caller: Caller, response: Response) -> None:
        self.result.replies.append(Reply(caller.handle, response))

    def schedule(self, key: Hashable, delay_ms: int, op: TimerOp) -> None:
        self.state.timer.schedule(key, self.now_ms + delay_ms, op)

    def cancel(self, key: Hashable) -> None:
        self.state.timer.cancel(key)
