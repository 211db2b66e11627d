"""Topic-level configuration: Kafka's ``TopicConfig`` keys as ``LogConfig`` defines them.

A topic's log is governed by these keys. A topic may override any of them
(CreateTopics, IncrementalAlterConfigs); otherwise the value comes from the broker key
that stands for it cluster-wide, its *synonym*: ``retention.ms`` from
``log.retention.ms``, else ``log.retention.minutes``, else ``log.retention.hours``
(converted to milliseconds), and so on, in the order of Kafka's
``ServerTopicConfigSynonyms``. :data:`TOPIC_SYNONYMS` is that table;
:mod:`.resolver` uses it to find a topic's effective values and their sources for
DescribeConfigs. Keys without a synonym (``remote.storage.enable``, the throttled
replica lists, ...) take the default here.

Spec: ``docs/ops.html`` ("Topic-Level Configs") and Kafka's ``LogConfig``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .config_def import (
    BOOLEAN,
    DAY_MS,
    DOUBLE,
    GIB,
    HOUR_MS,
    INT,
    KIB,
    LIST,
    LONG,
    LONG_MAX,
    MEDIUM,
    MIB,
    MINUTE_MS,
    STRING,
    ConfigDef,
    ConfigKey,
    Custom,
    OneOf,
    ValidList,
    at_least,
    between,
    define,
    invalid_value,
)

# Deflater.BEST_SPEED .. BEST_COMPRESSION, or DEFAULT_COMPRESSION (-1).
_GZIP_MIN_LEVEL, _GZIP_MAX_LEVEL, _GZIP_DEFAULT_LEVEL = 1, 9, -1


def _check_gzip_level(name: str, value: Any) -> None:
    if value is None:
        raise invalid_value(name, None, "Value must be non-null")
    if value > _GZIP_MAX_LEVEL or (value < _GZIP_MIN_LEVEL and value != _GZIP_DEFAULT_LEVEL):
        raise invalid_value(
            name,
            value,
            f"Value must be between {_GZIP_MIN_LEVEL} and {_GZIP_MAX_LEVEL} "
            f"or equal to {_GZIP_DEFAULT_LEVEL}",
        )


GZIP_LEVEL = Custom(_check_gzip_level, "[1,...,9] or -1")

_REPLICA = re.compile(r"([0-9]+:[0-9]+)?")


def _check_throttled_replicas(name: str, value: Any) -> None:
    entries = [entry.strip() for entry in value]
    if not (all(_REPLICA.fullmatch(e) for e in entries) or "".join(entries) == "*"):
        raise invalid_value(
            name,
            value,
            f"{name} must be the literal '*' or a list of replicas in the following format: "
            "[partitionId]:[brokerId],[partitionId]:[brokerId],...",
        )


THROTTLED_REPLICAS = Custom(
    _check_throttled_replicas, "[partitionId]:[brokerId],[partitionId]:[brokerId],..."
)

# fmt: off
TOPIC_CONFIG_KEYS: tuple[ConfigKey, ...] = (
    define("segment.bytes", INT, GIB, MEDIUM, at_least(MIB),
           doc="Largest segment file of the partition log."),
    define("segment.ms", LONG, 7 * DAY_MS, MEDIUM, at_least(1),
           doc="Longest time before a segment is rolled."),
    define("segment.jitter.ms", LONG, 0, MEDIUM, at_least(0),
           doc="Random jitter subtracted from segment.ms."),
    define("segment.index.bytes", INT, 10 * MIB, MEDIUM, at_least(4),
           doc="Largest offset index file."),
    define("flush.messages", LONG, LONG_MAX, MEDIUM, at_least(1),
           doc="Records appended before a forced flush."),
    define("flush.ms", LONG, LONG_MAX, MEDIUM, at_least(0),
           doc="Longest time a record stays unflushed."),
    define("retention.bytes", LONG, -1, MEDIUM,
           doc="Bytes kept per partition before old segments are deleted (-1: no limit)."),
    define("retention.ms", LONG, 7 * DAY_MS, MEDIUM, at_least(-1),
           doc="How long a segment is kept (-1: forever)."),
    define("max.message.bytes", INT, 1048588, MEDIUM, at_least(0),
           doc="Largest record batch the topic accepts."),
    define("index.interval.bytes", INT, 4 * KIB, MEDIUM, at_least(0),
           doc="Bytes between entries of the offset index."),
    define("delete.retention.ms", LONG, DAY_MS, MEDIUM, at_least(0),
           doc="How long tombstones are kept when compacting."),
    define("min.compaction.lag.ms", LONG, 0, MEDIUM, at_least(0),
           doc="Youngest age of a record that compaction may remove."),
    define("max.compaction.lag.ms", LONG, LONG_MAX, MEDIUM, at_least(1),
           doc="Oldest age of a record before the log must be compacted."),
    define("file.delete.delay.ms", LONG, MINUTE_MS, MEDIUM, at_least(0),
           doc="Delay before a deleted segment's files are removed."),
    define("min.cleanable.dirty.ratio", DOUBLE, 0.5, MEDIUM, between(0, 1),
           doc="Dirty share of the log that makes it eligible for compaction."),
    define("cleanup.policy", LIST, ("delete",), MEDIUM, ValidList("compact", "delete"),
           doc="What happens to old segments: delete, compact, or both."),
    define("unclean.leader.election.enable", BOOLEAN, False, MEDIUM,
           doc="Let a replica outside the ISR become leader as a last resort."),
    define("min.insync.replicas", INT, 1, MEDIUM, at_least(1),
           doc="In-sync replicas an acks=all write needs."),
    define("compression.type", STRING,
           "producer", MEDIUM, OneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
           doc="Compression of stored batches: producer (as sent), uncompressed, or a codec."),
    define("compression.gzip.level", INT, -1, MEDIUM, GZIP_LEVEL,
           doc="Compression level when compression.type is gzip."),
    define("compression.lz4.level", INT, 9, MEDIUM, between(1, 17),
           doc="Compression level when compression.type is lz4."),
    define("compression.zstd.level", INT, 3, MEDIUM, between(-131072, 22),
           doc="Compression level when compression.type is zstd."),
    define("preallocate", BOOLEAN, False, MEDIUM,
           doc="Preallocate new segment files."),
    define("message.timestamp.type", STRING,
           "CreateTime", MEDIUM, OneOf("CreateTime", "LogAppendTime"),
           doc="Timestamp of stored records: CreateTime or LogAppendTime."),
    define("message.timestamp.before.max.ms", LONG, LONG_MAX, MEDIUM, at_least(0),
           doc="How far in the past a CreateTime timestamp may be."),
    define("message.timestamp.after.max.ms", LONG, HOUR_MS, MEDIUM, at_least(0),
           doc="How far in the future a CreateTime timestamp may be."),
    define("leader.replication.throttled.replicas", LIST, (), MEDIUM, THROTTLED_REPLICAS,
           doc="Replicas throttled on the leader side, as partition:broker (* for all)."),
    define("follower.replication.throttled.replicas", LIST, (), MEDIUM, THROTTLED_REPLICAS,
           doc="Replicas throttled on the follower side, as partition:broker (* for all)."),
    define("remote.storage.enable", BOOLEAN, False, MEDIUM,
           doc="Tier this topic's closed segments to remote storage."),
    define("local.retention.ms", LONG, -2, MEDIUM, at_least(-2),
           doc="How long segments stay on local disk once tiered (-2: retention.ms)."),
    define("local.retention.bytes", LONG, -2, MEDIUM, at_least(-2),
           doc="Local bytes kept per partition once tiered (-2: retention.bytes)."),
    define("remote.log.copy.disable", BOOLEAN, False, MEDIUM,
           doc="Stop copying segments to the remote tier, keeping what is there."),
    define("remote.log.delete.on.disable", BOOLEAN, False, MEDIUM,
           doc="Delete remote data when tiering is turned off."),
    define("internal.segment.bytes", INT, None, MEDIUM, internal=True,
           doc="Test-only segment size below the public minimum."),)
# fmt: on

TOPIC_CONFIGS = ConfigDef.of(TOPIC_CONFIG_KEYS)


@dataclass(frozen=True, slots=True)
class Synonym:
    """A broker key standing for a topic key; its value times ``to_topic_unit`` is the
    topic value (``log.retention.hours`` -> ``retention.ms`` multiplies by 3600000)."""

    name: str
    to_topic_unit: int = 1


# ServerTopicConfigSynonyms: topic key -> broker keys, the first one set wins.
TOPIC_SYNONYMS: dict[str, tuple[Synonym, ...]] = {
    "segment.bytes": (Synonym("log.segment.bytes"),),
    "segment.ms": (Synonym("log.roll.ms"), Synonym("log.roll.hours", HOUR_MS)),
    "segment.jitter.ms": (Synonym("log.roll.jitter.ms"), Synonym("log.roll.jitter.hours", HOUR_MS)),
    "segment.index.bytes": (Synonym("log.index.size.max.bytes"),),
    "flush.messages": (Synonym("log.flush.interval.messages"),),
    "flush.ms": (Synonym("log.flush.interval.ms"), Synonym("log.flush.scheduler.interval.ms")),
    "retention.bytes": (Synonym("log.retention.bytes"),),
    "retention.ms": (
        Synonym("log.retention.ms"),
        Synonym("log.retention.minutes", MINUTE_MS),
        Synonym("log.retention.hours", HOUR_MS),
    ),
    "max.message.bytes": (Synonym("message.max.bytes"),),
    "index.interval.bytes": (Synonym("log.index.interval.bytes"),),
    "delete.retention.ms": (Synonym("log.cleaner.delete.retention.ms"),),
    "min.compaction.lag.ms": (Synonym("log.cleaner.min.compaction.lag.ms"),),
    "max.compaction.lag.ms": (Synonym("log.cleaner.max.compaction.lag.ms"),),
    "file.delete.delay.ms": (Synonym("log.segment.delete.delay.ms"),),
    "min.cleanable.dirty.ratio": (Synonym("log.cleaner.min.cleanable.ratio"),),
    "cleanup.policy": (Synonym("log.cleanup.policy"),),
    "unclean.leader.election.enable": (Synonym("unclean.leader.election.enable"),),
    "min.insync.replicas": (Synonym("min.insync.replicas"),),
    "compression.type": (Synonym("compression.type"),),
    "compression.gzip.level": (Synonym("compression.gzip.level"),),
    "compression.lz4.level": (Synonym("compression.lz4.level"),),
    "compression.zstd.level": (Synonym("compression.zstd.level"),),
    "preallocate": (Synonym("log.preallocate"),),
    "message.timestamp.type": (Synonym("log.message.timestamp.type"),),
    "message.timestamp.before.max.ms": (Synonym("log.message.timestamp.before.max.ms"),),
    "message.timestamp.after.max.ms": (Synonym("log.message.timestamp.after.max.ms"),),
    "local.retention.ms": (Synonym("log.local.retention.ms"),),
    "local.retention.bytes": (Synonym("log.local.retention.bytes"),),
}


def check_topic_values(values: dict[str, Any]) -> None:
    """``LogConfig.validateValues``: rules across keys of one topic's values."""
    low, high = values["min.compaction.lag.ms"], values["max.compaction.lag.ms"]
    if low > high:
        raise invalid_value(
            "min.compaction.lag.ms",
            low,
            f"conflict topic config setting min.compaction.lag.ms ({low}) > "
            f"max.compaction.lag.ms ({high})",
        )
