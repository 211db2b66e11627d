"""The quorum controller: admin requests, registrations and heartbeats become metadata records.

Every command reads the current :class:`~odradek.metadata.MetadataImage`, decides,
and returns a :class:`~.result.ControllerResult` -- records and a response. Nothing
changes until the records are replayed, by the same replay every broker uses. The
core is pure: time, ids and randomness are arguments.

Reading order:

* :mod:`.result`, :mod:`.settings` -- what commands return and what they are given;
* :mod:`.features` -- the records that start a cluster;
* :mod:`.registration`, :mod:`.heartbeats` -- brokers joining, staying, leaving;
* :mod:`.partition_change`, :mod:`.leadership` -- ISR changes and leader elections;
* :mod:`.placement`, :mod:`.partitions`, :mod:`.topics` -- creating and deleting topics;
* :mod:`.alter_partition` -- ISR changes proposed by leaders;
* :mod:`.configs`, :mod:`.producer_ids` -- dynamic configs, producer id blocks;
* :mod:`.quorum_controller` -- the state machine a node drives.

Modelled on Kafka's ``org.apache.kafka.controller`` package.
"""

from .heartbeats import BrokerControlState, BrokerHeartbeatTracker
from .quorum_controller import Decision, NotActiveError, QuorumController
from .result import ApiError, ControllerResult
from .settings import ControllerSettings, IdSource, RandomSource

__all__ = [
    "ApiError",
    "BrokerControlState",
    "BrokerHeartbeatTracker",
    "ControllerResult",
    "ControllerSettings",
    "Decision",
    "IdSource",
    "NotActiveError",
    "QuorumController",
    "RandomSource",
]
