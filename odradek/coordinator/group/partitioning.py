"""Which ``__consumer_offsets`` partition -- which shard -- owns a group.

Kafka's ``GroupCoordinatorService.partitionFor``: ``Utils.abs(groupId.hashCode()) %
offsets.topic.num.partitions``, with Java's ``String.hashCode`` (31-based over the
UTF-16 code units, in 32-bit arithmetic) and ``Utils.abs`` (which maps
``Integer.MIN_VALUE`` to 0). Every broker and client-side tool must agree on this
mapping, or FindCoordinator would send a group to a coordinator that cannot find its
offsets; hence the exact Java arithmetic.
"""

from __future__ import annotations

_INT32_MIN = -(2**31)


def java_string_hash(s: str) -> int:
    """Java's ``String.hashCode()`` of ``s``, as a signed 32-bit int."""
    h = 0
    units = s.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


def partition_for(group_id: str, num_partitions: int) -> int:
    """The partition of ``__consumer_offsets`` (of ``num_partitions``) that owns ``group_id``."""
    h = java_string_hash(group_id)
    return (0 if h == _INT32_MIN else abs(h)) % num_partitions
