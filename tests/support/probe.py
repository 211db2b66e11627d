"""Loopback ports and the ApiVersions handshake that tells a broker is listening.

ApiVersions (key 18, shared/kafka-spec/clients/ApiVersionsRequest.json and
ApiVersionsResponse.json) is the first request every client sends. Version 0 is used
because it is the one every broker answers: a request header v1 (api key, api version,
correlation id, client id as an int16-length string) and no body; the response is a
header v0 (correlation id) then the error code and an int32-counted array of
(api key, min version, max version). A broker that does not support v0 still answers in
the v0 layout with UNSUPPORTED_VERSION (shared/kafka-spec/docs/protocol.html, "Retrieving
Supported API versions"), so any well-formed answer means the broker is serving requests.

This is written out by hand so that probing depends on nothing under test.
"""

from __future__ import annotations

import socket
import struct

API_VERSIONS_KEY = 18
PROBE_CORRELATION_ID = 0x0DAD

_CLIENT_ID = b"odradek-probe"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(host: str, count: int) -> list[int]:
    """``count`` different free ports on ``host``."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ports


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def api_versions(host: str, port: int, *, timeout: float = 2.0) -> dict[int, tuple[int, int]]:
    """Sends ApiVersions v0 and returns {api key: (min version, max version)}.

    Raises OSError when nothing answers and ValueError when the answer is malformed.
    """
    header = struct.pack(">hhih", API_VERSIONS_KEY, 0, PROBE_CORRELATION_ID, len(_CLIENT_ID))
    request = header + _CLIENT_ID
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", recv_exactly(sock, 4))
        body = recv_exactly(sock, size)
    correlation_id, _error_code, count = struct.unpack_from(">ihi", body, 0)
    if correlation_id != PROBE_CORRELATION_ID:
        raise ValueError(f"ApiVersions answered with correlation id {correlation_id}")
    if count < 0 or 10 + 6 * count > len(body):
        raise ValueError(f"ApiVersions answer too short for {count} api keys")
    ranges: dict[int, tuple[int, int]] = {}
    for index in range(count):
        key, low, high = struct.unpack_from(">hhh", body, 10 + 6 * index)
        ranges[key] = (low, high)
    return ranges


def answers_api_versions(host: str, port: int) -> bool:
    """Whether a broker on host:port answers ApiVersions right now."""
    try:
        api_versions(host, port, timeout=1.0)
    except (OSError, ValueError):
        return False
    return True
