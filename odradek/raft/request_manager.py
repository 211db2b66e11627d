"""At most one request in flight per destination, with timeouts and retry backoff.

Kafka's ``RequestManager`` (KIP-595). The core assumes nothing of the network (like
Kafka's ``NetworkChannel``: no ordering, no guaranteed reply), so it keeps, for each node
it talks to, whether a request is in flight (and which correlation id its answer must
carry), whether it is backing off after a failure, or whether it is ready for the next
request. A request unanswered after ``controller.quorum.request.timeout.ms`` is given up;
a failed one makes the destination wait ``controller.quorum.retry.backoff.ms``. A
response whose correlation id is not the one awaited (a late answer, a duplicate) is
ignored. Every state change of the replica forgets all of this (:meth:`reset_all`), so
answers to requests of an earlier state are never mistaken for current ones; and the
ids start at a random point, so that a restarted replica is not confused by a late
answer to its previous life's request should a transport ever deliver one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class _Phase(enum.Enum):
    AWAITING_RESPONSE = "awaiting"
    BACKING_OFF = "backing off"


@dataclass(slots=True)
class _Connection:
    phase: _Phase
    since_ms: int
    correlation_id: int
    api_key: int


class RequestManager:
    def __init__(
        self, retry_backoff_ms: int, request_timeout_ms: int, first_correlation_id: int = 0
    ) -> None:
        self._retry_backoff_ms = retry_backoff_ms
        self._request_timeout_ms = request_timeout_ms
        self._connections: dict[int, _Connection] = {}
        self._next_correlation_id = first_correlation_id

    def _settle(self, destination: int, now_ms: int) -> _Connection | None:
        """The connection's state at ``now_ms``, dropping it once timed out or backed off."""
        connection = self._connections.get(destination)
        if connection is None:
            return None
        if now_ms >= self._deadline(connection):
            del self._connections[destination]
            return None
        return connection

    def _deadline(self, connection: _Connection) -> int:
        if connection.phase is _Phase.AWAITING_RESPONSE:
            return connection.since_ms + self._request_timeout_ms
        return connection.since_ms + self._retry_backoff_ms

    def is_ready(self, destination: int, now_ms: int) -> bool:
        return self._settle(destination, now_ms) is None

    def is_backing_off(self, destination: int, now_ms: int) -> bool:
        connection = self._settle(destination, now_ms)
        return connection is not None and connection.phase is _Phase.BACKING_OFF

    def has_request_timed_out(self, destination: int, now_ms: int) -> bool:
        connection = self._connections.get(destination)
        return (
            connection is not None
            and connection.phase is _Phase.AWAITING_RESPONSE
            and now_ms >= self._deadline(connection)
        )

    def has_any_inflight(self, now_ms: int) -> bool:
        return any(
            (c := self._settle(d, now_ms)) is not None and c.phase is _Phase.AWAITING_RESPONSE
            for d in list(self._connections)
        )

    def deadline(self, destination: int, now_ms: int) -> int | None:
        """When ``destination`` becomes ready again, or None if it is ready now."""
        connection = self._settle(destination, now_ms)
        return None if connection is None else self._deadline(connection)

    def earliest_deadline(self, now_ms: int) -> int | None:
        deadlines = [self.deadline(d, now_ms) for d in list(self._connections)]
        return min((d for d in deadlines if d is not None), default=None)

    def on_request_sent(self, destination: int, api_key: int, now_ms: int) -> int:
        """Record a request to ``destination``; returns the correlation id to give it."""
        self._next_correlation_id += 1
        correlation_id = self._next_correlation_id
        self._connections[destination] = _Connection(
            _Phase.AWAITING_RESPONSE, now_ms, correlation_id, api_key
        )
        return correlation_id

    def is_response_expected(self, destination: int, correlation_id: int, api_key: int) -> bool:
        connection = self._connections.get(destination)
        return (
            connection is not None
            and connection.phase is _Phase.AWAITING_RESPONSE
            and connection.correlation_id == correlation_id
            and connection.api_key == api_key
        )

    def on_response(
        self, destination: int, correlation_id: int, success: bool, now_ms: int
    ) -> None:
        """The awaited answer came: ready again, or backing off if it reported a failure."""
        connection = self._connections.get(destination)
        if (
            connection is None
            or connection.phase is not _Phase.AWAITING_RESPONSE
            or connection.correlation_id != correlation_id
        ):
            return
        if success:
            del self._connections[destination]
        else:
            self._connections[destination] = _Connection(
                _Phase.BACKING_OFF, now_ms, correlation_id, connection.api_key
            )

    def reset(self, destination: int) -> None:
        self._connections.pop(destination, None)

    def reset_all(self) -> None:
        self._connections.clear()
