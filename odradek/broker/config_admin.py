"""What a broker checks of a config change before the controller sees it (AlterConfigs, both kinds).

Kafka's ``ConfigAdminManager.preprocess``: the broker answers some resources of an
AlterConfigs or IncrementalAlterConfigs request itself and forwards the rest to the
active controller; the two answers are put back together in request order
(``reassembleIncrementalResponse`` / ``reassembleLegacyResponse``). Per resource:

* a resource named more than once: every occurrence is INVALID_REQUEST ("Each
  resource must appear at most once.");
* a key named twice: INVALID_REQUEST ("Error due to duplicate config keys");
* a null value (except for an incremental DELETE): INVALID_REQUEST;
* BROKER: the name must be empty (the cluster-wide default) or this broker's id,
  and the change must pass :func:`~odradek.broker.dynamic_config.check_broker_change`;
* BROKER_LOGGER (incremental only): applied right here, never stored
  (:mod:`odradek.broker.loggers`); the legacy API does not know this type;
* TOPIC, CLIENT_METRICS, GROUP: nothing to check here, the controller decides;
* any other type: INVALID_REQUEST ("Unknown resource type").

A resource the controller's answer leaves out gets UNKNOWN_SERVER_ERROR.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from odradek.broker import loggers
from odradek.broker.dynamic_config import check_broker_change, parsable
from odradek.controller.result import NONE, ApiError
from odradek.metadata.configs import ConfigResource, ConfigResourceType
from odradek.metadata.image import MetadataImage
from odradek.node.config import BROKER_CONFIGS, BrokerConfig, ConfigType
from odradek.node.config.config_def import to_kafka_string
from odradek.protocol.errors import ErrorCode, KafkaError

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
_STORED_ELSEWHERE = (
    ConfigResourceType.TOPIC,
    ConfigResourceType.CLIENT_METRICS,
    ConfigResourceType.GROUP,
)


class Entry(Protocol):
    """A config entry of either request kind (legacy entries have no operation)."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str | None: ...


class IncrementalEntry(Entry, Protocol):
    @property
    def config_operation(self) -> int: ...


class Resource(Protocol):
    @property
    def resource_type(self) -> int: ...
    @property
    def resource_name(self) -> str: ...


def _duplicates(resources: Sequence[Resource]) -> dict[int, ApiError]:
    errors: dict[int, ApiError] = {}
    seen: dict[tuple[int, str], int] = {}
    for index, resource in enumerate(resources):
        key = (resource.resource_type, resource.resource_name)
        if key in seen:
            for i in (seen[key], index):
                errors[i] = ApiError(
                    ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."
                )
        seen[key] = index
    return errors


def _check_entries(names: Sequence[str], null_names: Sequence[str]) -> None:
    if len(set(names)) != len(names):
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
    if null_names:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, "Null value not supported for : " + ", ".join(null_names)
        )


def _check_broker_name(name: str, node_id: int) -> None:
    try:
        requested = int(name)
    except ValueError:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, f"Node id must be an integer, but it is: {name}"
        ) from None
    if requested != node_id:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {node_id}, but received {name}",
        )


def _java_split(value: str) -> list[str]:
    """``String.split(",")``: trailing empty strings dropped, but ``""`` gives ``[""]``."""
    if not value:
        return [""]
    parts = value.split(",")
    while parts and not parts[-1]:
        parts.pop()
    return parts


def _list_default(name: str) -> str | None:
    key = BROKER_CONFIGS[name]
    return to_kafka_string(key.default, ConfigType.LIST)


def incremental_result(
    current: Mapping[str, str], ops: Sequence[IncrementalEntry]
) -> dict[str, str]:
    """A BROKER resource's dynamic configs after ``ops`` (``prepareIncrementalConfigs``)."""
    configs = dict(current)
    for op in ops:
        name, value = op.name, op.value or ""
        if op.config_operation == SET:
            configs[name] = value
        elif op.config_operation == DELETE:
            configs.pop(name, None)
        elif op.config_operation in (APPEND, SUBTRACT):
            key = BROKER_CONFIGS.get(name)
            verb = "append" if op.config_operation == APPEND else "subtract"
            if key is None:
                raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown config name: {name}")
            if key.type is not ConfigType.LIST:
                raise KafkaError(
                    ErrorCode.INVALID_CONFIG,
                    f"Config value {verb} is not allowed for config key: {name}",
                )
            old = configs.get(name, _list_default(name)) or ""
            if op.config_operation == APPEND:
                kept = _java_split(old) if old else []
                items = kept + [item for item in _java_split(value) if item not in kept]
            else:
                removed = _java_split(value)
                items = _java_split(old)
                for item in removed:
                    if item in items:
                        items.remove(item)
            configs[name] = ",".join(items)
        else:
            raise KafkaError(
                ErrorCode.INVALID_REQUEST, f"Unknown operations type {op.config_operation}"
            )
    return configs


def _current_broker_configs(
    config: BrokerConfig, image: MetadataImage, resource_name: str
) -> dict[str, str]:
    """The dynamic configs of the BROKER resource ``resource_name``, which must be ours or ""."""
    if resource_name:
        _check_broker_name(resource_name, config.node_id)
    target = ConfigResource.broker(config.node_id if resource_name else None)
    return parsable(image.configs.configs(target))


class IncrementalResource(Resource, Protocol):
    @property
    def configs(self) -> Sequence[IncrementalEntry]: ...


class LegacyResource(Resource, Protocol):
    @property
    def configs(self) -> Sequence[Entry]: ...


def preprocess_incremental(
    config: BrokerConfig,
    image: MetadataImage,
    resources: Sequence[IncrementalResource],
    *,
    validate_only: bool,
) -> dict[int, ApiError]:
    """The answers the broker gives itself, by index in ``resources``; the rest go on."""
    results = _duplicates(resources)
    for index, resource in enumerate(resources):
        if index in results:
            continue
        entries = resource.configs
        try:
            _check_entries(
                [e.name for e in entries],
                [e.name for e in entries if e.config_operation != DELETE and e.value is None],
            )
            kind = resource.resource_type
            if kind == ConfigResourceType.BROKER_LOGGER:
                loggers.apply(
                    resource.resource_name, config.node_id, entries, validate_only=validate_only
                )
                results[index] = NONE
            elif kind == ConfigResourceType.BROKER:
                name = resource.resource_name
                current = _current_broker_configs(config, image, name)
                new = incremental_result(current, entries)
                check_broker_change(config, image, new, per_broker=bool(name))
            elif kind not in _STORED_ELSEWHERE:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {kind}")
        except KafkaError as error:
            results[index] = ApiError.of(error)
    return results


def preprocess_legacy(
    config: BrokerConfig, image: MetadataImage, resources: Sequence[LegacyResource]
) -> dict[int, ApiError]:
    """As :func:`preprocess_incremental`, for AlterConfigs, where a resource's set is complete."""
    results = _duplicates(resources)
    for index, resource in enumerate(resources):
        if index in results:
            continue
        entries = resource.configs
        try:
            _check_entries([e.name for e in entries], [e.name for e in entries if e.value is None])
            kind = resource.resource_type
            if kind == ConfigResourceType.BROKER:
                name = resource.resource_name
                _current_broker_configs(config, image, name)
                given = {e.name: e.value or "" for e in entries}
                check_broker_change(config, image, given, per_broker=bool(name))
            elif kind not in _STORED_ELSEWHERE:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {kind}")
        except KafkaError as error:
            results[index] = ApiError.of(error)
    return results


def reassemble(
    resources: Sequence[Resource],
    preprocessed: Mapping[int, ApiError],
    forwarded: Mapping[tuple[int, str], ApiError],
) -> list[ApiError]:
    """Each resource's answer in request order: the broker's own, else the controller's."""
    answers = []
    for index, resource in enumerate(resources):
        answer = preprocessed.get(index)
        if answer is None:
            answer = forwarded.get(
                (resource.resource_type, resource.resource_name),
                ApiError(ErrorCode.UNKNOWN_SERVER_ERROR),
            )
        answers.append(answer)
    return answers
