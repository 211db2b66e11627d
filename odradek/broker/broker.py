"""One broker's state, shared by its request handlers.

A broker knows the cluster only through the metadata image: :meth:`Broker.publish`
receives each new image with the delta that produced it (Kafka's
``BrokerMetadataPublisher``) and acts on what changed for this broker -- partitions
to lead, to follow or to delete, topic configs to reload. Handlers read the image
for metadata questions and the :class:`~odradek.broker.replicas.ReplicaManager` for
data.

Logs on disk that the metadata does not give this broker are *strays* (KIP-858): their
topic was deleted, or their partition moved away, while the broker could not hear of it.
Once the image has caught up after start-up (the controller unfences a broker only then),
:meth:`Broker.handle_stray_logs` moves every such log aside, as Kafka's
``BrokerMetadataPublisher`` does with ``LogManager.isStrayReplica`` on its first image; a
log found under the name of a partition the image gives another topic id is moved aside
as soon as the partition is, before the new topic's log is created.

The group coordinator (:mod:`odradek.broker.groups`) follows the same deltas: it
runs a shard for each ``__consumer_offsets`` partition this broker leads.

Requests that change metadata (creating topics, altering configs, ...) are not
decided here: the broker passes them to the active controller through its
:class:`ControllerChannel` and answers with what the controller answered, as Kafka
brokers forward such requests.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import trio

from odradek.broker.fetch_sessions import FetchSessionCache
from odradek.broker.groups import GroupCoordinatorService
from odradek.broker.producer_ids import ProducerIdManager
from odradek.broker.replicas import ReplicaManager
from odradek.metadata.delta import MetadataDelta
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage
from odradek.metadata.topics import TopicsImage
from odradek.node.config import BrokerConfig
from odradek.storage.checkpoints import TopicPartition
from odradek.storage.config import LogConfig
from odradek.storage.log_manager import LogManager

log = logging.getLogger(__name__)


class ControllerChannel(Protocol):
    """How a broker reaches the active controller."""

    async def call(self, api_key: int, api_version: int, request: Any) -> Any:
        """Send ``request`` to the active controller and return its response."""
        ...


class BrokerMetrics(Protocol):
    def observe_request(self, api: str, seconds: float) -> None: ...

    def record_produce(self, topic: str, size: int, records: int) -> None: ...

    def record_fetch(self, topic: str, size: int) -> None: ...

    def forget_topic(self, topic: str) -> None: ...

    def set_partition_count(self, count: int) -> None: ...


@dataclass
class Features:
    """Feature versions for ApiVersions: supported ranges and finalized levels."""

    supported: dict[str, tuple[int, int]] = field(default_factory=dict)
    finalized: dict[str, int] = field(default_factory=dict)
    epoch: int = -1


class Broker:
    def __init__(
        self,
        *,
        config: BrokerConfig,
        cluster_id: str,
        logs: LogManager,
        controller: ControllerChannel,
        metrics: BrokerMetrics,
        supported_features: dict[str, tuple[int, int]],
        time_ms: Callable[[], int],
    ) -> None:
        self.config = config
        self.node_id = config.node_id
        self.cluster_id = cluster_id
        self.logs = logs
        self.controller = controller
        self.metrics = metrics
        self.time_ms = time_ms
        self.image = EMPTY_IMAGE
        #: Set, and replaced by a fresh one, at every published image.
        self._published = trio.Event()
        self.features = Features(supported=dict(supported_features))
        self.replicas = ReplicaManager(self.node_id, logs, self.topic_config)
        self.fetch_sessions = FetchSessionCache(
            random.Random(), max_slots=config.get("max.incremental.fetch.session.cache.slots")
        )
        self._log_defaults = config.log_config_defaults()
        self._settings_cache: dict[str, _TopicSettings] = {}
        self.producer_ids = ProducerIdManager(self.node_id, controller, self.broker_epoch, time_ms)
        self.groups = GroupCoordinatorService(
            config=config, replicas=self.replicas, controller=controller, time_ms=time_ms
        )

    def broker_epoch(self) -> int:
        """This broker's epoch in the metadata image (-1 until its registration is replayed)."""
        registration = self.image.cluster.broker(self.node_id)
        return -1 if registration is None else registration.epoch

    async def wait_unfenced_in_image(self, broker_epoch: int) -> None:
        """Until this broker's own image shows its registration of ``broker_epoch``
        unfenced: from then on its Metadata answers list itself.

        The epoch matters after a restart: the log replayed at start-up may hold the
        previous incarnation's registration, still unfenced.
        """
        while True:
            registration = self.image.cluster.broker(self.node_id)
            if (
                registration is not None
                and registration.epoch == broker_epoch
                and not registration.fenced
            ):
                return
            await self._published.wait()

    # --- what handlers ask -----------------------------------------------------------

    def topic_configs(self, topic: str) -> dict[str, Any]:
        """The effective value of every topic config key of ``topic``."""
        values = dict(self._log_defaults)
        values.update(self.image.configs.topic(topic))
        return values

    def _settings(self, topic: str) -> _TopicSettings:
        # Asked on every produce; worked out once per topic until configs change.
        cached = self._settings_cache.get(topic)
        if cached is None:
            values = self.topic_configs(topic)
            cached = _TopicSettings(
                LogConfig.from_properties({k: values[k] for k in _STORAGE_KEYS if k in values}),
                int(values["min.insync.replicas"]),
            )
            self._settings_cache[topic] = cached
        return cached

    def topic_config(self, topic: str) -> LogConfig:
        """The storage engine's part of ``topic``'s configs."""
        return self._settings(topic).log_config

    def min_insync_replicas(self, topic: str) -> int:
        return self._settings(topic).min_insync_replicas

    def topic_name(self, topic_id: uuid.UUID) -> str | None:
        topic = self.image.topics.get(topic_id)
        return topic.name if topic is not None else None

    def topic_id(self, name: str) -> uuid.UUID:
        topic = self.image.topics.get_by_name(name)
        return topic.topic_id if topic is not None else uuid.UUID(int=0)

    # --- metadata --------------------------------------------------------------------

    def publish(self, delta: MetadataDelta, image: MetadataImage) -> None:
        """Act on a new metadata image: the partitions, configs and features it changed."""
        self.image = image
        self._published.set()
        self._published = trio.Event()
        features = image.features
        self.features.finalized = dict(features.finalized())
        self.features.epoch = image.provenance.last_offset
        if delta.topics is not None:
            changes = delta.local_changes(self.node_id)
            for tp in changes.deletes:
                self.replicas.remove(tp, delete=True)
            for tp, info in (*changes.leaders.items(), *changes.followers.items()):
                self._move_aside_other_topic(tp, info.topic_id)
            for tp, info in changes.leaders.items():
                reg = info.partition
                self.replicas.become_leader(
                    tp,
                    info.topic_id,
                    reg.leader_epoch,
                    reg.partition_epoch,
                    list(reg.replicas),
                    list(reg.isr),
                )
            for tp, info in changes.followers.items():
                reg = info.partition
                self.replicas.become_follower(
                    tp,
                    info.topic_id,
                    reg.leader,
                    reg.leader_epoch,
                    reg.partition_epoch,
                    list(reg.replicas),
                    list(reg.isr),
                )
            self.groups.on_metadata(delta.topics, image, changes)
            for topic_id in delta.topics.deleted_topic_ids:
                self.metrics.forget_topic(delta.topics.image.by_id[topic_id].name)
        if delta.configs is not None:
            # Broker-wide defaults may have changed too: forget every topic's settings.
            self._settings_cache.clear()
            for topic in delta.configs.changed_topics():
                self.replicas.update_topic_config(topic)
        self.metrics.set_partition_count(len(self.replicas.partitions))

    # --- stray logs (KIP-858) ---------------------------------------------------------

    def handle_stray_logs(self) -> list[TopicPartition]:
        """Move aside every log the image does not give this broker; returns their partitions.

        Call it once the image has caught up with the metadata log after start-up: an
        image behind the log would take live partitions for strays.
        """
        strays = []
        for tp, replica_log in list(self.logs.logs.items()):
            reason = stray_reason(self.node_id, self.image.topics, tp, replica_log.topic_id)
            if reason is not None:
                self._move_aside(tp, reason)
                strays.append(tp)
        if strays:
            self.metrics.set_partition_count(len(self.replicas.partitions))
        return strays

    def _move_aside_other_topic(self, tp: TopicPartition, topic_id: uuid.UUID) -> None:
        """A log left by an earlier topic of the same name must not become the new one's."""
        if tp in self.replicas.partitions:
            return
        replica_log = self.logs.get_log(tp)
        if replica_log is not None and replica_log.topic_id not in (None, topic_id):
            self._move_aside(
                tp, f"the partition now belongs to topic id {topic_id}, not {replica_log.topic_id}"
            )

    def _move_aside(self, tp: TopicPartition, reason: str) -> None:
        self.replicas.remove(tp, delete=False)
        target = self.logs.move_aside_stray(tp)
        log.warning("stray log of %s (%s): renamed %s", tp, reason, target)


def stray_reason(
    node_id: int, topics: TopicsImage, tp: TopicPartition, topic_id: uuid.UUID | None
) -> str | None:
    """Why the local log of ``tp`` is a stray, or None if the image gives it to ``node_id``.

    Kafka's ``LogManager.isStrayReplica``: a log without a topic id (it never got data,
    since the id is written before the first append), or whose topic id is not in the
    image, or whose partition's replicas do not name this broker.
    """
    if topic_id is None:
        return "it has no topic id"
    topic = topics.get(topic_id)
    if topic is None:
        return f"topic id {topic_id} is not in the metadata"
    partition = topic.partitions.get(tp.partition)
    if partition is None:
        return f"topic id {topic_id} has no partition {tp.partition}"
    if node_id not in partition.replicas:
        return f"its replicas {list(partition.replicas)} do not include broker {node_id}"
    return None


_STORAGE_KEYS = frozenset(LogConfig().to_properties())


class _TopicSettings(NamedTuple):
    log_config: LogConfig
    min_insync_replicas: int
