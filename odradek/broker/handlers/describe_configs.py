"""DescribeConfigs (key 32): the effective configuration of topics and of this broker.

Behaviour (Kafka's ``ConfigHelper.describeConfigs``), per resource:

* TOPIC: an illegal name is INVALID_TOPIC_EXCEPTION, a topic the metadata does not
  know UNKNOWN_TOPIC_OR_PARTITION; otherwise every public topic key, with the
  topic's own value if it has one, else the value the broker's configuration
  gives it (``retention.ms`` from ``log.retention.hours``, ...); topic keys are
  never read-only;
* BROKER ``"<this node id>"``: every broker key (internal ones only when set), with
  its current value; read-only unless it may change at run time;
* BROKER ``""``: only the cluster-wide dynamic defaults that are set;
* BROKER naming another broker: INVALID_REQUEST (a client asks each broker about
  itself); a name that is not a number likewise;
* BROKER_LOGGER ``"<this node id>"``: every logger and its level
  (:mod:`odradek.broker.loggers`); an empty name or another id is INVALID_REQUEST;
* CLIENT_METRICS: the subscription's stored configs; an empty name is INVALID_REQUEST;
* a resource type Kafka does not know fails the whole request: every resource is
  answered INVALID_REQUEST.

Each entry carries its source (topic override, dynamic per-broker, dynamic
default, static file, default) and, if ``include_synonyms``, the chain of keys and
layers its value comes from, most specific first
(:mod:`odradek.node.config.resolver`); the source is reported whether or not the
synonyms are. Sensitive (password) values are always null. ``configuration_keys``
null or empty means every key.

Left out: GROUP resources (KIP-848 group configs) are answered INVALID_REQUEST
("Unsupported resource type"), as Odradek has no group config table yet.

Version notes: v0 was removed in Kafka 4; v1+ report sources and synonyms; v3+
config types and, when asked, documentation; v4 is flexible.

Spec: ``clients/DescribeConfigsRequest.json``, ``clients/DescribeConfigsResponse.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from odradek.broker import loggers
from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.dynamic_config import config_layers
from odradek.controller.result import ApiError
from odradek.metadata.configs import ConfigResource, ConfigResourceType
from odradek.metadata.topic_names import validation_error
from odradek.node.config import BROKER_CONFIGS, TOPIC_CONFIGS, ConfigError, ConfigSource
from odradek.node.config.resolver import ResolvedConfig, describe_broker_config, describe_topic
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.describe_configs_request import (
    DescribeConfigsRequest,
    DescribeConfigsResource,
)
from odradek.protocol.messages.clients.describe_configs_response import (
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
    DescribeConfigsSynonym,
)

if TYPE_CHECKING:
    from odradek.broker.broker import Broker

DESCRIBE_CONFIGS = 32
_KNOWN_TYPES = frozenset(int(t) for t in ConfigResourceType if t != ConfigResourceType.UNKNOWN)


@handles(DESCRIBE_CONFIGS, 1, 4)
async def handle_describe_configs(
    ctx: RequestContext, request: DescribeConfigsRequest
) -> DescribeConfigsResponse:
    if any(r.resource_type not in _KNOWN_TYPES for r in request.resources):
        error = ErrorCode.INVALID_REQUEST
        return DescribeConfigsResponse(
            results=[
                DescribeConfigsResult(
                    error_code=error,
                    error_message=error.message,
                    resource_type=r.resource_type,
                    resource_name=r.resource_name,
                )
                for r in request.resources
            ]
        )
    return DescribeConfigsResponse(
        results=[_describe(ctx, resource, request) for resource in request.resources]
    )


def _describe(
    ctx: RequestContext, resource: DescribeConfigsResource, request: DescribeConfigsRequest
) -> DescribeConfigsResult:
    result = DescribeConfigsResult(
        resource_type=resource.resource_type, resource_name=resource.resource_name
    )
    try:
        entries = _entries(ctx, resource, request)
    except KafkaError as error:
        answer = ApiError.of(error)
        result.error_code = answer.code
        result.error_message = answer.message
        return result
    except ConfigError:
        # A stored value that no longer makes a valid configuration: Kafka answers so,
        # without a message, for any failure that is not a Kafka error.
        result.error_code = ErrorCode.UNKNOWN_SERVER_ERROR
        result.error_message = None
        return result
    wanted = resource.configuration_keys
    result.configs = [e for e in entries if not wanted or e.name in wanted]
    return result


def _entries(
    ctx: RequestContext, resource: DescribeConfigsResource, request: DescribeConfigsRequest
) -> list[DescribeConfigsResourceResult]:
    kind = resource.resource_type
    describe = _DESCRIBERS.get(kind)
    if describe is None:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {kind}")
    return describe(ctx.broker, resource.resource_name, _entry_maker(request))


Entry = Callable[[ResolvedConfig], DescribeConfigsResourceResult]


def _topic(broker: Broker, name: str, entry: Entry) -> list[DescribeConfigsResourceResult]:
    problem = validation_error(name)
    if problem is not None:
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem)
    if broker.image.topics.get_by_name(name) is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    stored = broker.image.configs.configs(ConfigResource.topic(name))
    overrides = {key: value for key, value in stored.items() if key in TOPIC_CONFIGS}
    layers = config_layers(broker.config, broker.image)
    return [entry(c) for c in describe_topic(overrides, layers)]


def _broker(broker: Broker, name: str, entry: Entry) -> list[DescribeConfigsResourceResult]:
    if not name:
        layers = config_layers(broker.config, broker.image, per_broker=False)
        keys = [k for k in BROKER_CONFIGS.keys if k in layers.dynamic_default]
        return [entry(describe_broker_config(k, layers, per_broker=False)) for k in keys]
    if _broker_id(name) != broker.node_id:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {broker.node_id} or empty string, but received {name}",
        )
    layers = config_layers(broker.config, broker.image)
    originals = broker.config.originals
    keys = [k.name for k in BROKER_CONFIGS if not k.internal or k.name in originals]
    return [entry(describe_broker_config(k, layers)) for k in keys]


def _broker_loggers(broker: Broker, name: str, entry: Entry) -> list[DescribeConfigsResourceResult]:
    if not name:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Broker id must not be empty")
    if _broker_id(name) != broker.node_id:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {broker.node_id} but received {name}",
        )
    return [
        _plain(logger, level, ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG)
        for logger, level in loggers.loggers().items()
    ]


def _client_metrics(broker: Broker, name: str, entry: Entry) -> list[DescribeConfigsResourceResult]:
    if not name:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, "Client metrics subscription name must not be empty"
        )
    stored = broker.image.configs.configs(
        ConfigResource(int(ConfigResourceType.CLIENT_METRICS), name)
    )
    return [_plain(key, value, ConfigSource.CLIENT_METRICS_CONFIG) for key, value in stored.items()]


_DESCRIBERS: dict[int, Callable[[Broker, str, Entry], list[DescribeConfigsResourceResult]]] = {
    ConfigResourceType.TOPIC: _topic,
    ConfigResourceType.BROKER: _broker,
    ConfigResourceType.BROKER_LOGGER: _broker_loggers,
    ConfigResourceType.CLIENT_METRICS: _client_metrics,
}


def _broker_id(name: str) -> int:
    try:
        return int(name)
    except ValueError:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, f"Broker id must be an integer, but it is: {name}"
        ) from None


def _entry_maker(request: DescribeConfigsRequest) -> Entry:
    def entry(resolved: ResolvedConfig) -> DescribeConfigsResourceResult:
        return DescribeConfigsResourceResult(
            name=resolved.name,
            value=resolved.value,
            read_only=resolved.read_only,
            config_source=resolved.source,
            is_sensitive=resolved.sensitive,
            synonyms=[
                DescribeConfigsSynonym(name=s.name, value=s.value, source=s.source)
                for s in resolved.synonyms
            ]
            if request.include_synonyms
            else [],
            config_type=resolved.type.value,
            documentation=resolved.doc if request.include_documentation else None,
        )

    return entry


def _plain(name: str, value: str, source: ConfigSource) -> DescribeConfigsResourceResult:
    """An entry outside the config tables: no synonyms, no type, writable, not sensitive."""
    return DescribeConfigsResourceResult(
        name=name, value=value, read_only=False, config_source=source, is_sensitive=False
    )
