"""Dynamic configs: IncrementalAlterConfigs, legacy AlterConfigs, and topic configs at creation.

A config change becomes ``ConfigRecord`` s, one per key, null value meaning delete
(``shared/kafka-spec/metadata/ConfigRecord.json``). Before any record is made the
whole resulting config set of the resource is validated; a resource either
changes completely or not at all, independently of the other resources of the
request.

* IncrementalAlterConfigs (``clients/IncrementalAlterConfigsRequest.json``) sends
  operations per key: SET, DELETE, APPEND and SUBTRACT (the last two only for list
  keys, on the current value or the default, items comma-separated).
* AlterConfigs (``clients/AlterConfigsRequest.json``, legacy) sends the complete new
  set: keys it does not name are deleted.
* BROKER resources always get their records, even when a value does not change,
  because a broker reloads a config when it sees its record (KAFKA-14136).

What a key means and whether a value is valid is the config table's business: the
caller passes a :class:`ConfigSchema`. Resource names are checked here: a topic
resource must name a legal topic that exists, a broker resource a registered node
id or "" (cluster-wide defaults). BROKER_LOGGER resources are never stored in the
metadata log; the broker handles them before calling in, and here they are
refused.

Mirrors Kafka's ``ConfigurationControlManager`` and the request checks of
``ConfigAdminManager.preprocess`` and ``ControllerConfigurationValidator``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Protocol

from odradek.metadata.configs import ConfigResource, ConfigResourceType
from odradek.metadata.image import MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.metadata.topic_names import validation_error
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.alter_configs_request import AlterConfigsRequest
from odradek.protocol.messages.clients.alter_configs_response import (
    AlterConfigsResourceResponse as LegacyResourceResponse,
)
from odradek.protocol.messages.clients.alter_configs_response import AlterConfigsResponse
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    IncrementalAlterConfigsRequest,
)
from odradek.protocol.messages.clients.incremental_alter_configs_response import (
    AlterConfigsResourceResponse,
    IncrementalAlterConfigsResponse,
)
from odradek.protocol.messages.metadata.config_record import ConfigRecord

from .result import NONE, ApiError, ControllerResult
from .settings import ControllerSettings

UNCLEAN_LEADER_ELECTION_ENABLE = "unclean.leader.election.enable"


class OpType(enum.IntEnum):
    """``AlterableConfig.ConfigOperation`` of IncrementalAlterConfigs."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class ConfigSchema(Protocol):
    """What the controller needs to know about config keys; the node's config table provides it."""

    def validate(
        self, resource: ConfigResource, configs: Mapping[str, str], existing: Mapping[str, str]
    ) -> None:
        """Check ``configs``, the complete new dynamic config set of ``resource``.

        Raise :class:`~odradek.protocol.errors.KafkaError` (usually INVALID_CONFIG with
        a message naming the key) if it is not acceptable. ``existing`` is the set it
        replaces.
        """
        ...

    def is_list(self, resource_type: int, name: str) -> bool:
        """True if ``name`` is a LIST key, which APPEND and SUBTRACT may change."""
        ...

    def default_value(self, resource_type: int, name: str) -> str | None:
        """The default of ``name``, as a string, that APPEND and SUBTRACT start from."""
        ...


def _check_resource_name(resource: ConfigResource) -> None:
    """Kafka's ``ControllerConfigurationValidator.validate(resource)``."""
    if resource.type == ConfigResourceType.TOPIC:
        if not resource.name:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "Default topic resources are not allowed.")
        error = validation_error(resource.name)
        if error is not None:
            raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, error)
    elif resource.type == ConfigResourceType.BROKER:
        if resource.name:
            try:
                broker_id = int(resource.name, 10)
            except ValueError:
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST, "Unable to parse broker name as a base 10 number."
                ) from None
            if broker_id < 0:
                raise KafkaError(ErrorCode.INVALID_REQUEST, "Invalid negative broker ID.")
    elif resource.type == ConfigResourceType.GROUP:
        if not resource.name:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "Default group resources are not allowed.")
    elif resource.type != ConfigResourceType.CLIENT_METRICS:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {resource.type}")


def _check_exists(image: MetadataImage, settings: ControllerSettings, res: ConfigResource) -> None:
    """Kafka's ``ConfigResourceExistenceChecker``: changes to absent resources are refused."""
    if res.type == ConfigResourceType.TOPIC and image.topics.get_by_name(res.name) is None:
        raise KafkaError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{res.name}' does not exist."
        )
    if res.type == ConfigResourceType.BROKER and res.name:
        node_id = int(res.name)
        if node_id not in image.cluster.brokers and node_id not in settings.controller_ids:
            raise KafkaError(
                ErrorCode.BROKER_ID_NOT_REGISTERED, f"No node with id {node_id} found."
            )


def _config_record(resource: ConfigResource, name: str, value: str | None) -> VersionedRecord:
    return VersionedRecord(
        ConfigRecord(
            resource_type=resource.type, resource_name=resource.name, name=name, value=value
        ),
        0,
    )


def _validated(
    image: MetadataImage,
    settings: ControllerSettings,
    schema: ConfigSchema,
    resource: ConfigResource,
    changes: Sequence[VersionedRecord],
    *,
    newly_created: bool,
) -> list[VersionedRecord]:
    """``changes`` if the config set they leave ``resource`` with is valid; else KafkaError."""
    existing = image.configs.configs(resource)
    configs = dict(existing)
    for record in changes:
        if record.message.value is None:
            configs.pop(record.message.name, None)
        else:
            configs[record.message.name] = record.message.value
    _check_resource_name(resource)
    schema.validate(resource, configs, existing)
    if not newly_created:
        _check_exists(image, settings, resource)
    return list(changes)


def _java_split(value: str) -> list[str]:
    """``String.split(",")``: Java drops the empty strings at the end (but "" is [""])."""
    if not value:
        return [""]
    parts = value.split(",")
    while parts and not parts[-1]:
        parts.pop()
    return parts


def alter_resource_incrementally(
    image: MetadataImage,
    settings: ControllerSettings,
    schema: ConfigSchema,
    resource: ConfigResource,
    ops: Mapping[str, tuple[OpType, str | None]],
    *,
    newly_created: bool = False,
) -> list[VersionedRecord]:
    """The records for one resource's operations; KafkaError if they are not acceptable."""
    current = image.configs.configs(resource)
    changes: list[VersionedRecord] = []
    for name, (op, value) in ops.items():
        old = current.get(name)
        new: str | None
        if op == OpType.SET:
            new = value
        elif op == OpType.DELETE:
            new = None
        else:
            if not schema.is_list(resource.type, name):
                raise KafkaError(
                    ErrorCode.INVALID_CONFIG,
                    f"Can't {op.name} to key {name} because its type is not LIST.",
                )
            base = old if old is not None else schema.default_value(resource.type, name)
            parts = [part for part in _java_split(base or "") if part]
            for item in _java_split(value or ""):
                if op == OpType.APPEND and item not in parts:
                    parts.append(item)
                elif op == OpType.SUBTRACT and item in parts:
                    parts.remove(item)
            new = ",".join(parts)
        if new != old or resource.type == ConfigResourceType.BROKER:
            changes.append(_config_record(resource, name, new))
    return _validated(image, settings, schema, resource, changes, newly_created=newly_created)


def _duplicate_errors(keys: Sequence[tuple[int, str]]) -> dict[int, ApiError]:
    """Every resource named more than once is refused, all its occurrences included."""
    errors: dict[int, ApiError] = {}
    seen: dict[tuple[int, str], int] = {}
    for index, key in enumerate(keys):
        if key in seen:
            for i in (seen[key], index):
                errors[i] = ApiError(
                    ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."
                )
        seen[key] = index
    return errors


def _request_problem(names: Sequence[str], null_names: Sequence[str]) -> ApiError | None:
    if len(set(names)) != len(names):
        return ApiError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
    if null_names:
        return ApiError(
            ErrorCode.INVALID_REQUEST, "Null value not supported for : " + ", ".join(null_names)
        )
    return None


def _stored_type(resource_type: int) -> ApiError | None:
    if resource_type == ConfigResourceType.BROKER_LOGGER:
        return ApiError(
            ErrorCode.INVALID_REQUEST,
            "BROKER_LOGGER configs are not stored in the metadata log",
        )
    return None


def incremental_alter_configs(
    image: MetadataImage,
    request: IncrementalAlterConfigsRequest,
    *,
    settings: ControllerSettings,
    schema: ConfigSchema,
) -> ControllerResult[IncrementalAlterConfigsResponse]:
    """IncrementalAlterConfigs: per resource, apply the operations or report why not."""
    duplicates = _duplicate_errors([(r.resource_type, r.resource_name) for r in request.resources])
    records: list[VersionedRecord] = []
    responses = []
    for index, res in enumerate(request.resources):
        error = duplicates.get(index) or _stored_type(res.resource_type)
        if error is None:
            error = _request_problem(
                [c.name for c in res.configs],
                [
                    c.name
                    for c in res.configs
                    if c.config_operation != OpType.DELETE and c.value is None
                ],
            )
        if error is None:
            resource = ConfigResource(res.resource_type, res.resource_name)
            try:
                ops = {c.name: (_op_type(c.config_operation), c.value) for c in res.configs}
                records += alter_resource_incrementally(image, settings, schema, resource, ops)
                error = NONE
            except KafkaError as exc:
                error = ApiError.of(exc)
        responses.append(
            AlterConfigsResourceResponse(
                error_code=error.code,
                error_message=error.message,
                resource_type=res.resource_type,
                resource_name=res.resource_name,
            )
        )
    result = ControllerResult(records, IncrementalAlterConfigsResponse(responses=responses))
    return result.without_records() if request.validate_only else result


def _op_type(value: int) -> OpType:
    try:
        return OpType(value)
    except ValueError:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown operations type {value}") from None


def legacy_alter_configs(
    image: MetadataImage,
    request: AlterConfigsRequest,
    *,
    settings: ControllerSettings,
    schema: ConfigSchema,
) -> ControllerResult[AlterConfigsResponse]:
    """AlterConfigs (legacy): each resource's configs become exactly the given set."""
    duplicates = _duplicate_errors([(r.resource_type, r.resource_name) for r in request.resources])
    records: list[VersionedRecord] = []
    responses = []
    for index, res in enumerate(request.resources):
        error = duplicates.get(index) or _stored_type(res.resource_type)
        if error is None:
            error = _request_problem(
                [c.name for c in res.configs], [c.name for c in res.configs if c.value is None]
            )
        if error is None:
            resource = ConfigResource(res.resource_type, res.resource_name)
            current = image.configs.configs(resource)
            wanted = {c.name: c.value for c in res.configs}
            changes = [
                _config_record(resource, name, value)
                for name, value in wanted.items()
                if current.get(name) != value or resource.type == ConfigResourceType.BROKER
            ]
            changes += [
                _config_record(resource, name, None) for name in current if name not in wanted
            ]
            try:
                records += _validated(
                    image, settings, schema, resource, changes, newly_created=False
                )
                error = NONE
            except KafkaError as exc:
                error = ApiError.of(exc)
        responses.append(
            LegacyResourceResponse(
                error_code=error.code,
                error_message=error.message,
                resource_type=res.resource_type,
                resource_name=res.resource_name,
            )
        )
    result = ControllerResult(records, AlterConfigsResponse(responses=responses))
    return result.without_records() if request.validate_only else result


def topic_config(
    image: MetadataImage, settings: ControllerSettings, topic: str, name: str
) -> str | None:
    """A topic key's dynamic value: the topic's own, else this controller's, else the cluster's.

    None means the static configuration decides.
    """
    for resource in (
        ConfigResource.topic(topic),
        ConfigResource.broker(settings.node_id),
        ConfigResource.broker(),
    ):
        value = image.configs.configs(resource).get(name)
        if value is not None:
            return value
    return None


def unclean_leader_election_enabled(
    image: MetadataImage, settings: ControllerSettings, topic: str
) -> bool:
    """Whether partitions of ``topic`` may elect a leader from outside the ISR."""
    value = topic_config(image, settings, topic, UNCLEAN_LEADER_ELECTION_ENABLE)
    if value is None:
        return settings.unclean_leader_election_enable
    # Java's Boolean.parseBoolean: "true" in any case, anything else is false.
    return value.lower() == "true"
