"""A tiny Kafka peer for client tests: ApiVersions as configured, every other request as scripted.

It is served by the node's own listener code (:func:`odradek.node.network.serve_listener`),
so frames, one-request-at-a-time handling and connection closing are the real ones; what
the peer answers is up to the test.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio

from odradek.node.network import Connection, serve_listener
from odradek.protocol.errors import ErrorCode
from odradek.protocol.framing import encode_response, read_request_body, read_request_header
from odradek.protocol.messages.clients.api_versions_response import ApiVersion, ApiVersionsResponse

API_VERSIONS = 18

#: What the peer answers to a request: (api key, version, body) -> response body.
Answer = Callable[[int, int, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Seen:
    connection_id: str
    api_key: int
    version: int
    correlation_id: int


async def _unanswerable(api_key: int, version: int, request: Any) -> Any:
    raise AssertionError(f"the test did not expect API {api_key}")


@dataclass
class ScriptedPeer:
    """Serves ApiVersions from ``versions`` and answers the rest with ``answer``.

    ``api_versions_max`` is the highest ApiVersions version it knows: higher ones get the
    v0-layout UNSUPPORTED_VERSION answer, listing ApiVersions only if
    ``lists_api_versions``. ``correlation_offset`` is added to every correlation id it
    answers with (a broken peer).
    """

    versions: Mapping[int, tuple[int, int]]
    answer: Answer = _unanswerable
    api_versions_max: int = 4
    lists_api_versions: bool = True
    correlation_offset: int = 0
    seen: list[Seen] = field(default_factory=list)

    def requests(self, api_key: int) -> list[Seen]:
        return [s for s in self.seen if s.api_key == api_key]

    def _api_list(self) -> list[ApiVersion]:
        listed = dict(self.versions)
        listed[API_VERSIONS] = (0, self.api_versions_max)
        if not self.lists_api_versions:
            del listed[API_VERSIONS]
        return [
            ApiVersion(api_key=k, min_version=lo, max_version=hi) for k, (lo, hi) in listed.items()
        ]

    async def handle_frame(self, conn: Connection, frame: memoryview) -> Sequence[Any] | None:
        header, api, pos = read_request_header(frame)
        version = header.request_api_version
        self.seen.append(Seen(conn.connection_id, api.key, version, header.correlation_id))
        correlation_id = header.correlation_id + self.correlation_offset
        if api.key == API_VERSIONS:
            if version > self.api_versions_max:
                body = ApiVersionsResponse(
                    error_code=ErrorCode.UNSUPPORTED_VERSION, api_keys=self._api_list()
                )
                return encode_response(api, 0, correlation_id, body)
            return encode_response(
                api, version, correlation_id, ApiVersionsResponse(api_keys=self._api_list())
            )
        request = read_request_body(api, version, frame, pos)
        response = await self.answer(api.key, version, request)
        return encode_response(api, version, correlation_id, response)


@asynccontextmanager
async def serving(peer: ScriptedPeer, port: int = 0) -> AsyncIterator[int]:
    """Serve ``peer`` on loopback (``port`` 0: any free one) and yield the port."""
    async with trio.open_nursery() as nursery:
        bound: int = await nursery.start(
            functools.partial(
                serve_listener,
                "PEER",
                "127.0.0.1",
                port,
                peer,
                max_frame=1 << 20,
                idle_timeout_s=60.0,
            )
        )
        yield bound
        nursery.cancel_scope.cancel()
