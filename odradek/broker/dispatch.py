"""From a request frame to a response frame: header, version checks, handler, encoding.

The rules, as Kafka applies them (``SocketServer`` and ``RequestContext``):

* an API key no spec defines, or one this broker does not implement, closes the
  connection;
* ApiVersions at a version the broker does not know is answered, not refused: with
  an ApiVersions v0 response carrying UNSUPPORTED_VERSION and the broker's list of
  APIs, so that a newer client can fall back to a version both sides speak;
* any other API at an unsupported version closes the connection, as does a body
  that does not decode;
* a handler returning None sends nothing back (Produce with acks=0).

An exception escaping a handler is a bug: it is logged with its traceback and the
connection is closed, so that the client reconnects and retries against a broker
that goes on serving everyone else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from odradek.broker.apis import REGISTRY, ApiHandler
from odradek.broker.context import Client, RequestContext
from odradek.broker.handlers.api_versions import API_VERSIONS, unsupported_version_response
from odradek.protocol.codec import DecodeError, EncodeError
from odradek.protocol.framing import (
    CloseConnection,
    UnknownApiKey,
    encode_response,
    read_request_body,
    read_request_header,
)
from odradek.protocol.messages.clients.request_header import RequestHeader

if TYPE_CHECKING:
    from odradek.broker.broker import Broker

log = logging.getLogger(__name__)


class Dispatcher:
    """Turns request frames into response frames for one broker, on one listener.

    ``apis`` are the handlers this listener serves (all the broker's by default; a
    controller listener serves fewer).
    """

    def __init__(self, broker: Broker, apis: Mapping[int, ApiHandler] = REGISTRY) -> None:
        self.broker = broker
        self.apis = apis

    async def handle_frame(self, client: Client, frame: memoryview) -> Sequence[Any] | None:
        def context(header: RequestHeader, api_key: int, version: int) -> RequestContext:
            return RequestContext(
                broker=self.broker,
                client=client,
                api_key=api_key,
                api_version=version,
                correlation_id=header.correlation_id,
                client_id=header.client_id,
                apis=self.apis,
            )

        return await serve_frame(
            frame, self.apis, "this broker", context, self.broker.metrics.observe_request
        )


async def serve_frame(
    frame: memoryview,
    apis: Mapping[int, ApiHandler],
    server: str,
    context: Callable[[RequestHeader, int, int], Any],
    observe: Callable[[str, float], None],
) -> Sequence[Any] | None:
    """One request frame through the rules above, on any listener (broker or controller).

    ``server`` names the listener's side in the reason a connection is closed;
    ``context(header, api key, version)`` makes what the handler receives;
    ``observe(api name, seconds)`` records the handler's time.
    """
    try:
        header, api, pos = read_request_header(frame)
    except UnknownApiKey as e:
        raise CloseConnection(str(e)) from None
    except DecodeError as e:
        raise CloseConnection(f"malformed request header: {e}") from None
    version = header.request_api_version
    handler = apis.get(api.key)
    if handler is None or not handler.supports(version):
        if api.key == API_VERSIONS:
            body = unsupported_version_response(apis)
            return encode_response(api, 0, header.correlation_id, body)
        raise CloseConnection(f"{api.name} v{version} is not supported by {server}")
    try:
        request = read_request_body(api, version, frame, pos)
    except DecodeError as e:
        raise CloseConnection(f"malformed {api.name} v{version} request: {e}") from None
    ctx = context(header, api.key, version)
    started = time.perf_counter()
    try:
        response = await handler.handle(ctx, request)
    except Exception as e:
        log.exception("%s v%d handler of %s failed", api.name, version, server)
        raise CloseConnection(f"{api.name} handler failed: {e!r}") from e
    finally:
        observe(api.name, time.perf_counter() - started)
    if response is None:
        return None
    try:
        return encode_response(api, version, header.correlation_id, response)
    except EncodeError:
        log.exception("%s v%d response of %s cannot be encoded", api.name, version, server)
        raise CloseConnection(f"{api.name} response cannot be encoded") from None
