"""Client connections: frames in, responses out, over plain TCP with trio.

This is the socket server of a Kafka node (Kafka's ``SocketServer``, ``Processor`` and
``KafkaChannel``), reduced to what trio makes simple: one task per connection, which
reads a size-prefixed frame, hands it to the :class:`FrameHandler`, writes the
response and only then reads the next frame. Handling one request at a time per
connection is what Kafka does too (it mutes a channel while its request is in
flight), and it is what lets clients pipeline requests and still get responses in
order.

What a connection survives and what ends it:

* a size prefix above ``socket.request.max.bytes``, or negative: the connection is
  closed after one log line, without reading the body (Kafka's
  ``InvalidReceiveException``);
* a frame the handler cannot make sense of (:class:`CloseConnection`): closed, with
  one log line;
* silence longer than ``connections.max.idle.ms`` between requests: closed;
* the peer going away, at any point: the task ends quietly.

Nothing a single connection does can stop the listener or disturb other connections.
"""

from __future__ import annotations

import errno
import functools
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from odradek.protocol.framing import SIZE_PREFIX, CloseConnection, FrameTooLarge, frame_size

log = logging.getLogger(__name__)

#: Frames bigger than this are read straight into a buffer of their own size.
SCRATCH_SIZE = 64 * 1024
#: Linux accepts at most this many buffers in one sendmsg call.
IOV_MAX = 1024


class FileRegion(Protocol):
    """Bytes of an open file, sent with ``os.sendfile`` instead of being read first."""

    def fileno(self) -> int: ...

    @property
    def position(self) -> int: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class Connection:
    """Who is on the other end of a connection, for handlers and logs."""

    connection_id: str
    listener: str
    peer_host: str
    peer_port: int


class FrameHandler(Protocol):
    """What the network layer asks of the node: turn one request frame into a response."""

    async def handle_frame(self, conn: Connection, frame: memoryview) -> Sequence[Any] | None:
        """Return the response frame as buffers (size prefix included), or None for no reply."""
        ...


class IdleConnection(Exception):
    """No byte arrived for ``connections.max.idle.ms``."""


class FrameReader:
    """Reads size-prefixed frames from a socket with as few copies and calls as it can.

    Reads go straight to the file descriptor and wait for readiness only when the
    kernel has nothing yet: most reads of a busy connection find data waiting, and
    the trio socket methods' bookkeeping would cost more than the read itself.
    """

    def __init__(self, sock: trio.socket.SocketType, max_frame: int, idle_timeout_s: float):
        self._sock = sock
        self._fd = sock.fileno()
        self._max_frame = max_frame
        self._idle_timeout_s = idle_timeout_s
        self._buf = bytearray()

    async def _wait_readable(self) -> None:
        with trio.move_on_after(self._idle_timeout_s) as idle:
            await trio.lowlevel.wait_readable(self._sock)
        if idle.cancelled_caught:
            raise IdleConnection

    async def _fill(self, n: int) -> bool:
        while len(self._buf) < n:
            try:
                chunk = os.read(self._fd, max(SCRATCH_SIZE, n - len(self._buf)))
            except BlockingIOError:
                await self._wait_readable()
                continue
            if not chunk:
                return False
            self._buf += chunk
        return True

    async def read_frame(self) -> bytearray | None:
        """The next frame without its size prefix, or None when the peer has closed."""
        if not await self._fill(SIZE_PREFIX):
            return None
        size = frame_size(self._buf[:SIZE_PREFIX], self._max_frame)
        have = len(self._buf) - SIZE_PREFIX
        if have >= size:
            frame = self._buf[SIZE_PREFIX : SIZE_PREFIX + size]
            del self._buf[: SIZE_PREFIX + size]
            return frame
        # A large frame: receive the rest straight into its own buffer.
        frame = bytearray(size)
        frame[:have] = self._buf[SIZE_PREFIX:]
        self._buf.clear()
        view = memoryview(frame)
        while have < size:
            try:
                n = os.readv(self._fd, [view[have:]])
            except BlockingIOError:
                await self._wait_readable()
                continue
            if n == 0:
                return None
            have += n
        return frame


async def send_buffers(sock: trio.socket.SocketType, parts: Sequence[Any]) -> None:
    """Write ``parts`` in order: buffers with writev, file regions with sendfile."""
    pending: list[memoryview] = []
    for part in parts:
        if isinstance(part, bytes | bytearray | memoryview):
            if len(part):
                pending.append(memoryview(part).cast("B"))
            continue
        await _writev_all(sock, pending)
        pending = []
        await _sendfile_all(sock, part)
    await _writev_all(sock, pending)


async def _writev_all(sock: trio.socket.SocketType, views: list[memoryview]) -> None:
    fd = sock.fileno()
    # ``start`` moves past what is written, rather than popping from the front of the
    # list: a fetch response of many partitions is many buffers.
    start = 0
    while start < len(views):
        try:
            sent = os.writev(fd, views[start : start + IOV_MAX])
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        while sent:
            first = views[start]
            if sent >= len(first):
                sent -= len(first)
                start += 1
            else:
                views[start] = first[sent:]
                sent = 0


async def _sendfile_all(sock: trio.socket.SocketType, region: FileRegion) -> None:
    offset = region.position
    remaining = len(region)
    fd = region.fileno()
    while remaining > 0:
        try:
            sent = os.sendfile(sock.fileno(), fd, offset, remaining)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        if sent == 0:
            raise trio.BrokenResourceError("file region ended early")
        offset += sent
        remaining -= sent


_connection_ids = itertools.count(1)


async def serve_connection(
    sock: trio.socket.SocketType,
    listener: str,
    handler: FrameHandler,
    *,
    max_frame: int,
    idle_timeout_s: float,
) -> None:
    """Serve one client connection until it closes, goes idle or misbehaves."""
    try:
        peer = sock.getpeername()
    except OSError:
        sock.close()
        return
    conn = Connection(
        connection_id=f"{listener}-{next(_connection_ids)}",
        listener=listener,
        peer_host=str(peer[0]),
        peer_port=int(peer[1]),
    )
    reader = FrameReader(sock, max_frame, idle_timeout_s)
    try:
        with sock:
            while True:
                frame = await reader.read_frame()
                if frame is None:
                    return
                response = await handler.handle_frame(conn, memoryview(frame))
                if response is not None:
                    await send_buffers(sock, response)
                # Reads and writes that find the socket ready do not yield; this does,
                # so that a busy connection never starves the others.
                await trio.lowlevel.checkpoint()
    except IdleConnection:
        log.info("closing idle connection %s", conn.connection_id)
    except FrameTooLarge as e:
        log.warning("closing connection %s from %s: %s", conn.connection_id, conn.peer_host, e)
    except CloseConnection as e:
        log.warning("closing connection %s from %s: %s", conn.connection_id, conn.peer_host, e)
    except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
        pass
    except OSError as e:
        if e.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF):
            raise


#: Accept errors that mean "too many open files" or a transient kernel shortage: the
#: listener waits a little and carries on, as trio's serve_listeners does.
_ACCEPT_CAPACITY_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


async def serve_listener(
    name: str,
    host: str,
    port: int,
    handler: FrameHandler,
    *,
    max_frame: int,
    idle_timeout_s: float,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    on_accept: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Listen on ``host:port`` and serve every connection in its own task.

    Reports the bound port through ``task_status`` once it is listening (port 0 picks
    a free one, for tests).
    """
    family = trio.socket.AF_INET6 if ":" in host else trio.socket.AF_INET
    listen_sock = trio.socket.socket(family, trio.socket.SOCK_STREAM)
    listen_sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_REUSEADDR, 1)
    await listen_sock.bind((host, port))
    listen_sock.listen(1024)
    bound_port = listen_sock.getsockname()[1]
    log.info("listening on %s://%s:%d", name, host, bound_port)
    task_status.started(bound_port)
    with listen_sock:
        async with trio.open_nursery() as nursery:
            while True:
                try:
                    sock, _ = await listen_sock.accept()
                except OSError as e:
                    if e.errno in _ACCEPT_CAPACITY_ERRORS:
                        log.error("accept on %s failed (%s); retrying shortly", name, e)
                        await trio.sleep(0.1)
                        continue
                    raise
                sock.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, 1)
                if on_accept is not None:
                    await on_accept()
                nursery.start_soon(
                    functools.partial(
                        serve_connection,
                        sock,
                        name,
                        handler,
                        max_frame=max_frame,
                        idle_timeout_s=idle_timeout_s,
                    )
                )
