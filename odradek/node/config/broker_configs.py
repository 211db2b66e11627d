"""Every key a KRaft ``server.properties`` may hold: Kafka's broker configuration.

:data:`BROKER_CONFIGS` is the merge of the definitions Kafka's ``AbstractKafkaConfig``
merges (Kafka 4.3, the release Odradek is checked against), grouped here as Kafka
groups them, with Kafka's names, types, defaults, validators, importance and the
dynamic update modes of ``DynamicBrokerConfig``, plus the few keys that are Odradek's
own (prefix ``odradek.``). The coordinator, security and tiered storage groups live in
:mod:`.coordinator_configs`, :mod:`.security_configs` and
:mod:`.remote_storage_configs`.

Which of these keys Odradek acts on, and which it only recognises for now, is decided
in :mod:`.support`; the rules that span several keys are in :mod:`.validation`.
Spec: ``docs/ops.html`` ("Configuration", "KRaft") and ``docs/security.html``.
"""

from __future__ import annotations

from typing import Any

from .config_def import (
    BOOLEAN,
    CLASS,
    CLUSTER_WIDE,
    DAY_MS,
    DOUBLE,
    DOUBLE_MAX,
    GIB,
    HIGH,
    HOUR_MS,
    INT,
    INT_MAX,
    KIB,
    LIST,
    LONG,
    LONG_MAX,
    LOW,
    MEDIUM,
    MIB,
    MINUTE_MS,
    PER_BROKER,
    REQUIRED,
    SECOND_MS,
    STRING,
    ConfigDef,
    ConfigKey,
    Custom,
    NonNull,
    OneOf,
    ValidList,
    at_least,
    between,
    define,
    invalid_value,
)
from .coordinator_configs import (
    ADD_PARTITIONS_TO_TXN_CONFIGS,
    GROUP_COORDINATOR_CONFIGS,
    SHARE_COORDINATOR_CONFIGS,
    SHARE_GROUP_CONFIGS,
    TRANSACTION_LOG_CONFIGS,
    TRANSACTION_STATE_MANAGER_CONFIGS,
)
from .listeners import check_bootstrap_servers, check_voters, split_host_port
from .remote_storage_configs import REMOTE_LOG_MANAGER_CONFIGS
from .security_configs import (
    BROKER_SECURITY_CONFIGS,
    DELEGATION_TOKEN_CONFIGS,
    QUOTA_CONFIGS,
    STANDARD_AUTHORIZER_CONFIGS,
)
from .topic_configs import GZIP_LEVEL

VOTERS = Custom(check_voters, "non-empty list")
BOOTSTRAP_SERVERS = Custom(check_bootstrap_servers, "non-empty list")


# ServerConfigs: identity, request threads, compression, fetch limits, authorizer.
# fmt: off
SERVER_CONFIGS: tuple[ConfigKey, ...] = (
    define("broker.id", INT, -1, HIGH,
           doc="Deprecated name of node.id; must equal it when both are set."),
    define("message.max.bytes", INT, 1048588, HIGH, at_least(0), mode=CLUSTER_WIDE,
           doc="Largest record batch the broker accepts (topic override: max.message.bytes)."),
    define("num.io.threads", INT, 8, HIGH, at_least(1), mode=CLUSTER_WIDE,
           doc="Threads that handle requests."),
    define("num.replica.alter.log.dirs.threads", INT, None, HIGH,
           doc="Threads that move replicas between log directories (default: one per directory)."),
    define("background.threads", INT, 10, HIGH, at_least(1), mode=CLUSTER_WIDE,
           doc="Threads for background work such as deleting files."),
    define("request.timeout.ms", INT, 30 * SECOND_MS, HIGH,
           doc="Timeout of requests this node sends to others."),
    define("socket.connection.setup.timeout.ms", LONG, 10 * SECOND_MS, MEDIUM,
           doc="Time allowed to set up an outgoing connection before retrying."),
    define("socket.connection.setup.timeout.max.ms", LONG, 30 * SECOND_MS, MEDIUM,
           doc="Longest connection setup timeout after exponential backoff."),
    define("config.providers", LIST, (), LOW, ValidList(), mode=CLUSTER_WIDE,
           doc="Names of the providers that resolve ${provider:key} references in values."),
    define("authorizer.class.name", STRING, "", LOW, NonNull(),
           doc="Class that authorizes requests; empty disables authorization."),
    define("early.start.listeners", LIST, None, HIGH, ValidList(null_allowed=True),
           doc="Listeners opened before the authorizer is ready (default: controller listeners)."),
    define("broker.rack", STRING, None, MEDIUM,
           doc="Rack (availability zone) of the broker, for rack-aware replica placement."),
    define("controlled.shutdown.enable", BOOLEAN, True, MEDIUM,
           doc="Move leadership away before the broker shuts down."),
    define("delete.topic.enable", BOOLEAN, True, HIGH,
           doc="Allow DeleteTopics requests."),
    define("compression.type", STRING,
           "producer",
           HIGH,
           OneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
           mode=CLUSTER_WIDE,
           doc="Compression of stored batches: producer (as sent), uncompressed, or a codec."),
    define("compression.gzip.level", INT, -1, MEDIUM, GZIP_LEVEL, mode=CLUSTER_WIDE,
           doc="Compression level when compression.type is gzip."),
    define("compression.lz4.level", INT, 9, MEDIUM, between(1, 17), mode=CLUSTER_WIDE,
           doc="Compression level when compression.type is lz4."),
    define("compression.zstd.level", INT, 3, MEDIUM, between(-131072, 22), mode=CLUSTER_WIDE,
           doc="Compression level when compression.type is zstd."),
    define("max.incremental.fetch.session.cache.slots", INT, 1000, MEDIUM, at_least(0),
           doc="Incremental fetch sessions the broker keeps."),
    define("fetch.max.bytes", INT, 55 * MIB, MEDIUM, at_least(KIB),
           doc="Most bytes one fetch response carries."),
    define("max.request.partition.size.limit", INT, 2000, MEDIUM, at_least(1),
           doc="Most partitions one request may name."),
    define("unstable.api.versions.enable", BOOLEAN, False, HIGH, internal=True,
           doc="Advertise API versions that are not released yet."),
    define("unstable.feature.versions.enable", BOOLEAN, False, HIGH, internal=True,
           doc="Allow feature levels that are not released yet."),
)
# fmt: on


# KRaftConfigs: roles, node id, broker registration and heartbeats.
# fmt: off
KRAFT_CONFIGS: tuple[ConfigKey, ...] = (
    define("process.roles", LIST,
           REQUIRED, HIGH, ValidList("broker", "controller", empty_allowed=False),
           doc="Roles of this node: broker, controller, or both."),
    define("node.id", INT, REQUIRED, HIGH, at_least(0),
           doc="Id of this node in the cluster."),
    define("initial.broker.registration.timeout.ms", INT, MINUTE_MS, MEDIUM,
           doc="How long a starting broker tries to register before giving up."),
    define("broker.heartbeat.interval.ms", INT, 2 * SECOND_MS, MEDIUM,
           doc="Interval between broker heartbeats to the controller."),
    define("broker.session.timeout.ms", INT, 9 * SECOND_MS, MEDIUM,
           doc="How long the controller keeps a broker without heartbeats before fencing it."),
    define("controller.listener.names", LIST, REQUIRED, HIGH, ValidList(empty_allowed=False),
           doc="Listeners the controllers use; brokers connect to the first."),
    define("sasl.mechanism.controller.protocol", STRING, "GSSAPI", HIGH,
           doc="SASL mechanism for connections to the controllers."),
    define("controller.performance.sample.period.ms", LONG,
           MINUTE_MS, MEDIUM, at_least(100), internal=True,
           doc="Period over which controller event timings are aggregated."),
    define("controller.performance.always.log.threshold.ms", LONG,
           2 * SECOND_MS, MEDIUM, at_least(0), internal=True,
           doc="Controller events slower than this are always logged."),
    define("server.max.startup.time.ms", LONG, LONG_MAX, MEDIUM, at_least(0), internal=True,
           doc="Longest time a node may take to start."),
)
# fmt: on


# MetadataLogConfig: the __cluster_metadata log and its snapshots.
# fmt: off
METADATA_LOG_CONFIGS: tuple[ConfigKey, ...] = (
    define("metadata.log.max.record.bytes.between.snapshots", LONG, 20 * MIB, HIGH, at_least(1),
           doc="New metadata bytes that trigger a snapshot."),
    define("metadata.log.max.snapshot.interval.ms", LONG, HOUR_MS, HIGH, at_least(0),
           doc="Longest time between metadata snapshots (0: time does not trigger them)."),
    define("metadata.log.dir", STRING, None, HIGH,
           doc="Directory of the metadata log (default: the first log directory)."),
    define("metadata.log.segment.bytes", INT, GIB, HIGH, at_least(8 * MIB),
           doc="Largest segment of the metadata log."),
    define("metadata.log.segment.ms", LONG, 7 * DAY_MS, HIGH,
           doc="Longest time before a metadata log segment is rolled."),
    define("metadata.max.retention.bytes", LONG, 100 * MIB, HIGH,
           doc="Size of metadata log and snapshots above which old ones are deleted."),
    define("metadata.max.retention.ms", LONG, 7 * DAY_MS, HIGH,
           doc="Age after which metadata log segments and snapshots are deleted."),
    define("metadata.max.idle.interval.ms", INT, 500, LOW, at_least(0),
           doc="Interval of no-op records the active controller writes (0 disables them)."),
    define("internal.metadata.log.segment.bytes", INT, None, LOW, internal=True,
           doc="Test-only override of the metadata log segment size."),
    define("internal.metadata.max.batch.size.in.bytes", INT, 8 * MIB, LOW, internal=True,
           doc="Largest batch written to the metadata log."),
    define("internal.metadata.delete.delay.millis", LONG, MINUTE_MS, LOW, internal=True,
           doc="Delay before deleting a metadata log file."),
)
# fmt: on


# QuorumConfig: the controller quorum (KRaft) and its timeouts.
# fmt: off
QUORUM_CONFIGS: tuple[ConfigKey, ...] = (
    define("controller.quorum.voters", LIST, (), HIGH, VOTERS,
           doc="Controller voters, as id@host:port."),
    define("controller.quorum.bootstrap.servers", LIST, (), HIGH, BOOTSTRAP_SERVERS,
           doc="Controllers to contact first, as host:port."),
    define("controller.quorum.election.timeout.ms", INT, SECOND_MS, HIGH, at_least(0),
           doc="Time without a leader before a voter starts an election."),
    define("controller.quorum.fetch.timeout.ms", INT, 2 * SECOND_MS, HIGH, at_least(0),
           doc="Time without a fetch from the leader before a voter starts an election."),
    define("controller.quorum.election.backoff.max.ms", INT, SECOND_MS, HIGH, at_least(0),
           doc="Longest backoff before a new election."),
    define("controller.quorum.append.linger.ms", INT, 25, MEDIUM, at_least(0),
           doc="Time the quorum leader batches writes before flushing."),
    define("controller.quorum.request.timeout.ms", INT, 2 * SECOND_MS, MEDIUM, at_least(0),
           doc="Timeout of quorum requests."),
    define("controller.quorum.retry.backoff.ms", INT, 20, LOW, at_least(0),
           doc="Pause before retrying a failed quorum request."),
    define("controller.quorum.auto.join.enable", BOOLEAN, False, LOW,
           doc="Let a controller add itself to the voters."),
    define("controller.quorum.fetch.snapshot.max.bytes", INT, MIB, LOW, at_least(1),
           doc="Most bytes of a snapshot in one FetchSnapshot response."),
    define("controller.quorum.fetch.max.bytes", INT, MIB, LOW, at_least(1),
           doc="Most bytes of the metadata log in one Fetch response."),
)
# fmt: on


# SocketServerConfigs: listeners, sockets and connection limits.
# fmt: off
SOCKET_SERVER_CONFIGS: tuple[ConfigKey, ...] = (
    define("listeners", LIST,
           ("PLAINTEXT://:9092",), HIGH, ValidList(empty_allowed=False), mode=PER_BROKER,
           doc="Addresses to listen on, as NAME://host:port."),
    define("advertised.listeners", LIST,
           None, HIGH, ValidList(empty_allowed=False, null_allowed=True),
           doc="Addresses given to clients, if not those of listeners."),
    define("listener.security.protocol.map", STRING,
           "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
           LOW,
           mode=PER_BROKER,
           doc="Security protocol of each listener name, as NAME:PROTOCOL."),
    define("socket.send.buffer.bytes", INT, 100 * KIB, HIGH,
           doc="SO_SNDBUF of server sockets (-1: the OS default)."),
    define("socket.receive.buffer.bytes", INT, 100 * KIB, HIGH,
           doc="SO_RCVBUF of server sockets (-1: the OS default)."),
    define("socket.request.max.bytes", INT, 100 * MIB, HIGH, at_least(1),
           doc="Largest request the broker reads."),
    define("socket.listen.backlog.size", INT, 50, MEDIUM, at_least(1),
           doc="Pending connections the listen queue holds."),
    define("max.connections.per.ip", INT, INT_MAX, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="Connections allowed from one address."),
    define("max.connections.per.ip.overrides", STRING, "", MEDIUM, mode=CLUSTER_WIDE,
           doc="Per-host connection limits, as host:count."),
    define("max.connections", INT, INT_MAX, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="Connections allowed in total."),
    define("max.connection.creation.rate", INT, INT_MAX, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="New connections allowed per second."),
    define("connections.max.idle.ms", LONG, 10 * MINUTE_MS, MEDIUM,
           doc="Idle connections are closed after this long."),
    define("connection.failed.authentication.delay.ms", INT, 100, LOW, at_least(0),
           doc="Delay before closing a connection that failed authentication."),
    define("queued.max.requests", INT, 500, HIGH, at_least(1),
           doc="Requests queued before the network stops reading."),
    define("queued.max.request.bytes", LONG, -1, MEDIUM,
           doc="Bytes of queued requests before the network stops reading (-1: no limit)."),
    define("num.network.threads", INT, 3, HIGH, at_least(1), mode=CLUSTER_WIDE,
           doc="Threads that read requests and write responses."),
)
# fmt: on


# ReplicationConfigs: followers, ISR, purgatories, leader balance.
# fmt: off
REPLICATION_CONFIGS: tuple[ConfigKey, ...] = (
    define("controller.socket.timeout.ms", INT, 30 * SECOND_MS, MEDIUM,
           doc="Socket timeout of controller-to-broker connections."),
    define("default.replication.factor", INT, 1, MEDIUM,
           doc="Replication factor of topics created without one."),
    define("replica.lag.time.max.ms", LONG, 30 * SECOND_MS, HIGH,
           doc="A follower that has not caught up for this long leaves the ISR."),
    define("replica.socket.timeout.ms", INT, 30 * SECOND_MS, HIGH,
           doc="Socket timeout of follower fetches."),
    define("replica.socket.receive.buffer.bytes", INT, 64 * KIB, HIGH,
           doc="SO_RCVBUF of follower fetch connections."),
    define("replica.fetch.max.bytes", INT, MIB, MEDIUM, at_least(0),
           doc="Bytes a follower fetches per partition."),
    define("replica.fetch.wait.max.ms", INT, 500, HIGH,
           doc="Longest time a follower fetch waits at the leader."),
    define("replica.fetch.backoff.ms", INT, SECOND_MS, MEDIUM, at_least(0),
           doc="Pause after a follower fetch fails."),
    define("replica.fetch.min.bytes", INT, 1, HIGH,
           doc="Bytes a follower fetch waits for."),
    define("replica.fetch.response.max.bytes", INT, 10 * MIB, MEDIUM, at_least(0),
           doc="Bytes a follower fetches in one response."),
    define("num.replica.fetchers", INT, 1, HIGH, at_least(1), mode=CLUSTER_WIDE,
           doc="Fetcher tasks per source broker."),
    define("replica.high.watermark.checkpoint.interval.ms", LONG, 5 * SECOND_MS, HIGH,
           doc="Interval between writes of the high-watermark checkpoint."),
    define("fetch.purgatory.purge.interval.requests", INT, 1000, MEDIUM,
           doc="Requests between purges of the fetch purgatory."),
    define("producer.purgatory.purge.interval.requests", INT, 1000, MEDIUM,
           doc="Requests between purges of the produce purgatory."),
    define("delete.records.purgatory.purge.interval.requests", INT, 1, MEDIUM,
           doc="Requests between purges of the DeleteRecords purgatory."),
    define("auto.leader.rebalance.enable", BOOLEAN, True, HIGH,
           doc="Move leadership back to preferred replicas periodically."),
    define("leader.imbalance.check.interval.seconds", LONG, 300, HIGH, at_least(1),
           doc="Interval between leader balance checks."),
    define("unclean.leader.election.interval.ms", LONG,
           5 * MINUTE_MS, MEDIUM, at_least(1), internal=True,
           doc="Interval between checks for unclean leader elections."),
    define("unclean.leader.election.enable", BOOLEAN, False, HIGH, mode=CLUSTER_WIDE,
           doc="Let a replica outside the ISR become leader as a last resort."),
    define("security.inter.broker.protocol", STRING,
           "PLAINTEXT", MEDIUM, OneOf("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
           doc="Security protocol between brokers, if inter.broker.listener.name is unset."),
    define("inter.broker.listener.name", STRING, None, MEDIUM,
           doc="Listener brokers use to reach each other."),
    define("replica.selector.class", STRING, None, MEDIUM,
           doc="Class that picks the replica a consumer reads from."),
    define("follower.fetch.last.tiered.offset.enable", BOOLEAN, False, MEDIUM, mode=CLUSTER_WIDE,
           doc="Let a new follower start from the last tiered offset."),
)
# fmt: on


# LogConfig.SERVER_CONFIG_DEF (ServerLogConfigs): log dirs, segments, retention, flush.
# fmt: off
LOG_CONFIGS: tuple[ConfigKey, ...] = (
    define("num.partitions", INT, 1, MEDIUM, at_least(1),
           doc="Partitions of topics created without a count."),
    define("log.dir", LIST, ("/tmp/kafka-logs",), HIGH, ValidList(empty_allowed=False),
           doc="Log directory, if log.dirs is unset."),
    define("log.dirs", LIST, None, HIGH, ValidList(empty_allowed=False, null_allowed=True),
           doc="Directories that hold the partition logs."),
    define("cordoned.log.dirs", LIST, (), MEDIUM, ValidList(null_allowed=True), mode=PER_BROKER,
           doc="Log directories that take no new replicas (* for all)."),
    define("log.segment.bytes", INT, GIB, HIGH, at_least(MIB), mode=CLUSTER_WIDE,
           doc="Largest segment file of a partition log."),
    define("log.roll.ms", LONG, None, HIGH, mode=CLUSTER_WIDE,
           doc="Longest time before a segment is rolled (default: log.roll.hours)."),
    define("log.roll.hours", INT, 168, HIGH, at_least(1),
           doc="Longest time before a segment is rolled, in hours."),
    define("log.roll.jitter.ms", LONG, None, HIGH, mode=CLUSTER_WIDE,
           doc="Random jitter subtracted from the roll time (default: log.roll.jitter.hours)."),
    define("log.roll.jitter.hours", INT, 0, HIGH, at_least(0),
           doc="Random jitter subtracted from the roll time, in hours."),
    define("log.retention.ms", LONG, None, HIGH, mode=CLUSTER_WIDE,
           doc="How long a segment is kept (-1: forever; default: log.retention.minutes)."),
    define("log.retention.minutes", INT, None, HIGH,
           doc="How long a segment is kept, in minutes (default: log.retention.hours)."),
    define("log.retention.hours", INT, 168, HIGH,
           doc="How long a segment is kept, in hours."),
    define("log.retention.bytes", LONG, -1, HIGH, mode=CLUSTER_WIDE,
           doc="Bytes kept per partition before old segments are deleted (-1: no limit)."),
    define("log.retention.check.interval.ms", LONG, 5 * MINUTE_MS, MEDIUM, at_least(1),
           doc="Interval between retention checks."),
    define("log.cleanup.policy", LIST,
           ("delete",), MEDIUM, ValidList("compact", "delete"), mode=CLUSTER_WIDE,
           doc="What happens to old segments: delete, compact, or both."),
    define("log.index.size.max.bytes", INT, 10 * MIB, MEDIUM, at_least(4), mode=CLUSTER_WIDE,
           doc="Largest offset index file."),
    define("log.index.interval.bytes", INT, 4 * KIB, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="Bytes between entries of the offset index."),
    define("log.flush.interval.messages", LONG, LONG_MAX, HIGH, at_least(1), mode=CLUSTER_WIDE,
           doc="Records appended before a forced flush."),
    define("log.segment.delete.delay.ms", LONG, MINUTE_MS, HIGH, at_least(0), mode=CLUSTER_WIDE,
           doc="Delay before a deleted segment's files are removed."),
    define("log.flush.scheduler.interval.ms", LONG, LONG_MAX, HIGH,
           doc="Interval between checks for logs to flush."),
    define("log.flush.interval.ms", LONG, None, HIGH, mode=CLUSTER_WIDE,
           doc="Longest time a record stays unflushed (default: log.flush.scheduler.interval.ms)."),
    define("log.flush.offset.checkpoint.interval.ms", INT, MINUTE_MS, HIGH, at_least(0),
           doc="Interval between writes of the recovery point checkpoint."),
    define("log.flush.start.offset.checkpoint.interval.ms", INT, MINUTE_MS, HIGH, at_least(0),
           doc="Interval between writes of the log start offset checkpoint."),
    define("log.preallocate", BOOLEAN, False, MEDIUM, mode=CLUSTER_WIDE,
           doc="Preallocate new segment files."),
    define("num.recovery.threads.per.data.dir", INT, 2, HIGH, at_least(1), mode=CLUSTER_WIDE,
           doc="Threads per log directory for recovery at start and flush at shutdown."),
    define("auto.create.topics.enable", BOOLEAN, True, HIGH,
           doc="Create a topic when a client asks for its metadata."),
    define("min.insync.replicas", INT, 1, HIGH, at_least(1), mode=CLUSTER_WIDE,
           doc="In-sync replicas an acks=all write needs."),
    define("log.message.timestamp.type", STRING,
           "CreateTime", MEDIUM, OneOf("CreateTime", "LogAppendTime"), mode=CLUSTER_WIDE,
           doc="Timestamp of stored records: CreateTime or LogAppendTime."),
    define("log.message.timestamp.before.max.ms", LONG,
           LONG_MAX, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="How far in the past a CreateTime timestamp may be."),
    define("log.message.timestamp.after.max.ms", LONG,
           HOUR_MS, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="How far in the future a CreateTime timestamp may be."),
    define("create.topic.policy.class.name", CLASS, None, LOW,
           doc="Class that validates topic creations."),
    define("alter.config.policy.class.name", CLASS, None, LOW,
           doc="Class that validates configuration changes."),
    define("log.dir.failure.timeout.ms", LONG, 30 * SECOND_MS, LOW, at_least(1),
           doc="How long a broker may fail to report a failed log directory before it stops."),
    define("log.initial.task.delay.ms", LONG, 30 * SECOND_MS, LOW, at_least(0), internal=True,
           doc="Delay before the log manager's first background tasks."),
)
# fmt: on


# CleanerConfig: the log cleaner (compaction).
# fmt: off
CLEANER_CONFIGS: tuple[ConfigKey, ...] = (
    define("log.cleaner.threads", INT, 1, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="Threads that compact logs."),
    define("log.cleaner.io.max.bytes.per.second", DOUBLE, DOUBLE_MAX, MEDIUM, mode=CLUSTER_WIDE,
           doc="I/O limit of the log cleaner."),
    define("log.cleaner.dedupe.buffer.size", LONG, 128 * MIB, MEDIUM, mode=CLUSTER_WIDE,
           doc="Memory for the cleaner's key-to-offset map, over all cleaner threads."),
    define("log.cleaner.io.buffer.size", INT, 512 * KIB, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="I/O buffer memory of the log cleaner, over all cleaner threads."),
    define("log.cleaner.io.buffer.load.factor", DOUBLE, 0.9, MEDIUM, mode=CLUSTER_WIDE,
           doc="Load factor of the cleaner's key-to-offset map."),
    define("log.cleaner.backoff.ms", LONG, 15 * SECOND_MS, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="Pause of the cleaner when there is nothing to clean."),
    define("log.cleaner.min.cleanable.ratio", DOUBLE, 0.5, MEDIUM, between(0, 1), mode=CLUSTER_WIDE,
           doc="Dirty share of a log that makes it eligible for compaction."),
    define("log.cleaner.enable", BOOLEAN, True, MEDIUM,
           doc="Run the log cleaner (compaction)."),
    define("log.cleaner.delete.retention.ms", LONG, DAY_MS, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="How long tombstones are kept in compacted topics."),
    define("log.cleaner.min.compaction.lag.ms", LONG, 0, MEDIUM, at_least(0), mode=CLUSTER_WIDE,
           doc="Youngest age of a record that compaction may remove."),
    define("log.cleaner.max.compaction.lag.ms", LONG,
           LONG_MAX, MEDIUM, at_least(1), mode=CLUSTER_WIDE,
           doc="Oldest age of a record before its log must be compacted."),
)
# fmt: on


# MetricConfigs: metric sampling, reporters and client telemetry.
# fmt: off
METRIC_CONFIGS: tuple[ConfigKey, ...] = (
    define("metrics.num.samples", INT, 2, LOW, at_least(1),
           doc="Samples kept to compute metrics."),
    define("metrics.sample.window.ms", LONG, 30 * SECOND_MS, LOW, at_least(1),
           doc="Length of one metrics sample."),
    define("metric.reporters", LIST,
           ("org.apache.kafka.common.metrics.JmxReporter",), LOW, ValidList(), mode=CLUSTER_WIDE,
           doc="Classes that report metrics."),
    define("metrics.recording.level", STRING, "INFO", LOW,
           doc="Highest level of metrics recorded."),
    define("kafka.metrics.reporters", LIST, (), LOW, ValidList(),
           doc="Classes that report Yammer metrics."),
    define("kafka.metrics.polling.interval.secs", INT, 10, LOW, at_least(1),
           doc="Polling interval of the Yammer metrics reporters."),
    define("telemetry.max.bytes", INT, MIB, LOW, at_least(1),
           doc="Largest client telemetry push the broker accepts."),
)
# fmt: on


def _check_metrics_listener(name: str, value: Any) -> None:
    if value and split_host_port(value) is None:
        raise invalid_value(name, value, "Expected host:port, or empty to disable")


# Odradek's own keys.
ODRADEK_CONFIGS: tuple[ConfigKey, ...] = (
    define(
        "odradek.metrics.listener",
        STRING,
        "127.0.0.1:9404",
        MEDIUM,
        Custom(_check_metrics_listener, "host:port, or empty"),
        doc="Address of the Prometheus metrics endpoint; empty disables it.",
    ),
)

# The groups in the order of Kafka's AbstractKafkaConfig.CONFIG_DEF.
KAFKA_BROKER_CONFIG_GROUPS: tuple[tuple[ConfigKey, ...], ...] = (
    REMOTE_LOG_MANAGER_CONFIGS,
    SERVER_CONFIGS,
    KRAFT_CONFIGS,
    METADATA_LOG_CONFIGS,
    SOCKET_SERVER_CONFIGS,
    REPLICATION_CONFIGS,
    GROUP_COORDINATOR_CONFIGS,
    CLEANER_CONFIGS,
    LOG_CONFIGS,
    SHARE_GROUP_CONFIGS,
    SHARE_COORDINATOR_CONFIGS,
    TRANSACTION_LOG_CONFIGS,
    TRANSACTION_STATE_MANAGER_CONFIGS,
    QUORUM_CONFIGS,
    METRIC_CONFIGS,
    QUOTA_CONFIGS,
    BROKER_SECURITY_CONFIGS,
    DELEGATION_TOKEN_CONFIGS,
    ADD_PARTITIONS_TO_TXN_CONFIGS,
)

BROKER_CONFIGS = ConfigDef.of(
    *KAFKA_BROKER_CONFIG_GROUPS, STANDARD_AUTHORIZER_CONFIGS, ODRADEK_CONFIGS
)
