"""The group coordinator of a broker: which shards it runs, and where each request goes.

Kafka's ``GroupCoordinatorService`` in front of its ``CoordinatorRuntime``. The
broker runs one :class:`~.runner.ShardRunner` per partition of ``__consumer_offsets``
it leads, and only those: the metadata publisher tells it
(:meth:`GroupCoordinatorService.on_metadata`) when it becomes leader of one -- a new
leader epoch loads a fresh shard from the log -- and when it stops leading one,
which unloads that shard.

Routing (``GroupCoordinatorService.topicPartitionFor``): a request about group *g*
goes to the shard of partition ``partition_for(g, n)``, *n* being the partition
count of ``__consumer_offsets`` (``offsets.topic.num.partitions`` until the topic
exists). No shard here means another broker coordinates the group:
NOT_COORDINATOR, and the client asks FindCoordinator again. Requests naming several
groups (DescribeGroups, DeleteGroups, OffsetFetch v8+, ConsumerGroupDescribe) are
split by shard and the answers concatenated, shard by shard, as Kafka does;
ListGroups asks every shard.

Metadata changes reach every shard: new topic partitions for consumer groups'
subscriptions (:meth:`~odradek.coordinator.group.GroupCoordinatorShard.update_topics`)
and deleted topics, whose committed offsets are deleted.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

import trio

from odradek.broker.replicas import ReplicaManager
from odradek.coordinator.group import (
    Caller,
    GroupCoordinatorConfig,
    GroupCoordinatorShard,
    Response,
    TopicsView,
    error_response,
    partition_for,
)
from odradek.coordinator.group.error_responses import Request
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage
from odradek.metadata.topics import LocalReplicaChanges, TopicsDelta
from odradek.node.config import BrokerConfig
from odradek.protocol.errors import ErrorCode, KafkaError

from . import offsets_topic
from .runner import Command, RunnerSettings, RunnerStatus, ShardRunner

if TYPE_CHECKING:
    from odradek.broker.broker import ControllerChannel
    from odradek.broker.context import RequestContext

log = logging.getLogger(__name__)

CREATE_TOPICS = 19
CREATE_TOPICS_VERSION = 7

R = TypeVar("R", bound=Request)


class GroupCoordinatorService:
    """The shards of the ``__consumer_offsets`` partitions this broker leads."""

    def __init__(
        self,
        *,
        config: BrokerConfig,
        replicas: ReplicaManager,
        controller: ControllerChannel,
        time_ms: Callable[[], int],
    ) -> None:
        self.config = config
        self.settings = GroupCoordinatorConfig.from_properties(config.values)
        self.rebalance_protocols = frozenset(
            p.strip().lower() for p in config.get("group.coordinator.rebalance.protocols")
        )
        self._replicas = replicas
        self._controller = controller
        self._runner_settings = RunnerSettings(
            time_ms=time_ms,
            compression=config.get("offsets.topic.compression.codec"),
            commit_timeout_ms=config.get("offsets.commit.timeout.ms"),
            load_buffer_size=config.get("offsets.load.buffer.size"),
        )
        self._configured_partitions: int = config.get("offsets.topic.num.partitions")
        self.num_partitions = self._configured_partitions
        self._topics: TopicsView = EMPTY_IMAGE.topics
        self._runners: dict[int, ShardRunner] = {}
        self._handles = itertools.count()
        self._nursery: trio.Nursery | None = None
        self._creating_topic = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the shards (those known already, and every later one) until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for runner in self._runners.values():
                nursery.start_soon(runner.run)
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None
                for runner in self._runners.values():
                    runner.stop()

    # -- metadata ----------------------------------------------------------------------

    def on_metadata(
        self, delta: TopicsDelta, image: MetadataImage, changes: LocalReplicaChanges
    ) -> None:
        """Act on a metadata change: shards to load or unload, topics for the shards."""
        self._topics = image.topics
        topic = image.topics.get_by_name(offsets_topic.OFFSETS_TOPIC)
        self.num_partitions = (
            len(topic.partitions) if topic is not None else self._configured_partitions
        )
        name = offsets_topic.OFFSETS_TOPIC
        for tp in changes.deletes:
            if tp.topic == name:
                self._resign(tp.partition)
        for tp in changes.followers:
            if tp.topic == name:
                self._resign(tp.partition)
        for tp in changes.elected_leaders:
            if tp.topic == name:
                self._elect(tp.partition)
        deleted = [
            (t.name, p)
            for topic_id in delta.deleted_topic_ids
            if (t := delta.image.get(topic_id)) is not None
            for p in t.partitions
        ]
        for runner in self._runners.values():
            runner.update_topics(image.topics)
            if deleted:
                runner.on_partitions_deleted(deleted)

    def _elect(self, index: int) -> None:
        partition = self._replicas.get(offsets_topic.OFFSETS_TOPIC, index)
        if partition is None or not partition.is_leader:
            return
        old = self._runners.get(index)
        if (
            old is not None
            and old.partition is partition
            and old.leader_epoch == partition.leader_epoch
            and old.status in (RunnerStatus.LOADING, RunnerStatus.ACTIVE)
        ):
            return
        if old is not None:
            old.stop()
        runner = ShardRunner(
            partition=partition,
            shard=GroupCoordinatorShard(
                topics=self._topics,
                new_member_suffix=lambda: str(uuid.uuid4()),
                config=self.settings,
            ),
            replicas=self._replicas,
            settings=self._runner_settings,
            on_failure=self._replace,
        )
        self._runners[index] = runner
        if self._nursery is not None:
            self._nursery.start_soon(runner.run)

    def _resign(self, index: int) -> None:
        runner = self._runners.pop(index, None)
        if runner is not None:
            runner.stop()
            log.info("no longer group coordinator for %s", runner.partition.tp)

    def _replace(self, runner: ShardRunner) -> None:
        """An append failed: unload the shard and load it again from the log."""
        runner.stop()
        if self._runners.get(runner.partition_index) is runner:
            del self._runners[runner.partition_index]
            self._elect(runner.partition_index)

    # -- the offsets topic -------------------------------------------------------------

    def coordinator_partition(self, group_id: str) -> int:
        return partition_for(group_id, self.num_partitions)

    def ensure_offsets_topic(self) -> None:
        """Ask the controller for ``__consumer_offsets``, once at a time, in the background."""
        if self._creating_topic or self._nursery is None:
            return
        self._creating_topic = True
        self._nursery.start_soon(self._create_offsets_topic)

    async def _create_offsets_topic(self) -> None:
        try:
            response = await self._controller.call(
                CREATE_TOPICS, CREATE_TOPICS_VERSION, offsets_topic.create_request(self.config)
            )
            for result in response.topics:
                if result.error_code not in (ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS):
                    log.warning(
                        "could not create %s: error %d %s",
                        result.name,
                        result.error_code,
                        result.error_message or "",
                    )
                else:
                    log.info("created %s", result.name)
        except KafkaError as e:
            log.warning("could not create %s: %s", offsets_topic.OFFSETS_TOPIC, e)
        finally:
            self._creating_topic = False

    # -- requests ----------------------------------------------------------------------

    def caller(self, ctx: RequestContext) -> Caller:
        """Who sent the request in ``ctx``; the handle is unique to this broker."""
        return Caller(
            handle=next(self._handles),
            api_version=ctx.api_version,
            client_id=ctx.client_id or "",
            client_host="/" + ctx.client.peer_host,
        )

    async def call(
        self, ctx: RequestContext, group_id: str, command: Command, request: R
    ) -> Response:
        """Run ``command`` on the shard of ``group_id`` and return its reply."""
        return await self.call_shard(ctx, self.coordinator_partition(group_id), command, request)

    async def call_shard(
        self, ctx: RequestContext, index: int, command: Command, request: R
    ) -> Response:
        caller = self.caller(ctx)
        runner = self._runners.get(index)
        if runner is None:
            return error_response(request, caller, ErrorCode.NOT_COORDINATOR)
        return await runner.submit(command, caller, request)

    async def scatter(
        self,
        ctx: RequestContext,
        group_ids: Sequence[str],
        make_request: Callable[[list[str]], R],
        command: Command,
    ) -> list[Response]:
        """A request naming ``group_ids``, split by shard; the answers in shard order."""
        by_shard: dict[int, list[str]] = {}
        for group_id in group_ids:
            by_shard.setdefault(self.coordinator_partition(group_id), []).append(group_id)
        responses: dict[int, Response] = {}

        async def one(index: int, groups: list[str]) -> None:
            responses[index] = await self.call_shard(ctx, index, command, make_request(groups))

        if len(by_shard) == 1:
            [(index, groups)] = by_shard.items()
            await one(index, groups)
        else:
            async with trio.open_nursery() as nursery:
                for index, groups in by_shard.items():
                    nursery.start_soon(one, index, groups)
        return [responses[index] for index in by_shard]

    async def broadcast(self, ctx: RequestContext, command: Command, request: R) -> list[Response]:
        """``request`` answered by every shard of this broker, in partition order."""
        return [
            await self.call_shard(ctx, index, command, request) for index in sorted(self._runners)
        ]

    # -- reading -----------------------------------------------------------------------

    def committed_offsets(self) -> Iterator[tuple[str, str, int, int]]:
        """Every committed offset of the loaded shards: (group, topic, partition, offset)."""
        for runner in list(self._runners.values()):
            if runner.status is RunnerStatus.ACTIVE:
                for group_id, topic, partition, offset in runner.shard.offsets():
                    yield group_id, topic, partition, offset.offset

    def shard_statuses(self) -> dict[int, RunnerStatus]:
        return {index: runner.status for index, runner in self._runners.items()}

    def __repr__(self) -> str:
        return f"GroupCoordinatorService({len(self._runners)} shards)"
