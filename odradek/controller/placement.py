"""Replica placement: which brokers hold the replicas of new partitions.

The striped placer spreads replicas across racks first and brokers second, and
keeps the leaders (first replicas) of consecutive partitions on different brokers:

* brokers are grouped by rack (no rack is a rack of its own); racks are walked in
  name order from a random start, and each rack hands out its brokers in turn from a
  random start, so partition after partition the first replica moves to the next
  rack and, in each rack, to the next broker;
* the first replica of a partition is always an unfenced broker (it becomes the
  leader); the others come from the following racks, unfenced brokers before fenced
  ones, never two from the same rack while another rack still has brokers to give;
* once every unfenced broker has led a partition, the rack and broker orders are
  shuffled so that the same replica sets do not repeat forever.

Fails with INVALID_REPLICATION_FACTOR when the factor is not positive, exceeds the
number of registered brokers, or no broker is unfenced. Brokers in controlled
shutdown get no new replicas.

Deterministic given the :class:`~.settings.RandomSource`. This is the algorithm of
Kafka's ``StripedReplicaPlacer`` (``org.apache.kafka.metadata.placement``); the
same seed does not give Kafka's placement, since Java's and Python's generators
differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from odradek.metadata.cluster import ClusterImage
from odradek.protocol.errors import ErrorCode, KafkaError

from .settings import RandomSource


class UsableBroker(NamedTuple):
    """A broker that may receive new replicas."""

    broker_id: int
    rack: str | None
    fenced: bool


def usable_brokers(cluster: ClusterImage) -> list[UsableBroker]:
    """The brokers of ``cluster`` that can take new replicas, by id.

    A broker leaves the pool when it starts a controlled shutdown; once it is fenced
    it is an ordinary fenced broker again, as in Kafka's heartbeat manager.
    """
    return [
        UsableBroker(b.broker_id, b.rack, b.fenced)
        for b in sorted(cluster.brokers.values(), key=lambda b: b.broker_id)
        if b.fenced or not b.in_controlled_shutdown
    ]


def _invalid(message: str) -> KafkaError:
    return KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, message)


class _BrokerList:
    """The brokers of one rack (fenced or not), handed out round-robin per placement."""

    def __init__(self) -> None:
        self.brokers: list[int] = []
        self.index = 0
        self.offset = 0
        self.epoch = 0

    def initialize(self, rng: RandomSource) -> None:
        if self.brokers:
            self.brokers.sort()
            self.offset = rng.randrange(len(self.brokers))

    def next(self, epoch: int) -> int:
        """The next broker of this placement round, or -1 when the round has used them all."""
        if not self.brokers:
            return -1
        if self.epoch != epoch:
            # A new partition: start one broker further on than the last one did.
            self.epoch = epoch
            self.index = 0
            self.offset = (self.offset + 1) % len(self.brokers)
        if self.index >= len(self.brokers):
            return -1
        broker = self.brokers[(self.index + self.offset) % len(self.brokers)]
        self.index += 1
        return broker


class _Rack:
    def __init__(self) -> None:
        self.fenced = _BrokerList()
        self.unfenced = _BrokerList()

    def next(self, epoch: int) -> int:
        broker = self.unfenced.next(epoch)
        return broker if broker >= 0 else self.fenced.next(epoch)


class _RackList:
    def __init__(self, rng: RandomSource, brokers: Iterable[UsableBroker]) -> None:
        self.rng = rng
        self.racks: dict[str | None, _Rack] = {}
        self.total = 0
        self.unfenced = 0
        for broker in brokers:
            rack = self.racks.setdefault(broker.rack, _Rack())
            (rack.fenced if broker.fenced else rack.unfenced).brokers.append(broker.broker_id)
            self.total += 1
            self.unfenced += not broker.fenced
        for rack in self.racks.values():
            rack.unfenced.initialize(rng)
            rack.fenced.initialize(rng)
        # No rack sorts first, then rack names in order.
        self.names: list[str | None] = sorted(self.racks, key=lambda n: (n is not None, n or ""))
        self.epoch = 0
        self.offset = rng.randrange(len(self.names)) if self.names else 0

    def check(self, replication_factor: int) -> None:
        if replication_factor <= 0:
            raise _invalid(
                f"Invalid replication factor {replication_factor}: the replication factor must "
                "be positive."
            )
        if self.unfenced == 0:
            raise _invalid("All brokers are currently fenced.")
        if replication_factor > self.total:
            raise _invalid(
                f"The target replication factor of {replication_factor} cannot be reached "
                f"because only {self.total} broker(s) are registered."
            )

    def _shuffle(self) -> None:
        self.rng.shuffle(self.names)
        for rack in self.racks.values():
            self.rng.shuffle(rack.unfenced.brokers)
            self.rng.shuffle(rack.fenced.brokers)

    def place(self, replication_factor: int) -> list[int]:
        self.check(replication_factor)
        if self.epoch == self.unfenced and self.unfenced > 1:
            self._shuffle()
            self.epoch = 0
        if self.offset == len(self.names):
            self.offset = 0
        # The leader: the next unfenced broker, from the first rack that has one.
        first_rack = self.offset
        while True:
            leader = self.racks[self.names[first_rack]].unfenced.next(self.epoch)
            if leader >= 0:
                break
            first_rack = (first_rack + 1) % len(self.names)
        replicas = [leader]
        # The followers: one per rack in turn from the starting rack, skipping the
        # leader's rack on the first pass round.
        rack_index = self.offset
        while len(replicas) < replication_factor:
            broker = -1
            while broker < 0:
                if rack_index == first_rack:
                    first_rack = -1
                else:
                    broker = self.racks[self.names[rack_index]].next(self.epoch)
                rack_index = (rack_index + 1) % len(self.names)
            replicas.append(broker)
        self.epoch += 1
        self.offset += 1
        return replicas


def place_replicas(
    brokers: Iterable[UsableBroker],
    *,
    num_partitions: int,
    replication_factor: int,
    rng: RandomSource,
) -> list[list[int]]:
    """Replica lists (leader first) for ``num_partitions`` new partitions."""
    racks = _RackList(rng, brokers)
    racks.check(replication_factor)
    return [racks.place(replication_factor) for _ in range(num_partitions)]
