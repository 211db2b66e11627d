"""Hypothesis strategies for metadata images that the metadata log can express.

An image is drawn at a ``metadata.version`` level and holds only what records of
that level can carry (no controlled-shutdown state before 3.3-IV3, no directories
before 3.7-IV2, no ELR before 4.0-IV1), so that writing it as records and replaying
them must give it back exactly.
"""

from __future__ import annotations

from hypothesis import strategies as st

from odradek.metadata import directories, versions
from odradek.metadata.acls import AclsImage, StandardAcl
from odradek.metadata.client_quotas import ClientQuotasImage, quota_entity
from odradek.metadata.cluster import (
    BrokerRegistration,
    ClusterImage,
    ControllerRegistration,
    Endpoint,
    VersionRange,
    sorted_directories,
)
from odradek.metadata.configs import ConfigResource, ConfigurationsImage
from odradek.metadata.delegation_tokens import DelegationToken, DelegationTokensImage
from odradek.metadata.features import FeaturesImage
from odradek.metadata.image import MetadataImage, MetadataProvenance
from odradek.metadata.partition import PartitionRegistration
from odradek.metadata.producer_ids import ProducerIdsImage
from odradek.metadata.scram import ScramCredential, ScramImage
from odradek.metadata.topics import TopicImage, TopicsImage
from odradek.metadata.versions import MetadataVersion

NAMES = st.text("abcdefghij.-_XYZ0123456789", min_size=1, max_size=12)
UUIDS = st.uuids().filter(lambda u: not directories.is_reserved(u))
INT16 = st.integers(-(2**15), 2**15 - 1)
BROKER_IDS = st.integers(0, 20)

LEVELS = st.sampled_from([0, 4, 5, 6, 7, 8, 12, 13, 15, 17, 21, 23, 25])


def endpoints() -> st.SearchStrategy[dict[str, Endpoint]]:
    return st.dictionaries(
        NAMES,
        st.builds(
            lambda host, port, proto: (host, port, proto),
            NAMES,
            st.integers(0, 65535),
            st.integers(0, 3),
        ),
        max_size=3,
    ).map(
        lambda d: {
            name: Endpoint(name=name, host=h, port=p, security_protocol=s)
            for name, (h, p, s) in d.items()
        }
    )


def feature_ranges() -> st.SearchStrategy[dict[str, VersionRange]]:
    return st.dictionaries(
        NAMES, st.builds(VersionRange, st.integers(0, 30), st.integers(0, 30)), max_size=3
    )


@st.composite
def broker(draw: st.DrawFn, broker_id: int, mv: MetadataVersion) -> BrokerRegistration:
    return BrokerRegistration(
        broker_id=broker_id,
        epoch=draw(st.integers(0, 2**40)),
        incarnation_id=draw(st.uuids()),
        listeners=draw(endpoints()),
        supported_features=draw(feature_ranges()),
        rack=draw(st.none() | NAMES),
        fenced=draw(st.booleans()),
        in_controlled_shutdown=(
            draw(st.booleans()) if mv.supports_controlled_shutdown_state else False
        ),
        is_migrating_zk_broker=draw(st.booleans()) if mv.supports_migration else False,
        directories=(
            sorted_directories(draw(st.lists(UUIDS, max_size=3, unique=True)))
            if mv.supports_directory_assignment
            else ()
        ),
    )


@st.composite
def controller(draw: st.DrawFn, controller_id: int) -> ControllerRegistration:
    return ControllerRegistration(
        controller_id=controller_id,
        incarnation_id=draw(st.uuids()),
        zk_migration_ready=draw(st.booleans()),
        listeners=draw(endpoints()),
        supported_features=draw(feature_ranges()),
    )


@st.composite
def cluster_images(draw: st.DrawFn, mv: MetadataVersion) -> ClusterImage:
    broker_ids = draw(st.sets(BROKER_IDS, max_size=5))
    controller_ids = draw(st.sets(BROKER_IDS, max_size=3))
    return ClusterImage(
        brokers={b: draw(broker(b, mv)) for b in sorted(broker_ids)},
        controllers={c: draw(controller(c)) for c in sorted(controller_ids)},
    )


def _subset(draw: st.DrawFn, items: list[int]) -> list[int]:
    chosen = draw(st.lists(st.sampled_from(items), unique=True)) if items else []
    return [i for i in items if i in chosen]


@st.composite
def partitions(draw: st.DrawFn, mv: MetadataVersion) -> PartitionRegistration:
    replicas = draw(st.lists(BROKER_IDS, min_size=1, max_size=4, unique=True))
    isr = _subset(draw, replicas)
    has_leader: bool = draw(st.booleans())
    leader: int = draw(st.sampled_from(isr)) if isr and has_leader else -1
    if mv.supports_directory_assignment:
        # Real ids or the reserved ones a controller writes; never all MIGRATING, which
        # replay cannot tell from "no directories recorded".
        dir_ids = UUIDS | st.sampled_from([directories.UNASSIGNED, directories.LOST])
        dirs = tuple(draw(st.lists(dir_ids, min_size=len(replicas), max_size=len(replicas))))
    else:
        dirs = (directories.MIGRATING,) * len(replicas)
    return PartitionRegistration(
        replicas=tuple(replicas),
        directories=dirs,
        isr=tuple(isr),
        removing_replicas=tuple(_subset(draw, replicas)),
        adding_replicas=tuple(_subset(draw, replicas)),
        elr=tuple(_subset(draw, replicas)) if mv.supports_elr else (),
        last_known_elr=tuple(_subset(draw, replicas)) if mv.supports_elr else (),
        leader=leader,
        leader_recovery_state=draw(st.sampled_from([0, 1])),
        leader_epoch=draw(st.integers(0, 2**31 - 1)),
        partition_epoch=draw(st.integers(0, 2**31 - 1)),
    )


@st.composite
def topics_images(draw: st.DrawFn, mv: MetadataVersion) -> TopicsImage:
    names = draw(st.lists(NAMES, unique=True, max_size=4))
    ids = draw(st.lists(UUIDS, unique=True, min_size=len(names), max_size=len(names)))
    topics = [
        TopicImage(
            name=name,
            topic_id=topic_id,
            partitions=draw(st.dictionaries(st.integers(0, 6), partitions(mv), max_size=4)),
        )
        for name, topic_id in zip(names, ids, strict=True)
    ]
    return TopicsImage(by_id={t.topic_id: t for t in topics}, by_name={t.name: t for t in topics})


def config_images() -> st.SearchStrategy[ConfigurationsImage]:
    resources = st.one_of(
        NAMES.map(ConfigResource.topic),
        st.none().map(lambda _: ConfigResource.broker()),
        BROKER_IDS.map(ConfigResource.broker),
    )
    return st.dictionaries(
        resources, st.dictionaries(NAMES, st.text(max_size=8), min_size=1, max_size=3), max_size=4
    ).map(lambda r: ConfigurationsImage(resources=r))


INT8 = st.integers(-128, 127)


def acl_images() -> st.SearchStrategy[AclsImage]:
    acl = st.builds(
        StandardAcl,
        resource_type=INT8,
        resource_name=NAMES,
        pattern_type=INT8,
        principal=NAMES.map("User:".__add__),
        host=st.sampled_from(["*", "10.0.0.1"]),
        operation=INT8,
        permission_type=INT8,
    )
    return st.dictionaries(st.uuids(), acl, max_size=3).map(lambda a: AclsImage(acls=a))


def client_quota_images() -> st.SearchStrategy[ClientQuotasImage]:
    entity = st.dictionaries(
        st.sampled_from(["user", "client-id", "ip"]), st.none() | NAMES, min_size=1
    ).map(lambda parts: quota_entity(parts.items()))
    quotas = st.dictionaries(
        st.sampled_from(["producer_byte_rate", "consumer_byte_rate", "request_percentage"]),
        st.floats(allow_nan=False),
        min_size=1,
    )
    return st.dictionaries(entity, quotas, max_size=3).map(lambda e: ClientQuotasImage(entities=e))


def scram_images() -> st.SearchStrategy[ScramImage]:
    credential = st.builds(
        ScramCredential,
        salt=st.binary(max_size=8),
        stored_key=st.binary(max_size=8),
        server_key=st.binary(max_size=8),
        iterations=st.integers(4096, 10_000),
    )
    return st.dictionaries(st.tuples(st.sampled_from([1, 2]), NAMES), credential, max_size=3).map(
        lambda c: ScramImage(credentials=c)
    )


def delegation_token_images() -> st.SearchStrategy[DelegationTokensImage]:
    token = st.builds(
        DelegationToken,
        owner=NAMES,
        requester=NAMES,
        renewers=st.lists(NAMES, max_size=2).map(tuple),
        issue_timestamp=st.integers(0, 2**41),
        max_timestamp=st.integers(0, 2**41),
        expiration_timestamp=st.integers(0, 2**41),
    )
    return st.dictionaries(NAMES, token, max_size=3).map(lambda t: DelegationTokensImage(tokens=t))


@st.composite
def features_images(draw: st.DrawFn, level: int) -> FeaturesImage:
    mv = MetadataVersion(max(level, versions.MINIMUM_KRAFT_VERSION))
    return FeaturesImage(
        metadata_version_level=level,
        finalized_versions=draw(
            st.dictionaries(
                NAMES.filter(lambda n: n != versions.FEATURE_NAME),
                st.integers(1, 2**15 - 1),
                max_size=3,
            )
        ),
        zk_migration_state=draw(st.integers(0, 3)) if mv.supports_migration and level else 0,
    )


@st.composite
def images(draw: st.DrawFn) -> MetadataImage:
    level = draw(LEVELS)
    mv = MetadataVersion(max(level, versions.MINIMUM_KRAFT_VERSION))
    return MetadataImage(
        provenance=MetadataProvenance(last_offset=draw(st.integers(0, 2**40)), last_epoch=3),
        features=draw(features_images(level)),
        cluster=draw(cluster_images(mv)),
        topics=draw(topics_images(mv)),
        configs=draw(config_images()),
        client_quotas=draw(client_quota_images()),
        producer_ids=ProducerIdsImage(next_producer_id=draw(st.just(-1) | st.integers(0, 2**62))),
        acls=draw(acl_images()),
        scram=draw(scram_images()),
        delegation_tokens=draw(delegation_token_images()),
    )
