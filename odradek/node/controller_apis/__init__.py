"""The controller listener: the requests a controller serves (Kafka's ``ControllerApis``).

Brokers reach the active controller over the controller listener
(``controller.listener.names``) with the Kafka protocol, as KRaft brokers do:
BrokerRegistration and BrokerHeartbeat to join and stay in the cluster, AlterPartition
to change ISRs, AllocateProducerIds for idempotent producers, and the admin requests
they forward (CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs,
IncrementalAlterConfigs, UpdateFeatures). The other controllers send it
ControllerRegistration (KIP-919). Admin tools with ``--bootstrap-controller`` ask it
DescribeCluster. Everything else closes the connection.

* :mod:`.registry`: the controller's handler registry and request context;
* :mod:`.dispatch`: :class:`ControllerApis`, frames in and out;
* :mod:`.commands`: the requests the active controller decides;
* :mod:`.api_versions`, :mod:`.describe_cluster`: the two any controller answers.

Importing this package registers every handler.
"""

from odradek.node.controller_apis import api_versions, commands, describe_cluster
from odradek.node.controller_apis.dispatch import ControllerApis
from odradek.node.controller_apis.registry import CONTROLLER_REGISTRY, ControllerApi

__all__ = [
    "CONTROLLER_REGISTRY",
    "ControllerApi",
    "ControllerApis",
    "api_versions",
    "commands",
    "describe_cluster",
]
