"""What a controller command returns: records to append, and the response to send once they commit.

A command never changes state. It reads the current image, decides, and returns a
:class:`ControllerResult`: the metadata records that carry the decision and the
response for the requester. The caller appends the records to the metadata log,
replays them (only then does the image change), and sends the response once they
are committed. ``atomic`` results must land in one batch, so that no reader ever
sees half of them (a topic without its partitions).

Errors a request can get travel as :class:`ApiError`, a Kafka error code and an
optional message, like Kafka's ``ApiError``. Code that finds a problem raises
:class:`~odradek.protocol.errors.KafkaError`; :meth:`ApiError.of` turns it into the
value a response field holds.

Mirrors Kafka's ``ControllerResult`` and ``ApiError``.
"""

from __future__ import annotations

from typing import Generic, NamedTuple, TypeVar

import msgspec

from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode, KafkaError

T = TypeVar("T")


class ControllerResult(msgspec.Struct, Generic[T], frozen=True):
    """Records to append and the response to send after they commit."""

    records: list[VersionedRecord]
    response: T
    atomic: bool = True

    def without_records(self) -> ControllerResult[T]:
        """The same response with nothing to write (a validate-only request)."""
        return ControllerResult([], self.response, self.atomic)


class ApiError(NamedTuple):
    """An error code and the message to put beside it (None: the client's default text)."""

    code: ErrorCode
    message: str | None = None

    @classmethod
    def of(cls, error: KafkaError) -> ApiError:
        """The response form of ``error``; Kafka omits a message that only repeats the default."""
        message = None if error.message == error.code.message else error.message
        return cls(error.code, message)

    @classmethod
    def with_default_message(cls, code: ErrorCode) -> ApiError:
        return cls(code, code.message)

    @property
    def is_failure(self) -> bool:
        return self.code != ErrorCode.NONE


NONE = ApiError(ErrorCode.NONE, None)

#: The most records one admin request may produce (Kafka's ``MAX_RECORDS_PER_USER_OP``).
MAX_RECORDS_PER_USER_OP = 10_000
#: What a request that would exceed it gets, for every item it named.
TOO_LARGE = ApiError(
    ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation."
)


class TooManyRecordsError(Exception):
    """An admin request would write more than :data:`MAX_RECORDS_PER_USER_OP` records."""
