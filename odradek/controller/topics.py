"""Creating and deleting topics.

CreateTopics (``shared/kafka-spec/clients/CreateTopicsRequest.json``) makes, for each
topic that passes every check, a ``TopicRecord``, its ``ConfigRecord`` s, then one
``PartitionRecord`` per partition -- in that order, in one atomic batch, so that no
reader sees a topic without its partitions. Each topic succeeds or fails on its own:

* a name used twice in the request: INVALID_REQUEST for it; ``__cluster_metadata``:
  INVALID_REQUEST;
* an illegal name, or one that collides in metric names with an existing topic
  (``a.b`` and ``a_b``): INVALID_TOPIC_EXCEPTION;
* a name already taken: TOPIC_ALREADY_EXISTS;
* a config with a null value, or configs the config table refuses: INVALID_CONFIG;
* partition count and replication factor default to ``num.partitions`` and
  ``default.replication.factor`` when -1, and are otherwise positive
  (INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR);
* a manual assignment requires both to be -1 (INVALID_REQUEST), and lists each
  partition once, 0 to n-1, with distinct registered brokers, the same number for
  every partition (INVALID_REPLICA_ASSIGNMENT).

A request that would write more than 10,000 records fails whole with
POLICY_VIOLATION, as in Kafka. The topic id comes from the injected id source. A
validate-only request runs every check and writes nothing; it reports no topic id,
since none was made.

DeleteTopics (``clients/DeleteTopicsRequest.json``) names topics by name (before v6)
or by name or id (v6+); each existing topic gets a ``RemoveTopicRecord``, unknown
ones UNKNOWN_TOPIC_OR_PARTITION (by name) or UNKNOWN_TOPIC_ID (by id).

Mirrors ``ReplicationControlManager.createTopics`` / ``deleteTopics`` and the request
checks of ``ControllerApis.createTopics`` / ``deleteTopics`` in Kafka; authorization
is the caller's business.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from odradek.metadata import topic_names
from odradek.metadata.configs import ConfigResource
from odradek.metadata.image import MetadataImage
from odradek.metadata.partition import PartitionRegistration
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.create_topics_response import (
    CreatableTopicConfigs,
    CreatableTopicResult,
    CreateTopicsResponse,
)
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.protocol.messages.clients.delete_topics_response import (
    DeletableTopicResult,
    DeleteTopicsResponse,
)
from odradek.protocol.messages.metadata.remove_topic_record import RemoveTopicRecord
from odradek.protocol.messages.metadata.topic_record import TopicRecord
from odradek.protocol.primitives import ZERO_UUID

from .configs import ConfigSchema, OpType, alter_resource_incrementally
from .partitions import (
    active_replicas,
    check_manual_assignment,
    new_partition,
    partition_records,
    placed_partitions,
)
from .result import (
    MAX_RECORDS_PER_USER_OP,
    TOO_LARGE,
    ApiError,
    ControllerResult,
    TooManyRecordsError,
)
from .settings import ControllerSettings, IdSource, RandomSource


class TopicConfigEntry(Protocol):
    """One effective topic config as CreateTopics v5+ reports it."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str | None: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def source(self) -> int: ...
    @property
    def sensitive(self) -> bool: ...


#: The effective configs of a new topic with these overrides (the config table resolves them).
EffectiveTopicConfigs = Callable[[Mapping[str, str]], Sequence[TopicConfigEntry]]


def _check_name(image: MetadataImage, name: str, created: Sequence[str]) -> None:
    error = topic_names.validation_error(name)
    if error is not None:
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, error)
    if topic_names.has_collision_chars(name):
        unified = topic_names.unify_collision_chars(name)
        # Topics made earlier in the same request count too: they share metric names.
        for other in (*image.topics.by_name, *created):
            if other != name and topic_names.unify_collision_chars(other) == unified:
                raise KafkaError(
                    ErrorCode.INVALID_TOPIC_EXCEPTION,
                    f"Topic '{name}' collides with existing topic: {other}",
                )


def _manual_partitions(image: MetadataImage, topic: CreatableTopic) -> list[PartitionRegistration]:
    if topic.replication_factor != -1:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            "A manual partition assignment was specified, but replication factor was not set "
            "to -1.",
        )
    if topic.num_partitions != -1:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            "A manual partition assignment was specified, but numPartitions was not set to -1.",
        )
    parts: dict[int, PartitionRegistration] = {}
    replication_factor: int | None = None
    for assignment in topic.assignments:
        index = assignment.partition_index
        if index in parts:
            raise KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Found multiple manual partition assignments for partition {index}",
            )
        check_manual_assignment(image, assignment.broker_ids, replication_factor)
        replication_factor = len(assignment.broker_ids)
        isr = active_replicas(image, assignment.broker_ids)
        if not isr:
            raise KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                "All brokers specified in the manual partition assignment for partition "
                f"{index} are fenced or in controlled shutdown.",
            )
        parts[index] = new_partition(image, assignment.broker_ids, isr)
    if sorted(parts) != list(range(len(parts))):
        raise KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "partitions should be a consecutive 0-based integer sequence",
        )
    return [parts[i] for i in range(len(parts))]


def _new_partitions(
    image: MetadataImage, topic: CreatableTopic, settings: ControllerSettings, rng: RandomSource
) -> list[PartitionRegistration]:
    if topic.assignments:
        return _manual_partitions(image, topic)
    if topic.replication_factor < -1 or topic.replication_factor == 0:
        raise KafkaError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            "Replication factor must be larger than 0, or -1 to use the default value.",
        )
    if topic.num_partitions < -1 or topic.num_partitions == 0:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            "Number of partitions was set to an invalid non-positive value.",
        )
    num_partitions = (
        settings.default_num_partitions if topic.num_partitions == -1 else topic.num_partitions
    )
    if num_partitions > MAX_RECORDS_PER_USER_OP:
        raise TooManyRecordsError
    replication_factor = (
        settings.default_replication_factor
        if topic.replication_factor == -1
        else topic.replication_factor
    )
    return placed_partitions(
        image, num_partitions=num_partitions, replication_factor=replication_factor, rng=rng
    )


def _fresh_topic_id(image: MetadataImage, id_source: IdSource, taken: set[uuid.UUID]) -> uuid.UUID:
    while True:
        topic_id = id_source()
        if topic_id != ZERO_UUID and topic_id not in taken and image.topics.get(topic_id) is None:
            taken.add(topic_id)
            return topic_id


def _create_topic(
    image: MetadataImage,
    topic: CreatableTopic,
    *,
    created: list[str],
    settings: ControllerSettings,
    schema: ConfigSchema,
    rng: RandomSource,
) -> tuple[list[PartitionRegistration], list[VersionedRecord]]:
    """The new topic's partitions and config records, or KafkaError saying why not."""
    _check_name(image, topic.name, created)
    if image.topics.get_by_name(topic.name) is not None:
        raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{topic.name}' already exists.")
    null_configs = [c.name for c in topic.configs if c.value is None]
    if null_configs:
        raise KafkaError(
            ErrorCode.INVALID_CONFIG,
            "Null value not supported for topic configs: " + ",".join(null_configs),
        )
    config_records = []
    if topic.configs:
        ops = {c.name: (OpType.SET, c.value) for c in topic.configs}
        config_records = alter_resource_incrementally(
            image, settings, schema, ConfigResource.topic(topic.name), ops, newly_created=True
        )
    return _new_partitions(image, topic, settings, rng), config_records


def create_topics(
    image: MetadataImage,
    request: CreateTopicsRequest,
    *,
    settings: ControllerSettings,
    schema: ConfigSchema,
    id_source: IdSource,
    rng: RandomSource,
    effective_configs: EffectiveTopicConfigs | None = None,
) -> ControllerResult[CreateTopicsResponse]:
    """CreateTopics: records for every topic that can be created, and a result for each.

    ``effective_configs``, when given, fills in each new topic's configs (v5+); without
    it the response says nothing of configs. A request that would write more than
    :data:`~.result.MAX_RECORDS_PER_USER_OP` records fails whole with POLICY_VIOLATION.
    """
    try:
        return _create_topics(
            image,
            request,
            settings=settings,
            schema=schema,
            id_source=id_source,
            rng=rng,
            effective_configs=effective_configs,
        )
    except TooManyRecordsError:
        return ControllerResult(
            [],
            CreateTopicsResponse(
                topics=[
                    CreatableTopicResult(
                        name=t.name, error_code=TOO_LARGE.code, error_message=TOO_LARGE.message
                    )
                    for t in request.topics
                ]
            ),
        )


def _create_topics(
    image: MetadataImage,
    request: CreateTopicsRequest,
    *,
    settings: ControllerSettings,
    schema: ConfigSchema,
    id_source: IdSource,
    rng: RandomSource,
    effective_configs: EffectiveTopicConfigs | None,
) -> ControllerResult[CreateTopicsResponse]:
    names = [t.name for t in request.topics]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    records: list[VersionedRecord] = []
    results: list[CreatableTopicResult] = []
    created: list[str] = []
    taken_ids: set[uuid.UUID] = set()
    planned = 0
    for topic in request.topics:
        if topic.name in duplicates or topic.name == topic_names.CLUSTER_METADATA_TOPIC_NAME:
            continue
        try:
            partitions, config_records = _create_topic(
                image, topic, created=created, settings=settings, schema=schema, rng=rng
            )
        except KafkaError as exc:
            error = ApiError.of(exc)
            results.append(
                CreatableTopicResult(
                    name=topic.name, error_code=error.code, error_message=error.message
                )
            )
            continue
        created.append(topic.name)
        # Validate-only requests count too: they must fail exactly when the real one would.
        planned += 1 + len(config_records) + len(partitions)
        if planned > MAX_RECORDS_PER_USER_OP:
            raise TooManyRecordsError
        result = CreatableTopicResult(
            name=topic.name,
            error_message=None,
            num_partitions=len(partitions),
            replication_factor=len(partitions[0].replicas),
            configs=[],
        )
        if effective_configs is not None:
            overrides = {c.name: c.value for c in topic.configs if c.value is not None}
            result.configs = [
                CreatableTopicConfigs(
                    name=entry.name,
                    value=None if entry.sensitive else entry.value,
                    read_only=entry.read_only,
                    config_source=entry.source,
                    is_sensitive=entry.sensitive,
                )
                for entry in sorted(effective_configs(overrides), key=lambda e: e.name)
            ]
        if not request.validate_only:
            topic_id = _fresh_topic_id(image, id_source, taken_ids)
            result.topic_id = topic_id
            records.append(VersionedRecord(TopicRecord(name=topic.name, topic_id=topic_id), 0))
            records += config_records
            records += partition_records(image, topic_id, 0, partitions)
        results.append(result)
    results += [
        CreatableTopicResult(
            name=name, error_code=ErrorCode.INVALID_REQUEST, error_message="Duplicate topic name."
        )
        for name in duplicates
    ]
    if topic_names.CLUSTER_METADATA_TOPIC_NAME in names and (
        topic_names.CLUSTER_METADATA_TOPIC_NAME not in duplicates
    ):
        results.append(
            CreatableTopicResult(
                name=topic_names.CLUSTER_METADATA_TOPIC_NAME,
                error_code=ErrorCode.INVALID_REQUEST,
                error_message="Creation of internal topic __cluster_metadata is prohibited.",
            )
        )
    return ControllerResult(records, CreateTopicsResponse(topics=results))


def _deletion_disabled(request: DeleteTopicsRequest, version: int) -> DeleteTopicsResponse:
    if version < 3:
        error = ApiError(ErrorCode.INVALID_REQUEST, "Topic deletion is disabled.")
    else:
        error = ApiError.with_default_message(ErrorCode.TOPIC_DELETION_DISABLED)
    names: list[str | None] = [*request.topic_names, *(t.name for t in request.topics)]
    return DeleteTopicsResponse(
        responses=[
            DeletableTopicResult(name=name, error_code=error.code, error_message=error.message)
            for name in names
        ]
    )


def delete_topics(
    image: MetadataImage,
    request: DeleteTopicsRequest,
    *,
    version: int,
    settings: ControllerSettings,
) -> ControllerResult[DeleteTopicsResponse]:
    """DeleteTopics: a ``RemoveTopicRecord`` for each existing topic named, by name or id."""
    if not settings.delete_topic_enable:
        return ControllerResult([], _deletion_disabled(request, version))
    results: list[DeletableTopicResult] = []

    def respond(name: str | None, topic_id: uuid.UUID, error: ApiError) -> None:
        results.append(
            DeletableTopicResult(
                name=name, topic_id=topic_id, error_code=error.code, error_message=error.message
            )
        )

    names: dict[str, None] = {}
    duplicate_names: dict[str, None] = {}
    ids: dict[uuid.UUID, None] = {}
    duplicate_ids: dict[uuid.UUID, None] = {}

    def add_name(name: str) -> None:
        if name in duplicate_names or name in names:
            duplicate_names[name] = None
            names.pop(name, None)
        else:
            names[name] = None

    for name in request.topic_names:
        add_name(name)
    for state in request.topics:
        if state.name is None:
            if state.topic_id == ZERO_UUID:
                respond(
                    None,
                    ZERO_UUID,
                    ApiError(
                        ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified."
                    ),
                )
            elif state.topic_id in duplicate_ids or state.topic_id in ids:
                duplicate_ids[state.topic_id] = None
                ids.pop(state.topic_id, None)
            else:
                ids[state.topic_id] = None
        elif state.topic_id == ZERO_UUID:
            add_name(state.name)
        else:
            respond(
                state.name,
                state.topic_id,
                ApiError(
                    ErrorCode.INVALID_REQUEST, "You may not specify both topic name and topic id."
                ),
            )
    for name in duplicate_names:
        respond(name, ZERO_UUID, ApiError(ErrorCode.INVALID_REQUEST, "Duplicate topic name."))
    for topic_id in duplicate_ids:
        respond(None, topic_id, ApiError(ErrorCode.INVALID_REQUEST, "Duplicate topic id."))

    to_delete: dict[uuid.UUID, str] = {}
    for topic_id in ids:
        found = image.topics.get(topic_id)
        if found is None:
            respond(None, topic_id, ApiError.with_default_message(ErrorCode.UNKNOWN_TOPIC_ID))
        else:
            to_delete[topic_id] = found.name
    for name in names:
        by_name = image.topics.get_by_name(name)
        if by_name is None:
            respond(
                name, ZERO_UUID, ApiError.with_default_message(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            )
        elif by_name.topic_id in to_delete:
            # The same topic named twice, once by id and once by name.
            del to_delete[by_name.topic_id]
            respond(
                name,
                by_name.topic_id,
                ApiError(
                    ErrorCode.INVALID_REQUEST,
                    "The provided topic name maps to an ID that was already supplied.",
                ),
            )
        else:
            to_delete[by_name.topic_id] = name
    records = []
    for topic_id, name in to_delete.items():
        records.append(VersionedRecord(RemoveTopicRecord(topic_id=topic_id), 0))
        respond(name, topic_id, ApiError(ErrorCode.NONE))
    return ControllerResult(records, DeleteTopicsResponse(responses=results))
