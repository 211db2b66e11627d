"""Fetch hot path: how record bytes go from a segment file to a socket.

A fetch response is a small header plus a region of a segment file. Two ways to send
it, measured here on the same file and a loopback socket pair drained by a thread:

* ``pread+writev`` -- read the region into memory, then one ``writev`` of header and
  records;
* ``writev+sendfile`` -- ``writev`` the header, then ``sendfile`` the region: no copy
  into Python, but one more system call.

The group's ceiling is ``writev`` of the same bytes already in memory (what any way
of sending must at least do). The fetch handler's ``SENDFILE_THRESHOLD`` is the
region size from which sendfile wins in these numbers.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

SIZES = {"16KiB": 16 * 1024, "64KiB": 64 * 1024, "1MiB": 1024 * 1024}
HEADER = b"h" * 120


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    stop = threading.Event()

    def drain() -> None:
        buf = bytearray(4 * 1024 * 1024)
        while not stop.is_set():
            try:
                if b.recv_into(buf) == 0:
                    return
            except OSError:
                return

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    yield a, b
    stop.set()
    a.close()
    b.close()


@pytest.fixture(scope="module", params=list(SIZES))
def region(request: pytest.FixtureRequest) -> Iterator[tuple[str, int, int]]:
    size = SIZES[request.param]
    with tempfile.TemporaryFile() as f:
        f.write(os.urandom(size))
        f.flush()
        yield request.param, f.fileno(), size


def _writev_all(fd: int, parts: list[bytes]) -> None:
    views = [memoryview(p) for p in parts]
    while views:
        sent = os.writev(fd, views)
        while sent:
            if sent >= len(views[0]):
                sent -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][sent:]
                sent = 0


def test_in_memory_writev(
    benchmark: BenchmarkFixture, pair: tuple[socket.socket, socket.socket], region: tuple
) -> None:
    name, fd, size = region
    data = os.pread(fd, size, 0)
    benchmark.group = f"fetch send: {name} region"
    benchmark.extra_info["baseline"] = True
    benchmark.extra_info["bytes"] = size
    benchmark(_writev_all, pair[0].fileno(), [HEADER, data])


def test_pread_writev(
    benchmark: BenchmarkFixture, pair: tuple[socket.socket, socket.socket], region: tuple
) -> None:
    name, fd, size = region
    sock = pair[0].fileno()
    benchmark.group = f"fetch send: {name} region"
    benchmark.extra_info["bytes"] = size

    def send() -> None:
        _writev_all(sock, [HEADER, os.pread(fd, size, 0)])

    benchmark(send)


def test_writev_sendfile(
    benchmark: BenchmarkFixture, pair: tuple[socket.socket, socket.socket], region: tuple
) -> None:
    name, fd, size = region
    sock = pair[0].fileno()
    benchmark.group = f"fetch send: {name} region"
    benchmark.extra_info["bytes"] = size

    def send() -> None:
        _writev_all(sock, [HEADER])
        offset = 0
        while offset < size:
            offset += os.sendfile(sock, fd, offset, size - offset)

    benchmark(send)
