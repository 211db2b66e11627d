"""``__consumer_offsets``: the internal topic that holds every group's state.

Kafka creates it the first time a client looks for a group coordinator
(``KafkaApis.getCoordinator`` through the ``AutoTopicCreationManager``), with
``offsets.topic.num.partitions`` partitions (a group lives in partition
``abs(groupId.hashCode) % partitions``), ``offsets.topic.replication.factor``
replicas, and the topic configs of ``GroupCoordinatorService.groupMetadataTopicConfigs``:

* ``cleanup.policy=compact`` -- only the latest record of each key matters, and a
  tombstone deletes it;
* ``compression.type=producer`` -- batches are stored as the coordinator compressed
  them (``offsets.topic.compression.codec``);
* ``segment.bytes=offsets.topic.segment.bytes`` (100 MiB by default), smaller than
  ordinary topics' so that compaction has closed segments to work on.

Until its partitions have leaders, FindCoordinator answers COORDINATOR_NOT_AVAILABLE
and clients retry.

Docs: ``docs/design.html`` ("Consumer Offset Tracking"), ``docs/generated/kafka_config.html``.
"""

from __future__ import annotations

from odradek.metadata.topic_names import GROUP_METADATA_TOPIC_NAME
from odradek.node.config import BrokerConfig
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)

OFFSETS_TOPIC = GROUP_METADATA_TOPIC_NAME
#: How long the controller may take to create it.
CREATE_TIMEOUT_MS = 30_000


def topic_configs(config: BrokerConfig) -> dict[str, str]:
    """The topic configs ``__consumer_offsets`` is created with."""
    return {
        "cleanup.policy": "compact",
        "compression.type": "producer",
        "segment.bytes": str(config.get("offsets.topic.segment.bytes")),
    }


def create_request(config: BrokerConfig) -> CreateTopicsRequest:
    """The CreateTopics request a broker sends its controller for ``__consumer_offsets``."""
    return CreateTopicsRequest(
        topics=[
            CreatableTopic(
                name=OFFSETS_TOPIC,
                num_partitions=config.get("offsets.topic.num.partitions"),
                replication_factor=config.get("offsets.topic.replication.factor"),
                configs=[
                    CreatableTopicConfig(name=k, value=v) for k, v in topic_configs(config).items()
                ],
            )
        ],
        timeout_ms=CREATE_TIMEOUT_MS,
    )
