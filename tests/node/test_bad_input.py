"""Bad input over real sockets: the node answers or closes, and goes on serving everyone.

Each test sends something a well-behaved client never would -- a huge size prefix, a
truncated frame, an unknown API, an unknown version, garbage -- and then checks both
what that connection got (a Kafka error response or a closed socket) and that a fresh
client is still served.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest

from odradek.protocol.codec import decode, encode
from odradek.protocol.framing import encode_request, read_response
from odradek.protocol.messages.clients import APIS
from odradek.protocol.messages.clients.api_versions_request import ApiVersionsRequest
from odradek.protocol.messages.clients.api_versions_response import ApiVersionsResponse
from odradek.protocol.messages.clients.metadata_request import MetadataRequest
from tests.support.odradek_node import OdradekNode, odradek_node
from tests.support.probe import answers_api_versions, api_versions

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def node() -> Iterator[OdradekNode]:
    with odradek_node() as n:
        yield n


def _connect(node: OdradekNode) -> socket.socket:
    sock = socket.create_connection((node.host, node.port), timeout=10)
    return sock


def _closed_by_peer(sock: socket.socket, timeout: float = 10.0) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def _request(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, 4) + b"test"
    if APIS.get(api_key) is not None and APIS[api_key].is_flexible(version):
        header += b"\x00"  # empty tagged fields of request header v2
    return _frame(header + body)


def _read_frame(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
    return sock.recv(size, socket.MSG_WAITALL)


def _still_serving(node: OdradekNode) -> None:
    assert answers_api_versions(node.host, node.port)


def test_huge_size_prefix_closes_the_connection(node: OdradekNode) -> None:
    with _connect(node) as sock:
        sock.sendall(struct.pack(">i", 2**31 - 1))
        assert _closed_by_peer(sock)
    _still_serving(node)


def test_negative_size_prefix_closes_the_connection(node: OdradekNode) -> None:
    with _connect(node) as sock:
        sock.sendall(struct.pack(">i", -5))
        assert _closed_by_peer(sock)
    _still_serving(node)


def test_unknown_api_key_closes_the_connection(node: OdradekNode) -> None:
    with _connect(node) as sock:
        sock.sendall(_request(9999, 0, 1, b""))
        assert _closed_by_peer(sock)
    _still_serving(node)


def test_unsupported_version_of_an_api_closes_the_connection(node: OdradekNode) -> None:
    with _connect(node) as sock:
        sock.sendall(_request(3, 999, 1, b""))
        assert _closed_by_peer(sock)
    _still_serving(node)


def test_unsupported_api_versions_version_gets_a_v0_answer(node: OdradekNode) -> None:
    with _connect(node) as sock:
        # A client newer than the broker: ApiVersions v127, flexible request header v2.
        body = encode(ApiVersionsRequest(client_software_name="x", client_software_version="1"), 3)
        sock.sendall(_request(18, 127, 42, body))
        frame = _read_frame(sock)
    correlation_id = struct.unpack_from(">i", frame, 0)[0]
    assert correlation_id == 42
    response = decode(ApiVersionsResponse, frame[4:], 0)
    assert response.error_code == 35  # UNSUPPORTED_VERSION
    assert any(k.api_key == 18 for k in response.api_keys)


def test_malformed_body_closes_the_connection(node: OdradekNode) -> None:
    with _connect(node) as sock:
        # Metadata v1 whose topics array claims a billion entries.
        sock.sendall(_request(3, 1, 7, struct.pack(">i", 10**9)))
        assert _closed_by_peer(sock)
    _still_serving(node)


def test_truncated_frame_then_hang_up_is_survived(node: OdradekNode) -> None:
    with _connect(node) as sock:
        sock.sendall(struct.pack(">i", 100) + b"\x00\x03\x00")
    _still_serving(node)


def test_garbage_bytes_are_survived(node: OdradekNode) -> None:
    with _connect(node) as sock:
        sock.sendall(bytes(range(256)) * 4)
        _closed_by_peer(sock, timeout=2)
    _still_serving(node)


def test_requests_are_answered_in_order_when_pipelined(node: OdradekNode) -> None:
    api = APIS[3]
    with _connect(node) as sock:
        frames = b"".join(
            b"".join(bytes(b) for b in encode_request(api, 12, cid, "t", MetadataRequest()))
            for cid in range(1, 21)
        )
        sock.sendall(frames)
        ids = [read_response(api, 12, memoryview(_read_frame(sock)))[0] for _ in range(20)]
    assert ids == list(range(1, 21))


def test_a_slow_client_does_not_hold_up_others(node: OdradekNode) -> None:
    with _connect(node) as slow:
        request = _request(18, 0, 1, b"")
        slow.sendall(request[:5])  # half a request, then nothing
        started = time.monotonic()
        assert api_versions(node.host, node.port)
        assert time.monotonic() - started < 30
        slow.sendall(request[5:])
        assert struct.unpack_from(">i", _read_frame(slow), 0)[0] == 1


def test_two_thousand_idle_connections(node: OdradekNode) -> None:
    socks: list[socket.socket] = []
    try:
        socks.extend(_connect(node) for _ in range(2000))
        assert api_versions(node.host, node.port)
        # Every idle connection still works.
        for i, s in enumerate(socks[::200]):
            s.sendall(_request(18, 0, i, b""))
            assert struct.unpack_from(">i", _read_frame(s), 0)[0] == i
    finally:
        for s in socks:
            s.close()
    _still_serving(node)


def test_the_controller_listener_serves_only_controller_apis(node: OdradekNode) -> None:
    listed = api_versions(node.host, node.controller_port)
    assert listed
    assert all("controller" in APIS[key].listeners for key in listed)
    with socket.create_connection((node.host, node.controller_port), timeout=10) as sock:
        sock.sendall(_request(3, 12, 1, b"\x00\x01\x00"))  # Metadata is a broker API
        assert _closed_by_peer(sock)


def test_idle_connections_are_closed_after_connections_max_idle_ms(tmp_path: object) -> None:
    with odradek_node(overrides={"connections.max.idle.ms": "1000"}) as quick:
        with _connect(quick) as sock:
            sock.sendall(_request(18, 0, 5, b""))
            assert struct.unpack_from(">i", _read_frame(sock), 0)[0] == 5
            started = time.monotonic()
            assert _closed_by_peer(sock, timeout=20)
            assert time.monotonic() - started >= 0.9
        _still_serving(quick)
