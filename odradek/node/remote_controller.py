"""A broker's channel to the active controller, over the network.

Kafka's ``NodeToControllerChannelManager``. A broker that is not itself the active
controller sends its registration, heartbeats, ISR changes and forwarded admin requests
to the controller listener of the one that is. Which controller that is, the node learns
from the metadata quorum (the Raft leader, mapped to an address through
``controller.quorum.voters``: :func:`voter_addresses`); this channel asks for it anew
before every attempt, through the callable it is given.

Behaviour, as in Kafka:

* **Retries until a deadline.** A request that cannot be delivered (no controller
  known yet, a connection that cannot be made or breaks, no answer within
  ``controller.socket.timeout.ms``) or that comes back with NOT_CONTROLLER anywhere in
  it (the controller lost its leadership, or never had it) is sent again, to whichever
  controller is active by then, after a backoff that doubles from ``retry.backoff.ms``
  up to ``retry.backoff.max.ms`` with 20% jitter. When ``retry_timeout_s`` has passed
  without an answer the call raises :class:`~odradek.protocol.errors.KafkaError` with
  REQUEST_TIMED_OUT, which :mod:`odradek.broker.forwarding` turns into the client's
  error. Kafka gives forwarded requests 60 seconds and retries registrations,
  heartbeats and ISR changes without end (their own loops decide what to do next).
* **Not retried:** an answer (whatever its error codes, NOT_CONTROLLER aside), and
  UNSUPPORTED_VERSION when the controller does not speak the version the request must
  go at (a forwarded request keeps its client's version).
* **Separate channels, separate connections.** The controller answers one request per
  connection at a time, so a forwarded CreateTopics waiting for its records to commit
  would hold up a heartbeat queued behind it. A node makes one channel per purpose
  (forwarding, heartbeats, ISR changes), as Kafka does.

The answer is whatever the controller answered, at the version the request went at.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
import trio

from odradek.node.config import BrokerConfig
from odradek.node.kafka_client import BACKOFF_JITTER, ClientSettings, KafkaClient
from odradek.protocol.errors import ErrorCode, KafkaError

log = logging.getLogger(__name__)

#: Kafka's ``retry.backoff.ms`` and ``retry.backoff.max.ms`` client defaults.
RETRY_BACKOFF_S = 0.1
RETRY_BACKOFF_MAX_S = 1.0
#: How long Kafka's brokers keep trying to forward a client's request.
FORWARDING_RETRY_TIMEOUT_S = 60.0
#: The failures after which a request is sent again (to the then active controller).
_DELIVERY_FAILURES = frozenset({ErrorCode.NETWORK_EXCEPTION, ErrorCode.REQUEST_TIMED_OUT})


class ControllerAddress(NamedTuple):
    """Where a controller listens: its node id and its controller listener."""

    node_id: int
    host: str
    port: int


#: The active controller's address, or None while none is known.
ActiveController = Callable[[], ControllerAddress | None]


def voter_addresses(config: BrokerConfig, leader_id: Callable[[], int | None]) -> ActiveController:
    """The active controller as ``controller.quorum.voters`` places the leader ``leader_id``."""
    voters = {v.node_id: ControllerAddress(v.node_id, v.host, v.port) for v in config.quorum_voters}

    def active() -> ControllerAddress | None:
        leader = leader_id()
        return None if leader is None else voters.get(leader)

    return active


def controller_client_settings(config: BrokerConfig, channel: str) -> ClientSettings:
    """A channel's client settings from the broker's configuration."""
    return ClientSettings(
        client_id=f"broker-{config.node_id}-to-controller-{channel}",
        request_timeout_s=config.get("controller.socket.timeout.ms") / 1000,
        connect_timeout_s=config.get("socket.connection.setup.timeout.ms") / 1000,
    )


def error_codes(message: Any) -> set[int]:
    """Every error code a response carries, at any depth (Kafka's ``errorCounts``)."""
    found: set[int] = set()
    stack = [message]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, msgspec.Struct):
            for name in item.__struct_fields__:
                value = getattr(item, name)
                if name == "error_code":
                    found.add(value)
                elif isinstance(value, list | msgspec.Struct):
                    stack.append(value)
    return found


class RemoteController:
    """A :class:`~odradek.broker.broker.ControllerChannel` to the active controller.

    Connections run in ``nursery``; :meth:`close` ends them.
    """

    def __init__(
        self,
        nursery: trio.Nursery,
        active_controller: ActiveController,
        settings: ClientSettings,
        *,
        retry_timeout_s: float,
        retry_backoff_s: float = RETRY_BACKOFF_S,
        retry_backoff_max_s: float = RETRY_BACKOFF_MAX_S,
        rng: random.Random | None = None,
    ) -> None:
        self.active_controller = active_controller
        self.settings = settings
        self.retry_timeout_s = retry_timeout_s
        self.retry_backoff_s = retry_backoff_s
        self.retry_backoff_max_s = retry_backoff_max_s
        self._nursery = nursery
        self._rng = rng or random.Random()
        self._target: ControllerAddress | None = None
        self._client: KafkaClient | None = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _client_for(self, target: ControllerAddress) -> KafkaClient:
        if self._client is None or self._target != target:
            if self._client is not None:
                self._client.close()
            log.info(
                "%s: the active controller is node %d at %s:%d",
                self.settings.client_id,
                *target,
            )
            self._target = target
            self._client = KafkaClient(
                self._nursery, target.host, target.port, self.settings, rng=self._rng
            )
        return self._client

    def _backoff_s(self, failures: int) -> float:
        term = min(self.retry_backoff_s * 2 ** min(failures - 1, 32), self.retry_backoff_max_s)
        return term * self._rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)

    async def call(self, api_key: int, api_version: int, request: Any) -> Any:
        """The active controller's answer to ``request``, sent at ``api_version``."""
        deadline = trio.current_time() + self.retry_timeout_s
        failures = 0
        problem = "no active controller is known"
        while True:
            remaining = deadline - trio.current_time()
            target = self.active_controller()
            if target is not None and remaining > 0:
                client = self._client_for(target)
                try:
                    response = await client.request(
                        api_key,
                        request,
                        version=api_version,
                        timeout_s=min(self.settings.request_timeout_s, remaining),
                    )
                except KafkaError as error:
                    if error.code not in _DELIVERY_FAILURES:
                        raise
                    problem = str(error)
                except trio.ClosedResourceError:
                    problem = f"the connection to node {target.node_id} was replaced"
                else:
                    if ErrorCode.NOT_CONTROLLER not in error_codes(response):
                        return response
                    problem = f"node {target.node_id} is not the active controller"
            failures += 1
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                raise KafkaError(
                    ErrorCode.REQUEST_TIMED_OUT,
                    f"no answer from the active controller within {self.retry_timeout_s:g}s: "
                    f"{problem}",
                )
            log.debug("%s: retrying API %d: %s", self.settings.client_id, api_key, problem)
            await trio.sleep(min(self._backoff_s(failures), remaining))
