"""The controller's static configuration, and the sources of ids and randomness it is given.

The controller core reads no clock, draws no random numbers and makes no ids of its
own: everything that varies comes in as an argument, so the same inputs always give
the same records. The node builds :class:`ControllerSettings` from its
``server.properties`` (Kafka's property names are noted on each field) and passes
a :data:`IdSource` and a :class:`RandomSource` (``random.Random(seed)`` fits).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, MutableSequence
from typing import Any, Protocol

import msgspec

from odradek.metadata import versions

#: Makes a fresh topic id; the controller skips ids that are zero or already taken.
IdSource = Callable[[], uuid.UUID]


class RandomSource(Protocol):
    """What replica placement needs from a random number generator."""

    def randrange(self, start: int) -> int:
        """A uniform int in ``[0, start)``."""
        ...

    def shuffle(self, x: MutableSequence[Any]) -> None: ...


class ControllerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Static settings of the controller."""

    #: ``node.id`` of this controller.
    node_id: int
    #: ``cluster.id`` from ``meta.properties``: brokers of other clusters are refused.
    cluster_id: str
    #: ``num.partitions``: partitions of a topic created without a count.
    default_num_partitions: int = 1
    #: ``default.replication.factor``: replicas of a topic created without a factor.
    default_replication_factor: int = 1
    #: ``broker.session.timeout.ms``: a broker silent this long is fenced.
    session_timeout_ms: int = 9000
    #: ``unclean.leader.election.enable`` as set statically on the controller.
    unclean_leader_election_enable: bool = False
    #: ``delete.topic.enable``.
    delete_topic_enable: bool = True
    #: The ``metadata.version`` a new cluster starts at.
    bootstrap_metadata_version: int = versions.LATEST_PRODUCTION
    #: Node ids of the controller quorum (``controller.quorum.voters``).
    controller_ids: frozenset[int] = frozenset()
