"""Cluster metadata: the records of the ``__cluster_metadata`` log and the image they build.

In KRaft mode the metadata log is the only source of truth about the cluster: the
active controller decides, every decision is a metadata record, and everyone
replays committed records into an immutable image. This package is that replay,
shared by controllers and brokers; it is pure (no I/O, no clock, no randomness).

Reading order:

* :mod:`.records` -- records as values (:class:`VersionedRecord`);
* :mod:`.versions` -- ``metadata.version`` and the record versions it implies;
* :mod:`.serde` -- how records are framed in the log's record batches;
* the parts of the image, each with its delta: :mod:`.features`, :mod:`.cluster`,
  :mod:`.directories`, :mod:`.partition` and :mod:`.topics`, :mod:`.configs`,
  :mod:`.client_quotas`, :mod:`.producer_ids`, :mod:`.acls`, :mod:`.scram`,
  :mod:`.delegation_tokens` (:mod:`.merge` is how their maps change);
* :mod:`.image` -- :class:`MetadataImage`, the whole, and writing it back as records;
* :mod:`.delta` -- :class:`MetadataDelta`, replay and apply;
* :mod:`.loader` -- committed batches to published images, metadata transactions;
* :mod:`.topic_names` -- what a legal topic name is.

Specs: ``shared/kafka-spec/metadata/*.json``. The design is Kafka's
``org.apache.kafka.image`` package (``MetadataImage``, ``MetadataDelta``).
"""

from .cluster import BrokerRegistration, ClusterImage, ControllerRegistration, Endpoint
from .configs import ConfigResource, ConfigResourceType, ConfigurationsImage
from .delta import MetadataDelta, UnsupportedRecordError, replay_records
from .features import FeaturesImage
from .image import EMPTY_IMAGE, MetadataImage, MetadataProvenance
from .loader import MetadataLoader, Publication
from .partition import PartitionRegistration
from .producer_ids import ProducerIdsImage
from .records import NO_LEADER, NO_LEADER_CHANGE, MetadataReplayError, VersionedRecord
from .serde import MetadataBatch, MetadataParseError
from .topics import LocalReplicaChanges, PartitionInfo, TopicImage, TopicsImage
from .versions import MetadataVersion

__all__ = [
    "EMPTY_IMAGE",
    "NO_LEADER",
    "NO_LEADER_CHANGE",
    "BrokerRegistration",
    "ClusterImage",
    "ConfigResource",
    "ConfigResourceType",
    "ConfigurationsImage",
    "ControllerRegistration",
    "Endpoint",
    "FeaturesImage",
    "LocalReplicaChanges",
    "MetadataBatch",
    "MetadataDelta",
    "MetadataImage",
    "MetadataLoader",
    "MetadataParseError",
    "MetadataProvenance",
    "MetadataReplayError",
    "MetadataVersion",
    "PartitionInfo",
    "PartitionRegistration",
    "ProducerIdsImage",
    "Publication",
    "TopicImage",
    "TopicsImage",
    "UnsupportedRecordError",
    "VersionedRecord",
    "replay_records",
]
