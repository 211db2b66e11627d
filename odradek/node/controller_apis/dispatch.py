"""From a request frame on a controller listener to a response frame (Kafka's ``ControllerApis``).

The rules are the broker's (:mod:`odradek.broker.dispatch`), applied to the
controller's registry: an API the controller does not serve, or a version outside
what it serves, closes the connection, except ApiVersions, which is answered in the v0
layout with UNSUPPORTED_VERSION and the controller's list; a body that does not decode
closes the connection; an exception escaping a handler is a bug, logged with its
traceback, and closes the connection.

Which controller is active is the quorum's business: a handler that needs the active
controller asks :class:`~odradek.node.controller_service.ControllerService`, and
answers NOT_CONTROLLER when this node's controller is not it, naming the one that is
if it is known (:attr:`ControllerApis.active_controller_id`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from odradek.broker.context import Client
from odradek.broker.dispatch import serve_frame
from odradek.node.config import BrokerConfig
from odradek.node.controller_apis.registry import (
    CONTROLLER_REGISTRY,
    ControllerApi,
    ControllerRequestContext,
)
from odradek.node.controller_service import ControllerService
from odradek.protocol.messages.clients.request_header import RequestHeader


class RequestMetrics(Protocol):
    def observe_request(self, api: str, seconds: float) -> None: ...


class ControllerApis:
    """Serves the controller listener of a node whose controller is ``controller``.

    ``active_controller_id`` names the active controller of the quorum (-1 if none is
    known); by default it is this node while its controller is active, which is all a
    quorum of one can say.
    """

    def __init__(
        self,
        controller: ControllerService,
        config: BrokerConfig,
        cluster_id: str,
        metrics: RequestMetrics,
        *,
        active_controller_id: Callable[[], int] | None = None,
        apis: Mapping[int, ControllerApi] = CONTROLLER_REGISTRY,
    ) -> None:
        self.controller = controller
        self.config = config
        self.cluster_id = cluster_id
        self.metrics = metrics
        self.apis = apis
        self._active_controller_id = active_controller_id

    def active_controller_id(self) -> int:
        if self._active_controller_id is not None:
            return self._active_controller_id()
        return self.config.node_id if self.controller.controller.is_active else -1

    async def handle_frame(self, client: Client, frame: memoryview) -> Sequence[Any] | None:
        def context(header: RequestHeader, api_key: int, version: int) -> ControllerRequestContext:
            return ControllerRequestContext(
                apis=self,
                client=client,
                api_key=api_key,
                api_version=version,
                correlation_id=header.correlation_id,
                client_id=header.client_id,
            )

        return await serve_frame(
            frame, self.apis, "the controller", context, self.metrics.observe_request
        )
