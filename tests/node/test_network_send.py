"""Sending a response made of many buffers: every byte arrives, in order, through
partial writes."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

import trio

from odradek.node.network import send_buffers


async def _send_and_read(parts: Sequence[bytes | bytearray | memoryview]) -> bytes:
    a, b = trio.socket.socketpair()
    # A small send buffer makes writev write part of the buffers at a time.
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    received = bytearray()
    expected = sum(len(p) for p in parts)
    with a, b:

        async def read() -> None:
            while len(received) < expected:
                received.extend(await b.recv(65536))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            await send_buffers(a, parts)
    return bytes(received)


def test_many_buffers_arrive_whole_and_in_order() -> None:
    parts = [os.urandom(n) for n in [1, 700, 5, 16_384, 3] * 400]  # 2,000 buffers, > IOV_MAX
    assert trio.run(_send_and_read, parts) == b"".join(parts)


def test_empty_buffers_are_skipped() -> None:
    parts: list[bytes | bytearray | memoryview] = [
        b"",
        b"head",
        b"",
        bytearray(b"body"),
        memoryview(b"tail"),
    ]
    assert trio.run(_send_and_read, parts) == b"headbodytail"
