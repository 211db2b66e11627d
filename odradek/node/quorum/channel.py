"""How the broker of a combined node reaches the active controller: at home when it can.

In a combined node (``process.roles=broker,controller``) the active controller may be
the node's own. Kafka's broker always goes through the network
(``NodeToControllerChannelManager``); here a request whose answer the node's own
controller can give is given to it directly, which spares an encoding, a decoding and
a loopback round trip on every heartbeat and every forwarded admin request:

* the node's controller is active: it answers;
* it is not, and the quorum has other voters: the request goes over the network to
  whichever controller is active (:class:`~odradek.broker.broker.ControllerChannel`);
* it is the only voter: it becomes active soon (it wins its own election), and the
  request waits for that, up to ``wait_s``, then fails with REQUEST_TIMED_OUT, as a
  forwarded request that finds no controller does in Kafka.

A request that the node's controller takes but cannot finish because it stops being
active (NOT_CONTROLLER) goes to the network too, when there is one to go to.
"""

from __future__ import annotations

from typing import Any

import trio

from odradek.broker.broker import ControllerChannel
from odradek.controller.quorum_controller import NotActiveError
from odradek.node.controller_service import ControllerService
from odradek.protocol.errors import ErrorCode, KafkaError


class ActiveControllerChannel:
    """The node's own controller when it is active, else ``remote`` (if any)."""

    def __init__(
        self, local: ControllerService, remote: ControllerChannel | None, *, wait_s: float
    ) -> None:
        self.local = local
        self.remote = remote
        self.wait_s = wait_s

    async def call(self, api_key: int, api_version: int, request: Any) -> Any:
        local = self.local
        if self.remote is None:
            with trio.move_on_after(self.wait_s):
                await local.wait_active()
        if local.is_active or self.remote is None:
            try:
                return await local.call(api_key, api_version, request)
            except NotActiveError as exc:
                if self.remote is None:
                    raise KafkaError(
                        ErrorCode.REQUEST_TIMED_OUT, f"no active controller: {exc}"
                    ) from None
        return await self.remote.call(api_key, api_version, request)
