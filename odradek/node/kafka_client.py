"""A Kafka protocol client for requests between nodes, over trio.

Brokers reach the active controller with it (BrokerRegistration, BrokerHeartbeat,
forwarded admin requests, AlterPartition), controllers reach each other with it (Raft's
Vote, BeginQuorumEpoch, Fetch), and followers will fetch from leaders with it. It is
Kafka's ``NetworkClient`` for one peer, reduced to what trio makes simple.

Theory of operation (``docs/protocol.html``, "Network", "Retrieving Supported API
versions", "Common Request and Response Structure"):

* **One connection per client, opened on demand.** The first request connects (within
  ``socket.connection.setup.timeout.ms``) and sends ApiVersions at the highest version
  this codec knows. A peer that does not know that version answers in the v0 layout
  with UNSUPPORTED_VERSION and its own list; the client asks again at the highest
  ApiVersions version the peer lists (v0 if it lists none), as Kafka's clients do.
  Any other error refuses the connection.
* **Versions are per connection.** Each request goes at the highest version both sides
  speak, or at the version the caller names if both speak it; otherwise it fails with
  UNSUPPORTED_VERSION without being sent. The peer's ranges are asked for again on
  every new connection, since the peer may have been upgraded in between.
* **Pipelining.** Up to ``max_in_flight`` requests wait on a connection at once. One
  writer task sends frames in the order requests were made, one reader task matches
  each response to the oldest request still waiting: the server answers in order on a
  connection, so a response whose correlation id is not that one's means the stream is
  broken, and the connection is closed.
* **Failures are KafkaErrors.** A connection that cannot be made, or that closes while
  requests wait on it, fails them with NETWORK_EXCEPTION. A request that outlives its
  timeout (``request.timeout.ms``, or ``controller.quorum.request.timeout.ms`` for the
  quorum) fails with REQUEST_TIMED_OUT and the connection is closed, as Kafka's client
  disconnects on a request timeout: requests pipelined behind it fail with
  NETWORK_EXCEPTION. Errors inside a response body are the caller's to read.
* **Reconnect backoff.** After a failed attempt or a lost connection the next attempt
  waits ``reconnect.backoff.ms``, doubling with each consecutive failure up to
  ``reconnect.backoff.max.ms``, with 20% jitter (Kafka's ``ExponentialBackoff``);
  a completed handshake resets it. A request that finds the client backing off waits,
  within its own timeout.
* **Retrying is the caller's business.** The Raft core retries on its own timers and
  must hear of every failure; the controller channel retries until its deadline.

Only the connection's two tasks touch its socket, and the socket is closed only after
both have ended, so a closed descriptor can never be read or written by mistake.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

import odradek
from odradek.node.network import FrameReader, send_buffers
from odradek.protocol.codec import DecodeError, Records
from odradek.protocol.errors import ErrorCode, KafkaError, lookup
from odradek.protocol.framing import DEFAULT_MAX_FRAME, encode_request, read_response
from odradek.protocol.messages.clients import APIS, ApiSpec
from odradek.protocol.messages.clients.api_versions_request import ApiVersionsRequest
from odradek.protocol.messages.clients.api_versions_response import ApiVersionsResponse
from odradek.protocol.primitives import INT16, INT32

log = logging.getLogger(__name__)

API_VERSIONS = 18
#: Correlation ids are int32s that count up and wrap before turning negative.
CORRELATION_ID_LIMIT = 2**31
#: Kafka's ``ExponentialBackoff`` jitter for reconnects.
BACKOFF_JITTER = 0.2
#: The software name sent in ApiVersions v3+ (the peer checks its pattern).
SOFTWARE_NAME = "odradek"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How a client talks to its peer, with Kafka's client defaults."""

    #: The client id in every request header.
    client_id: str = "odradek"
    #: ``request.timeout.ms``: how long a request waits for its response.
    request_timeout_s: float = 30.0
    #: ``socket.connection.setup.timeout.ms``: how long a TCP connect may take.
    connect_timeout_s: float = 10.0
    #: ``reconnect.backoff.ms`` and ``reconnect.backoff.max.ms``.
    reconnect_backoff_s: float = 0.05
    reconnect_backoff_max_s: float = 1.0
    #: ``max.in.flight.requests.per.connection``.
    max_in_flight: int = 5
    #: The largest response frame accepted; a bigger one closes the connection.
    max_response_bytes: int = DEFAULT_MAX_FRAME


def reconnect_backoff_s(settings: ClientSettings, failures: int, rng: random.Random) -> float:
    """The wait before the next connection attempt after ``failures`` failed in a row."""
    if failures <= 0:
        return 0.0
    base = settings.reconnect_backoff_s * 2 ** min(failures - 1, 32)
    term = min(base, settings.reconnect_backoff_max_s)
    return term * rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)


class _Pending:
    """One request on a connection, from the moment it is queued until it is answered."""

    __slots__ = ("_done", "_error", "_frame", "_slots", "abandoned", "api", "correlation_id")

    def __init__(self, api: ApiSpec, correlation_id: int, slots: trio.Semaphore) -> None:
        self.api = api
        self.correlation_id = correlation_id
        #: Nobody waits for the answer any more (the caller was cancelled).
        self.abandoned = False
        self._slots = slots
        self._done = trio.Event()
        self._frame: bytearray | None = None
        self._error: tuple[ErrorCode, str] | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def finish(
        self, frame: bytearray | None = None, error: tuple[ErrorCode, str] | None = None
    ) -> None:
        """Answer the request (once); its in-flight slot is free again."""
        if self._done.is_set():
            return
        self._frame = frame
        self._error = error
        self._done.set()
        self._slots.release()

    async def wait(self) -> bytearray:
        """The response frame (size prefix removed); a KafkaError if there will be none."""
        await self._done.wait()
        if self._error is not None:
            # A fresh exception per waiter: tracebacks must not pile up on a shared one.
            raise KafkaError(*self._error)
        assert self._frame is not None
        return self._frame


class _Connection:
    """One TCP connection to the peer: a writer task, a reader task, the requests between."""

    def __init__(self, sock: trio.socket.SocketType, settings: ClientSettings, peer: str) -> None:
        self.sock = sock
        self.settings = settings
        self.peer = peer
        #: The peer's API version ranges, once the handshake is done.
        self.versions: Mapping[int, tuple[int, int]] = {}
        self._in_flight: deque[_Pending] = deque()
        self._outgoing, self._to_write = trio.open_memory_channel[tuple[_Pending, list[Records]]](
            math.inf
        )
        self._slots = trio.Semaphore(settings.max_in_flight)
        self._error: tuple[ErrorCode, str] | None = None
        self._cancel = trio.CancelScope()

    @property
    def is_open(self) -> bool:
        return self._error is None

    @property
    def in_flight(self) -> int:
        """Requests sent or queued and not yet answered."""
        return self.settings.max_in_flight - self._slots.value

    async def run(self) -> None:
        """Write and read until the connection is closed; then close the socket."""
        try:
            with self._cancel:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write_loop)
                    nursery.start_soon(self._read_loop)
        finally:
            self.close(f"the connection to {self.peer} was closed")
            self.sock.close()

    def close(self, reason: str) -> None:
        """Close (once): every request still waiting fails with NETWORK_EXCEPTION."""
        if self._error is not None:
            return
        self._error = (ErrorCode.NETWORK_EXCEPTION, reason)
        self._cancel.cancel()
        for pending in self._in_flight:
            pending.finish(error=self._error)
        self._in_flight.clear()
        while True:
            try:
                pending, _ = self._to_write.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            pending.finish(error=self._error)
        self._outgoing.close()
        log.debug("connection to %s closed: %s", self.peer, reason)

    def _check_open(self) -> None:
        if self._error is not None:
            raise KafkaError(*self._error)

    def version_for(self, api: ApiSpec, wanted: int | None) -> int:
        """The version to send ``api`` at: ``wanted``, or the highest both sides speak."""
        peer = self.versions.get(api.key)
        if peer is None:
            raise KafkaError(
                ErrorCode.UNSUPPORTED_VERSION, f"{self.peer} does not serve {api.name}"
            )
        lowest, highest = max(api.lowest, peer[0]), min(api.highest, peer[1])
        if wanted is None:
            wanted = highest
        if not lowest <= wanted <= highest:
            raise KafkaError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"{api.name} v{wanted} is not spoken by both sides: this node knows "
                f"{api.lowest}-{api.highest}, {self.peer} serves {peer[0]}-{peer[1]}",
            )
        return wanted

    async def send(
        self, api: ApiSpec, version: int, correlation_id: int, client_id: str, body: Any
    ) -> _Pending:
        """Queue a request for the writer; waits while ``max_in_flight`` others wait."""
        self._check_open()
        frame = encode_request(api, version, correlation_id, client_id, body)
        await self._slots.acquire()
        if self._error is not None:
            self._slots.release()
            self._check_open()
        pending = _Pending(api, correlation_id, self._slots)
        self._outgoing.send_nowait((pending, frame))
        return pending

    async def _write_loop(self) -> None:
        try:
            async for pending, frame in self._to_write:
                if pending.abandoned:
                    pending.finish(error=(ErrorCode.NETWORK_EXCEPTION, "abandoned before sending"))
                    continue
                # Queued before the bytes leave, so the reader can never see an answer
                # to a request it does not know of.
                self._in_flight.append(pending)
                await send_buffers(self.sock, frame)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as e:
            self.close(f"sending to {self.peer} failed: {e}")

    async def _read_loop(self) -> None:
        reader = FrameReader(self.sock, self.settings.max_response_bytes, math.inf)
        try:
            while True:
                frame = await reader.read_frame()
                if frame is None:
                    self.close(f"{self.peer} closed the connection")
                    return
                self._deliver(frame)
                if self._error is not None:
                    return
        except DecodeError as e:
            self.close(f"bad frame from {self.peer}: {e}")
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as e:
            self.close(f"reading from {self.peer} failed: {e}")

    def _deliver(self, frame: bytearray) -> None:
        if len(frame) < INT32.size or not self._in_flight:
            self.close(f"unexpected response from {self.peer}")
            return
        pending = self._in_flight.popleft()
        (correlation_id,) = INT32.unpack_from(frame, 0)
        if correlation_id != pending.correlation_id:
            message = (
                f"{self.peer} answered correlation id {correlation_id} where "
                f"{pending.correlation_id} ({pending.api.name}) was due"
            )
            pending.finish(error=(ErrorCode.NETWORK_EXCEPTION, message))
            self.close(message)
            return
        pending.finish(frame=frame)


def _read_api_versions(frame: bytearray, version: int) -> ApiVersionsResponse:
    # The error code leads the body in every version; a peer that does not know the
    # version asked for answers UNSUPPORTED_VERSION in the v0 layout.
    if len(frame) < INT32.size + INT16.size:
        raise DecodeError("an ApiVersions response shorter than its error code")
    (code,) = INT16.unpack_from(frame, INT32.size)
    if code == ErrorCode.UNSUPPORTED_VERSION:
        version = 0
    _, response = read_response(APIS[API_VERSIONS], version, memoryview(frame))
    assert isinstance(response, ApiVersionsResponse)
    return response


class KafkaClient:
    """Requests to one peer (``host:port``) over one connection, reconnected when lost.

    The connection's tasks run in ``nursery``; :meth:`close` ends them. See the module
    documentation for versions, pipelining, timeouts and errors.
    """

    def __init__(
        self,
        nursery: trio.Nursery,
        host: str,
        port: int,
        settings: ClientSettings | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.settings = settings or ClientSettings()
        self._nursery = nursery
        self._rng = rng or random.Random()
        self._conn: _Connection | None = None
        self._connect_lock = trio.Lock()
        self._failures = 0
        self._next_attempt = -math.inf
        self._correlation_ids = itertools.count()
        self._closed = False

    @property
    def peer(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """Whether a handshaken connection is open now."""
        return self._conn is not None and self._conn.is_open

    @property
    def in_flight(self) -> int:
        """Requests waiting on the current connection."""
        return self._conn.in_flight if self._conn is not None else 0

    @property
    def peer_versions(self) -> Mapping[int, tuple[int, int]]:
        """The peer's API version ranges, as its last handshake listed them."""
        return self._conn.versions if self._conn is not None else {}

    @property
    def reconnect_delay_s(self) -> float:
        """How long until the next connection attempt may start (0: at once)."""
        return max(0.0, self._next_attempt - trio.current_time())

    def close(self) -> None:
        """Close the connection; waiting requests fail, and new ones are refused."""
        self._closed = True
        if self._conn is not None:
            self._conn.close(f"the client of {self.peer} was closed")

    async def request(
        self,
        api_key: int,
        body: Any,
        *,
        version: int | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Send ``body`` and return the decoded response body.

        ``version`` pins the version (both sides must speak it); by default the highest
        both speak. ``timeout_s`` (default ``request_timeout_s``) covers connecting, the
        handshake and the wait for the answer.

        Raises :class:`KafkaError`: NETWORK_EXCEPTION (no connection, or it was lost),
        REQUEST_TIMED_OUT, UNSUPPORTED_VERSION (no version both sides speak; nothing was
        sent) or UNKNOWN_SERVER_ERROR (a response that does not decode); and
        :class:`trio.ClosedResourceError` once the client is closed.
        """
        if self._closed:
            raise trio.ClosedResourceError(f"the client of {self.peer} is closed")
        api = APIS[api_key]
        timeout = self.settings.request_timeout_s if timeout_s is None else timeout_s
        conn: _Connection | None = None
        pending: _Pending | None = None
        with trio.move_on_after(timeout):
            try:
                conn = await self._connected()
                chosen = conn.version_for(api, version)
                pending = await conn.send(
                    api, chosen, self._next_correlation_id(), self.settings.client_id, body
                )
                frame = await pending.wait()
            finally:
                if pending is not None and not pending.done:
                    pending.abandoned = True
            return _decode(api, chosen, frame, self.peer)
        if conn is not None and pending is not None:
            # Kafka's client disconnects on a request timeout: whatever the peer is
            # doing, this connection is not to be trusted with more requests.
            conn.close(f"{api.name} to {self.peer} timed out after {timeout:g}s")
        raise KafkaError(
            ErrorCode.REQUEST_TIMED_OUT,
            f"{api.name} to {self.peer} got no response within {timeout:g}s",
        )

    async def api_versions(
        self, *, timeout_s: float | None = None
    ) -> Mapping[int, tuple[int, int]]:
        """The peer's API version ranges, connecting (and handshaking) if need be."""
        timeout = self.settings.request_timeout_s if timeout_s is None else timeout_s
        with trio.move_on_after(timeout):
            return (await self._connected()).versions
        raise KafkaError(
            ErrorCode.REQUEST_TIMED_OUT, f"no handshake with {self.peer} within {timeout:g}s"
        )

    def _next_correlation_id(self) -> int:
        return next(self._correlation_ids) % CORRELATION_ID_LIMIT

    async def _connected(self) -> _Connection:
        conn = self._conn
        if conn is not None and conn.is_open:
            return conn
        async with self._connect_lock:
            conn = self._conn
            if conn is not None and conn.is_open:
                return conn
            if self._closed:
                raise trio.ClosedResourceError(f"the client of {self.peer} is closed")
            wait = self._next_attempt - trio.current_time()
            if wait > 0:
                await trio.sleep(wait)
            conn = await self._connect()
            self._conn = conn
            return conn

    async def _connect(self) -> _Connection:
        try:
            with trio.fail_after(self.settings.connect_timeout_s):
                stream = await trio.open_tcp_stream(self.host, self.port)
        except (OSError, trio.TooSlowError) as e:
            self._connection_lost()
            reason = "timed out" if isinstance(e, trio.TooSlowError) else str(e)
            raise KafkaError(
                ErrorCode.NETWORK_EXCEPTION, f"cannot connect to {self.peer}: {reason}"
            ) from None
        conn = _Connection(stream.socket, self.settings, self.peer)
        self._nursery.start_soon(self._run, conn)
        try:
            await self._handshake(conn)
        except BaseException:
            conn.close(f"no handshake with {self.peer}")
            raise
        if self._closed:
            conn.close(f"the client of {self.peer} was closed")
            raise trio.ClosedResourceError(f"the client of {self.peer} is closed")
        self._failures = 0
        log.debug("connected to %s", self.peer)
        return conn

    async def _run(self, conn: _Connection) -> None:
        try:
            await conn.run()
        finally:
            if self._conn is conn:
                self._conn = None
            self._connection_lost()

    def _connection_lost(self) -> None:
        self._failures += 1
        delay = reconnect_backoff_s(self.settings, self._failures, self._rng)
        self._next_attempt = trio.current_time() + delay

    async def _handshake(self, conn: _Connection) -> None:
        """ApiVersions, falling back to a version the peer knows (KIP-511's rule)."""
        api = APIS[API_VERSIONS]
        version = api.highest
        request = ApiVersionsRequest(
            client_software_name=SOFTWARE_NAME, client_software_version=odradek.__version__
        )
        while True:
            pending = await conn.send(
                api, version, self._next_correlation_id(), self.settings.client_id, request
            )
            frame = await pending.wait()
            try:
                response = _read_api_versions(frame, version)
            except DecodeError as e:
                raise KafkaError(
                    ErrorCode.NETWORK_EXCEPTION, f"bad ApiVersions response from {self.peer}: {e}"
                ) from None
            code = response.error_code
            if code == ErrorCode.NONE:
                conn.versions = {
                    k.api_key: (k.min_version, k.max_version) for k in response.api_keys
                }
                return
            if code == ErrorCode.UNSUPPORTED_VERSION and version > 0:
                listed = [k.max_version for k in response.api_keys if k.api_key == API_VERSIONS]
                version = max(0, min(listed[0] if listed else 0, version - 1))
                continue
            known = lookup(code) or ErrorCode.UNKNOWN_SERVER_ERROR
            raise KafkaError(known, f"{self.peer} refused ApiVersions v{version}")


def _decode(api: ApiSpec, version: int, frame: bytearray, peer: str) -> Any:
    try:
        _, body = read_response(api, version, memoryview(frame))
    except DecodeError as e:
        raise KafkaError(
            ErrorCode.UNKNOWN_SERVER_ERROR,
            f"malformed {api.name} v{version} response from {peer}: {e}",
        ) from None
    return body


@asynccontextmanager
async def open_kafka_client(
    host: str,
    port: int,
    settings: ClientSettings | None = None,
    *,
    rng: random.Random | None = None,
) -> AsyncIterator[KafkaClient]:
    """A :class:`KafkaClient` with a nursery of its own, closed on exit."""
    async with trio.open_nursery() as nursery:
        client = KafkaClient(nursery, host, port, settings, rng=rng)
        try:
            yield client
        finally:
            client.close()
