"""DescribeConfigs, IncrementalAlterConfigs and AlterConfigs against a broker and its controller."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from odradek.metadata.configs import ConfigResource
from odradek.node.config import ConfigSource
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
from odradek.protocol.messages.clients.describe_configs_request import (
    DescribeConfigsRequest,
    DescribeConfigsResource,
)
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    AlterableConfig,
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
)
from tests.broker.fakes import Node, make_broker

DESCRIBE_CONFIGS, ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS = 32, 33, 44
TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP = 2, 4, 8, 16, 32
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_broker(tmp_path)


@pytest.fixture
def restored_log_levels() -> Iterator[None]:
    """Log levels changed through BROKER_LOGGER are process-wide: put them back."""
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger().level
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().setLevel(root)


def describe(
    node: Node,
    resource_type: int,
    name: str,
    keys: list[str] | None = None,
    *,
    version: int = 4,
    synonyms: bool = True,
    documentation: bool = False,
) -> Any:
    request = DescribeConfigsRequest(
        resources=[
            DescribeConfigsResource(
                resource_type=resource_type, resource_name=name, configuration_keys=keys
            )
        ],
        include_synonyms=synonyms,
        include_documentation=documentation,
    )
    (result,) = node.call(DESCRIBE_CONFIGS, version, request).results
    return result


def entry(result: Any, name: str) -> Any:
    (found,) = [c for c in result.configs if c.name == name]
    return found


def synonyms(found: Any) -> list[tuple[str, str | None, int]]:
    return [(s.name, s.value, s.source) for s in found.synonyms]


def alter(node: Node, *resources: AlterConfigsResource, validate_only: bool = False) -> list[Any]:
    request = IncrementalAlterConfigsRequest(resources=list(resources), validate_only=validate_only)
    response = node.call(INCREMENTAL_ALTER_CONFIGS, 1, request)
    return [(r.resource_type, r.resource_name, r.error_code) for r in response.responses]


def resource(type_: int, name: str, *ops: tuple[str, int, str | None]) -> AlterConfigsResource:
    return AlterConfigsResource(
        resource_type=type_,
        resource_name=name,
        configs=[AlterableConfig(name=n, config_operation=o, value=v) for n, o, v in ops],
    )


# -- DescribeConfigs: topics ----------------------------------------------------------


def test_a_topic_override_comes_first_in_its_synonyms(node: Node) -> None:
    node.create_topic("t", configs={"segment.bytes": "1048576"})
    found = entry(describe(node, TOPIC, "t", ["segment.bytes"]), "segment.bytes")
    assert (found.value, found.config_source, found.read_only) == (
        "1048576",
        ConfigSource.DYNAMIC_TOPIC_CONFIG,
        False,
    )
    assert synonyms(found) == [
        ("segment.bytes", "1048576", ConfigSource.DYNAMIC_TOPIC_CONFIG),
        ("log.segment.bytes", "536870912", ConfigSource.STATIC_BROKER_CONFIG),
        ("log.segment.bytes", "1073741824", ConfigSource.DEFAULT_CONFIG),
    ]


def test_a_topic_without_override_takes_the_broker_value(node: Node) -> None:
    node.create_topic("t")
    result = describe(node, TOPIC, "t", synonyms=False)
    segment = entry(result, "segment.bytes")
    # The source is reported even when the synonyms are not.
    assert (segment.value, segment.config_source, segment.synonyms) == (
        "536870912",
        ConfigSource.STATIC_BROKER_CONFIG,
        [],
    )
    flush = entry(result, "flush.messages")
    assert (flush.value, flush.config_source) == (str(2**63 - 1), ConfigSource.DEFAULT_CONFIG)
    # Kafka's synonym chain starts at log.retention.ms, which is not set: a value that
    # comes from log.retention.hours is reported with no synonyms, as a default.
    retention = entry(describe(node, TOPIC, "t", ["retention.ms"]), "retention.ms")
    assert (retention.value, retention.config_source, retention.synonyms) == (
        "259200000",
        ConfigSource.DEFAULT_CONFIG,
        [],
    )
    assert "internal.segment.bytes" not in {c.name for c in result.configs}


def test_configuration_keys_select_entries(node: Node) -> None:
    node.create_topic("t")
    result = describe(node, TOPIC, "t", ["cleanup.policy", "no.such.key"])
    assert [c.name for c in result.configs] == ["cleanup.policy"]
    assert len(describe(node, TOPIC, "t", []).configs) > 20


def test_missing_and_illegal_topics(node: Node) -> None:
    assert describe(node, TOPIC, "nothing").error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    illegal = describe(node, TOPIC, "a/b")
    assert illegal.error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert illegal.configs == []


def test_documentation_and_types_are_given_from_v3(node: Node) -> None:
    node.create_topic("t")
    documented = entry(describe(node, TOPIC, "t", documentation=True), "cleanup.policy")
    assert documented.documentation
    assert documented.config_type == 7  # LIST
    plain = entry(describe(node, TOPIC, "t"), "cleanup.policy")
    assert plain.documentation is None
    old = entry(describe(node, TOPIC, "t", version=2), "cleanup.policy")
    # Not in v2 at all: the client sees the field's default.
    assert (old.config_type, old.documentation) == (0, "")


# -- DescribeConfigs: this broker -------------------------------------------------------


def test_this_broker_lists_every_key_with_its_source(node: Node) -> None:
    result = describe(node, BROKER, "1")
    assert result.error_code == ErrorCode.NONE
    hours = entry(result, "log.retention.hours")
    assert (hours.value, hours.config_source, hours.read_only) == (
        "72",
        ConfigSource.STATIC_BROKER_CONFIG,
        True,
    )
    threads = entry(result, "num.io.threads")
    assert (threads.value, threads.config_source, threads.read_only) == (
        "8",
        ConfigSource.DEFAULT_CONFIG,
        False,
    )
    password = entry(result, "ssl.keystore.password")
    assert (password.value, password.is_sensitive) == (None, True)


@pytest.mark.parametrize("name", ["2", "one"])
def test_other_brokers_are_not_described_here(node: Node, name: str) -> None:
    result = describe(node, BROKER, name)
    assert (result.error_code, result.configs) == (ErrorCode.INVALID_REQUEST, [])


def test_dynamic_values_show_their_layer(node: Node) -> None:
    assert describe(node, BROKER, "").configs == []
    assert alter(
        node,
        resource(BROKER, "", ("log.retention.ms", SET, "5000")),
        resource(BROKER, "1", ("num.io.threads", SET, "4")),
    ) == [(BROKER, "", 0), (BROKER, "1", 0)]
    defaults = describe(node, BROKER, "")
    assert [(c.name, c.value, c.config_source) for c in defaults.configs] == [
        ("log.retention.ms", "5000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    ]
    own = describe(node, BROKER, "1")
    threads = entry(own, "num.io.threads")
    assert synonyms(threads) == [
        ("num.io.threads", "4", ConfigSource.DYNAMIC_BROKER_CONFIG),
        ("num.io.threads", "8", ConfigSource.DEFAULT_CONFIG),
    ]
    # A cluster-wide log.retention.ms now outranks the static log.retention.hours.
    node.create_topic("t")
    retention = entry(describe(node, TOPIC, "t", ["retention.ms"]), "retention.ms")
    assert (retention.value, retention.config_source) == (
        "5000",
        ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    )


def test_broker_loggers_are_listed_with_their_levels(node: Node, restored_log_levels: None) -> None:
    logging.getLogger("odradek.test.described").setLevel(logging.DEBUG)
    result = describe(node, BROKER_LOGGER, "1")
    levels = {c.name: c.value for c in result.configs}
    assert levels["odradek.test.described"] == "DEBUG"
    assert "root" in levels
    assert {c.config_source for c in result.configs} == {ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG}
    assert describe(node, BROKER_LOGGER, "").error_code == ErrorCode.INVALID_REQUEST
    assert describe(node, BROKER_LOGGER, "3").error_code == ErrorCode.INVALID_REQUEST


def test_an_unknown_resource_type_fails_the_whole_request(node: Node) -> None:
    node.create_topic("t")
    request = DescribeConfigsRequest(
        resources=[
            DescribeConfigsResource(resource_type=TOPIC, resource_name="t"),
            DescribeConfigsResource(resource_type=99, resource_name="x"),
        ]
    )
    results = node.call(DESCRIBE_CONFIGS, 4, request).results
    assert [(r.resource_name, r.error_code, r.configs) for r in results] == [
        ("t", ErrorCode.INVALID_REQUEST, []),
        ("x", ErrorCode.INVALID_REQUEST, []),
    ]


def test_group_and_client_metrics_resources(node: Node) -> None:
    assert describe(node, GROUP, "g").error_code == ErrorCode.INVALID_REQUEST
    assert describe(node, CLIENT_METRICS, "").error_code == ErrorCode.INVALID_REQUEST
    subscription = describe(node, CLIENT_METRICS, "sub")
    assert (subscription.error_code, subscription.configs) == (ErrorCode.NONE, [])


# -- IncrementalAlterConfigs ------------------------------------------------------------


def test_topic_operations_reach_the_image(node: Node) -> None:
    node.create_topic("t", configs={"retention.ms": "1000"})
    assert alter(
        node,
        resource(
            TOPIC,
            "t",
            ("retention.ms", DELETE, None),
            ("cleanup.policy", APPEND, "compact"),
            ("segment.ms", SET, "60000"),
        ),
    ) == [(TOPIC, "t", 0)]
    assert node.broker.image.configs.configs(ConfigResource.topic("t")) == {
        "cleanup.policy": "delete,compact",
        "segment.ms": "60000",
    }


def test_validate_only_changes_nothing(node: Node) -> None:
    node.create_topic("t")
    assert alter(node, resource(TOPIC, "t", ("segment.ms", SET, "60000")), validate_only=True) == [
        (TOPIC, "t", 0)
    ]
    assert node.broker.image.configs.configs(ConfigResource.topic("t")) == {}


@pytest.mark.parametrize(
    ("name", "ops", "message"),
    [
        ("1", [("log.dirs", SET, "/elsewhere")], "Cannot update these configs dynamically: Set("),
        ("", [("listeners", SET, "PLAINTEXT://:9094")], "at default cluster level"),
        ("1", [("num.io.threads", SET, "0")], "num.io.threads"),
        ("1", [("no.such.key", SET, "1")], "unknown configuration key: no.such.key"),
        ("1", [("num.io.threads", APPEND, "1")], "not allowed"),
        ("2", [("num.io.threads", SET, "4")], "Unexpected broker id, expected 1, but received 2"),
        ("x", [("num.io.threads", SET, "4")], "Node id must be an integer"),
    ],
)
def test_broker_changes_are_checked_before_they_leave_the_broker(
    node: Node, name: str, ops: list[tuple[str, int, str | None]], message: str
) -> None:
    request = IncrementalAlterConfigsRequest(resources=[resource(BROKER, name, *ops)])
    (answer,) = node.call(INCREMENTAL_ALTER_CONFIGS, 1, request).responses
    assert answer.error_code in (ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_CONFIG)
    assert message in answer.error_message
    # Refused on the broker: the controller never heard of it.
    assert INCREMENTAL_ALTER_CONFIGS not in node.controller.calls


def test_list_keys_of_a_broker_can_be_appended_to(node: Node) -> None:
    assert alter(node, resource(BROKER, "", ("log.cleanup.policy", APPEND, "compact"))) == [
        (BROKER, "", 0)
    ]
    assert node.broker.image.configs.configs(ConfigResource.broker()) == {
        "log.cleanup.policy": "delete,compact"
    }


def test_request_problems_are_answered_per_resource(node: Node) -> None:
    node.create_topic("t")
    answers = alter(
        node,
        resource(TOPIC, "t", ("segment.ms", SET, "1"), ("segment.ms", DELETE, None)),
        resource(TOPIC, "t2", ("segment.ms", SET, None)),
        resource(TOPIC, "twice", ("segment.ms", SET, "1")),
        resource(TOPIC, "twice", ("segment.ms", SET, "2")),
        resource(TOPIC, "missing", ("segment.ms", SET, "1")),
        resource(77, "odd", ("a", SET, "1")),
    )
    assert answers == [
        (TOPIC, "t", ErrorCode.INVALID_REQUEST),
        (TOPIC, "t2", ErrorCode.INVALID_REQUEST),
        (TOPIC, "twice", ErrorCode.INVALID_REQUEST),
        (TOPIC, "twice", ErrorCode.INVALID_REQUEST),
        (TOPIC, "missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        (77, "odd", ErrorCode.INVALID_REQUEST),
    ]


def test_broker_logger_levels_change_at_once(node: Node, restored_log_levels: None) -> None:
    child = logging.getLogger("odradek.test.loggers.child")
    assert alter(node, resource(BROKER_LOGGER, "1", ("odradek.test.loggers", SET, "DEBUG"))) == [
        (BROKER_LOGGER, "1", 0)
    ]
    assert child.getEffectiveLevel() == logging.DEBUG
    assert INCREMENTAL_ALTER_CONFIGS not in node.controller.calls
    assert alter(node, resource(BROKER_LOGGER, "1", ("odradek.test.loggers", DELETE, None))) == [
        (BROKER_LOGGER, "1", 0)
    ]
    assert logging.getLogger("odradek.test.loggers").level == logging.NOTSET


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([("odradek.test.loggers", SET, "LOUD")], ErrorCode.INVALID_CONFIG),
        ([("odradek.test.loggers", SET, "debug")], ErrorCode.INVALID_CONFIG),
        ([("no.logger.here", SET, "INFO")], ErrorCode.INVALID_CONFIG),
        ([("root", DELETE, None)], ErrorCode.INVALID_REQUEST),
        ([("odradek.test.loggers", APPEND, "INFO")], ErrorCode.INVALID_REQUEST),
        # One bad operation stops the good one before it.
        (
            [("odradek.test.loggers", SET, "ERROR"), ("root", SUBTRACT, "INFO")],
            ErrorCode.INVALID_REQUEST,
        ),
    ],
)
def test_bad_logger_changes_change_nothing(
    node: Node, restored_log_levels: None, ops: list[tuple[str, int, str | None]], code: int
) -> None:
    logger = logging.getLogger("odradek.test.loggers")
    logger.setLevel(logging.INFO)
    assert alter(node, resource(BROKER_LOGGER, "1", *ops)) == [(BROKER_LOGGER, "1", code)]
    assert logger.level == logging.INFO


def test_logger_changes_can_be_validated_only(node: Node, restored_log_levels: None) -> None:
    logger = logging.getLogger("odradek.test.loggers")
    logger.setLevel(logging.INFO)
    assert alter(
        node,
        resource(BROKER_LOGGER, "1", ("odradek.test.loggers", SET, "TRACE")),
        validate_only=True,
    ) == [(BROKER_LOGGER, "1", 0)]
    assert logger.level == logging.INFO
    assert alter(node, resource(BROKER_LOGGER, "2", ("odradek.test.loggers", SET, "TRACE"))) == [
        (BROKER_LOGGER, "2", ErrorCode.INVALID_REQUEST)
    ]


def test_an_unreachable_controller_fails_only_what_was_forwarded(
    node: Node, restored_log_levels: None
) -> None:
    node.create_topic("t")
    logging.getLogger("odradek.test.loggers").setLevel(logging.INFO)
    node.controller.unreachable = ErrorCode.REQUEST_TIMED_OUT
    assert alter(
        node,
        resource(TOPIC, "t", ("segment.ms", SET, "60000")),
        resource(BROKER_LOGGER, "1", ("odradek.test.loggers", SET, "WARN")),
        resource(BROKER, "1", ("log.dirs", SET, "/x")),
    ) == [
        (TOPIC, "t", ErrorCode.REQUEST_TIMED_OUT),
        (BROKER_LOGGER, "1", 0),
        (BROKER, "1", ErrorCode.INVALID_REQUEST),
    ]


# -- AlterConfigs (legacy) --------------------------------------------------------------


def legacy(node: Node, *resources: LegacyResource) -> list[tuple[int, str, int]]:
    response = node.call(ALTER_CONFIGS, 2, AlterConfigsRequest(resources=list(resources)))
    return [(r.resource_type, r.resource_name, r.error_code) for r in response.responses]


def test_legacy_alter_replaces_the_whole_set(node: Node) -> None:
    node.create_topic("t", configs={"retention.ms": "1000"})
    assert legacy(
        node,
        LegacyResource(
            resource_type=TOPIC,
            resource_name="t",
            configs=[LegacyConfig(name="segment.ms", value="60000")],
        ),
    ) == [(TOPIC, "t", 0)]
    assert node.broker.image.configs.configs(ConfigResource.topic("t")) == {"segment.ms": "60000"}


def test_legacy_alter_checks_brokers_and_knows_no_loggers(node: Node) -> None:
    assert legacy(
        node,
        LegacyResource(
            resource_type=BROKER_LOGGER,
            resource_name="1",
            configs=[LegacyConfig(name="root", value="INFO")],
        ),
        LegacyResource(
            resource_type=BROKER,
            resource_name="1",
            configs=[LegacyConfig(name="log.dirs", value="/x")],
        ),
        LegacyResource(
            resource_type=BROKER,
            resource_name="",
            configs=[LegacyConfig(name="log.retention.ms", value="7000")],
        ),
    ) == [
        (BROKER_LOGGER, "1", ErrorCode.INVALID_REQUEST),
        (BROKER, "1", ErrorCode.INVALID_REQUEST),
        (BROKER, "", 0),
    ]
    assert node.broker.image.configs.configs(ConfigResource.broker()) == {
        "log.retention.ms": "7000"
    }
