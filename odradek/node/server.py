"""A node's life: start-up, serving, and a clean shutdown.

One process is one node, with the roles ``process.roles`` names: ``controller``,
``broker``, or both (combined, the embedded default). The order of start-up is the order
of dependencies (Kafka's ``KafkaRaftServer``, ``ControllerServer`` and ``BrokerServer``):

1. the log directories are checked against ``meta.properties`` (the embedded default
   formats them on its first start);
2. a broker opens its partition logs, recovering any that did not shut down cleanly;
3. the node's replica of the metadata log starts (:mod:`odradek.node.quorum`): a voter
   if the node is a controller, an observer if it is only a broker. Its committed
   batches are replayed into the controller and, through a
   :class:`~odradek.metadata.loader.MetadataLoader`, into the broker, which opens or
   deletes partitions as the records say; the controller whose replica leads the log
   is the active controller;
4. a controller opens its controller listeners at once: the quorum needs them to elect
   a leader, and brokers need them to register;
5. a broker starts its group coordinator, registers with the active controller and
   heartbeats until the controller unfences it and its own copy of the metadata shows
   it unfenced, and only then opens its client listeners, so no client sees a broker
   that is not ready or a cluster without it (a listener on port 0 is bound before
   registering, as in Kafka, so that the port it got is the one registered; its
   requests wait until the broker serves);
6. the metrics endpoint starts, and the log manager's periodic duties run;
7. what start-up built (the protocol modules, the metadata image, the open logs) is
   collected once and frozen (:func:`freeze_startup_objects`), so that the cyclic
   garbage collector's full passes no longer walk it while the node serves.

SIGTERM or SIGINT start a clean shutdown: client listeners close, the broker asks the
controller for a controlled shutdown, a controller leading the metadata log resigns so
that the others elect a new leader at once, then every log is flushed, checkpointed and
marked clean, so the next start opens without recovery. SIGKILL skips all of that; the
next start recovers from the checkpoints, and every acknowledged record is there because
each was written to the log before it was acknowledged.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
import resource
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import trio

from odradek.broker import handlers as _handlers  # noqa: F401  (registers every handler)
from odradek.broker.broker import Broker, ControllerChannel
from odradek.broker.dispatch import Dispatcher
from odradek.broker.groups import consumer_lag
from odradek.controller.features import supported_features
from odradek.metadata.image import MetadataImage
from odradek.node.broker_lifecycle import BrokerLifecycle
from odradek.node.config import BrokerConfig
from odradek.node.config.listeners import Endpoint
from odradek.node.controller_apis import CONTROLLER_REGISTRY, ControllerApi, ControllerApis
from odradek.node.controller_registration import run_controller_registration
from odradek.node.controller_service import ControllerService
from odradek.node.format import format_directories, formatted_cluster_id, new_cluster_id
from odradek.node.kafka_client import ClientSettings
from odradek.node.metrics import Metrics, serve_metrics
from odradek.node.network import Connection, FrameHandler, serve_listener
from odradek.node.quorum import MetadataPublisher, PeerNetwork, RaftDriver
from odradek.node.quorum import describe_quorum as _describe_quorum  # noqa: F401  (registers it)
from odradek.node.quorum.channel import ActiveControllerChannel
from odradek.node.quorum.raft_apis import controller_nodes, raft_api_handlers
from odradek.node.quorum.snapshots import SnapshotGenerator
from odradek.node.remote_controller import (
    FORWARDING_RETRY_TIMEOUT_S,
    RemoteController,
    controller_client_settings,
    voter_addresses,
)
from odradek.raft.config import QuorumConfig
from odradek.raft.file_log import METADATA_LOG_CONFIG
from odradek.storage.config import LogConfig
from odradek.storage.log_manager import LogManager, ManagerSchedule
from odradek.storage.meta_properties import read_meta_properties

log = logging.getLogger(__name__)


#: How often the log manager's periodic duties are looked at.
TICK_S = 1.0
#: How long a clean shutdown waits for the controller to move leaderships away.
CONTROLLED_SHUTDOWN_S = 30.0
#: How long a leader of the metadata log, shutting down, waits for the voters to hear it resign.
RESIGN_S = 2.0
#: How long a combined node's broker waits for its controller, the only voter, to lead.
ACTIVE_CONTROLLER_WAIT_S = 30.0


def time_ms() -> int:
    return time.time_ns() // 1_000_000


def _raise_open_file_limit() -> None:
    # Each connection and each segment holds file descriptors; take what the system allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start(config: BrokerConfig, *, embedded: bool) -> int:
    """Run a node until a signal stops it; the ``odradek start`` command."""
    if not config.quorum_voters:
        # A quorum found through controller.quorum.bootstrap.servers alone is a dynamic
        # one (KIP-853), whose voters are recorded in the log itself.
        log.error(
            "controller.quorum.voters must name the controllers: a dynamic quorum "
            "(controller.quorum.bootstrap.servers alone) is not supported"
        )
        return 2
    cluster_id = formatted_cluster_id(config)
    if cluster_id is None:
        if not embedded:
            dirs = ", ".join(config.log_dirs)
            log.error("the log directories (%s) are not formatted: run odradek format", dirs)
            return 2
        cluster_id = new_cluster_id()
        for d in format_directories(config, cluster_id):
            log.info("formatted %s for the new cluster %s", d, cluster_id)
    _raise_open_file_limit()
    trio.run(run_node, config, cluster_id)
    return 0


async def run_node(
    config: BrokerConfig,
    cluster_id: str,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve in the node's roles until SIGTERM or SIGINT."""
    metrics = Metrics()
    logs = _open_logs(config, cluster_id) if config.is_broker else None
    raft = _metadata_log_replica(config, cluster_id)
    controller: ControllerService | None = None
    if config.is_controller:
        controller = ControllerService(config, cluster_id, time_ms)
        controller.attach(raft)
        if not config.is_broker:
            committed = controller.controller
            raft.add_listener(_snapshot_generator(config, raft, lambda: committed.committed_image))
    lifecycle: BrokerLifecycle | None = None
    idle_s = config.get("connections.max.idle.ms") / 1000

    async def serve(
        endpoint: Endpoint, handler: FrameHandler, task_status: trio.TaskStatus[int]
    ) -> None:
        await serve_listener(
            endpoint.listener,
            endpoint.host or "0.0.0.0",
            endpoint.port,
            handler,
            max_frame=config.socket_request_max_bytes,
            idle_timeout_s=idle_s,
            task_status=task_status,
        )

    try:
        async with trio.open_nursery() as nursery:
            channels = _controller_channels(config, controller, raft, nursery)
            broker: Broker | None = None
            if channels is not None and logs is not None:
                # Before the replica runs: the broker's publisher must see every commit.
                broker, lifecycle = _open_broker(config, cluster_id, logs, raft, channels, metrics)
            await nursery.start(raft.run)
            async with trio.open_nursery() as controller_side:
                if controller is not None:
                    nursery.start_soon(controller.run_session_timer)
                    controller_apis = ControllerApis(
                        controller,
                        config,
                        cluster_id,
                        metrics,
                        active_controller_id=lambda: _active_controller_id(raft),
                        apis={**CONTROLLER_REGISTRY, **_raft_apis(config, raft)},
                    )
                    bound: dict[str, int] = {}
                    for endpoint in config.listeners:
                        if endpoint.listener in config.controller_listener_names:
                            bound[endpoint.listener] = await controller_side.start(
                                serve, endpoint, controller_apis
                            )
                    nursery.start_soon(run_controller_registration, config, controller, raft, bound)
                if config.metrics_listener is not None:
                    host, port = config.metrics_listener
                    await controller_side.start(serve_metrics, metrics, host, port)
                serving_scope = trio.CancelScope()
                nursery.start_soon(_stop_on_signal, serving_scope)
                with serving_scope:
                    async with trio.open_nursery() as serving:
                        if broker is not None and lifecycle is not None:
                            assert logs is not None
                            await nursery.start(broker.groups.run)
                            # As in Kafka, a listener on port 0 is bound before the broker
                            # registers, so that it advertises the port it got; requests
                            # on it wait until the broker serves.
                            dispatcher = Dispatcher(broker)
                            early = _HeldUntil(dispatcher, trio.Event())
                            bound_ports = {e.listener: e.port for e in _client_listeners(config)}
                            for endpoint in _client_listeners(config):
                                if endpoint.port == 0:
                                    bound_ports[endpoint.listener] = await serving.start(
                                        serve, endpoint, early
                                    )
                            await lifecycle.register(bound_ports)
                            nursery.start_soon(lifecycle.run)
                            await lifecycle.unfenced.wait()
                            # The controller has unfenced us; wait until our own image
                            # says so too, or the first clients would be told of a
                            # cluster without this broker in it.
                            await broker.wait_unfenced_in_image(lifecycle.broker_epoch)
                            # Unfenced means caught up: only now can the image tell strays.
                            broker.handle_stray_logs()
                            early.serving.set()
                            for endpoint in _client_listeners(config):
                                if endpoint.port != 0:
                                    await serving.start(serve, endpoint, dispatcher)
                            nursery.start_soon(_tick, logs)
                        freeze_startup_objects()
                        log.info(
                            "node %d (%s) of cluster %s is serving",
                            config.node_id,
                            ",".join(sorted(config.process_roles)),
                            cluster_id,
                        )
                        task_status.started()
                        await trio.sleep_forever()
                if lifecycle is not None and lifecycle.broker_epoch >= 0:
                    await lifecycle.controlled_shutdown(CONTROLLED_SHUTDOWN_S)
                await raft.resign(RESIGN_S)
                controller_side.cancel_scope.cancel()
            nursery.cancel_scope.cancel()
    finally:
        if logs is not None:
            logs.shutdown(lifecycle.broker_epoch if lifecycle is not None else -1)
        raft.close()
        log.info("node %d stopped cleanly", config.node_id)


def _client_listeners(config: BrokerConfig) -> list[Endpoint]:
    return [e for e in config.listeners if e.listener not in config.controller_listener_names]


class _HeldUntil:
    """A broker listener's handler that holds each request until ``serving`` is set."""

    def __init__(self, handler: FrameHandler, serving: trio.Event) -> None:
        self.handler = handler
        self.serving = serving

    async def handle_frame(self, conn: Connection, frame: memoryview) -> Sequence[Any] | None:
        await self.serving.wait()
        return await self.handler.handle_frame(conn, frame)


def freeze_startup_objects() -> None:
    """Collect once, then hide every object alive from the cyclic garbage collector.

    CPython's advice for long-lived servers (``gc.freeze``): the tens of thousands of
    objects start-up leaves behind (the generated protocol modules above all) live as
    long as the process, yet each full collection would walk them all again: tens of
    milliseconds with the event loop stopped, against next to nothing once frozen.
    Collecting first leaves no garbage in the frozen set; objects frozen and later
    released are still freed by their reference counts, only cycles among them stay.
    """
    gc.collect()
    gc.freeze()


async def _stop_on_signal(serving: trio.CancelScope) -> None:
    """The first SIGTERM or SIGINT ends serving; later ones are noted, not obeyed.

    The receiver stays open until the node has stopped, so that a second signal cannot
    kill the process in the middle of its clean shutdown.
    """
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if serving.cancel_called:
                log.info("%s: already shutting down", name)
            else:
                log.info("%s: shutting down", name)
                serving.cancel()


def _active_controller_id(raft: RaftDriver) -> int:
    """The active controller is the leader of the metadata log (-1: none known)."""
    leader = raft.leader_id
    return -1 if leader is None else leader


def _metadata_log_replica(config: BrokerConfig, cluster_id: str) -> RaftDriver:
    """The node's replica of ``__cluster_metadata``: a voter if it is a controller."""
    quorum = QuorumConfig.from_properties(config.values)
    voters = {v.node_id: (v.host, v.port) for v in config.quorum_voters}
    network = PeerNetwork(
        voters,
        ClientSettings(
            client_id=f"raft-client-{config.node_id}",
            request_timeout_s=quorum.request_timeout_ms / 1000,
            connect_timeout_s=quorum.request_timeout_ms / 1000,
        ),
    )
    segment_bytes = config.get("internal.metadata.log.segment.bytes")
    return RaftDriver(
        node_id=config.node_id,
        voters=voters,
        metadata_log_dir=Path(config.metadata_log_dir),
        cluster_id=cluster_id,
        config=quorum,
        transport=network,
        time_ms=time_ms,
        log_config=dataclasses.replace(
            METADATA_LOG_CONFIG,
            segment_bytes=segment_bytes or config.get("metadata.log.segment.bytes"),
            segment_ms=config.get("metadata.log.segment.ms"),
        ),
    )


def _snapshot_generator(
    config: BrokerConfig, raft: RaftDriver, image: Callable[[], MetadataImage]
) -> SnapshotGenerator:
    """The node's snapshots of ``image``, at the limits the configuration sets."""
    return SnapshotGenerator(
        raft,
        image,
        max_bytes=config.get("metadata.log.max.record.bytes.between.snapshots"),
        max_interval_ms=config.get("metadata.log.max.snapshot.interval.ms"),
        time_ms=time_ms,
    )


def _raft_apis(config: BrokerConfig, raft: RaftDriver) -> dict[int, ControllerApi]:
    voters = {v.node_id: (v.host, v.port) for v in config.quorum_voters}
    nodes = controller_nodes(voters, config.controller_listener_names[0])
    return raft_api_handlers(raft, nodes)


def _controller_channels(
    config: BrokerConfig,
    controller: ControllerService | None,
    raft: RaftDriver,
    nursery: trio.Nursery,
) -> tuple[ControllerChannel, ControllerChannel] | None:
    """How this node's broker reaches the active controller (None: no broker here).

    Two channels, each with its own connection: one for the requests the broker
    forwards and its own (producer ids, ISR changes), given up after Kafka's forwarding
    timeout; one for registration and heartbeats, which keep trying, so that a slow
    admin request never holds up a heartbeat.
    """
    if not config.is_broker:
        return None
    only_voter = {v.node_id for v in config.quorum_voters} == {config.node_id}
    active = voter_addresses(config, lambda: raft.leader_id)

    def channel(purpose: str, retry_timeout_s: float, attempt_s: float) -> ControllerChannel:
        remote = None
        if not only_voter:
            settings = controller_client_settings(config, purpose)
            settings = dataclasses.replace(
                settings, request_timeout_s=min(settings.request_timeout_s, attempt_s)
            )
            remote = RemoteController(nursery, active, settings, retry_timeout_s=retry_timeout_s)
        if controller is None:
            assert remote is not None
            return remote
        return ActiveControllerChannel(controller, remote, wait_s=ACTIVE_CONTROLLER_WAIT_S)

    # A heartbeat stuck with a controller that stopped answering must give way to the
    # next one well within the session timeout (Kafka's KAFKA-14392: half of it).
    heartbeat_s = config.get("broker.session.timeout.ms") / 2000
    return (
        channel("forwarding", FORWARDING_RETRY_TIMEOUT_S, math.inf),
        channel("heartbeat", math.inf, heartbeat_s),
    )


def _open_logs(config: BrokerConfig, cluster_id: str) -> LogManager:
    """The broker's partition logs, opened and recovered."""
    logs = LogManager(
        [Path(d) for d in config.log_dirs],
        LogConfig.from_properties(_storage_keys(config.log_config_defaults())),
        time_ms=time_ms,
        cluster_id=cluster_id,
        node_id=config.node_id,
        producer_id_expiration_ms=config.get("producer.id.expiration.ms"),
        schedule=_schedule(config),
    )
    logs.startup()
    return logs


def _open_broker(
    config: BrokerConfig,
    cluster_id: str,
    logs: LogManager,
    raft: RaftDriver,
    channels: tuple[ControllerChannel, ControllerChannel],
    metrics: Metrics,
) -> tuple[Broker, BrokerLifecycle]:
    """The broker, its metadata publisher and its lifecycle."""
    dir_ids = []
    for d in config.log_dirs:
        meta = read_meta_properties(Path(d))
        if meta is not None and meta.directory_id is not None:
            dir_ids.append(meta.directory_id)
    broker = Broker(
        config=config,
        cluster_id=cluster_id,
        logs=logs,
        controller=channels[0],
        metrics=metrics,
        supported_features={n: (r.min, r.max) for n, r in supported_features().items()},
        time_ms=time_ms,
    )
    publisher = MetadataPublisher(broker.publish)
    raft.add_listener(publisher)
    raft.add_listener(_snapshot_generator(config, raft, lambda: publisher.image))
    lifecycle = BrokerLifecycle(
        config,
        cluster_id,
        channels[1],
        log_dir_ids=dir_ids,
        features=supported_features(),
        applied_offset=lambda: broker.image.provenance.last_offset,
    )
    metrics.watch_consumer_lag(lambda: consumer_lag(broker.groups, broker.replicas))
    metrics.watch_log_cleaner(logs.uncleanable_partition_counts)
    return broker, lifecycle


async def _tick(logs: LogManager) -> None:
    # Compaction copies in a worker thread; cancelling this task waits for it, so the logs
    # are never closed under it.
    async with trio.open_nursery() as cleaning:
        cleaning.start_soon(logs.run_cleaner, TICK_S)
        while True:
            await trio.sleep(TICK_S)
            logs.tick(time_ms())


def _schedule(config: BrokerConfig) -> ManagerSchedule:
    """The log manager's periodic duties, at the intervals the broker configs give."""
    return ManagerSchedule(
        retention_check_interval_ms=config.get("log.retention.check.interval.ms"),
        flush_check_interval_ms=config.get("log.flush.scheduler.interval.ms"),
        recovery_point_checkpoint_interval_ms=config.get("log.flush.offset.checkpoint.interval.ms"),
        log_start_offset_checkpoint_interval_ms=config.get(
            "log.flush.start.offset.checkpoint.interval.ms"
        ),
        producer_expiration_check_interval_ms=config.get(
            "producer.id.expiration.check.interval.ms"
        ),
        cleaner_backoff_ms=config.get("log.cleaner.backoff.ms"),
        cleaner_enabled=config.get("log.cleaner.enable"),
    )


def _storage_keys(values: dict[str, object]) -> dict[str, object]:
    """The topic configs the storage engine itself acts on."""
    known = set(LogConfig().to_properties())
    return {k: v for k, v in values.items() if k in known}
