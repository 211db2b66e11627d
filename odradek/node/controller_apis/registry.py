"""The controller listener's handler registry, and what a handler knows of its request.

A handler registers beside its code with the versions it really serves
(``@handles(BROKER_HEARTBEAT, 0, 1)``), as the broker's handlers do in
:mod:`odradek.broker.apis`. The registry is a separate one because a controller is not
a broker: a controller-only node has no broker object, and the APIs differ (brokers
never serve BrokerRegistration; controllers never serve Produce). ApiVersions on a
controller listener lists exactly this registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from odradek.protocol.messages.clients import APIS

if TYPE_CHECKING:
    from odradek.broker.context import Client
    from odradek.node.config import BrokerConfig
    from odradek.node.controller_apis.dispatch import ControllerApis
    from odradek.node.controller_service import ControllerService

Handler = Callable[["ControllerRequestContext", Any], Awaitable[Any]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class ControllerApi:
    """One API the controller listener serves, versions ``lowest`` to ``highest``."""

    key: int
    lowest: int
    highest: int
    handle: Handler

    @property
    def name(self) -> str:
        return APIS[self.key].name

    def supports(self, version: int) -> bool:
        return self.lowest <= version <= self.highest


CONTROLLER_REGISTRY: dict[int, ControllerApi] = {}


def handles(key: int, lowest: int, highest: int) -> Callable[[H], H]:
    """Register the decorated coroutine as the controller's handler of ``key``."""
    spec = APIS[key]
    if not spec.lowest <= lowest <= highest <= spec.highest:
        raise ValueError(f"{spec.name} versions {lowest}-{highest} are outside its specs")
    if "controller" not in spec.listeners:
        raise ValueError(f"{spec.name} is not an API of controller listeners")

    def register(fn: H) -> H:
        if key in CONTROLLER_REGISTRY:
            raise ValueError(f"{spec.name} has two controller handlers")
        CONTROLLER_REGISTRY[key] = ControllerApi(key, lowest, highest, fn)
        return fn

    return register


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
