"""The partitions this broker hosts, and the waiting room of fetches for new data.

Kafka's ``ReplicaManager`` and ``Partition``, for the replicas the metadata image puts
on this broker. The metadata publisher calls :meth:`ReplicaManager.become_leader`,
:meth:`ReplicaManager.become_follower` and :meth:`ReplicaManager.remove` as deltas
arrive; the Produce and Fetch handlers call :meth:`Partition.append` and read the
partition's log.

The high watermark is the offset below which every in-sync replica has the records.
While the in-sync replica set is the leader alone, that is the log end offset as
soon as an append returns; replication moves it otherwise.

Long polls: a Fetch that finds fewer bytes than it wants parks on a
:class:`DataWaiter` for its partitions; every append to one of them wakes it, and
the handler reads again. Waking is cheap and spurious wakes are harmless, so no
accounting of bytes happens here.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import trio

from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.records.batch_header import BatchHeader
from odradek.storage.checkpoints import TopicPartition
from odradek.storage.config import LogConfig
from odradek.storage.log import AppendInfo, Log
from odradek.storage.log_manager import LogManager
from odradek.storage.producer_state import AppendOrigin

log = logging.getLogger(__name__)


@dataclass
class Partition:
    """One partition replica on this broker, as the metadata image describes it."""

    tp: TopicPartition
    topic_id: uuid.UUID
    log: Log
    leader_id: int
    leader_epoch: int
    partition_epoch: int
    replicas: list[int]
    isr: list[int]
    node_id: int
    waiters: set[trio.Event] = field(default_factory=set)

    @property
    def is_leader(self) -> bool:
        return self.leader_id == self.node_id

    def check_leader(self, current_leader_epoch: int = -1) -> None:
        """Raise the error Kafka answers when this replica may not serve as leader.

        ``current_leader_epoch`` is what the client believes (-1: it does not say).
        """
        if current_leader_epoch >= 0:
            if current_leader_epoch < self.leader_epoch:
                raise KafkaError(ErrorCode.FENCED_LEADER_EPOCH)
            if current_leader_epoch > self.leader_epoch:
                raise KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH)
        if not self.is_leader:
            raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER)

    def append(
        self,
        records: memoryview,
        required_acks: int,
        min_insync: int,
        header: BatchHeader | None = None,
    ) -> AppendInfo:
        """Append validated client batches as the leader; wake fetches waiting for data.

        ``header`` is the first batch's header as the validator parsed it; the log then
        does not parse it again.
        """
        self.check_leader()
        if required_acks == -1 and len(self.isr) < min_insync:
            raise KafkaError(
                ErrorCode.NOT_ENOUGH_REPLICAS,
                f"the in-sync replicas of {self.tp} are {self.isr}, fewer than "
                f"min.insync.replicas {min_insync}",
            )
        return self._append_as_leader(records, AppendOrigin.CLIENT, header)

    def append_as_coordinator(self, records: bytes | bytearray) -> AppendInfo:
        """Append a coordinator's own batch (``__consumer_offsets``) as the leader.

        Producer epochs are checked but not sequences, as for Kafka's coordinator
        appends; the high watermark and the waiting fetches move as for a client's.
        """
        self.check_leader()
        return self._append_as_leader(records, AppendOrigin.COORDINATOR)

    def _append_as_leader(
        self,
        records: memoryview | bytes | bytearray,
        origin: AppendOrigin,
        header: BatchHeader | None = None,
    ) -> AppendInfo:
        info = self.log.append_as_leader(records, self.leader_epoch, origin, header)
        if self.isr == [self.node_id]:
            self.log.maybe_update_high_watermark(self.log.log_end_offset)
        self.wake_waiters()
        return info

    def wake_waiters(self) -> None:
        for event in self.waiters:
            event.set()
        self.waiters.clear()


class ReplicaManager:
    """Every partition replica on this broker, by topic-partition and by topic id."""

    def __init__(
        self,
        node_id: int,
        logs: LogManager,
        topic_config: Callable[[str], LogConfig],
    ) -> None:
        self.node_id = node_id
        self.logs = logs
        self.topic_config = topic_config
        self.partitions: dict[TopicPartition, Partition] = {}
        self.topic_partitions: dict[str, dict[int, Partition]] = defaultdict(dict)

    def get(self, topic: str, partition: int) -> Partition | None:
        return self.partitions.get(TopicPartition(topic, partition))

    def leader(self, topic: str, partition: int, current_leader_epoch: int = -1) -> Partition:
        """The partition, if this broker leads it; the right Kafka error otherwise."""
        p = self.partitions.get(TopicPartition(topic, partition))
        if p is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        p.check_leader(current_leader_epoch)
        return p

    def _ensure(
        self,
        tp: TopicPartition,
        topic_id: uuid.UUID,
        leader_id: int,
        leader_epoch: int,
        partition_epoch: int,
        replicas: list[int],
        isr: list[int],
    ) -> Partition:
        p = self.partitions.get(tp)
        if p is None:
            config = self.topic_config(tp.topic)
            replica_log = self.logs.get_or_create_log(tp, config, topic_id)
            # A log opened at start-up took the broker defaults: give it the topic's own.
            replica_log.update_config(config)
            p = Partition(
                tp=tp,
                topic_id=topic_id,
                log=replica_log,
                leader_id=leader_id,
                leader_epoch=leader_epoch,
                partition_epoch=partition_epoch,
                replicas=list(replicas),
                isr=list(isr),
                node_id=self.node_id,
            )
            self.partitions[tp] = p
            self.topic_partitions[tp.topic][tp.partition] = p
        else:
            p.leader_id = leader_id
            p.leader_epoch = leader_epoch
            p.partition_epoch = partition_epoch
            p.replicas = list(replicas)
            p.isr = list(isr)
        return p

    def become_leader(
        self,
        tp: TopicPartition,
        topic_id: uuid.UUID,
        leader_epoch: int,
        partition_epoch: int,
        replicas: list[int],
        isr: list[int],
    ) -> Partition:
        p = self._ensure(tp, topic_id, self.node_id, leader_epoch, partition_epoch, replicas, isr)
        # Everything in the log is below the new epoch's start: record where it begins.
        p.log.maybe_assign_epoch_start_offset(leader_epoch, p.log.log_end_offset)
        if p.isr == [self.node_id]:
            p.log.maybe_update_high_watermark(p.log.log_end_offset)
        # Fetches parked on this partition must see the new epoch.
        p.wake_waiters()
        log.info("leader of %s at epoch %d", tp, leader_epoch)
        return p

    def become_follower(
        self,
        tp: TopicPartition,
        topic_id: uuid.UUID,
        leader_id: int,
        leader_epoch: int,
        partition_epoch: int,
        replicas: list[int],
        isr: list[int],
    ) -> Partition:
        p = self._ensure(tp, topic_id, leader_id, leader_epoch, partition_epoch, replicas, isr)
        p.wake_waiters()
        log.info("follower of %s (leader %d, epoch %d)", tp, leader_id, leader_epoch)
        return p

    def remove(self, tp: TopicPartition, *, delete: bool) -> None:
        p = self.partitions.pop(tp, None)
        if p is None:
            return
        self.topic_partitions[tp.topic].pop(tp.partition, None)
        if not self.topic_partitions[tp.topic]:
            del self.topic_partitions[tp.topic]
        p.wake_waiters()
        if delete:
            self.logs.delete_log(tp)
        log.info("%s %s", "deleted" if delete else "stopped", tp)

    def update_topic_config(self, topic: str) -> None:
        self.logs.update_config(topic, self.topic_config(topic))

    def waiter(self, partitions: Iterable[Partition]) -> trio.Event:
        """An event set by the next append to any of ``partitions`` (or a leadership change)."""
        event = trio.Event()
        for p in partitions:
            p.waiters.add(event)
        return event

    def forget_waiter(self, event: trio.Event, partitions: Iterable[Partition]) -> None:
        for p in partitions:
            p.waiters.discard(event)

    def high_watermarks(self) -> dict[TopicPartition, int]:
        return {tp: p.log.high_watermark for tp, p in self.partitions.items()}
