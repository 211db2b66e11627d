"""The quorum controller: one synchronous state machine around the command modules.

This is the object a node's controller task drives. It holds the metadata image,
runs commands against it, and keeps the soft state Kafka's ``QuorumController``
keeps beside the log (broker sessions, the offset of each broker's registration).
It does no I/O and reads no clock: time, ids and randomness come in as arguments
and constructor parameters, so a whole cluster can run under a simulated clock.

Theory of operation (as in Kafka):

* **Standby.** Every committed batch of the metadata log is passed to
  :meth:`handle_committed_batch`, which replays it. :attr:`image` is the
  committed state.
* **Active.** After :meth:`activate` the controller decides. Each command returns a
  :class:`Decision`: a batch of records and the response. The controller has
  *already replayed* the batch into :attr:`image` -- the next command must see the
  previous one's effects even before they commit -- and the driver must append
  exactly that batch to the log at ``batch.base_offset`` with ``batch.leader_epoch``,
  then send the response once ``commit_offset`` is committed. Until then,
  :attr:`committed_image` lags behind :attr:`image`.
* **Commit.** The driver passes every committed batch, the controller's own
  included, to :meth:`handle_committed_batch`; for its own batches that only moves
  :attr:`committed_image` forward.
* **Resignation.** :meth:`deactivate` throws away everything not committed and the
  broker sessions: the next active controller decides afresh from the log.

The driver's loop is therefore mechanical: for each request call the command, append
``decision.batch`` if any, park the response until ``decision.commit_offset``
commits; on a timer call :meth:`fence_stale_brokers` (at
:meth:`next_session_check_ms`).

Mirrors the event-handling core of Kafka's ``QuorumController``; the decisions
themselves live in the command modules of this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, NamedTuple, TypeVar

import msgspec

from odradek.metadata.delta import MetadataDelta
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage, MetadataProvenance
from odradek.metadata.records import VersionedRecord
from odradek.metadata.serde import MetadataBatch
from odradek.protocol.messages.clients.allocate_producer_ids_request import (
    AllocateProducerIdsRequest,
)
from odradek.protocol.messages.clients.allocate_producer_ids_response import (
    AllocateProducerIdsResponse,
)
from odradek.protocol.messages.clients.alter_configs_request import AlterConfigsRequest
from odradek.protocol.messages.clients.alter_configs_response import AlterConfigsResponse
from odradek.protocol.messages.clients.alter_partition_request import AlterPartitionRequest
from odradek.protocol.messages.clients.alter_partition_response import AlterPartitionResponse
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_heartbeat_response import BrokerHeartbeatResponse
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
)
from odradek.protocol.messages.clients.broker_registration_response import (
    BrokerRegistrationResponse,
)
from odradek.protocol.messages.clients.controller_registration_request import (
    ControllerRegistrationRequest,
)
from odradek.protocol.messages.clients.controller_registration_response import (
    ControllerRegistrationResponse,
)
from odradek.protocol.messages.clients.create_partitions_request import CreatePartitionsRequest
from odradek.protocol.messages.clients.create_partitions_response import (
    CreatePartitionsResponse,
)
from odradek.protocol.messages.clients.create_topics_request import CreateTopicsRequest
from odradek.protocol.messages.clients.create_topics_response import CreateTopicsResponse
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.protocol.messages.clients.delete_topics_response import DeleteTopicsResponse
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    IncrementalAlterConfigsRequest,
)
from odradek.protocol.messages.clients.incremental_alter_configs_response import (
    IncrementalAlterConfigsResponse,
)
from odradek.protocol.messages.clients.unregister_broker_response import (
    UnregisterBrokerResponse,
)
from odradek.protocol.messages.clients.update_features_request import UpdateFeaturesRequest
from odradek.protocol.messages.clients.update_features_response import UpdateFeaturesResponse
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.fence_broker_record import FenceBrokerRecord
from odradek.protocol.messages.metadata.register_broker_record import RegisterBrokerRecord
from odradek.protocol.messages.metadata.unfence_broker_record import UnfenceBrokerRecord
from odradek.protocol.messages.metadata.unregister_broker_record import UnregisterBrokerRecord

from . import (
    alter_partition,
    configs,
    controller_registration,
    features,
    heartbeats,
    partitions,
    producer_ids,
    registration,
    topics,
    update_features,
)
from .heartbeats import BrokerControlState, BrokerHeartbeatTracker
from .result import ControllerResult
from .settings import ControllerSettings, IdSource, RandomSource
from .topics import EffectiveTopicConfigs

T = TypeVar("T")


class Decision(msgspec.Struct, Generic[T], frozen=True):
    """What the active controller decided: a batch to append and the response to send.

    ``batch`` is None when nothing needs writing. The response may go out once the
    log has committed ``commit_offset`` (-1: at once); a decision that wrote nothing
    still waits for the records it read to commit.
    """

    batch: MetadataBatch | None
    response: T
    commit_offset: int


class _State(NamedTuple):
    """The controller's replicated state after some offset: the image, and registration offsets."""

    image: MetadataImage
    #: Broker id -> offset of its latest RegisterBrokerRecord (to tell when it caught up).
    register_offsets: Mapping[int, int]


class NotActiveError(RuntimeError):
    """A command reached a controller that is not the active one (answer NOT_CONTROLLER)."""


class QuorumController:
    """The metadata state machine of a controller node (see the module documentation)."""

    def __init__(
        self,
        settings: ControllerSettings,
        *,
        schema: configs.ConfigSchema,
        id_source: IdSource,
        rng: RandomSource,
        effective_topic_configs: EffectiveTopicConfigs | None = None,
        image: MetadataImage = EMPTY_IMAGE,
    ) -> None:
        self.settings = settings
        self.schema = schema
        self.id_source = id_source
        self.rng = rng
        self.effective_topic_configs = effective_topic_configs
        self.heartbeats = BrokerHeartbeatTracker(settings.session_timeout_ms)
        self._committed = _State(image, {})
        self._latest = self._committed
        #: Uncommitted states of this controller's own batches, oldest first, by last offset.
        self._pending: list[tuple[int, _State]] = []
        self._active = False
        self._epoch = -1
        self._next_offset = image.provenance.next_offset

    # -- reading ----------------------------------------------------------------------

    @property
    def image(self) -> MetadataImage:
        """The latest state, including this controller's uncommitted decisions."""
        return self._latest.image

    @property
    def committed_image(self) -> MetadataImage:
        return self._committed.image

    @property
    def is_active(self) -> bool:
        return self._active

    @property
    def next_offset(self) -> int:
        """Where the next batch this controller writes will go."""
        return self._next_offset

    def register_offset(self, broker_id: int) -> int | None:
        """The offset of the broker's registration record (its epoch if it came from a snapshot)."""
        offset = self._latest.register_offsets.get(broker_id)
        if offset is not None:
            return offset
        broker = self.image.cluster.broker(broker_id)
        return None if broker is None else broker.epoch

    # -- the log ----------------------------------------------------------------------

    def load_image(self, image: MetadataImage) -> None:
        """Start from a snapshot's image (standby only)."""
        self._require_standby()
        self._committed = self._latest = _State(image, {})
        self._next_offset = image.provenance.next_offset

    def handle_committed_batch(self, batch: MetadataBatch) -> None:
        """A batch of the metadata log committed: replay it, or confirm it if it is ours."""
        while self._pending and self._pending[0][0] <= batch.last_offset:
            offset, state = self._pending.pop(0)
            self._committed = state
            if offset == batch.last_offset:
                return
        if batch.last_offset <= self._committed.image.provenance.last_offset:
            return
        if self._active:
            raise RuntimeError(
                f"the active controller saw batch {batch.base_offset}-{batch.last_offset} "
                "committed that it did not write"
            )
        self._latest = self._committed = _replayed(self._committed, batch)
        self._next_offset = batch.last_offset + 1

    # -- leadership -------------------------------------------------------------------

    def activate(self, epoch: int, now_ms: int, next_offset: int) -> Decision[None]:
        """Become the active controller at Raft ``epoch``; records go from ``next_offset`` on.

        Every registered broker gets a fresh session. An empty log gets its
        bootstrap records (the returned decision).
        """
        self._require_standby()
        self._active = True
        self._epoch = epoch
        self._next_offset = next_offset
        for broker in self.image.cluster.brokers.values():
            self.heartbeats.register(broker.broker_id, now_ms, fenced=broker.fenced)
        records: list[VersionedRecord] = []
        if self.image.provenance.last_offset < 0 and self.image.is_empty():
            records = features.bootstrap_records(self.settings.bootstrap_metadata_version)
        return self._decide(ControllerResult(records, None), now_ms)

    def deactivate(self) -> None:
        """Stop being active: forget uncommitted decisions and broker sessions."""
        self._active = False
        self._epoch = -1
        self._latest = self._committed
        self._pending.clear()
        self._next_offset = self._committed.image.provenance.next_offset
        self.heartbeats = BrokerHeartbeatTracker(self.settings.session_timeout_ms)

    # -- commands ---------------------------------------------------------------------

    def register_broker(
        self, request: BrokerRegistrationRequest, now_ms: int
    ) -> Decision[BrokerRegistrationResponse]:
        self._require_active()
        result = registration.register_broker(
            self.image,
            request,
            settings=self.settings,
            new_broker_epoch=self._next_offset,
            has_valid_session=lambda b: self.heartbeats.has_valid_session(b, now_ms),
        )
        return self._decide(result, now_ms)

    def broker_heartbeat(
        self, request: BrokerHeartbeatRequest, now_ms: int
    ) -> Decision[BrokerHeartbeatResponse]:
        self._require_active()
        result = heartbeats.process_broker_heartbeat(
            self.image,
            self.heartbeats,
            request,
            register_offset=self.register_offset(request.broker_id),
            settings=self.settings,
        )
        outcome = result.response
        if outcome.response.error_code == 0:
            self.heartbeats.touch(
                request.broker_id,
                now_ms,
                fenced=outcome.next_state.fenced,
                metadata_offset=request.current_metadata_offset,
            )
        decision = self._decide(ControllerResult(result.records, outcome.response), now_ms)
        if outcome.next_state is BrokerControlState.CONTROLLED_SHUTDOWN:
            self.heartbeats.update_controlled_shutdown_offset(
                request.broker_id, self._next_offset - 1
            )
        return decision

    def unregister_broker(self, broker_id: int, now_ms: int) -> Decision[UnregisterBrokerResponse]:
        self._require_active()
        result = registration.unregister_broker(self.image, broker_id, settings=self.settings)
        return self._decide(result, now_ms)

    def register_controller(
        self, request: ControllerRegistrationRequest, now_ms: int
    ) -> Decision[ControllerRegistrationResponse]:
        self._require_active()
        result = controller_registration.register_controller(self.image, request)
        return self._decide(result, now_ms)

    def create_topics(
        self, request: CreateTopicsRequest, now_ms: int
    ) -> Decision[CreateTopicsResponse]:
        self._require_active()
        result = topics.create_topics(
            self.image,
            request,
            settings=self.settings,
            schema=self.schema,
            id_source=self.id_source,
            rng=self.rng,
            effective_configs=self.effective_topic_configs,
        )
        return self._decide(result, now_ms)

    def delete_topics(
        self, request: DeleteTopicsRequest, version: int, now_ms: int
    ) -> Decision[DeleteTopicsResponse]:
        self._require_active()
        result = topics.delete_topics(self.image, request, version=version, settings=self.settings)
        return self._decide(result, now_ms)

    def create_partitions(
        self, request: CreatePartitionsRequest, now_ms: int
    ) -> Decision[CreatePartitionsResponse]:
        self._require_active()
        return self._decide(partitions.create_partitions(self.image, request, rng=self.rng), now_ms)

    def incremental_alter_configs(
        self, request: IncrementalAlterConfigsRequest, now_ms: int
    ) -> Decision[IncrementalAlterConfigsResponse]:
        self._require_active()
        result = configs.incremental_alter_configs(
            self.image, request, settings=self.settings, schema=self.schema
        )
        return self._decide(result, now_ms)

    def legacy_alter_configs(
        self, request: AlterConfigsRequest, now_ms: int
    ) -> Decision[AlterConfigsResponse]:
        self._require_active()
        result = configs.legacy_alter_configs(
            self.image, request, settings=self.settings, schema=self.schema
        )
        return self._decide(result, now_ms)

    def allocate_producer_ids(
        self, request: AllocateProducerIdsRequest, now_ms: int
    ) -> Decision[AllocateProducerIdsResponse]:
        self._require_active()
        return self._decide(producer_ids.allocate_producer_ids(self.image, request), now_ms)

    def alter_partition(
        self, request: AlterPartitionRequest, version: int, now_ms: int
    ) -> Decision[AlterPartitionResponse]:
        self._require_active()
        result = alter_partition.alter_partition(
            self.image, request, version=version, settings=self.settings
        )
        return self._decide(result, now_ms)

    def update_features(
        self, request: UpdateFeaturesRequest, version: int, now_ms: int
    ) -> Decision[UpdateFeaturesResponse]:
        self._require_active()
        result = update_features.update_features(
            self.image, request, version=version, settings=self.settings
        )
        return self._decide(result, now_ms)

    def fence_stale_brokers(self, now_ms: int) -> Decision[list[int]]:
        """Fence the broker whose session expired first, if any; its id is the response.

        One broker per call, so that each fencing is visible before the next: call
        again until the response is empty.
        """
        self._require_active()
        broker_id, records = heartbeats.fence_stale_broker(
            self.image, self.heartbeats, now_ms, self.settings
        )
        if broker_id is None:
            return self._decide(ControllerResult([], []), now_ms)
        self.heartbeats.fence(broker_id)
        return self._decide(ControllerResult(records, [broker_id]), now_ms)

    def next_session_check_ms(self) -> int | None:
        """When :meth:`fence_stale_brokers` should next run, if any broker is unfenced."""
        return self.heartbeats.next_check_ms() if self._active else None

    # -- plumbing ---------------------------------------------------------------------

    def _require_active(self) -> None:
        if not self._active:
            raise NotActiveError("this controller is not the active controller")

    def _require_standby(self) -> None:
        if self._active:
            raise RuntimeError("the active controller cannot do this")

    def _decide(self, result: ControllerResult[T], now_ms: int) -> Decision[T]:
        if not result.records:
            return Decision(None, result.response, self._next_offset - 1)
        batch = MetadataBatch(
            base_offset=self._next_offset,
            leader_epoch=self._epoch,
            append_time_ms=now_ms,
            records=tuple(result.records),
        )
        self._latest = _replayed(self._latest, batch)
        self._pending.append((batch.last_offset, self._latest))
        self._next_offset = batch.last_offset + 1
        self._update_sessions(batch, now_ms)
        return Decision(batch, result.response, batch.last_offset)

    def _update_sessions(self, batch: MetadataBatch, now_ms: int) -> None:
        """Registration changes restart broker sessions, as replay does in Kafka."""
        for record in batch.records:
            message = record.message
            if isinstance(message, RegisterBrokerRecord):
                self.heartbeats.remove(message.broker_id)
                self.heartbeats.register(message.broker_id, now_ms, fenced=message.fenced)
            elif isinstance(message, UnregisterBrokerRecord):
                self.heartbeats.remove(message.broker_id)
            elif isinstance(
                message, BrokerRegistrationChangeRecord | FenceBrokerRecord | UnfenceBrokerRecord
            ):
                broker_id = _changed_broker(message)
                broker = self.image.cluster.broker(broker_id)
                if broker is not None:
                    self.heartbeats.register(broker_id, now_ms, fenced=broker.fenced)


def _changed_broker(
    message: BrokerRegistrationChangeRecord | FenceBrokerRecord | UnfenceBrokerRecord,
) -> int:
    if isinstance(message, BrokerRegistrationChangeRecord):
        return message.broker_id
    return message.id


def _replayed(state: _State, batch: MetadataBatch) -> _State:
    delta = MetadataDelta(state.image)
    offsets: dict[int, int] | None = None
    for offset, record in batch.with_offsets():
        delta.replay(record.message)
        message = record.message
        if isinstance(message, RegisterBrokerRecord | UnregisterBrokerRecord):
            if offsets is None:
                offsets = dict(state.register_offsets)
            if isinstance(message, RegisterBrokerRecord):
                offsets[message.broker_id] = offset
            else:
                offsets.pop(message.broker_id, None)
    image = delta.apply(
        MetadataProvenance(
            last_offset=batch.last_offset,
            last_epoch=batch.leader_epoch,
            last_log_time_ms=batch.append_time_ms,
        )
    )
    return _State(image, state.register_offsets if offsets is None else offsets)
