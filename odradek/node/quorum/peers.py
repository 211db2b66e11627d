"""The quorum's network: Raft requests to the other replicas over the Kafka protocol.

Kafka's ``KafkaNetworkChannel`` (KIP-595, "Network"): each request the core hands out is
sent, in a task of its own, to the controller listener of the replica it names, through
one :class:`~odradek.node.kafka_client.KafkaClient` per peer (one connection, pipelined,
reconnected with backoff). The version is the highest both sides speak
(:func:`odradek.node.quorum.wire.request_version`), the body is adapted to it
(:func:`odradek.node.quorum.wire.outgoing_body`), and the answer goes back to the core
under the correlation id the core gave the request.

Anything that keeps a request from being answered -- no address for the node, a
connection that cannot be made or breaks, a peer that does not speak the API, a
timeout (``controller.quorum.request.timeout.ms``) -- is reported to the core as a
failed request; the core backs off and retries on its own timers. A peer that is
stopped (SIGSTOP) accepts connections in its kernel but answers nothing: its requests
time out, and the client drops the connection so that the next one starts afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import trio

from odradek.node.kafka_client import ClientSettings, KafkaClient
from odradek.node.quorum import wire
from odradek.protocol.errors import KafkaError
from odradek.raft.messages import Request, Response

if TYPE_CHECKING:
    from odradek.node.quorum.driver import RaftDriver

log = logging.getLogger(__name__)


class PeerNetwork:
    """Sends Raft requests to the replicas at ``addresses`` (node id -> host, port)."""

    def __init__(self, addresses: Mapping[int, tuple[str, int]], settings: ClientSettings) -> None:
        self.addresses = dict(addresses)
        self.settings = settings
        self._clients: dict[int, KafkaClient] = {}
        self._nursery: trio.Nursery | None = None
        self._driver: RaftDriver | None = None

    async def run(
        self, driver: RaftDriver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        self._driver = driver
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def send(self, request: Request) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(self._exchange, request)

    def _client(self, node_id: int) -> KafkaClient | None:
        client = self._clients.get(node_id)
        if client is None:
            address = self.addresses.get(node_id)
            if address is None or self._nursery is None:
                return None
            client = KafkaClient(self._nursery, address[0], address[1], self.settings)
            self._clients[node_id] = client
        return client

    async def _exchange(self, request: Request) -> None:
        driver = self._driver
        assert driver is not None
        api_key = request.body.API_KEY
        client = self._client(request.destination)
        if client is None:
            log.warning("no address for node %d: cannot send it %s", request.destination, api_key)
            driver.request_failed(request.destination, request.correlation_id)
            return
        # One deadline for the handshake and the answer; the client's own timeout (not a
        # cancellation) is what makes it drop a connection to a peer that went silent.
        deadline = trio.current_time() + self.settings.request_timeout_s
        try:
            versions = await client.api_versions(timeout_s=self.settings.request_timeout_s)
            peer = versions.get(api_key)
            version = wire.request_version(api_key, None if peer is None else peer[1])
            if version is None:
                log.warning(
                    "node %d speaks no usable version of API %d", request.destination, api_key
                )
                driver.request_failed(request.destination, request.correlation_id)
                return
            response = await client.request(
                api_key,
                wire.outgoing_body(request, version),
                version=version,
                timeout_s=max(deadline - trio.current_time(), 0.001),
            )
        except (KafkaError, trio.ClosedResourceError) as error:
            log.debug("request %d to node %d failed: %s", api_key, request.destination, error)
            driver.request_failed(request.destination, request.correlation_id)
            return
        driver.receive_response(
            Response(request.destination, request.source, request.correlation_id, response)
        )
