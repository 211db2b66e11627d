"""Frames and headers: how a request or response travels on a connection.

Every message on a Kafka connection is a frame: a 4-byte big-endian size, then a
header, then the body (``docs/protocol.html``, "Common Request and Response
Structure"). Which header version precedes a body depends on the API and its version:

* requests use header v2 (with tagged fields) at flexible versions of their API and v1
  otherwise; ControlledShutdown v0 alone uses header v0, which lacks a client id;
* responses use header v1 at flexible versions and v0 otherwise, except ApiVersions,
  whose responses always carry header v0: a client that does not yet know which
  versions the broker speaks must be able to read the answer.

The size prefix is checked against a maximum before anything else is read, so a
peer announcing a huge frame costs nothing (Kafka's ``socket.request.max.bytes``).
"""

from __future__ import annotations

from typing import Any

from odradek.protocol.codec import (
    Message,
    Records,
    Writer,
    read_message,
    write_message,
)
from odradek.protocol.messages.clients import APIS, ApiSpec
from odradek.protocol.messages.clients.request_header import RequestHeader
from odradek.protocol.messages.clients.response_header import ResponseHeader
from odradek.protocol.primitives import INT16, INT32, Buffer, DecodeError

API_VERSIONS_KEY = 18
CONTROLLED_SHUTDOWN_KEY = 7

#: Kafka's default for ``socket.request.max.bytes``.
DEFAULT_MAX_FRAME = 100 * 1024 * 1024

SIZE_PREFIX = 4


class FrameTooLarge(DecodeError):
    """A size prefix that is negative or above the allowed maximum."""


def frame_size(prefix: Buffer, max_size: int = DEFAULT_MAX_FRAME) -> int:
    """The body size announced by a 4-byte prefix, checked before the body is read."""
    if len(prefix) < SIZE_PREFIX:
        raise DecodeError("a size prefix is 4 bytes")
    (size,) = INT32.unpack_from(prefix, 0)
    if size < 0 or size > max_size:
        raise FrameTooLarge(f"frame of {size} bytes is outside 0..{max_size}")
    return size


def request_header_version(api: ApiSpec, api_version: int) -> int:
    if api.key == CONTROLLED_SHUTDOWN_KEY and api_version == 0:
        return 0
    return 2 if api.is_flexible(api_version) else 1


def response_header_version(api: ApiSpec, api_version: int) -> int:
    if api.key == API_VERSIONS_KEY:
        return 0
    return 1 if api.is_flexible(api_version) else 0


class CloseConnection(Exception):
    """A request that cannot be answered: the only right reply is to close the connection.

    Kafka closes a connection on an unknown API key, an unsupported version of any API
    but ApiVersions, or a body that does not parse; handlers raise this to do the same.
    """


class UnknownApiKey(DecodeError):
    """A request for an API key that no Kafka spec defines."""

    def __init__(self, api_key: int) -> None:
        super().__init__(f"unknown API key {api_key}")
        self.api_key = api_key


def read_request_header(frame: Buffer) -> tuple[RequestHeader, ApiSpec, int]:
    """Decode the header of a request frame (size prefix already removed).

    Returns the header, the API it names and where the body starts. The API version
    is not checked against what the broker supports: that is the broker's answer to
    give (ApiVersions answers an unsupported version with its v0 error response).
    """
    if len(frame) < 4:
        raise DecodeError("request frame shorter than its api key and version")
    (api_key,) = INT16.unpack_from(frame, 0)
    (api_version,) = INT16.unpack_from(frame, 2)
    api = APIS.get(api_key)
    if api is None:
        raise UnknownApiKey(api_key)
    header, pos = read_message(RequestHeader, frame, 0, request_header_version(api, api_version))
    return header, api, pos


def read_request_body(api: ApiSpec, api_version: int, frame: Buffer, pos: int) -> Any:
    """Decode a request body of ``api`` at ``api_version``, starting at ``pos``.

    Bytes after the body are ignored, as Kafka ignores them.
    """
    message, _ = read_message(api.request_class(), frame, pos, api_version)
    return message


def read_response(api: ApiSpec, api_version: int, frame: Buffer) -> tuple[int, Any]:
    """Decode a response frame (size prefix removed): its correlation id and body."""
    header, pos = read_message(ResponseHeader, frame, 0, response_header_version(api, api_version))
    message, _ = read_message(api.response_class(), frame, pos, api_version)
    return header.correlation_id, message


def _framed(write: Any) -> list[Records]:
    w = Writer()
    first = w.buf
    first += b"\0\0\0\0"
    write(w)
    first[0:4] = INT32.pack(w.size() - SIZE_PREFIX)
    return w.buffers()


def encode_response(
    api: ApiSpec, api_version: int, correlation_id: int, body: Message
) -> list[Records]:
    """A whole response frame as buffers (size prefix included), records uncopied."""

    def write(w: Writer) -> None:
        write_message(
            ResponseHeader(correlation_id=correlation_id),
            response_header_version(api, api_version),
            w,
        )
        write_message(body, api_version, w)

    return _framed(write)


def encode_request(
    api: ApiSpec,
    api_version: int,
    correlation_id: int,
    client_id: str | None,
    body: Message,
) -> list[Records]:
    """A whole request frame as buffers (size prefix included)."""

    def write(w: Writer) -> None:
        header = RequestHeader(
            request_api_key=api.key,
            request_api_version=api_version,
            correlation_id=correlation_id,
            client_id=client_id,
        )
        header_version = request_header_version(api, api_version)
        if header_version == 0:
            header.client_id = None
        write_message(header, header_version, w)
        write_message(body, api_version, w)

    return _framed(write)
