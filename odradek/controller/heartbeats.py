"""Broker heartbeats: sessions, fencing and unfencing, controlled shutdown.

A registered broker heartbeats to the active controller (BrokerHeartbeat,
``shared/kafka-spec/clients/BrokerHeartbeatRequest.json``) about every
``broker.heartbeat.interval.ms``, reporting the metadata offset it has replayed
and whether it wants to be fenced or to shut down. The controller answers with the
state the broker is in, and moves it between states:

================  ===========================================  ====================
state             a heartbeat that ...                         moves it to
================  ===========================================  ====================
FENCED            wants to shut down                           SHUTDOWN_NOW
FENCED            has replayed up to its own registration      UNFENCED
UNFENCED          wants to be fenced (and to shut down)        FENCED (SHUTDOWN_NOW)
UNFENCED          wants to shut down, leads partitions         CONTROLLED_SHUTDOWN
UNFENCED          wants to shut down, leads nothing            SHUTDOWN_NOW
CONTROLLED_SHUT.  leads nothing, and every active broker has   SHUTDOWN_NOW
                  replayed the records that moved its leaders
================  ===========================================  ====================

A broker whose last heartbeat is older than ``broker.session.timeout.ms`` is fenced
(:func:`fence_stale_broker`, one broker at a time so that each fencing is visible
before the next). Transitions produce records (see :mod:`.leadership`); the
session bookkeeping -- last contact, reported offset, the offset at which a
controlled shutdown completes -- is the active controller's soft state, kept in
:class:`BrokerHeartbeatTracker` and never written to the log: a new active
controller starts every broker with a fresh session.

Mirrors Kafka's ``BrokerHeartbeatManager``, ``BrokerControlState`` and
``ReplicationControlManager.processBrokerHeartbeat``.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

import msgspec

from odradek.metadata.image import MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_heartbeat_response import BrokerHeartbeatResponse
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)

from . import leadership
from .result import ControllerResult
from .settings import ControllerSettings


class BrokerControlState(enum.Enum):
    """Where a broker stands with the controller (Kafka's ``BrokerControlState``)."""

    FENCED = "fenced"
    UNFENCED = "unfenced"
    CONTROLLED_SHUTDOWN = "controlled_shutdown"
    SHUTDOWN_NOW = "shutdown_now"

    @property
    def fenced(self) -> bool:
        return self in (BrokerControlState.FENCED, BrokerControlState.SHUTDOWN_NOW)

    @property
    def should_shut_down(self) -> bool:
        return self is BrokerControlState.SHUTDOWN_NOW


@dataclass
class _Session:
    last_contact_ms: int
    fenced: bool = True
    metadata_offset: int = -1
    #: The offset all active brokers must reach before this broker may stop, or -1.
    controlled_shutdown_offset: int = -1

    @property
    def shutting_down(self) -> bool:
        return self.controlled_shutdown_offset >= 0


class BrokerHeartbeatTracker:
    """The active controller's view of broker sessions: soft state, not in the log."""

    def __init__(self, session_timeout_ms: int) -> None:
        self.session_timeout_ms = session_timeout_ms
        self._sessions: dict[int, _Session] = {}

    def register(self, broker_id: int, now_ms: int, *, fenced: bool) -> None:
        """Start (or refresh) a session when a registration is replayed or on activation."""
        session = self._sessions.get(broker_id)
        if session is None:
            self.touch(broker_id, now_ms, fenced=fenced, metadata_offset=-1)
        else:
            offset = session.metadata_offset if session.fenced != fenced else -1
            self.touch(broker_id, now_ms, fenced=fenced, metadata_offset=offset)

    def touch(self, broker_id: int, now_ms: int, *, fenced: bool, metadata_offset: int) -> None:
        """Record contact from a broker."""
        session = self._sessions.setdefault(broker_id, _Session(now_ms))
        session.last_contact_ms = now_ms
        session.fenced = fenced
        session.metadata_offset = metadata_offset
        if fenced:
            # A fenced broker leaves controlled shutdown; its next heartbeat stops it.
            session.controlled_shutdown_offset = -1

    def fence(self, broker_id: int) -> None:
        """The broker's session ended: it is fenced, its last contact kept."""
        session = self._sessions.get(broker_id)
        if session is not None:
            session.fenced = True
            session.controlled_shutdown_offset = -1

    def remove(self, broker_id: int) -> None:
        self._sessions.pop(broker_id, None)

    def brokers(self) -> list[int]:
        return sorted(self._sessions)

    def has_valid_session(self, broker_id: int, now_ms: int) -> bool:
        """True if the broker is unfenced and heard from within the session timeout."""
        session = self._sessions.get(broker_id)
        if session is None or session.fenced:
            return False
        return session.last_contact_ms + self.session_timeout_ms >= now_ms

    def is_shutting_down(self, broker_id: int) -> bool:
        session = self._sessions.get(broker_id)
        return session is not None and session.shutting_down

    def controlled_shutdown_offset(self, broker_id: int) -> int:
        session = self._sessions.get(broker_id)
        return -1 if session is None else session.controlled_shutdown_offset

    def update_controlled_shutdown_offset(self, broker_id: int, offset: int) -> None:
        """Mark a controlled shutdown that completes once active brokers reach ``offset``.

        Only the first mark counts: later heartbeats of the same shutdown keep it.
        """
        session = self._sessions.get(broker_id)
        if session is None or session.fenced:
            raise ValueError(
                f"fenced or unknown broker {broker_id} cannot enter controlled shutdown"
            )
        if session.controlled_shutdown_offset < 0:
            session.controlled_shutdown_offset = offset

    def lowest_active_offset(self) -> int:
        """The lowest metadata offset among unfenced brokers not shutting down."""
        offsets = [
            s.metadata_offset
            for s in self._sessions.values()
            if not s.fenced and not s.shutting_down
        ]
        return min(offsets, default=2**63 - 1)

    def stale_broker(self, now_ms: int) -> int | None:
        """The unfenced broker silent the longest, if its session has expired."""
        live = [(s.last_contact_ms, b) for b, s in self._sessions.items() if not s.fenced]
        if not live:
            return None
        last_contact, broker_id = min(live)
        return broker_id if last_contact + self.session_timeout_ms < now_ms else None

    def next_check_ms(self) -> int | None:
        """When the next session could expire, or None if no broker is unfenced."""
        live = [s.last_contact_ms for s in self._sessions.values() if not s.fenced]
        return min(live) + self.session_timeout_ms + 1 if live else None


def current_state(
    image: MetadataImage, tracker: BrokerHeartbeatTracker, broker_id: int
) -> BrokerControlState:
    if tracker.is_shutting_down(broker_id):
        return BrokerControlState.CONTROLLED_SHUTDOWN
    if image.cluster.is_unfenced(broker_id):
        return BrokerControlState.UNFENCED
    return BrokerControlState.FENCED


def next_state(
    image: MetadataImage,
    tracker: BrokerHeartbeatTracker,
    request: BrokerHeartbeatRequest,
    register_offset: int,
) -> BrokerControlState:
    """The state a heartbeat moves its broker to (Kafka's ``calculateNextBrokerState``)."""
    broker_id = request.broker_id
    state = current_state(image, tracker, broker_id)
    if state is BrokerControlState.FENCED:
        if request.want_shut_down:
            return BrokerControlState.SHUTDOWN_NOW
        if not request.want_fence and request.current_metadata_offset >= register_offset:
            return BrokerControlState.UNFENCED
        return BrokerControlState.FENCED
    if state is BrokerControlState.UNFENCED:
        if request.want_fence:
            return (
                BrokerControlState.SHUTDOWN_NOW
                if request.want_shut_down
                else BrokerControlState.FENCED
            )
        if request.want_shut_down:
            if leadership.has_leaderships(image, broker_id):
                return BrokerControlState.CONTROLLED_SHUTDOWN
            return BrokerControlState.SHUTDOWN_NOW
        return BrokerControlState.UNFENCED
    # Controlled shutdown ends once the broker leads nothing and every active broker
    # has replayed the records that moved its leaderships away.
    if leadership.has_leaderships(image, broker_id):
        return BrokerControlState.CONTROLLED_SHUTDOWN
    if tracker.controlled_shutdown_offset(broker_id) <= tracker.lowest_active_offset():
        return BrokerControlState.SHUTDOWN_NOW
    return BrokerControlState.CONTROLLED_SHUTDOWN


class HeartbeatOutcome(msgspec.Struct, frozen=True):
    """The response to send, and the state the broker moves to (for the tracker)."""

    response: BrokerHeartbeatResponse
    next_state: BrokerControlState


def check_broker_epoch(image: MetadataImage, broker_id: int, broker_epoch: int) -> None:
    """STALE_BROKER_EPOCH unless ``broker_epoch`` is the broker's current registration."""
    broker = image.cluster.broker(broker_id)
    if broker is None:
        raise KafkaError(
            ErrorCode.STALE_BROKER_EPOCH, f"No broker registration found for broker id {broker_id}"
        )
    if broker.epoch != broker_epoch:
        raise KafkaError(
            ErrorCode.STALE_BROKER_EPOCH,
            f"Expected broker epoch {broker.epoch}, but got broker epoch {broker_epoch}",
        )


def _directories_offline(
    image: MetadataImage,
    settings: ControllerSettings,
    broker_id: int,
    epoch: int,
    offline: list[uuid.UUID],
) -> list[VersionedRecord]:
    """A broker lost disks: its replicas there leave ISRs, and its registration shrinks."""
    broker = image.cluster.broker(broker_id)
    if broker is None:
        return []
    newly_offline = [d for d in broker.directories if d in offline]
    if not newly_offline:
        return []
    affected = [
        ref
        for ref in leadership.partitions_with_isr_member(image, broker_id)
        if ref[2].directory(broker_id) in newly_offline
    ]
    records = leadership.leader_and_isr_updates(
        image, settings, affected, broker_to_remove=broker_id
    )
    online = [d for d in broker.directories if d not in offline]
    records.append(
        VersionedRecord(
            BrokerRegistrationChangeRecord(
                broker_id=broker_id, broker_epoch=epoch, log_dirs=online
            ),
            2,
        )
    )
    return records


def process_broker_heartbeat(
    image: MetadataImage,
    tracker: BrokerHeartbeatTracker,
    request: BrokerHeartbeatRequest,
    *,
    register_offset: int | None,
    settings: ControllerSettings,
) -> ControllerResult[HeartbeatOutcome]:
    """BrokerHeartbeat: the records of the broker's state change and the response.

    ``register_offset`` is the offset of the broker's latest ``RegisterBrokerRecord``
    (None if it has none): the broker is caught up, and may be unfenced, once it
    has replayed that far. The tracker is read, not changed; the caller touches it
    with ``outcome.next_state`` once the records are appended.
    """
    broker_id = request.broker_id
    try:
        if register_offset is None:
            raise KafkaError(
                ErrorCode.STALE_BROKER_EPOCH,
                f"Receive a heartbeat from broker {broker_id} before registration",
            )
        check_broker_epoch(image, broker_id, request.broker_epoch)
    except KafkaError as exc:
        response = BrokerHeartbeatResponse(error_code=exc.code)
        return ControllerResult([], HeartbeatOutcome(response, BrokerControlState.FENCED))
    current = current_state(image, tracker, broker_id)
    target = next_state(image, tracker, request, register_offset)
    records: list[VersionedRecord] = []
    if target is not current:
        if target.fenced:
            records += leadership.broker_fenced(image, settings, broker_id)
        elif target is BrokerControlState.UNFENCED:
            records += leadership.broker_unfenced(image, settings, broker_id, request.broker_epoch)
        else:
            records += leadership.broker_in_controlled_shutdown(
                image, settings, broker_id, request.broker_epoch
            )
    if image.features.metadata_version.supports_directory_assignment:
        records += _directories_offline(
            image, settings, broker_id, request.broker_epoch, request.offline_log_dirs
        )
    response = BrokerHeartbeatResponse(
        is_caught_up=request.current_metadata_offset >= register_offset,
        is_fenced=target.fenced,
        should_shut_down=target.should_shut_down,
    )
    return ControllerResult(records, HeartbeatOutcome(response, target), atomic=False)


def fence_stale_broker(
    image: MetadataImage, tracker: BrokerHeartbeatTracker, now_ms: int, settings: ControllerSettings
) -> tuple[int | None, list[VersionedRecord]]:
    """Fence the broker whose session expired first, if any: its id and the records.

    A broker the image already shows fenced (or gone) needs no records. The caller
    marks the session fenced either way.
    """
    broker_id = tracker.stale_broker(now_ms)
    if broker_id is None:
        return None, []
    if not image.cluster.is_unfenced(broker_id):
        return broker_id, []
    return broker_id, leadership.broker_fenced(image, settings, broker_id)
