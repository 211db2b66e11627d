"""A one-node Kafka broker for protocol tests: in memory, on threads, built on the codec.

This is a test harness, not the broker. It exists so that real client libraries can be
pointed at Odradek's protocol codec and record-batch modules before any broker does:
clients produce to it and it keeps the exact bytes they sent; tests append batches that
Odradek encoded and clients fetch them. Everything it says on the wire goes through
:mod:`odradek.protocol.framing` and the generated message classes; everything about
records goes through :mod:`odradek.protocol.records`.

What it answers (``docs/protocol.html`` for the messages, ``docs/implementation.html``
"Record Batch" for the records):

* **ApiVersions** advertises exactly the ranges in :data:`SUPPORTED_VERSIONS`, or
  narrower ones a test asks for to hold clients to older versions of the protocol; a
  request for an API or version outside them is recorded as a harness error and the
  connection is closed, so a test never passes on a conversation the harness faked.
* **Metadata**: one broker (itself, node :data:`NODE_ID`), the topics it was created
  with, every partition led by itself at leader epoch :data:`LEADER_EPOCH`.
* **Produce**: keeps each partition's records exactly as received
  (:class:`Produced`), checks record batches with ``validate_produce_records``, stamps
  offsets with ``assign_offsets`` and appends them to the partition. Produce v0-v2
  carry message sets of magic 0 and 1: they are kept, counted with
  ``decode_message_set`` and acknowledged, but not served by Fetch (the harness
  advertises Fetch v4+, which carries record batches only). ``acks=0`` gets no answer.
* **FindCoordinator** is advertised because librdkafka writes LZ4 only to brokers that
  have it (they are 0.8.2 or later), and a librdkafka consumer, which must have a group
  id, looks for its coordinator even when it never joins the group. The answer is
  always COORDINATOR_NOT_AVAILABLE: there is no group or transaction coordinator.
* **InitProducerId** for idempotent producers (no transactions): a new producer id at
  epoch 0, or the next epoch of the id the producer already has.
* **ListOffsets**: earliest (-2) and latest (-1); latest under read_committed is the
  last stable offset. Lookups by timestamp are not implemented and are recorded as a
  harness error.
* **Fetch**: the stored batches from the one holding the fetch offset, within the
  request's byte limits (always at least one batch, KIP-74), with the high watermark,
  last stable offset and, for read_committed, the aborted transactions of the range.
  With nothing to return it waits for an append, at most ``max_wait_ms``. Fetch
  sessions are not offered (session id 0), so every fetch is a full one.

Transactional batches and their COMMIT/ABORT markers are appended by tests with
:meth:`HarnessBroker.append`; the harness follows them to compute the last stable offset
and the aborted-transaction list, as a partition leader does.

Threads: one accepts connections, one serves each connection with blocking sockets,
requests in order. All partition state sits behind one condition variable.
:meth:`HarnessBroker.close` stops and joins every thread; leaving the ``with`` block
raises :class:`HarnessError` if anything went wrong inside the harness.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import msgspec

from odradek.protocol.errors import ErrorCode
from odradek.protocol.framing import (
    SIZE_PREFIX,
    encode_response,
    frame_size,
    read_request_body,
    read_request_header,
)
from odradek.protocol.messages.clients.api_versions_response import (
    ApiVersion,
    ApiVersionsResponse,
)
from odradek.protocol.messages.clients.fetch_response import (
    AbortedTransaction,
    FetchableTopicResponse,
    FetchResponse,
    PartitionData,
)
from odradek.protocol.messages.clients.find_coordinator_response import (
    Coordinator,
    FindCoordinatorResponse,
)
from odradek.protocol.messages.clients.init_producer_id_response import InitProducerIdResponse
from odradek.protocol.messages.clients.list_offsets_response import (
    ListOffsetsPartitionResponse,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
)
from odradek.protocol.messages.clients.metadata_response import (
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from odradek.protocol.messages.clients.produce_response import (
    PartitionProduceResponse,
    ProduceResponse,
    TopicProduceResponse,
)
from odradek.protocol.primitives import DecodeError
from odradek.protocol.records.batch import RecordBatch, decode_batch, encode_batch
from odradek.protocol.records.batch_header import read_header
from odradek.protocol.records.control import ControlRecordType, control_record
from odradek.protocol.records.legacy import decode_message_set
from odradek.protocol.records.validate import (
    RecordValidationError,
    assign_offsets,
    validate_produce_records,
)

PRODUCE, FETCH, LIST_OFFSETS, METADATA, FIND_COORDINATOR = 0, 1, 2, 3, 10
API_VERSIONS, INIT_PRODUCER_ID = 18, 22

#: API key -> (lowest, highest) version this harness really handles.
SUPPORTED_VERSIONS: dict[int, tuple[int, int]] = {
    PRODUCE: (0, 11),
    # v0-v3 would need magic 0/1 message sets (down-conversion): not offered.
    FETCH: (4, 17),
    # v0 answers with a list of offsets; v7+ adds max-timestamp lookups.
    LIST_OFFSETS: (1, 6),
    METADATA: (0, 12),
    # librdkafka compresses with LZ4 only for brokers that have FindCoordinator.
    FIND_COORDINATOR: (0, 6),
    API_VERSIONS: (0, 4),
    INIT_PRODUCER_ID: (0, 5),
}

NODE_ID = 1
LEADER_EPOCH = 0
CLUSTER_ID = "odradek-test-harness"
#: Kafka's default ``message.max.bytes``.
DEFAULT_MAX_MESSAGE_BYTES = 1048588
FIRST_PRODUCER_ID = 1000

EARLIEST_TIMESTAMP = -2
LATEST_TIMESTAMP = -1
READ_COMMITTED = 1

_TOPIC_NAMESPACE = uuid.UUID("6f64726164656b2d7465737473000000")


class HarnessError(AssertionError):
    """Something a client sent that the harness could not or would not answer."""


@dataclass(frozen=True)
class Produced:
    """One partition's records from one Produce request, byte for byte as received."""

    topic: str
    partition: int
    api_version: int
    records: bytes
    #: What the harness answered for this partition (0: accepted).
    error_code: int
    #: The offset the harness gave the first record; -1 if refused.
    base_offset: int


@dataclass
class _Partition:
    """A partition's log: encoded batches with their offsets, and its transactions."""

    batches: list[tuple[int, bytes]] = field(default_factory=list)  # (base offset, batch)
    log_end: int = 0
    produced: list[Produced] = field(default_factory=list)
    #: producer id -> first offset of its open transaction.
    open_transactions: dict[int, int] = field(default_factory=dict)
    #: (producer id, first offset, offset of the ABORT marker) per aborted transaction.
    aborted: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def last_stable_offset(self) -> int:
        return min(self.open_transactions.values(), default=self.log_end)

    def append(self, batch: bytes) -> None:
        """Append a batch whose offsets are already stamped; follow its transaction."""
        header = read_header(batch, 0)
        self.batches.append((header.base_offset, batch))
        self.log_end = header.next_offset
        if not header.is_transactional:
            return
        producer_id = header.producer_id
        if not header.is_control:
            self.open_transactions.setdefault(producer_id, header.base_offset)
            return
        key, _ = control_record(decode_batch(batch))
        first = self.open_transactions.pop(producer_id, None)
        if key.type == ControlRecordType.ABORT and first is not None:
            self.aborted.append((producer_id, first, header.base_offset))


@dataclass
class _Topic:
    name: str
    topic_id: uuid.UUID
    partitions: list[_Partition]


class HarnessBroker:
    """A single-node broker for client tests; use it as a context manager.

    ``topics`` maps each topic name to its partition count. ``max_message_bytes`` is the
    largest batch Produce accepts (Kafka's ``message.max.bytes``). ``versions`` narrows
    the advertised version range of some APIs (API key -> (lowest, highest)).
    """

    def __init__(
        self,
        topics: Mapping[str, int],
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        versions: Mapping[int, tuple[int, int]] | None = None,
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.versions = dict(SUPPORTED_VERSIONS)
        for key, (low, high) in (versions or {}).items():
            supported_low, supported_high = SUPPORTED_VERSIONS[key]
            if not supported_low <= low <= high <= supported_high:
                raise ValueError(f"API {key} v{low}-{high} is outside what the harness handles")
            self.versions[key] = (low, high)
        self._topics = {
            name: _Topic(name, uuid.uuid5(_TOPIC_NAMESPACE, name), [_Partition() for _ in range(n)])
            for name, n in topics.items()
        }
        self._topics_by_id = {t.topic_id: t for t in self._topics.values()}
        self._state = threading.Condition()
        self._next_producer_id = FIRST_PRODUCER_ID
        #: (API name, version) of every request, in arrival order.
        self.requests: list[tuple[str, int]] = []
        #: Producer ids handed out by InitProducerId.
        self.producer_ids: list[int] = []
        #: What went wrong inside the harness; ``__exit__`` raises if not empty.
        self.errors: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopping = threading.Event()
        self._connections: list[tuple[socket.socket, threading.Thread]] = []
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"harness-accept-{self.port}", daemon=True
        )
        self._handlers: dict[int, Callable[[int, Any], Any]] = {
            PRODUCE: self._produce,
            FETCH: self._fetch,
            LIST_OFFSETS: self._list_offsets,
            METADATA: self._metadata,
            FIND_COORDINATOR: self._find_coordinator,
            API_VERSIONS: self._api_versions,
            INIT_PRODUCER_ID: self._init_producer_id,
        }

    # --- the test's side ---------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> HarnessBroker:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if exc is None:
            self.check()

    def check(self) -> None:
        """Raise :class:`HarnessError` listing what went wrong inside the harness."""
        if self.errors:
            raise HarnessError("the test harness broker failed:\n" + "\n".join(self.errors))

    def produced(self, topic: str, partition: int = 0) -> list[Produced]:
        """Every Produce a client sent to this partition, in arrival order."""
        with self._state:
            return list(self._partition(topic, partition).produced)

    def append(self, topic: str, partition: int, batch: RecordBatch) -> int:
        """Encode ``batch`` with Odradek's encoder at the log end; return its base offset."""
        with self._state:
            log = self._partition(topic, partition)
            stamped = msgspec.structs.replace(
                batch, base_offset=log.log_end, partition_leader_epoch=LEADER_EPOCH
            )
            log.append(encode_batch(stamped))
            self._state.notify_all()
            return stamped.base_offset

    def log_end_offset(self, topic: str, partition: int = 0) -> int:
        with self._state:
            return self._partition(topic, partition).log_end

    def close(self) -> None:
        """Stop accepting, close every connection, wake waiting fetches, join threads."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake_writer.send(b"x")
        if self._acceptor.ident is not None:
            self._acceptor.join(timeout=10)
        with self._state:
            self._state.notify_all()
            connections = list(self._connections)
        for sock, _ in connections:
            with contextlib.suppress(OSError):  # the client may have gone already
                sock.shutdown(socket.SHUT_RDWR)
        for thread in [self._acceptor, *(thread for _, thread in connections)]:
            if thread.ident is not None:
                thread.join(timeout=10)
            if thread.is_alive():
                self.errors.append(f"thread {thread.name} did not stop")
        self._listener.close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _partition(self, topic: str, partition: int) -> _Partition:
        return self._topics[topic].partitions[partition]

    # --- sockets -----------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is not self._listener or self._stopping.is_set():
                        continue
                    sock, _ = self._listener.accept()
                    thread = threading.Thread(
                        target=self._serve,
                        args=(sock,),
                        name=f"harness-conn-{self.port}-{len(self._connections)}",
                        daemon=True,
                    )
                    with self._state:
                        # Started under the lock so that close() joins only started threads.
                        self._connections.append((sock, thread))
                        thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            try:
                while not self._stopping.is_set():
                    prefix = _receive(sock, SIZE_PREFIX, at_boundary=True)
                    if prefix is None:
                        return
                    frame = _receive(sock, frame_size(prefix), at_boundary=False)
                    assert frame is not None
                    response = self._answer(frame)
                    if response is not None:
                        sock.sendall(response)
            except (ConnectionResetError, BrokenPipeError):
                return  # clients may drop a connection at any time
            except OSError:
                if not self._stopping.is_set():
                    self.errors.append(traceback.format_exc())
            except _Refused:
                return
            except Exception:
                self.errors.append(traceback.format_exc())

    def _answer(self, frame: bytes) -> bytes | None:
        header, api, pos = read_request_header(frame)
        version = header.request_api_version
        with self._state:
            self.requests.append((api.name, version))
        supported = self.versions.get(api.key)
        if api.key == API_VERSIONS and supported and version > supported[1]:
            # A client newer than the harness: answer in v0 so it can retry lower.
            body: Any = self._api_versions(0, None)
            body.error_code = ErrorCode.UNSUPPORTED_VERSION
            version = 0
        elif supported is None or not supported[0] <= version <= supported[1]:
            self.errors.append(f"client sent {api.name} v{version}, which was not advertised")
            raise _Refused
        else:
            body = self._handlers[api.key](version, read_request_body(api, version, frame, pos))
        if body is None:
            return None
        buffers = encode_response(api, version, header.correlation_id, body)
        return b"".join(bytes(b) for b in buffers)

    # --- requests ----------------------------------------------------------------

    def _api_versions(self, version: int, request: Any) -> ApiVersionsResponse:
        return ApiVersionsResponse(
            api_keys=[
                ApiVersion(api_key=key, min_version=low, max_version=high)
                for key, (low, high) in sorted(self.versions.items())
            ]
        )

    def _metadata(self, version: int, request: Any) -> MetadataResponse:
        wanted = request.topics
        if wanted is None or (version == 0 and not wanted):
            topics = [self._describe_topic(t) for t in self._topics.values()]
        else:
            topics = []
            for asked in wanted:
                topic = (
                    self._topics.get(asked.name)
                    if asked.name is not None
                    else self._topics_by_id.get(asked.topic_id)
                )
                if topic is not None:
                    topics.append(self._describe_topic(topic))
                elif asked.name is not None:
                    topics.append(
                        MetadataResponseTopic(
                            name=asked.name, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                        )
                    )
                else:
                    topics.append(
                        MetadataResponseTopic(
                            name=None,
                            topic_id=asked.topic_id,
                            error_code=ErrorCode.UNKNOWN_TOPIC_ID,
                        )
                    )
        return MetadataResponse(
            brokers=[MetadataResponseBroker(node_id=NODE_ID, host="127.0.0.1", port=self.port)],
            cluster_id=CLUSTER_ID,
            controller_id=NODE_ID,
            topics=topics,
        )

    def _describe_topic(self, topic: _Topic) -> MetadataResponseTopic:
        return MetadataResponseTopic(
            name=topic.name,
            topic_id=topic.topic_id,
            partitions=[
                MetadataResponsePartition(
                    partition_index=index,
                    leader_id=NODE_ID,
                    leader_epoch=LEADER_EPOCH,
                    replica_nodes=[NODE_ID],
                    isr_nodes=[NODE_ID],
                )
                for index in range(len(topic.partitions))
            ],
        )

    def _find_coordinator(self, version: int, request: Any) -> FindCoordinatorResponse:
        unavailable = ErrorCode.COORDINATOR_NOT_AVAILABLE
        if version < 4:
            return FindCoordinatorResponse(
                error_code=unavailable, error_message=None, node_id=-1, host="", port=-1
            )
        return FindCoordinatorResponse(
            coordinators=[
                Coordinator(key=key, error_code=unavailable, node_id=-1, host="", port=-1)
                for key in request.coordinator_keys
            ]
        )

    def _init_producer_id(self, version: int, request: Any) -> InitProducerIdResponse:
        if request.transactional_id is not None:
            self.errors.append("InitProducerId for a transactional producer is not implemented")
            return InitProducerIdResponse(error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE)
        with self._state:
            if request.producer_id >= 0:
                # KIP-360: an idempotent producer bumps its own epoch after an error.
                return InitProducerIdResponse(
                    producer_id=request.producer_id, producer_epoch=request.producer_epoch + 1
                )
            producer_id = self._next_producer_id
            self._next_producer_id += 1
            self.producer_ids.append(producer_id)
        return InitProducerIdResponse(producer_id=producer_id, producer_epoch=0)

    def _produce(self, version: int, request: Any) -> ProduceResponse | None:
        responses = []
        with self._state:
            for topic_data in request.topic_data:
                topic = self._topics.get(topic_data.name)
                answers = []
                for data in topic_data.partition_data:
                    code, base_offset = self._produce_partition(
                        topic, data.index, version, data.records
                    )
                    answers.append(
                        PartitionProduceResponse(
                            index=data.index,
                            error_code=code,
                            base_offset=base_offset,
                            log_start_offset=0,
                        )
                    )
                responses.append(
                    TopicProduceResponse(name=topic_data.name, partition_responses=answers)
                )
            self._state.notify_all()
        if request.acks == 0:
            return None
        return ProduceResponse(responses=responses)

    def _produce_partition(
        self, topic: _Topic | None, index: int, version: int, records: Any
    ) -> tuple[int, int]:
        """Keep, check and append one partition's records: (error code, base offset)."""
        if topic is None or not 0 <= index < len(topic.partitions):
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1
        log = topic.partitions[index]
        raw = bytes(records) if records is not None else b""
        code: int = ErrorCode.NONE
        base_offset = log.log_end
        if version < 3:
            try:
                log.log_end += len(decode_message_set(raw))
            except DecodeError:
                code, base_offset = ErrorCode.CORRUPT_MESSAGE, -1
        else:
            try:
                header = validate_produce_records(raw, version, self.max_message_bytes)
            except RecordValidationError as exc:
                code, base_offset = exc.error_code, -1
            else:
                batch = bytearray(raw)
                assign_offsets(batch, header, log.log_end, LEADER_EPOCH)
                log.append(bytes(batch))
        log.produced.append(Produced(topic.name, index, version, raw, code, base_offset))
        return code, base_offset

    def _list_offsets(self, version: int, request: Any) -> ListOffsetsResponse:
        topics = []
        with self._state:
            for asked in request.topics:
                topic = self._topics.get(asked.name)
                answers = []
                for p in asked.partitions:
                    answer = ListOffsetsPartitionResponse(partition_index=p.partition_index)
                    answers.append(answer)
                    if topic is None or not 0 <= p.partition_index < len(topic.partitions):
                        answer.error_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                        continue
                    log = topic.partitions[p.partition_index]
                    if p.timestamp == EARLIEST_TIMESTAMP:
                        answer.offset = 0
                    elif p.timestamp == LATEST_TIMESTAMP:
                        committed = request.isolation_level == READ_COMMITTED
                        answer.offset = log.last_stable_offset if committed else log.log_end
                    else:
                        self.errors.append(f"ListOffsets by timestamp {p.timestamp} asked")
                        answer.error_code = ErrorCode.INVALID_REQUEST
                        continue
                    if version >= 4:  # not ignorable before v4
                        answer.leader_epoch = LEADER_EPOCH
                topics.append(ListOffsetsTopicResponse(name=asked.name, partitions=answers))
        return ListOffsetsResponse(topics=topics)

    def _fetch(self, version: int, request: Any) -> FetchResponse:
        deadline = time.monotonic() + request.max_wait_ms / 1000
        with self._state:
            while True:
                response, size = self._read(version, request)
                remaining = deadline - time.monotonic()
                if size >= max(request.min_bytes, 1) or remaining <= 0:
                    return response
                if self._stopping.is_set():
                    return response
                self._state.wait(remaining)

    def _read(self, version: int, request: Any) -> tuple[FetchResponse, int]:
        """One pass over the requested partitions: the response and its record bytes."""
        budget = request.max_bytes
        total = 0
        committed = request.isolation_level == READ_COMMITTED
        responses = []
        for asked in request.topics:
            topic = (
                self._topics_by_id.get(asked.topic_id)
                if version >= 13
                else self._topics.get(asked.topic)
            )
            missing = (
                ErrorCode.UNKNOWN_TOPIC_ID
                if version >= 13
                else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            )
            answers = []
            for p in asked.partitions:
                answer = PartitionData(partition_index=p.partition)
                answers.append(answer)
                if topic is None or not 0 <= p.partition < len(topic.partitions):
                    answer.error_code = missing
                    continue
                log = topic.partitions[p.partition]
                answer.high_watermark = log.log_end
                answer.last_stable_offset = log.last_stable_offset
                answer.log_start_offset = 0
                if not 0 <= p.fetch_offset <= log.log_end:
                    answer.error_code = ErrorCode.OFFSET_OUT_OF_RANGE
                    continue
                upto = log.last_stable_offset if committed else log.log_end
                limit = min(p.partition_max_bytes, budget - total)
                chunks = _batches_from(log, p.fetch_offset, upto, limit, first=total == 0)
                records = b"".join(chunks)
                total += len(records)
                answer.records = records
                if committed:
                    answer.aborted_transactions = [
                        AbortedTransaction(producer_id=pid, first_offset=first)
                        for pid, first, marker in log.aborted
                        if first < upto and marker >= p.fetch_offset
                    ]
            responses.append(
                FetchableTopicResponse(
                    topic=asked.topic if topic is None else topic.name,
                    topic_id=asked.topic_id if topic is None else topic.topic_id,
                    partitions=answers,
                )
            )
        return FetchResponse(responses=responses), total


class _Refused(Exception):
    """A request the harness will not answer; its connection is closed."""


def _batches_from(log: _Partition, offset: int, upto: int, limit: int, first: bool) -> list[bytes]:
    """The batches holding ``offset`` and after, below ``upto``, within ``limit`` bytes.

    Served from the batch that contains ``offset``, as Kafka does: clients skip the
    records before the offset they asked for. The first batch of a response is served
    whatever its size, so that a batch larger than the limits still gets through.
    """
    chunks: list[bytes] = []
    size = 0
    for base, batch in log.batches:
        if read_header(batch, 0).next_offset <= offset:
            continue
        if base >= upto:
            break
        if size + len(batch) > limit and not (first and not chunks):
            break
        chunks.append(batch)
        size += len(batch)
    return chunks


def _receive(sock: socket.socket, n: int, *, at_boundary: bool) -> bytes | None:
    """Exactly ``n`` bytes; ``None`` if the peer closed cleanly between frames."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            if at_boundary and not buf:
                return None
            raise ConnectionResetError(f"connection closed {len(buf)} bytes into {n}")
        buf += chunk
    return bytes(buf)
