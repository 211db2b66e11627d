"""The settings a group coordinator shard reads, under Kafka's property names.

These are the classic-group, consumer-group and offsets keys of Kafka's ``GroupCoordinatorConfig``
(``docs/generated/kafka_config.html`` under ``shared/kafka-spec/docs``), with Kafka's
defaults. The broker parses ``server.properties``; :meth:`GroupCoordinatorConfig.
from_properties` picks these keys out of the parsed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

_MINUTE_MS = 60_000


class MigrationPolicy(Enum):
    """``group.consumer.migration.policy``: which group conversions are allowed."""

    DISABLED = "disabled"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    BIDIRECTIONAL = "bidirectional"

    @classmethod
    def parse(cls, value: str) -> MigrationPolicy:
        return cls(value.strip().lower())

    @property
    def allows_upgrade(self) -> bool:
        return self in (MigrationPolicy.UPGRADE, MigrationPolicy.BIDIRECTIONAL)

    @property
    def allows_downgrade(self) -> bool:
        return self in (MigrationPolicy.DOWNGRADE, MigrationPolicy.BIDIRECTIONAL)


@dataclass(frozen=True, kw_only=True)
class GroupCoordinatorConfig:
    #: ``group.min.session.timeout.ms``: JoinGroup with a shorter session timeout fails.
    min_session_timeout_ms: int = 6_000
    #: ``group.max.session.timeout.ms``: JoinGroup with a longer session timeout fails.
    max_session_timeout_ms: int = 30 * _MINUTE_MS
    #: ``group.initial.rebalance.delay.ms``: how long the first rebalance of an empty
    #: group waits for more members, extended while members keep arriving.
    initial_rebalance_delay_ms: int = 3_000
    #: ``group.max.size``: most members of a classic group.
    max_size: int = 2**31 - 1
    #: How long a new member's parked JoinGroup may wait before the member is dropped
    #: (Kafka's ``CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS``, not configurable there).
    new_member_join_timeout_ms: int = 5 * _MINUTE_MS
    #: ``offset.metadata.max.bytes``: longest metadata string of a committed offset.
    offset_metadata_max_bytes: int = 4_096
    #: ``offsets.retention.minutes`` in milliseconds.
    offsets_retention_ms: int = 7 * 24 * 60 * _MINUTE_MS
    #: ``offsets.retention.check.interval.ms``: period of the expiry sweep.
    offsets_retention_check_interval_ms: int = 10 * _MINUTE_MS
    #: ``group.consumer.session.timeout.ms``: a consumer group member that does not
    #: heartbeat for this long is fenced.
    consumer_session_timeout_ms: int = 45_000
    #: ``group.consumer.heartbeat.interval.ms``: how often members are told to heartbeat.
    consumer_heartbeat_interval_ms: int = 5_000
    #: ``group.consumer.max.size``: most members of a consumer group.
    consumer_max_size: int = 2**31 - 1
    #: ``group.consumer.assignors``: the server-side assignors; the first is the default.
    consumer_assignors: tuple[str, ...] = ("uniform", "range")
    #: ``group.consumer.migration.policy``: whether a classic group with members may
    #: become a consumer group (upgrade) and back (downgrade).
    consumer_migration_policy: MigrationPolicy = MigrationPolicy.BIDIRECTIONAL

    @classmethod
    def from_properties(cls, values: Mapping[str, Any]) -> GroupCoordinatorConfig:
        """The settings found in parsed broker properties; absent keys keep defaults."""
        default = cls()

        def get(key: str, fallback: int) -> int:
            return int(values[key]) if key in values else fallback

        return cls(
            min_session_timeout_ms=get(
                "group.min.session.timeout.ms", default.min_session_timeout_ms
            ),
            max_session_timeout_ms=get(
                "group.max.session.timeout.ms", default.max_session_timeout_ms
            ),
            initial_rebalance_delay_ms=get(
                "group.initial.rebalance.delay.ms", default.initial_rebalance_delay_ms
            ),
            max_size=get("group.max.size", default.max_size),
            offset_metadata_max_bytes=get(
                "offset.metadata.max.bytes", default.offset_metadata_max_bytes
            ),
            offsets_retention_ms=get(
                "offsets.retention.minutes", default.offsets_retention_ms // _MINUTE_MS
            )
            * _MINUTE_MS,
            offsets_retention_check_interval_ms=get(
                "offsets.retention.check.interval.ms",
                default.offsets_retention_check_interval_ms,
            ),
            consumer_session_timeout_ms=get(
                "group.consumer.session.timeout.ms", default.consumer_session_timeout_ms
            ),
            consumer_heartbeat_interval_ms=get(
                "group.consumer.heartbeat.interval.ms", default.consumer_heartbeat_interval_ms
            ),
            consumer_max_size=get("group.consumer.max.size", default.consumer_max_size),
            consumer_assignors=_assignor_names(
                values.get("group.consumer.assignors", default.consumer_assignors)
            ),
            consumer_migration_policy=MigrationPolicy.parse(
                str(
                    values.get(
                        "group.consumer.migration.policy", default.consumer_migration_policy.value
                    )
                )
            ),
        )


def _assignor_names(value: Any) -> tuple[str, ...]:
    """Assignor names from a list or a comma-separated string.

    Kafka accepts names or the class names of its own assignors; the class names map
    to the names.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    names = []
    for item in items:
        name = str(item).strip()
        if name.endswith("UniformAssignor"):
            name = "uniform"
        elif name.endswith("RangeAssignor"):
            name = "range"
        if name:
            names.append(name)
    return tuple(names)
