"""Errors raised by the storage engine, each carrying the Kafka error code to answer with.

Every class here is a :class:`~odradek.protocol.errors.KafkaError` with a fixed
:class:`~odradek.protocol.errors.ErrorCode` (Kafka's table, ``docs/protocol.html``,
"Error Codes"), so the broker's one error boundary answers with the right code. Any
other exception escaping :mod:`odradek.storage` is a bug or a failure of the disk itself.

Two codes of the produce path are deliberately never raised. ``DUPLICATE_SEQUENCE_NUMBER``
(46) and ``UNKNOWN_PRODUCER_ID`` (59) are no longer sent by Kafka brokers: a retried batch
that matches one of the last five batches of its producer is answered with the offsets it
was first given (:attr:`odradek.storage.log.AppendInfo.duplicate`), and a producer id the
partition no longer knows (its records were removed by retention or DeleteRecords) may
resume at any sequence number. :mod:`odradek.storage.producer_state` follows that.
"""

from __future__ import annotations

from typing import ClassVar

from odradek.protocol.errors import ErrorCode, KafkaError


class StorageError(KafkaError):
    """A storage failure that Kafka reports to the client with :attr:`ERROR_CODE`."""

    ERROR_CODE: ClassVar[ErrorCode] = ErrorCode.UNKNOWN_SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(self.ERROR_CODE, message)


class OffsetOutOfRangeError(StorageError):
    """The offset is below the log start offset or above the log end offset."""

    ERROR_CODE = ErrorCode.OFFSET_OUT_OF_RANGE


class CorruptRecordError(StorageError):
    """Bytes that fail their CRC or do not frame a whole record batch.

    ``position`` is the byte position of the bad batch in its file, when known.
    """

    ERROR_CODE = ErrorCode.CORRUPT_MESSAGE

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class MessageTooLargeError(StorageError):
    """A batch larger than the topic's ``max.message.bytes``."""

    ERROR_CODE = ErrorCode.MESSAGE_TOO_LARGE


class RecordBatchTooLargeError(StorageError):
    """An append larger than ``segment.bytes``: it could never fit in a segment."""

    ERROR_CODE = ErrorCode.RECORD_LIST_TOO_LARGE


class OutOfOrderSequenceError(StorageError):
    """A producer's batch does not follow the last sequence number it wrote."""

    ERROR_CODE = ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


class InvalidProducerEpochError(StorageError):
    """A producer wrote with an epoch older than the last one seen for its id."""

    ERROR_CODE = ErrorCode.INVALID_PRODUCER_EPOCH


class InvalidTxnStateError(StorageError):
    """A non-transactional batch from a producer with a transaction in progress."""

    ERROR_CODE = ErrorCode.INVALID_TXN_STATE


class TransactionCoordinatorFencedError(StorageError):
    """A transaction marker written by a coordinator older than the last one seen."""

    ERROR_CODE = ErrorCode.TRANSACTION_COORDINATOR_FENCED


class KafkaStorageError(StorageError):
    """The log's files cannot be read or written (a disk failure or a closed log)."""

    ERROR_CODE = ErrorCode.KAFKA_STORAGE_ERROR


class InvalidRecordError(StorageError):
    """A batch that is well formed but not acceptable here (e.g. offsets out of order)."""

    ERROR_CODE = ErrorCode.INVALID_RECORD


class InconsistentTopicIdError(StorageError):
    """The topic id recorded in ``partition.metadata`` differs from the one given."""

    ERROR_CODE = ErrorCode.INCONSISTENT_TOPIC_ID


class UnexpectedAppendOffsetError(StorageError):
    """A follower append whose first offset is below the log end offset.

    Kafka raises this inside the broker so that the replica fetcher truncates and
    retries; a client never sees it, hence the generic code.
    """

    def __init__(self, message: str, first_offset: int, last_offset: int) -> None:
        super().__init__(message)
        self.first_offset = first_offset
        self.last_offset = last_offset
