"""IncrementalAlterConfigs and legacy AlterConfigs for TOPIC and BROKER resources."""

from __future__ import annotations

from typing import Any

import pytest

from odradek.controller.configs import (
    OpType,
    incremental_alter_configs,
    legacy_alter_configs,
    unclean_leader_election_enabled,
)
from odradek.metadata.configs import ConfigResource
from odradek.metadata.image import MetadataImage
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.alter_configs_request import (
    AlterableConfig as LegacyConfig,
)
from odradek.protocol.messages.clients.alter_configs_request import (
    AlterConfigsRequest,
)
from odradek.protocol.messages.clients.alter_configs_request import (
    AlterConfigsResource as LegacyResource,
)
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    AlterableConfig,
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
)
from odradek.protocol.messages.metadata.config_record import ConfigRecord
from tests.controller.support import SCHEMA, SETTINGS, applied, cluster, create, messages

TOPIC, BROKER, LOGGER = 2, 4, 8


@pytest.fixture
def image() -> MetadataImage:
    return create(cluster([1]), "t", configs={"retention.ms": "100", "segment.bytes": "1024"})


def incremental(
    image: MetadataImage, *resources: AlterConfigsResource, validate_only: bool = False
) -> Any:
    request = IncrementalAlterConfigsRequest(resources=list(resources), validate_only=validate_only)
    return incremental_alter_configs(image, request, settings=SETTINGS, schema=SCHEMA)


def resource(type_: int, name: str, *ops: tuple[str, OpType, str | None]) -> AlterConfigsResource:
    return AlterConfigsResource(
        resource_type=type_,
        resource_name=name,
        configs=[AlterableConfig(name=n, config_operation=o, value=v) for n, o, v in ops],
    )


def outcomes(result: Any) -> list[tuple[int, str, int, str | None]]:
    return [
        (r.resource_type, r.resource_name, r.error_code, r.error_message)
        for r in result.response.responses
    ]


def record(name: str, value: str | None, type_: int = TOPIC, res: str = "t") -> ConfigRecord:
    return ConfigRecord(resource_type=type_, resource_name=res, name=name, value=value)


def test_set_and_delete(image: MetadataImage) -> None:
    result = incremental(
        image,
        resource(
            TOPIC,
            "t",
            ("retention.ms", OpType.SET, "200"),
            ("segment.bytes", OpType.DELETE, None),
            ("min.insync.replicas", OpType.DELETE, None),
        ),
    )
    assert outcomes(result) == [(TOPIC, "t", 0, None)]
    # Deleting a key that is not set changes nothing, so it writes nothing.
    assert messages(result) == [record("retention.ms", "200"), record("segment.bytes", None)]
    after = applied(image, result)
    assert after.configs.configs(ConfigResource.topic("t")) == {"retention.ms": "200"}


def test_unchanged_values_write_nothing_for_topics_but_do_for_brokers(
    image: MetadataImage,
) -> None:
    same = incremental(image, resource(TOPIC, "t", ("retention.ms", OpType.SET, "100")))
    assert same.records == []
    broker = incremental(image, resource(BROKER, "", ("log.retention.ms", OpType.SET, "1")))
    twice = incremental(
        applied(image, broker), resource(BROKER, "", ("log.retention.ms", OpType.SET, "1"))
    )
    assert messages(twice) == [record("log.retention.ms", "1", BROKER, "")]


def test_append_and_subtract(image: MetadataImage) -> None:
    appended = incremental(
        image, resource(TOPIC, "t", ("cleanup.policy", OpType.APPEND, "compact"))
    )
    # APPEND starts from the default when the key is not set.
    assert messages(appended) == [record("cleanup.policy", "delete,compact")]
    image = applied(image, appended)
    again = incremental(image, resource(TOPIC, "t", ("cleanup.policy", OpType.APPEND, "compact")))
    assert again.records == []
    subtracted = incremental(
        image, resource(TOPIC, "t", ("cleanup.policy", OpType.SUBTRACT, "delete"))
    )
    assert messages(subtracted) == [record("cleanup.policy", "compact")]
    not_a_list = incremental(image, resource(TOPIC, "t", ("retention.ms", OpType.APPEND, "5")))
    assert outcomes(not_a_list) == [
        (
            TOPIC,
            "t",
            ErrorCode.INVALID_CONFIG,
            "Can't APPEND to key retention.ms because its type is not LIST.",
        )
    ]


def test_each_resource_succeeds_or_fails_alone(image: MetadataImage) -> None:
    result = incremental(
        image,
        resource(TOPIC, "t", ("retention.ms", OpType.SET, "later")),
        resource(BROKER, "1", ("log.retention.ms", OpType.SET, "5")),
    )
    assert outcomes(result) == [
        (
            TOPIC,
            "t",
            ErrorCode.INVALID_CONFIG,
            "Invalid value later for configuration retention.ms: Not a number of type INT",
        ),
        (BROKER, "1", 0, None),
    ]
    assert messages(result) == [record("log.retention.ms", "5", BROKER, "1")]


@pytest.mark.parametrize(
    ("res", "error", "message"),
    [
        (
            resource(TOPIC, "nope", ("retention.ms", OpType.SET, "1")),
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            "The topic 'nope' does not exist.",
        ),
        (
            resource(TOPIC, "", ("retention.ms", OpType.SET, "1")),
            ErrorCode.INVALID_REQUEST,
            "Default topic resources are not allowed.",
        ),
        (
            resource(TOPIC, "a b", ("retention.ms", OpType.SET, "1")),
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            "Topic name is invalid: 'a b' contains one or more characters other than ASCII "
            "alphanumerics, '.', '_' and '-'",
        ),
        (
            resource(BROKER, "x", ("a", OpType.SET, "1")),
            ErrorCode.INVALID_REQUEST,
            "Unable to parse broker name as a base 10 number.",
        ),
        (
            resource(BROKER, "-1", ("a", OpType.SET, "1")),
            ErrorCode.INVALID_REQUEST,
            "Invalid negative broker ID.",
        ),
        (
            resource(BROKER, "7", ("a", OpType.SET, "1")),
            ErrorCode.BROKER_ID_NOT_REGISTERED,
            "No node with id 7 found.",
        ),
        (
            resource(TOPIC, "t", ("retention.ms", OpType.SET, None)),
            ErrorCode.INVALID_REQUEST,
            "Null value not supported for : retention.ms",
        ),
        (
            resource(
                TOPIC, "t", ("retention.ms", OpType.SET, "1"), ("retention.ms", OpType.DELETE, None)
            ),
            ErrorCode.INVALID_REQUEST,
            "Error due to duplicate config keys",
        ),
        (
            resource(TOPIC, "t", ("retention.ms", 9, "1")),  # type: ignore[arg-type]
            ErrorCode.INVALID_REQUEST,
            "Unknown operations type 9",
        ),
        (
            resource(3, "t", ("x", OpType.SET, "1")),
            ErrorCode.INVALID_REQUEST,
            "Unknown resource type 3",
        ),
        (
            resource(LOGGER, "1", ("kafka", OpType.SET, "DEBUG")),
            ErrorCode.INVALID_REQUEST,
            "BROKER_LOGGER configs are not stored in the metadata log",
        ),
    ],
)
def test_refused_resources(
    image: MetadataImage, res: AlterConfigsResource, error: ErrorCode, message: str
) -> None:
    result = incremental(image, res)
    assert result.records == []
    assert outcomes(result) == [(res.resource_type, res.resource_name, error, message)]


def test_a_resource_named_twice_is_refused_twice(image: MetadataImage) -> None:
    twice = resource(TOPIC, "t", ("retention.ms", OpType.SET, "1"))
    result = incremental(image, twice, twice)
    assert result.records == []
    assert [o[2:] for o in outcomes(result)] == [
        (ErrorCode.INVALID_REQUEST, "Each resource must appear at most once.")
    ] * 2


def test_validate_only(image: MetadataImage) -> None:
    result = incremental(
        image, resource(TOPIC, "t", ("retention.ms", OpType.SET, "5")), validate_only=True
    )
    assert result.records == []
    assert outcomes(result) == [(TOPIC, "t", 0, None)]


def legacy(image: MetadataImage, type_: int, name: str, **configs: str | None) -> Any:
    request = AlterConfigsRequest(
        resources=[
            LegacyResource(
                resource_type=type_,
                resource_name=name,
                configs=[
                    LegacyConfig(name=k.replace("_", "."), value=v) for k, v in configs.items()
                ],
            )
        ]
    )
    return legacy_alter_configs(image, request, settings=SETTINGS, schema=SCHEMA)


def test_legacy_alter_configs_replaces_the_whole_set(image: MetadataImage) -> None:
    result = legacy(image, TOPIC, "t", retention_ms="100", min_insync_replicas="2")
    assert outcomes(result) == [(TOPIC, "t", 0, None)]
    assert messages(result) == [record("min.insync.replicas", "2"), record("segment.bytes", None)]
    assert applied(image, result).configs.configs(ConfigResource.topic("t")) == {
        "retention.ms": "100",
        "min.insync.replicas": "2",
    }
    refused = legacy(image, TOPIC, "t", retention_ms=None)
    assert outcomes(refused)[0][2] == ErrorCode.INVALID_REQUEST


def test_unclean_leader_election_lookup(image: MetadataImage) -> None:
    assert not unclean_leader_election_enabled(image, SETTINGS, "t")
    cluster_wide = applied(
        image,
        incremental(
            image, resource(BROKER, "", ("unclean.leader.election.enable", OpType.SET, "TRUE"))
        ),
    )
    assert unclean_leader_election_enabled(cluster_wide, SETTINGS, "t")
    topic_off = applied(
        cluster_wide,
        incremental(
            cluster_wide,
            resource(TOPIC, "t", ("unclean.leader.election.enable", OpType.SET, "false")),
        ),
    )
    assert not unclean_leader_election_enabled(topic_off, SETTINGS, "t")
