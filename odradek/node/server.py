"""A node's life: start-up, serving, and a clean shutdown.

The order of start-up is the order of dependencies (Kafka's ``KafkaRaftServer``,
``ControllerServer`` and ``BrokerServer``):

1. the log directories are checked against ``meta.properties`` (the embedded default
   formats them on its first start);
2. the partition logs are opened, recovering any that did not shut down cleanly;
3. the metadata log is replayed into the controller and, through a
   :class:`~odradek.metadata.loader.MetadataLoader`, into the broker, which opens or
   deletes partitions as the records say; then the controller takes leadership;
   the group coordinator loads the ``__consumer_offsets`` partitions the broker leads;
4. the broker registers and heartbeats until the controller unfences it, and only
   then opens its client listeners, so no client sees a broker that is not ready;
5. the metrics endpoint starts, and the log manager's periodic duties run.

SIGTERM or SIGINT start a clean shutdown: listeners close, the broker asks the
controller for a controlled shutdown, then every log is flushed, checkpointed and
marked clean, so the next start opens without recovery. SIGKILL skips all of that;
the next start recovers from the checkpoints, and every acknowledged record is there
because each was written to the log before it was acknowledged.
"""

from __future__ import annotations

import logging
import resource
import signal
import time
from pathlib import Path

import trio

from odradek.broker import handlers as _handlers  # noqa: F401  (registers every handler)
from odradek.broker.broker import Broker
from odradek.broker.dispatch import Dispatcher
from odradek.broker.groups import consumer_lag
from odradek.broker.handlers.api_versions import CONTROLLER_LISTENER_APIS
from odradek.controller.features import supported_features
from odradek.metadata.loader import MetadataLoader
from odradek.metadata.serde import MetadataBatch
from odradek.node.broker_lifecycle import BrokerLifecycle
from odradek.node.config import BrokerConfig
from odradek.node.controller_service import ControllerService
from odradek.node.format import format_directories, formatted_cluster_id, new_cluster_id
from odradek.node.metadata_log import SingleVoterLog
from odradek.node.metrics import Metrics, serve_metrics
from odradek.node.network import serve_listener
from odradek.storage.config import LogConfig
from odradek.storage.log_manager import LogManager, ManagerSchedule
from odradek.storage.meta_properties import read_meta_properties

log = logging.getLogger(__name__)

#: How often the log manager's periodic duties are looked at.
TICK_S = 1.0
#: How long a clean shutdown waits for the controller to move leaderships away.
CONTROLLED_SHUTDOWN_S = 30.0


def time_ms() -> int:
    return time.time_ns() // 1_000_000


def _raise_open_file_limit() -> None:
    # Each connection and each segment holds file descriptors; take what the system allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start(config: BrokerConfig, *, embedded: bool) -> int:
    """Run a node until a signal stops it; the ``odradek start`` command."""
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
    task_status: trio.TaskStatus[Broker] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve as a combined broker and controller until SIGTERM or SIGINT."""
    metrics = Metrics()
    dir_ids = []
    for d in config.log_dirs:
        meta = read_meta_properties(Path(d))
        if meta is not None and meta.directory_id is not None:
            dir_ids.append(meta.directory_id)

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
    metadata_log = SingleVoterLog(Path(config.metadata_log_dir), config.node_id, time_ms)
    controller = ControllerService(config, cluster_id, metadata_log, time_ms)
    broker = Broker(
        config=config,
        cluster_id=cluster_id,
        logs=logs,
        controller=controller,
        metrics=metrics,
        supported_features={n: (r.min, r.max) for n, r in supported_features().items()},
        time_ms=time_ms,
    )
    loader = MetadataLoader()

    def publish(batch: MetadataBatch) -> None:
        for publication in loader.load_batch(batch):
            broker.publish(publication.delta, publication.image)

    controller.add_listener(publish)
    controller.start()

    lifecycle = BrokerLifecycle(
        config,
        cluster_id,
        controller,
        log_dir_ids=dir_ids,
        features=supported_features(),
        applied_offset=lambda: broker.image.provenance.last_offset,
    )
    metrics.watch_consumer_lag(lambda: consumer_lag(broker.groups, broker.replicas))
    dispatcher = Dispatcher(broker)
    controller_dispatcher = Dispatcher(broker, CONTROLLER_LISTENER_APIS)
    idle_s = config.get("connections.max.idle.ms") / 1000
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(controller.run_session_timer)
            await nursery.start(broker.groups.run)
            await lifecycle.register()
            nursery.start_soon(lifecycle.run)
            await lifecycle.unfenced.wait()
            async with trio.open_nursery() as listeners:
                for endpoint in config.listeners:
                    serving = (
                        controller_dispatcher
                        if endpoint.listener in config.controller_listener_names
                        else dispatcher
                    )
                    await listeners.start(
                        lambda task_status, ep=endpoint, d=serving: serve_listener(
                            ep.listener,
                            ep.host or "0.0.0.0",
                            ep.port,
                            d,
                            max_frame=config.socket_request_max_bytes,
                            idle_timeout_s=idle_s,
                            task_status=task_status,
                        )
                    )
                if config.metrics_listener is not None:
                    host, port = config.metrics_listener
                    await listeners.start(serve_metrics, metrics, host, port)
                nursery.start_soon(_tick, logs)
                log.info("node %d of cluster %s is serving", config.node_id, cluster_id)
                task_status.started(broker)
                with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for signum in signals:
                        log.info("%s: shutting down", signal.Signals(signum).name)
                        break
                listeners.cancel_scope.cancel()
            await lifecycle.controlled_shutdown(CONTROLLED_SHUTDOWN_S)
            nursery.cancel_scope.cancel()
    finally:
        logs.shutdown(lifecycle.broker_epoch)
        metadata_log.close()
        log.info("node %d stopped cleanly", config.node_id)


async def _tick(logs: LogManager) -> None:
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
