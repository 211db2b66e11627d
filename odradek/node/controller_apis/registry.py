"""The controller listener's handler registry, and what a handler knows of its request.

A handler registers beside its code with the versions it really serves
(``@handles(BROKER_HEARTBEAT, 0, 1)``), as the broker's handlers do in
:mod:`odradek.broker.apis`, through the same :class:`~odradek.broker.apis.HandlerRegistry`
mechanism. The registry is a separate instance because a controller is not
a broker: a controller-only node has no broker object, and the APIs differ (brokers
never serve BrokerRegistration; controllers never serve Produce). ApiVersions on a
controller listener lists exactly this registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from odradek.broker.apis import ApiHandler, HandlerRegistry

if TYPE_CHECKING:
    from odradek.broker.context import Client
    from odradek.node.config import BrokerConfig
    from odradek.node.controller_apis.dispatch import ControllerApis
    from odradek.node.controller_service import ControllerService

#: One API the controller listener serves (the broker's record of the same shape).
ControllerApi = ApiHandler

CONTROLLER_REGISTRY = HandlerRegistry("controller handlers", listener="controller")
handles = CONTROLLER_REGISTRY.handles


@dataclass(frozen=True)
class ControllerRequestContext:
    """One request on a controller listener, and the node that serves it."""

    apis: ControllerApis
    client: Client
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None

    @property
    def controller(self) -> ControllerService:
        return self.apis.controller

    @property
    def config(self) -> BrokerConfig:
        return self.apis.config

    @property
    def cluster_id(self) -> str:
        return self.apis.cluster_id
