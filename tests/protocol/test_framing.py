"""Frames and headers: header versions per API and version, size checks, round trips."""

from __future__ import annotations

import pytest

from odradek.protocol.codec import decode
from odradek.protocol.framing import (
    FrameTooLarge,
    UnknownApiKey,
    encode_request,
    encode_response,
    frame_size,
    read_request_body,
    read_request_header,
    read_response,
    request_header_version,
    response_header_version,
)
from odradek.protocol.messages.clients import APIS
from odradek.protocol.messages.clients.api_versions_request import ApiVersionsRequest
from odradek.protocol.messages.clients.api_versions_response import ApiVersionsResponse
from odradek.protocol.messages.clients.metadata_request import MetadataRequest
from odradek.protocol.messages.clients.metadata_response import MetadataResponse
from odradek.protocol.messages.clients.request_header import RequestHeader
from odradek.protocol.primitives import DecodeError


def _join(buffers: list) -> bytes:  # type: ignore[type-arg]
    return b"".join(bytes(b) for b in buffers)


def test_header_versions_follow_flexibility() -> None:
    metadata = APIS[3]
    assert request_header_version(metadata, 8) == 1
    assert request_header_version(metadata, 9) == 2
    assert response_header_version(metadata, 8) == 0
    assert response_header_version(metadata, 9) == 1


def test_api_versions_responses_always_use_header_v0() -> None:
    api_versions = APIS[18]
    assert request_header_version(api_versions, 3) == 2
    assert response_header_version(api_versions, 3) == 0
    # A version newer than the specs know is read as flexible, like Kafka does.
    assert request_header_version(api_versions, 99) == 2


def test_controlled_shutdown_v0_has_no_client_id() -> None:
    assert request_header_version(APIS[7], 0) == 0
    assert request_header_version(APIS[7], 1) == 1


def test_request_round_trip_through_a_frame() -> None:
    frame = _join(encode_request(APIS[3], 12, 77, "client-1", MetadataRequest(topics=None)))
    size = frame_size(frame[:4])
    assert size == len(frame) - 4
    body = memoryview(frame)[4:]
    header, api, pos = read_request_header(body)
    assert (header.request_api_key, header.request_api_version) == (3, 12)
    assert header.correlation_id == 77
    assert header.client_id == "client-1"
    request = read_request_body(api, 12, body, pos)
    assert request == MetadataRequest(topics=None)


def test_response_round_trip_through_a_frame() -> None:
    response = MetadataResponse(cluster_id="c", controller_id=1)
    frame = _join(encode_response(APIS[3], 12, 5, response))
    correlation_id, decoded = read_response(APIS[3], 12, memoryview(frame)[4:])
    assert correlation_id == 5
    assert decoded == response


def test_api_versions_response_header_has_no_tagged_fields() -> None:
    frame = _join(encode_response(APIS[18], 3, 9, ApiVersionsResponse()))
    # size, correlation id, then the body: error code 0 directly, no tag section byte.
    assert frame[4:8] == b"\0\0\0\x09"
    assert frame[8:10] == b"\0\0"


def test_client_id_is_a_classic_string_even_in_header_v2() -> None:
    frame = _join(encode_request(APIS[18], 3, 1, "abc", ApiVersionsRequest()))
    # size(4) key(2) version(2) correlation(4) then int16 length 3 and "abc"
    assert frame[12:17] == b"\x00\x03abc"
    header = decode(RequestHeader, memoryview(frame)[4:], 2, allow_trailing=True)
    assert header.client_id == "abc"


def test_frame_size_is_checked_before_reading() -> None:
    assert frame_size(b"\0\0\x10\0") == 4096
    with pytest.raises(FrameTooLarge):
        frame_size(b"\x7f\xff\xff\xff")
    with pytest.raises(FrameTooLarge):
        frame_size(b"\xff\xff\xff\xff")
    with pytest.raises(FrameTooLarge):
        frame_size(b"\0\0\x10\x01", max_size=4096)


def test_unknown_api_key_is_a_decode_error() -> None:
    with pytest.raises(UnknownApiKey) as info:
        read_request_header(b"\x7f\x00\x00\x00\x00\x00\x00\x01\x00\x00")
    assert info.value.api_key == 0x7F00
    with pytest.raises(DecodeError):
        read_request_header(b"\x00")
