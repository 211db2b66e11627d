"""Registering this controller in the metadata log (KIP-919): the sending side.

Every controller -- controller-only or combined, active or standby -- asks the active
controller to write a ``RegisterControllerRecord`` for it (ControllerRegistration, key
70; the decision is :mod:`odradek.controller.controller_registration`). Brokers and
admin tools learn the controllers' endpoints from these records, and UpdateFeatures
changes no feature while a voter is missing from them.

Behaviour, as in Kafka's ``ControllerRegistrationManager``:

* **What is sent:** the node id; an *incarnation id* drawn afresh at every start of the
  process; the advertised controller listeners (Kafka's
  ``effectiveAdvertisedControllerListeners``, a wildcard host replaced by this host's
  name and port 0 by the port the listener is bound to); the feature levels the
  software supports, ``metadata.version`` among them
  (:func:`odradek.controller.features.supported_features`); ZooKeeper migration never
  ready.
* **When:** once the controller has replayed the metadata log up to its high watermark
  and the finalized ``metadata.version`` is 3.7-IV0 or later; then whenever the
  committed metadata holds no registration for this node or one that differs from what
  it would send (another incarnation: the registration of the process that ran before).
  One request is out at a time.
* **Answers:** success means the record is committed; nothing is sent again unless
  this node's registration in the log changes after that. An error answer, or no
  answer from any active controller within :data:`ATTEMPT_TIMEOUT_S`, is retried after
  a backoff that doubles from 100 ms up to 120 s with 2% jitter (Kafka's
  ``ExponentialBackoff(100, 2, 120000, 0.02)``), reset by a success.

The request goes to the active controller over the controller listener
(:class:`~odradek.node.remote_controller.RemoteController`), or to this node's own
controller when it is the active one (:class:`~odradek.node.quorum.channel.
ActiveControllerChannel`). The manager follows the metadata log as a Raft listener
only to be woken: what it decides on is the controller's committed image.

Specs: ``clients/ControllerRegistrationRequest.json``,
``clients/ControllerRegistrationResponse.json``, ``metadata/RegisterControllerRecord.json``.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Final

import trio

from odradek.broker.broker import ControllerChannel
from odradek.controller.features import supported_features
from odradek.metadata.cluster import ControllerRegistration, Endpoint, VersionRange
from odradek.metadata.image import MetadataImage
from odradek.node.config import BrokerConfig
from odradek.node.controller_service import ControllerService
from odradek.node.kafka_client import ClientSettings
from odradek.node.quorum.channel import ActiveControllerChannel
from odradek.node.quorum.driver import RaftDriver
from odradek.node.remote_controller import RemoteController, voter_addresses
from odradek.protocol.errors import ErrorCode, KafkaError, lookup
from odradek.protocol.messages.clients.controller_registration_request import (
    ControllerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.raft.batches import CommittedBatch
from odradek.raft.snapshots import SnapshotContents

log = logging.getLogger(__name__)

CONTROLLER_REGISTRATION: Final = 70
CONTROLLER_REGISTRATION_VERSION: Final = 0

#: How long one registration keeps looking for an active controller that answers
#: (Kafka's registration channel gives up after 5 seconds).
ATTEMPT_TIMEOUT_S: Final = 5.0
#: How long a request waits for this node's controller to lead, when it is the only voter.
OWN_CONTROLLER_WAIT_S: Final = 30.0
#: The resend backoff after a failure: initial, multiplier, maximum, jitter.
BACKOFF_INITIAL_S: Final = 0.1
BACKOFF_MULTIPLIER: Final = 2.0
BACKOFF_MAX_S: Final = 120.0
BACKOFF_JITTER: Final = 0.02

#: The committed image, or None while the controller has not caught up with the log.
CaughtUpImage = Callable[[], MetadataImage | None]


def registration_of(
    node_id: int,
    incarnation_id: uuid.UUID,
    listeners: Iterable[Endpoint],
    features: Mapping[str, VersionRange],
) -> ControllerRegistration:
    """The registration a controller asks for, as the metadata log will hold it."""
    return ControllerRegistration(
        controller_id=node_id,
        incarnation_id=incarnation_id,
        zk_migration_ready=False,
        listeners={e.name: e for e in listeners},
        supported_features=dict(features),
    )


def registration_request(registration: ControllerRegistration) -> ControllerRegistrationRequest:
    return ControllerRegistrationRequest(
        controller_id=registration.controller_id,
        incarnation_id=registration.incarnation_id,
        zk_migration_ready=registration.zk_migration_ready,
        listeners=[
            Listener(name=e.name, host=e.host, port=e.port, security_protocol=e.security_protocol)
            for e in registration.listeners.values()
        ],
        features=[
            Feature(name=name, min_supported_version=r.min, max_supported_version=r.max)
            for name, r in sorted(registration.supported_features.items())
        ],
    )


def backoff_s(failures: int, rng: random.Random) -> float:
    """The pause before the next attempt after ``failures`` failures in a row (at least 1)."""
    exponent = min(failures - 1, 64)
    term = min(BACKOFF_INITIAL_S * BACKOFF_MULTIPLIER**exponent, BACKOFF_MAX_S)
    return term * rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)


class ControllerRegistrationManager:
    """Keeps this controller's registration in the metadata log (see the module documentation).

    ``image`` gives the controller's committed image once it has caught up with the log;
    ``channel`` reaches the active controller. Add the manager to the metadata log
    replica's listeners so that it is woken by news, and run :meth:`run`.
    """

    def __init__(
        self,
        wanted: ControllerRegistration,
        image: CaughtUpImage,
        channel: ControllerChannel,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.wanted = wanted
        self.image = image
        self.channel = channel
        self.rng = rng or random.Random()
        #: Registrations acknowledged by an active controller.
        self.acknowledged = 0
        #: Failed attempts since the last acknowledged one.
        self.failures = 0
        self._news = trio.Event()
        #: An acknowledged record has not reached this node's committed image yet while
        #: the image still holds the registration it held when the request went out.
        self._awaiting_record = False
        self._replaced: ControllerRegistration | None = None

    @property
    def node_id(self) -> int:
        return self.wanted.controller_id

    def is_registered(self) -> bool:
        """Whether the committed metadata holds this incarnation's registration."""
        image = self.image()
        return image is not None and image.cluster.controllers.get(self.node_id) == self.wanted

    # -- as a Raft listener: every event may be news ---------------------------------

    def handle_commit(self, batch: CommittedBatch) -> None:
        self._news.set()

    def handle_load_snapshot(self, snapshot: SnapshotContents) -> None:
        self._news.set()

    def handle_leader_change(self, leader_id: int | None, epoch: int) -> None:
        self._news.set()

    # -- the loop --------------------------------------------------------------------

    def should_send(self) -> bool:
        """Kafka's ``maybeSendControllerRegistration`` condition, on the committed image."""
        image = self.image()
        if image is None or not image.features.metadata_version.supports_controller_registration:
            return False
        current = image.cluster.controllers.get(self.node_id)
        if current == self.wanted:
            return False
        return not (self._awaiting_record and current == self._replaced)

    async def run(self) -> None:
        """Register, and register again whenever the log loses or replaces the registration."""
        while True:
            self._news = trio.Event()
            if not self.should_send():
                await self._news.wait()
                continue
            image = self.image()
            before = None if image is None else image.cluster.controllers.get(self.node_id)
            if await self._send():
                self.failures = 0
                self.acknowledged += 1
                self._awaiting_record = True
                self._replaced = before
            else:
                self.failures += 1
                await trio.sleep(backoff_s(self.failures, self.rng))

    async def _send(self) -> bool:
        """One registration request; whether the active controller acknowledged it."""
        try:
            response = await self.channel.call(
                CONTROLLER_REGISTRATION,
                CONTROLLER_REGISTRATION_VERSION,
                registration_request(self.wanted),
            )
        except KafkaError as error:
            log.warning("controller registration not delivered: %s", error)
            return False
        if response.error_code != ErrorCode.NONE:
            known = lookup(response.error_code)
            log.warning(
                "controller registration refused: %s (%s)",
                known.name if known is not None else response.error_code,
                response.error_message,
            )
            return False
        log.info(
            "controller %d (incarnation %s) is registered",
            self.node_id,
            self.wanted.incarnation_id,
        )
        return True


def advertised_endpoints(
    config: BrokerConfig, hostname: str, bound_ports: Mapping[str, int]
) -> list[Endpoint]:
    """The controller listeners to register, a wildcard host replaced by ``hostname``.

    An advertised port 0 is replaced by the port the listener of that name is bound to
    (``bound_ports``), as Kafka's ``ListenerInfo.withEphemeralPortsCorrected`` does.
    """
    return [
        Endpoint(
            name=e.listener,
            host=e.host or hostname,
            port=e.port or bound_ports.get(e.listener, 0),
            security_protocol=int(e.security_protocol.value),
        )
        for e in config.advertised_controller_listeners
    ]


def caught_up_image(controller: ControllerService, raft: RaftDriver) -> CaughtUpImage:
    """The controller's committed image once it has replayed up to the high watermark."""

    def image() -> MetadataImage | None:
        high_watermark = raft.core.high_watermark
        if high_watermark is None or controller.committed_offset < high_watermark - 1:
            return None
        return controller.controller.committed_image

    return image


async def run_controller_registration(
    config: BrokerConfig,
    controller: ControllerService,
    raft: RaftDriver,
    bound_ports: Mapping[str, int],
    wait_s: float = OWN_CONTROLLER_WAIT_S,
) -> None:
    """Keep this node's controller registered, until cancelled.

    ``bound_ports`` are the ports this node's controller listeners are bound to, by
    listener name; ``wait_s`` is how long a request waits for this node's own
    controller to become active when it is the only voter.
    """
    hostname = ""
    if any(e.host is None for e in config.advertised_controller_listeners):
        hostname = await trio.to_thread.run_sync(socket.getfqdn)
    wanted = registration_of(
        config.node_id,
        uuid.uuid4(),
        advertised_endpoints(config, hostname, bound_ports),
        supported_features(),
    )
    async with trio.open_nursery() as nursery:
        remote = None
        if {v.node_id for v in config.quorum_voters} != {config.node_id}:
            settings = ClientSettings(
                client_id=f"controller-{config.node_id}-to-controller-registration",
                request_timeout_s=config.get("controller.socket.timeout.ms") / 1000,
                connect_timeout_s=config.get("socket.connection.setup.timeout.ms") / 1000,
            )
            settings = dataclasses.replace(
                settings, request_timeout_s=min(settings.request_timeout_s, ATTEMPT_TIMEOUT_S)
            )
            remote = RemoteController(
                nursery,
                voter_addresses(config, lambda: raft.leader_id),
                settings,
                retry_timeout_s=ATTEMPT_TIMEOUT_S,
            )
        channel = ActiveControllerChannel(controller, remote, wait_s=wait_s)
        manager = ControllerRegistrationManager(wanted, caught_up_image(controller, raft), channel)
        raft.add_listener(manager)
        await manager.run()
