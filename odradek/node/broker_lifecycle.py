"""A broker's place in the cluster: registration, heartbeats, fencing, controlled shutdown.

Kafka's ``BrokerLifecycleManager``. A broker registers with the active controller
(its listeners, rack, supported features, log directories and a fresh incarnation
id), receives a broker epoch, then heartbeats every ``broker.heartbeat.interval.ms``
with the offset of the metadata it has applied. The controller keeps it fenced --
no leaderships, invisible to clients -- until it has caught up with the metadata log,
and fences it again if heartbeats stop for ``broker.session.timeout.ms``. On
shutdown the broker asks to shut down and keeps heartbeating until the controller
has moved its leaderships away.

The listeners registered are the advertised ones, an advertised port 0 replaced by the
port the listener of that name is bound to (Kafka's
``ListenerInfo.withEphemeralPortsCorrected``).

A registration refused with DUPLICATE_BROKER_REGISTRATION (the previous incarnation's
session has not expired yet, after a crash) is retried until it is accepted, as
Kafka's brokers do.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence

import trio

from odradek.broker.broker import ControllerChannel
from odradek.metadata.cluster import VersionRange
from odradek.node.config import BrokerConfig
from odradek.protocol.errors import ErrorCode, lookup
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
    Feature,
    Listener,
)

log = logging.getLogger(__name__)

BROKER_REGISTRATION = 62
BROKER_REGISTRATION_VERSION = 3
BROKER_HEARTBEAT = 63
BROKER_HEARTBEAT_VERSION = 1
RETRY_S = 0.5


def _name(code: int) -> str:
    known = lookup(code)
    return known.name if known is not None else str(code)


class BrokerLifecycle:
    def __init__(
        self,
        config: BrokerConfig,
        cluster_id: str,
        controller: ControllerChannel,
        *,
        log_dir_ids: Sequence[uuid.UUID],
        features: dict[str, VersionRange],
        applied_offset: Callable[[], int],
    ) -> None:
        self.config = config
        self.cluster_id = cluster_id
        self.controller = controller
        self.log_dir_ids = list(log_dir_ids)
        self.features = features
        self.applied_offset = applied_offset
        self.incarnation_id = uuid.uuid4()
        self.broker_epoch = -1
        self.unfenced = trio.Event()
        self.shut_down = trio.Event()
        self._want_shut_down = False
        self._interval_s = config.get("broker.heartbeat.interval.ms") / 1000

    def _registration(self, bound_ports: Mapping[str, int]) -> BrokerRegistrationRequest:
        return BrokerRegistrationRequest(
            broker_id=self.config.node_id,
            cluster_id=self.cluster_id,
            incarnation_id=self.incarnation_id,
            listeners=[
                Listener(
                    name=ep.listener,
                    host=ep.host or "",
                    port=ep.port or bound_ports.get(ep.listener, 0),
                    security_protocol=int(ep.security_protocol.value),
                )
                for ep in self.config.advertised_listeners
            ],
            features=[
                Feature(name=n, min_supported_version=r.min, max_supported_version=r.max)
                for n, r in sorted(self.features.items())
            ],
            rack=self.config.broker_rack,
            log_dirs=self.log_dir_ids,
        )

    async def register(self, bound_ports: Mapping[str, int] | None = None) -> int:
        """Register until the controller accepts; returns the broker epoch.

        ``bound_ports`` are the ports the listeners advertised with port 0 are bound to,
        by listener name.
        """
        registration = self._registration(bound_ports or {})
        while True:
            response = await self.controller.call(
                BROKER_REGISTRATION, BROKER_REGISTRATION_VERSION, registration
            )
            if response.error_code == ErrorCode.NONE:
                self.broker_epoch = response.broker_epoch
                log.info(
                    "registered as broker %d, epoch %d", self.config.node_id, self.broker_epoch
                )
                return self.broker_epoch
            if response.error_code != ErrorCode.DUPLICATE_BROKER_REGISTRATION:
                raise RuntimeError(f"broker registration refused: {_name(response.error_code)}")
            await trio.sleep(RETRY_S)

    async def heartbeat_once(self) -> None:
        response = await self.controller.call(
            BROKER_HEARTBEAT,
            BROKER_HEARTBEAT_VERSION,
            BrokerHeartbeatRequest(
                broker_id=self.config.node_id,
                broker_epoch=self.broker_epoch,
                current_metadata_offset=self.applied_offset(),
                want_fence=False,
                want_shut_down=self._want_shut_down,
            ),
        )
        if response.error_code != ErrorCode.NONE:
            log.warning("heartbeat refused: %s", _name(response.error_code))
            return
        if not response.is_fenced and not self.unfenced.is_set():
            log.info("broker %d is unfenced", self.config.node_id)
            self.unfenced.set()
        if response.should_shut_down:
            self.shut_down.set()

    async def run(self) -> None:
        """Heartbeat forever; quickly until unfenced, then every heartbeat interval."""
        while True:
            await self.heartbeat_once()
            await trio.sleep(self._interval_s if self.unfenced.is_set() else 0.05)

    async def controlled_shutdown(self, timeout_s: float) -> None:
        """Ask the controller to move leaderships away, and wait until it says done."""
        self._want_shut_down = True
        with trio.move_on_after(timeout_s):
            while not self.shut_down.is_set():
                await self.heartbeat_once()
                if not self.shut_down.is_set():
                    await trio.sleep(0.05)
