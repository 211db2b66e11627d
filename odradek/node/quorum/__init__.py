"""The KRaft quorum in a real process: the trio shell around :mod:`odradek.raft`.

Every node holds a replica of ``__cluster_metadata``: a controller's is a voter of
``controller.quorum.voters``, a broker-only node's an observer that follows the log
without voting (``docs/ops.html``, "KRaft"; KIP-595, KIP-630, KIP-996). This package
runs that replica and connects it to the rest of the node:

* :mod:`.driver` -- :class:`RaftDriver`: the core, its log and ``quorum-state`` on disk,
  its clock; every input followed by its ``Ready``, carried out in the contract's order;
* :mod:`.peers` -- :class:`PeerNetwork`: Raft requests to the other voters over the
  Kafka protocol, one client connection per peer;
* :mod:`.raft_apis` -- the Raft APIs served on the controller listener;
* :mod:`.describe_quorum` -- DescribeQuorum on broker listeners, forwarded;
* :mod:`.wire` -- the version each request travels at, and how a pre-vote is marked;
* :mod:`.metadata_listener` -- committed batches and snapshots as metadata images, for
  the broker (and the batch decoding the controller shares);
* :mod:`.snapshots` -- when a node snapshots its image, and what the snapshot holds;
* :mod:`.channel` -- the broker of a combined node reaching its own active controller.

The controller is a listener too (:class:`odradek.node.controller_service.
ControllerService`): it replays every committed batch, and is the active controller
exactly while its replica leads the log.
"""

from odradek.node.quorum.driver import METADATA_PARTITION_DIR, RaftDriver, RaftListener, Transport
from odradek.node.quorum.metadata_listener import MetadataPublisher
from odradek.node.quorum.peers import PeerNetwork

__all__ = [
    "METADATA_PARTITION_DIR",
    "MetadataPublisher",
    "PeerNetwork",
    "RaftDriver",
    "RaftListener",
    "Transport",
]
