"""The group coordinator inside a broker: shards over ``__consumer_offsets``, run by trio.

The state machines are :mod:`odradek.coordinator.group` (pure: commands in, records
and replies out). This package is what a broker wraps around them, Kafka's
``GroupCoordinatorService`` and ``CoordinatorRuntime``:

* :mod:`.service` -- which shards this broker runs (one per ``__consumer_offsets``
  partition it leads) and which shard each request goes to;
* :mod:`.runner` -- one shard at work: loading from its partition, appending each
  command's records as one batch, holding replies until their records are
  committed, running its timers;
* :mod:`.partition_log` -- the partition's records read into a shard and written
  from a command;
* :mod:`.offsets_topic` -- creating ``__consumer_offsets`` on first need;
* :mod:`.lag` -- consumer lag, committed offsets against high watermarks.

The request handlers (``odradek.broker.handlers.join_group`` and the rest) decode a
request, pass it to :class:`GroupCoordinatorService` and encode the reply.
"""

from .lag import PartitionLag, consumer_lag
from .runner import RunnerStatus
from .service import GroupCoordinatorService

__all__ = ["GroupCoordinatorService", "PartitionLag", "RunnerStatus", "consumer_lag"]
