"""Log directory ids: which disk of a broker holds a replica (KIP-858, JBOD in KRaft).

Since ``metadata.version`` 3.7-IV2 a broker registers the ids of its online log
directories (``RegisterBrokerRecord.LogDirs``) and every partition records, for
each replica, the directory that holds it (``PartitionRecord.Directories``, in
the order of ``Replicas``). A few ids are reserved, as in Kafka's
``org.apache.kafka.common.DirectoryId``:

* :data:`MIGRATING` -- the replica's directory is not known because the partition
  predates directory assignment;
* :data:`UNASSIGNED` -- the broker has not yet said which directory it chose;
* :data:`LOST` -- the directory went offline.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

MIGRATING = uuid.UUID(int=0)
UNASSIGNED = uuid.UUID(int=1)
LOST = uuid.UUID(int=2)

_SIGN = 1 << 63
_HALF = 1 << 64


def _signed(value: int) -> int:
    return value - _HALF if value & _SIGN else value


def java_order(dir_id: uuid.UUID) -> tuple[int, int]:
    """A sort key that orders UUIDs as Kafka's ``Uuid.compareTo`` does (two signed longs)."""
    return _signed(dir_id.int >> 64), _signed(dir_id.int & (_HALF - 1))


def is_reserved(dir_id: uuid.UUID) -> bool:
    """True for the ids Kafka keeps for itself (the 100 smallest)."""
    return dir_id.int < 100


def is_online(dir_id: uuid.UUID, online_dirs: Sequence[uuid.UUID]) -> bool:
    """Whether a replica in ``dir_id`` is available on a broker with ``online_dirs``."""
    if dir_id in (UNASSIGNED, MIGRATING):
        return True
    if dir_id == LOST:
        return False
    # A broker registered before directory assignment has no list: Kafka assumes it
    # halts when it loses its last directory, so a registered broker is online.
    if not online_dirs:
        return True
    return dir_id in online_dirs
