"""Passing a client's request to the active controller and its answer back (KRaft forwarding).

In KRaft mode a broker decides nothing about metadata: CreateTopics, DeleteTopics,
CreatePartitions and the config changes are decided by the active controller, whose
answer the broker relays (Kafka's ``ForwardingManager``, KIP-590). The request goes
at the client's own version, so the controller answers exactly what the client
asked.

When the controller cannot answer -- none is reachable, or none answered in time --
the :class:`~odradek.broker.broker.ControllerChannel` raises
:class:`~odradek.protocol.errors.KafkaError` with the code the client should see
(REQUEST_TIMED_OUT for a timeout, as Kafka's forwarding does), and the broker
answers every item of the request with it: Kafka's ``getErrorResponse`` of each
request type, supplied by the handler as ``failed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from odradek.broker.context import RequestContext
from odradek.controller.result import ApiError
from odradek.protocol.errors import ErrorCode, KafkaError, lookup

R = TypeVar("R")


async def forward(ctx: RequestContext, request: Any, failed: Callable[[ApiError], R]) -> R:
    """The controller's response to ``request``, or ``failed(error)`` if there is none."""
    try:
        response: R = await ctx.broker.controller.call(ctx.api_key, ctx.api_version, request)
    except KafkaError as error:
        return failed(ApiError.of(error))
    return response


def answered(error_code: int, error_message: str | None) -> ApiError:
    """An error as the controller's response carries it, as an :class:`ApiError`."""
    code = lookup(error_code)
    return ApiError(ErrorCode.UNKNOWN_SERVER_ERROR if code is None else code, error_message)
