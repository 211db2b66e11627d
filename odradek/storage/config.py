"""Per-log configuration: the topic-level settings of Kafka that the storage engine obeys.

Names and defaults are Kafka's topic configs (the "topicconfigs" table the ops docs link
to, ``docs/ops.html``; defaults from ``LogConfig`` and ``ServerLogConfigs`` in Kafka's
source). :class:`LogConfig` holds them under Python names; :meth:`LogConfig.from_properties`
reads them under Kafka's dotted names (``segment.bytes``, ``cleanup.policy``, ...), so a
topic's config map can be handed over as it is.

Limits that are ``Long.MAX_VALUE`` in Kafka (``flush.messages``, ``flush.ms``,
``max.compaction.lag.ms``) keep that value here: comparisons against it behave the same.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping

LONG_MAX = 2**63 - 1

CLEANUP_POLICY_DELETE = "delete"
CLEANUP_POLICY_COMPACT = "compact"

TIMESTAMP_TYPE_CREATE_TIME = "CreateTime"
TIMESTAMP_TYPE_LOG_APPEND_TIME = "LogAppendTime"

#: Kafka's record overhead of a v0 message: the smallest ``segment.bytes`` accepted.
MIN_SEGMENT_BYTES = 14


@dataclasses.dataclass(frozen=True, slots=True)
class LogConfig:
    """The topic-level configuration of one log. Immutable: a change makes a new value."""

    segment_bytes: int = 1024 * 1024 * 1024
    segment_ms: int = 7 * 24 * 60 * 60 * 1000
    segment_jitter_ms: int = 0
    segment_index_bytes: int = 10 * 1024 * 1024
    index_interval_bytes: int = 4096
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    retention_bytes: int = -1
    retention_ms: int = 7 * 24 * 60 * 60 * 1000
    cleanup_policy: tuple[str, ...] = (CLEANUP_POLICY_DELETE,)
    delete_retention_ms: int = 24 * 60 * 60 * 1000
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = LONG_MAX
    file_delete_delay_ms: int = 60_000
    #: 1 MiB plus the 12-byte log overhead, as in Kafka.
    max_message_bytes: int = 1024 * 1024 + 12
    message_timestamp_type: str = TIMESTAMP_TYPE_CREATE_TIME
    preallocate: bool = False

    def __post_init__(self) -> None:
        if self.segment_bytes < MIN_SEGMENT_BYTES:
            raise ValueError(f"segment.bytes must be at least {MIN_SEGMENT_BYTES}")
        if self.segment_ms < 1:
            raise ValueError("segment.ms must be at least 1")
        if self.segment_index_bytes < 4:
            raise ValueError("segment.index.bytes must be at least 4")
        if self.index_interval_bytes < 0:
            raise ValueError("index.interval.bytes must be at least 0")
        if self.flush_messages < 1:
            raise ValueError("flush.messages must be at least 1")
        if self.flush_ms < 0:
            raise ValueError("flush.ms must be at least 0")
        if self.retention_ms < -1:
            raise ValueError("retention.ms must be at least -1")
        if not 0.0 <= self.min_cleanable_dirty_ratio <= 1.0:
            raise ValueError("min.cleanable.dirty.ratio must be between 0 and 1")
        unknown = set(self.cleanup_policy) - {CLEANUP_POLICY_DELETE, CLEANUP_POLICY_COMPACT}
        if unknown:
            raise ValueError(f"cleanup.policy has unknown values {sorted(unknown)}")
        if self.message_timestamp_type not in (
            TIMESTAMP_TYPE_CREATE_TIME,
            TIMESTAMP_TYPE_LOG_APPEND_TIME,
        ):
            raise ValueError(f"message.timestamp.type {self.message_timestamp_type!r}")

    @property
    def compact(self) -> bool:
        return CLEANUP_POLICY_COMPACT in self.cleanup_policy

    @property
    def delete(self) -> bool:
        return CLEANUP_POLICY_DELETE in self.cleanup_policy

    def initial_file_size(self) -> int:
        """Bytes to preallocate for a new ``.log`` file (``preallocate``)."""
        return self.segment_bytes if self.preallocate else 0

    def random_segment_jitter(self, rng: random.Random | None = None) -> int:
        """A roll jitter in ``[0, min(segment.jitter.ms, segment.ms))``, as Kafka draws it."""
        if self.segment_jitter_ms == 0:
            return 0
        rng = rng or random.Random()
        return rng.randrange(min(self.segment_jitter_ms, self.segment_ms))

    def with_overrides(self, **changes: object) -> LogConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_properties(
        cls, props: Mapping[str, object], defaults: LogConfig | None = None
    ) -> LogConfig:
        """Build a config from Kafka's dotted topic config names.

        Values may be strings (as in a properties file) or already typed. An unknown
        name raises :class:`KeyError` naming it: a typo must not pass silently.
        """
        base = defaults or cls()
        changes: dict[str, object] = {}
        for name, raw in props.items():
            field = _KAFKA_NAMES.get(name)
            if field is None:
                raise KeyError(f"unknown topic config {name!r}")
            changes[field] = _parse(field, raw)
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def to_properties(self) -> dict[str, str]:
        """The config under Kafka's names, as strings (the inverse of :meth:`from_properties`)."""
        out: dict[str, str] = {}
        for name, field in _KAFKA_NAMES.items():
            value = getattr(self, field)
            if isinstance(value, tuple):
                out[name] = ",".join(value)
            elif isinstance(value, bool):
                out[name] = "true" if value else "false"
            else:
                out[name] = str(value)
        return out


_KAFKA_NAMES: dict[str, str] = {
    f.name.replace("_", "."): f.name for f in dataclasses.fields(LogConfig)
}


def _parse(field: str, raw: object) -> object:
    if field == "cleanup_policy":
        if isinstance(raw, str):
            return tuple(p.strip() for p in raw.split(",") if p.strip())
        return tuple(str(p) for p in raw)  # type: ignore[attr-defined]
    if field == "min_cleanable_dirty_ratio":
        return float(raw)  # type: ignore[arg-type]
    if field == "preallocate":
        if isinstance(raw, str):
            if raw.lower() not in ("true", "false"):
                raise ValueError(f"preallocate must be true or false, not {raw!r}")
            return raw.lower() == "true"
        return bool(raw)
    if field == "message_timestamp_type":
        return str(raw)
    return int(raw)  # type: ignore[call-overload]
