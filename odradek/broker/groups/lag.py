"""Consumer lag: how far each group's committed offset trails its partition's end.

What ``kafka-consumer-groups --describe`` shows as LAG (the committed offset of an
OffsetFetch against the high watermark of a ListOffsets) and what Prometheus
exporters for Kafka publish as ``kafka_consumergroup_lag``, computed here from the
coordinator's own state: every committed offset of the shards this broker runs,
against the high watermark of that partition's replica on this broker. A partition
with no replica here is left out (another broker would have to be asked); a
committed offset past the high watermark counts as no lag.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from odradek.broker.replicas import ReplicaManager

from .service import GroupCoordinatorService


@dataclass(frozen=True, slots=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed_offset: int
    high_watermark: int

    @property
    def lag(self) -> int:
        return max(self.high_watermark - self.committed_offset, 0)


def consumer_lag(
    groups: GroupCoordinatorService, replicas: ReplicaManager
) -> Iterator[PartitionLag]:
    """The lag of every committed offset whose partition has a replica on this broker."""
    for group, topic, partition, committed in groups.committed_offsets():
        replica = replicas.get(topic, partition)
        if replica is not None:
            yield PartitionLag(group, topic, partition, committed, replica.log.high_watermark)
