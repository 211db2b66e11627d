"""Record batches as real clients write and read them, against Odradek's record codec.

The clients are unmodified libraries: confluent-kafka (librdkafka), kafka-python and
aiokafka. They talk to :class:`~tests.protocol.client_harness.HarnessBroker`, a one-node
test broker built on the protocol codec, so these tests need no broker process.

* **Clients to Odradek.** Producers send batches with every compression codec; the
  harness keeps the bytes exactly as received and :func:`decode_batch` must give back
  every record exactly as produced: key, value, headers, timestamp, order, and for
  idempotent producers the producer id, epoch and sequence numbers.
* **Odradek to clients.** Batches that :func:`encode_batch` wrote (every codec,
  compaction gaps, LogAppendTime, transactional batches with COMMIT and ABORT markers)
  are fetched by consumers, which must hand back exactly the records encoded.
* **Both ways.** Client batches stamped by ``assign_offsets`` at later offsets are read
  back by every consumer; and the whole round trip runs again with the harness
  advertising only Kafka 0.11's versions, then only the versions before flexible
  encodings, so that older request and response layouts meet real clients too.
* **Old formats.** kafka-python told it talks to a 0.9 or 0.10 broker produces message
  sets of magic 0 and 1, which :func:`decode_message_set` must read (magic 0 with LZ4
  carries Kafka 0.8's wrong frame checksum, KAFKA-3160; kafka-python needs ``xxhash``
  to write it).

Spec: ``docs/implementation.html`` sections "Record Batch", "Record", "Control
Batches" and "Old Message Format" under ``shared/kafka-spec``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from odradek.protocol.messages.clients import APIS
from odradek.protocol.records.batch import RecordBatch, iter_batches, make_attributes
from odradek.protocol.records.batch_header import NO_PRODUCER_ID, NO_SEQUENCE
from odradek.protocol.records.compression import Compression
from odradek.protocol.records.control import end_txn_marker_batch
from odradek.protocol.records.legacy import (
    CREATE_TIME,
    MAGIC_V0,
    MAGIC_V1,
    NO_TIMESTAMP,
    NO_TIMESTAMP_TYPE,
    decode_message_set,
)
from odradek.protocol.records.record import Header, Record
from tests.protocol.client_harness import (
    API_VERSIONS,
    FETCH,
    FIND_COORDINATOR,
    INIT_PRODUCER_ID,
    LIST_OFFSETS,
    METADATA,
    PRODUCE,
    SUPPORTED_VERSIONS,
    HarnessBroker,
    Produced,
)

pytestmark = pytest.mark.timeout(60)

TOPIC = "spools"
#: Client timeouts: long enough for a loaded machine, short enough to fail well
#: within the test's own timeout.
CLIENT_TIMEOUT_S = 15.0
#: Lingering longer than producing takes: batches leave when flush() says so, which
#: makes "many records in one batch" independent of the machine's speed. librdkafka
#: wants it below its message timeout.
LONG_LINGER_MS = 10_000
#: Room for the 1 MiB value, on the producer and on the harness alike.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
BASE_TIMESTAMP = 1_700_000_000_000

CODECS = {
    "none": Compression.NONE,
    "gzip": Compression.GZIP,
    "snappy": Compression.SNAPPY,
    "lz4": Compression.LZ4,
    "zstd": Compression.ZSTD,
}

HeaderList = tuple[tuple[str, bytes | None], ...]


@dataclass(frozen=True)
class Sent:
    """One record as a test hands it to a producer."""

    key: bytes | None
    value: bytes | None
    headers: HeaderList
    timestamp: int

    def __repr__(self) -> str:
        return (
            f"Sent(key={_short(self.key)}, value={_short(self.value)}, {self.headers!r}, "
            f"ts={self.timestamp})"
        )


@dataclass(frozen=True)
class Consumed:
    """One record as a consumer hands it to the application."""

    offset: int
    key: bytes | None
    value: bytes | None
    headers: HeaderList
    timestamp: int
    log_append_time: bool

    def __repr__(self) -> str:
        return (
            f"Consumed(@{self.offset}, key={_short(self.key)}, value={_short(self.value)}, "
            f"{self.headers!r}, ts={self.timestamp}, log_append_time={self.log_append_time})"
        )


def _short(data: bytes | None) -> str:
    if data is None or len(data) <= 40:
        return repr(data)
    return f"{data[:24]!r}...({len(data)} bytes)"


def _compressible(size: int, seed: int = 0) -> bytes:
    """Text that every codec shrinks, so that clients really use the codec."""
    numbers = b"".join(b"%09d " % (seed + i) for i in range(size // 10 + 1))
    return numbers[:size]


def sample_records(*, headers: bool = True, big_value: bool = True) -> list[Sent]:
    """Records covering what a batch can carry: nulls, empties, headers, odd timestamps."""
    text = _compressible(2000)

    def h(*pairs: tuple[str, bytes | None]) -> HeaderList:
        return pairs if headers else ()

    records = [
        Sent(b"key-0", text, h(("trace", b"abc"), ("empty", b""), ("null", None)), BASE_TIMESTAMP),
        Sent(None, text[:300], h(), BASE_TIMESTAMP + 5),
        Sent(b"tombstone", None, h(("why", b"deleted")), BASE_TIMESTAMP + 7),
        Sent(b"empty-value", b"", h(("dup", b"1"), ("dup", b"2")), BASE_TIMESTAMP + 3),
        Sent(b"", text[:500], h(("κλειδί-ü", "värde".encode())), BASE_TIMESTAMP + 6),
        # Before the first record: a negative timestamp delta (zig-zag varlong).
        Sent(b"early", text[:50], h(), BASE_TIMESTAMP - 86_400_000),
    ]
    if big_value:
        records.append(Sent(b"big", _compressible(1024 * 1024, 7), h(), BASE_TIMESTAMP + 11))
    records += [
        Sent(b"k-%d" % i, b"value %d " % i + text[: i % 97], h(), BASE_TIMESTAMP + 20 + i)
        for i in range(200)
    ]
    return records


def without_null_header_values(records: Sequence[Sent]) -> list[Sent]:
    """For clients whose API takes only bytes as header values (kafka-python)."""
    return [
        Sent(r.key, r.value, tuple(h for h in r.headers if h[1] is not None), r.timestamp)
        for r in records
    ]


def many_small_records(n: int) -> list[Sent]:
    return [Sent(b"%d" % i, b"record number %d" % i, (), BASE_TIMESTAMP + i) for i in range(n)]


# --- what the harness received -----------------------------------------------------


def received_batches(produced: Sequence[Produced]) -> list[RecordBatch]:
    """Decode every batch the producers sent, in the order they arrived."""
    assert produced, "the producer sent nothing to the harness"
    batches = []
    for entry in produced:
        assert entry.error_code == 0, (
            f"the harness refused a Produce v{entry.api_version} batch with error "
            f"{entry.error_code} (validate_produce_records)"
        )
        assert entry.api_version >= 3, f"Produce v{entry.api_version} carries no record batch"
        found = list(iter_batches(entry.records))
        assert len(found) == 1, f"Produce v3+ carries one batch per partition, got {len(found)}"
        batches.extend(found)
    return batches


def as_sent(batch: RecordBatch, record: Record) -> Sent:
    headers = tuple((h.key, h.value) for h in record.headers)
    return Sent(record.key, record.value, headers, batch.timestamp_of(record))


def assert_same(got: Sequence[object], expected: Sequence[object], what: str) -> None:
    """Equal sequences, or a message naming the first difference (values shortened)."""
    for index, (g, e) in enumerate(zip(got, expected, strict=False)):
        if g != e:
            pytest.fail(f"{what}: record {index} differs\n  got:      {g!r}\n  expected: {e!r}")
    if len(got) != len(expected):
        first_unmatched = (list(got) + list(expected))[min(len(got), len(expected))]
        pytest.fail(
            f"{what}: got {len(got)} records, expected {len(expected)}; "
            f"first extra or missing: {first_unmatched!r}"
        )


def check_batches(batches: Sequence[RecordBatch], sent: Sequence[Sent], codec: int) -> None:
    """The batches hold exactly ``sent``, each batch consistent with its records."""
    got = [as_sent(batch, record) for batch in batches for record in batch.records]
    assert_same(got, sent, "decoded records")
    for batch in batches:
        assert batch.compression == codec, f"batch compressed with {batch.compression}"
        assert [r.offset_delta for r in batch.records] == list(range(len(batch.records)))
        assert batch.last_offset_delta == len(batch.records) - 1
        assert batch.max_timestamp == max(batch.timestamp_of(r) for r in batch.records)
        assert not batch.is_log_append_time
        assert not batch.is_transactional
        assert not batch.is_control


def check_idempotent(batches: Sequence[RecordBatch], broker: HarnessBroker) -> None:
    """One producer id from InitProducerId, epoch 0, sequences without gap or overlap."""
    assert broker.producer_ids, "the idempotent producer never asked for a producer id"
    expected_sequence = 0
    for batch in batches:
        assert (batch.producer_id, batch.producer_epoch) == (broker.producer_ids[-1], 0)
        assert batch.base_sequence == expected_sequence
        expected_sequence += len(batch.records)


def check_not_idempotent(
    batches: Sequence[RecordBatch], *, sequence: int | None = NO_SEQUENCE
) -> None:
    """No producer id; ``sequence`` is what the client writes for baseSequence then."""
    for batch in batches:
        assert batch.producer_id == NO_PRODUCER_ID
        if sequence is not None:
            assert batch.base_sequence == sequence


# --- producers -----------------------------------------------------------------------


def produce_confluent(
    bootstrap: str,
    records: Sequence[Sent],
    config: dict[str, Any],
    *,
    flush_every: int | None = None,
) -> None:
    """Produce ``records`` to partition 0, flushing after every ``flush_every`` and at the end."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    producer = confluent_kafka.Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": LONG_LINGER_MS,
            "message.timeout.ms": int(CLIENT_TIMEOUT_S * 1000),
            "message.max.bytes": MAX_MESSAGE_BYTES,
            **config,
        }
    )
    failures: list[Any] = []

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            failures.append(error)

    unsent = 0
    try:
        for index, r in enumerate(records, 1):
            while True:
                try:
                    producer.produce(
                        TOPIC,
                        key=r.key,
                        value=r.value,
                        headers=list(r.headers),
                        partition=0,
                        timestamp=r.timestamp,
                        on_delivery=delivered,
                    )
                    break
                except BufferError:
                    producer.poll(0.1)  # the local queue is full: serve delivery reports
            if flush_every and index % flush_every == 0:
                unsent += producer.flush(CLIENT_TIMEOUT_S + 5)
        unsent += producer.flush(CLIENT_TIMEOUT_S + 5)
    finally:
        producer.close()
    assert unsent == 0, f"{unsent} records were not delivered"
    assert not failures, f"delivery failed: {failures[:3]}"


def produce_kafka_python(bootstrap: str, records: Sequence[Sent], config: dict[str, Any]) -> None:
    kafka = pytest.importorskip("kafka")
    producer = kafka.KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=LONG_LINGER_MS,
        max_request_size=MAX_MESSAGE_BYTES,
        request_timeout_ms=5_000,
        max_block_ms=int(CLIENT_TIMEOUT_S * 1000),
        # kafka-python wants it above linger_ms + request_timeout_ms.
        delivery_timeout_ms=LONG_LINGER_MS + 10_000,
        **config,
    )
    try:
        futures = [
            producer.send(
                TOPIC,
                key=r.key,
                value=r.value,
                headers=list(r.headers),
                partition=0,
                timestamp_ms=r.timestamp,
            )
            for r in records
        ]
        producer.flush(timeout=(LONG_LINGER_MS + 15_000) / 1000)
        for future in futures:
            future.get(timeout=0)
    finally:
        producer.close(timeout=5)


def produce_aiokafka(bootstrap: str, records: Sequence[Sent], config: dict[str, Any]) -> None:
    aiokafka = pytest.importorskip("aiokafka")

    async def run() -> None:
        producer = aiokafka.AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            # aiokafka's flush() waits out the linger, so keep it short.
            linger_ms=50,
            max_request_size=MAX_MESSAGE_BYTES,
            request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000),
            **config,
        )
        await producer.start()
        try:
            futures = [
                await producer.send(
                    TOPIC,
                    key=r.key,
                    value=r.value,
                    headers=list(r.headers),
                    partition=0,
                    timestamp_ms=r.timestamp,
                )
                for r in records
            ]
            await producer.flush()
            for future in futures:
                await future
        finally:
            await producer.stop()

    asyncio.run(asyncio.wait_for(run(), CLIENT_TIMEOUT_S + 10))


@pytest.fixture
def broker() -> Iterator[HarnessBroker]:
    with HarnessBroker({TOPIC: 1}, max_message_bytes=MAX_MESSAGE_BYTES) as harness:
        yield harness


# --- clients -> Odradek --------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_kafka_batches_decode_exactly(broker: HarnessBroker, codec: str) -> None:
    records = sample_records()
    produce_confluent(broker.bootstrap, records, {"compression.type": codec})
    batches = received_batches(broker.produced(TOPIC))
    check_batches(batches, records, CODECS[codec])
    check_not_idempotent(batches)


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_kafka_idempotent_batches(broker: HarnessBroker, codec: str) -> None:
    records = sample_records(big_value=False)
    # Flushes in between: several batches, whose sequence numbers must follow on.
    produce_confluent(
        broker.bootstrap,
        records,
        {"compression.type": codec, "enable.idempotence": True},
        flush_every=40,
    )
    batches = received_batches(broker.produced(TOPIC))
    assert len(batches) >= len(records) // 40
    check_batches(batches, records, CODECS[codec])
    check_idempotent(batches, broker)


def test_confluent_kafka_many_records_per_batch(broker: HarnessBroker) -> None:
    records = many_small_records(2000)
    produce_confluent(broker.bootstrap, records, {"compression.type": "lz4"})
    batches = received_batches(broker.produced(TOPIC))
    check_batches(batches, records, Compression.LZ4)
    assert max(len(b.records) for b in batches) > 100, [len(b.records) for b in batches]


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_batches_decode_exactly(broker: HarnessBroker, codec: str) -> None:
    records = without_null_header_values(sample_records())
    produce_kafka_python(
        broker.bootstrap,
        records,
        {"compression_type": None if codec == "none" else codec, "enable_idempotence": True},
    )
    batches = received_batches(broker.produced(TOPIC))
    check_batches(batches, records, CODECS[codec])
    check_idempotent(batches, broker)


def test_kafka_python_many_records_per_batch(broker: HarnessBroker) -> None:
    records = many_small_records(2000)
    produce_kafka_python(
        broker.bootstrap,
        records,
        {"compression_type": "gzip", "batch_size": 1024 * 1024, "enable_idempotence": False},
    )
    batches = received_batches(broker.produced(TOPIC))
    check_batches(batches, records, Compression.GZIP)
    check_not_idempotent(batches)
    assert max(len(b.records) for b in batches) > 100, [len(b.records) for b in batches]


@pytest.mark.parametrize("codec", CODECS)
def test_aiokafka_batches_decode_exactly(broker: HarnessBroker, codec: str) -> None:
    records = sample_records()
    produce_aiokafka(
        broker.bootstrap, records, {"compression_type": None if codec == "none" else codec}
    )
    batches = received_batches(broker.produced(TOPIC))
    check_batches(batches, records, CODECS[codec])
    # aiokafka writes baseSequence 0 without a producer id; brokers ignore it then.
    check_not_idempotent(batches, sequence=0)


# --- old message formats -------------------------------------------------------------

LEGACY_CASES = [
    pytest.param((0, 10), MAGIC_V1, codec, id=f"magic1-{codec}")
    for codec in ("none", "gzip", "snappy", "lz4")
] + [
    pytest.param((0, 9), MAGIC_V0, codec, id=f"magic0-{codec}")
    for codec in ("none", "gzip", "snappy", "lz4")
]

#: Offset of the attributes byte of a message set's first message.
_FIRST_ATTRIBUTES = 8 + 4 + 4 + 1


@pytest.mark.parametrize(("api_version", "magic", "codec"), LEGACY_CASES)
def test_kafka_python_legacy_message_sets(
    broker: HarnessBroker, api_version: tuple[int, ...], magic: int, codec: str
) -> None:
    if magic == MAGIC_V0 and codec == "lz4":
        # kafka-python writes Kafka 0.8's broken LZ4 header checksum with xxhash.
        pytest.importorskip("xxhash")
    records = sample_records(headers=False, big_value=False)[:50]
    produce_kafka_python(
        broker.bootstrap,
        records,
        {"compression_type": None if codec == "none" else codec, "api_version": api_version},
    )
    produced = broker.produced(TOPIC)
    assert produced, "the producer sent nothing to the harness"
    messages = []
    for entry in produced:
        assert entry.api_version < 3, f"expected a message set, got Produce v{entry.api_version}"
        assert entry.error_code == 0, f"the harness could not decode: error {entry.error_code}"
        assert entry.records[_FIRST_ATTRIBUTES] & 0x07 == CODECS[codec]
        messages.extend(decode_message_set(entry.records))
    for m in messages:
        assert m.magic == magic
        assert m.compression == Compression.NONE
    # Each request's offsets are the producer's own: 0 upwards within the request.
    offsets = [m.offset for m in messages]
    assert offsets == [i for entry in produced for i in range(_count(entry))]
    expected_timestamps = (
        [(r.timestamp, CREATE_TIME) for r in records]
        if magic == MAGIC_V1
        else [(NO_TIMESTAMP, NO_TIMESTAMP_TYPE)] * len(records)
    )
    assert_same([(m.timestamp, m.timestamp_type) for m in messages], expected_timestamps, "times")
    got = [Sent(m.key, m.value, (), r.timestamp) for m, r in zip(messages, records, strict=False)]
    assert_same(got, records, "legacy messages")


def _count(entry: Produced) -> int:
    return len(decode_message_set(entry.records))


# --- Odradek -> clients --------------------------------------------------------------


def odradek_batches(codec: int) -> list[RecordBatch]:
    """Batches as Odradek's log holds them: plain, compacted with gaps, LogAppendTime."""
    text = _compressible(3000, 11)
    plain = RecordBatch.of(
        [
            Record(0, 0, b"key-0", text, (Header("trace", b"abc"), Header("null", None))),
            Record(1, 4, None, text[:100]),
            Record(2, -1000, b"tombstone", None, (Header("dup", b"1"), Header("dup", b"2"))),
            Record(3, 9, b"empty", b""),
            Record(4, 12, b"", text[:10], (Header("κλειδί-ü", "värde".encode()),)),
        ],
        base_timestamp=BASE_TIMESTAMP,
        attributes=make_attributes(codec),
    )
    # Compaction keeps lastOffsetDelta but removes records: offsets 1, 3, 4, 6 are gone.
    compacted = RecordBatch(
        attributes=make_attributes(codec),
        last_offset_delta=6,
        base_timestamp=BASE_TIMESTAMP + 100,
        max_timestamp=BASE_TIMESTAMP + 106,
        records=(
            Record(0, 0, b"a", b"kept 0"),
            Record(2, 2, b"b", b"kept 2"),
            Record(5, 5, b"c", text),
        ),
    )
    appended = RecordBatch.of(
        [Record(i, i, b"lat-%d" % i, text[: 50 * i]) for i in range(20)],
        base_timestamp=BASE_TIMESTAMP + 200,
        attributes=make_attributes(codec, log_append_time=True),
    )
    appended = msgspec.structs.replace(appended, max_timestamp=BASE_TIMESTAMP + 999_999)
    big = RecordBatch.of(
        [Record(0, 0, b"big", _compressible(1024 * 1024, 3))],
        base_timestamp=BASE_TIMESTAMP + 300,
        attributes=make_attributes(codec),
    )
    return [plain, compacted, appended, big]


def append_all(broker: HarnessBroker, batches: Sequence[RecordBatch]) -> list[Consumed]:
    """Append ``batches``; the records a read_uncommitted consumer must see."""
    expected: list[Consumed] = []
    for batch in batches:
        base = broker.append(TOPIC, 0, batch)
        stamped = msgspec.structs.replace(batch, base_offset=base)
        if batch.is_control:
            continue
        expected.extend(
            Consumed(
                stamped.offset_of(record),
                record.key,
                record.value,
                tuple((h.key, h.value) for h in record.headers),
                stamped.timestamp_of(record),
                stamped.is_log_append_time,
            )
            for record in batch.records
        )
    return expected


def consume_confluent(bootstrap: str, last_offset: int, config: dict[str, Any]) -> list[Consumed]:
    """Read partition 0 from the beginning until ``last_offset`` has been seen."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            # librdkafka insists on a group id; assign() below uses no group coordinator.
            "group.id": "unused",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
            **config,
        }
    )
    out: list[Consumed] = []
    try:
        consumer.assign(
            [confluent_kafka.TopicPartition(TOPIC, 0, confluent_kafka.OFFSET_BEGINNING)]
        )
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while (not out or out[-1].offset < last_offset) and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            assert message.error() is None, f"consumer error: {message.error()}"
            kind, timestamp = message.timestamp()
            out.append(
                Consumed(
                    message.offset(),
                    message.key(),
                    message.value(),
                    tuple(message.headers() or ()),
                    timestamp,
                    kind == confluent_kafka.TIMESTAMP_LOG_APPEND_TIME,
                )
            )
    finally:
        consumer.close()
    return out


def consume_kafka_python(
    bootstrap: str, last_offset: int, config: dict[str, Any]
) -> list[Consumed]:
    kafka = pytest.importorskip("kafka")
    consumer = kafka.KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000),
        **config,
    )
    out: list[Consumed] = []
    try:
        partition = kafka.TopicPartition(TOPIC, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while (not out or out[-1].offset < last_offset) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                out.extend(
                    Consumed(
                        r.offset,
                        r.key,
                        r.value,
                        tuple(r.headers),
                        r.timestamp,
                        r.timestamp_type == 1,
                    )
                    for r in records
                )
    finally:
        consumer.close()
    return out


def consume_aiokafka(bootstrap: str, last_offset: int, config: dict[str, Any]) -> list[Consumed]:
    aiokafka = pytest.importorskip("aiokafka")

    async def run() -> list[Consumed]:
        consumer = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
            request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000),
            **config,
        )
        await consumer.start()
        out: list[Consumed] = []
        try:
            partition = aiokafka.TopicPartition(TOPIC, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            deadline = time.monotonic() + CLIENT_TIMEOUT_S
            while (not out or out[-1].offset < last_offset) and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    out.extend(
                        Consumed(
                            r.offset,
                            r.key,
                            r.value,
                            tuple(r.headers),
                            r.timestamp,
                            r.timestamp_type == 1,
                        )
                        for r in records
                    )
        finally:
            await consumer.stop()
        return out

    return asyncio.run(asyncio.wait_for(run(), CLIENT_TIMEOUT_S + 10))


CONSUMERS = {
    "confluent-kafka": (consume_confluent, {"isolation.level": "read_uncommitted"}),
    "kafka-python": (consume_kafka_python, {"isolation_level": "read_uncommitted"}),
    "aiokafka": (consume_aiokafka, {"isolation_level": "read_uncommitted"}),
}
READ_COMMITTED = {
    "confluent-kafka": {"isolation.level": "read_committed"},
    "kafka-python": {"isolation_level": "read_committed"},
    "aiokafka": {"isolation_level": "read_committed"},
}


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("client", CONSUMERS)
def test_consumers_read_odradek_batches(broker: HarnessBroker, client: str, codec: str) -> None:
    expected = append_all(broker, odradek_batches(CODECS[codec]))
    consume, config = CONSUMERS[client]
    got = consume(broker.bootstrap, expected[-1].offset, config)
    assert_same(got, expected, f"{client} reading {codec} batches")


def transactional_log() -> tuple[list[RecordBatch], set[bytes]]:
    """Two transactions, one committed and one aborted, interleaved with plain batches.

    Returns the batches and the keys of the aborted records.
    """
    committer, aborter = 4000, 4001

    def data(producer_id: int, keys: Sequence[bytes], sequence: int) -> RecordBatch:
        return RecordBatch.of(
            [Record(i, i, key, b"value of " + key) for i, key in enumerate(keys)],
            base_timestamp=BASE_TIMESTAMP,
            attributes=make_attributes(Compression.GZIP, transactional=True),
            producer_id=producer_id,
            producer_epoch=2,
            base_sequence=sequence,
        )

    def plain(key: bytes) -> RecordBatch:
        return RecordBatch.of([Record(0, 0, key, b"plain")], base_timestamp=BASE_TIMESTAMP)

    def marker(producer_id: int, commit: bool) -> RecordBatch:
        return end_txn_marker_batch(
            commit=commit,
            producer_id=producer_id,
            producer_epoch=2,
            coordinator_epoch=9,
            timestamp=BASE_TIMESTAMP + 50,
        )

    batches = [
        plain(b"before"),
        data(committer, [b"c1", b"c2"], 0),
        data(aborter, [b"a1"], 0),
        plain(b"between"),
        data(committer, [b"c3"], 2),
        data(aborter, [b"a2", b"a3"], 1),
        marker(committer, commit=True),
        marker(aborter, commit=False),
        plain(b"after"),
    ]
    return batches, {b"a1", b"a2", b"a3"}


@pytest.mark.parametrize("client", CONSUMERS)
def test_consumers_skip_control_batches(broker: HarnessBroker, client: str) -> None:
    batches, _ = transactional_log()
    expected = append_all(broker, batches)
    consume, config = CONSUMERS[client]
    got = consume(broker.bootstrap, expected[-1].offset, config)
    assert_same(got, expected, f"{client} read_uncommitted")


@pytest.mark.parametrize("client", CONSUMERS)
def test_read_committed_consumers_drop_aborted_records(broker: HarnessBroker, client: str) -> None:
    batches, aborted = transactional_log()
    expected = [c for c in append_all(broker, batches) if c.key not in aborted]
    consume, _ = CONSUMERS[client]
    got = consume(broker.bootstrap, expected[-1].offset, READ_COMMITTED[client])
    assert_same(got, expected, f"{client} read_committed")


@pytest.mark.parametrize("client", CONSUMERS)
def test_consumers_read_client_batches_stamped_by_assign_offsets(
    broker: HarnessBroker, client: str
) -> None:
    # Two producers, so that the second one's batches are moved to later offsets.
    first = sample_records(big_value=False)[:60]
    second = many_small_records(300)
    produce_confluent(broker.bootstrap, first, {"compression.type": "zstd"})
    produce_confluent(broker.bootstrap, second, {"compression.type": "snappy"})
    sent = first + second
    expected = [
        Consumed(offset, r.key, r.value, r.headers, r.timestamp, False)
        for offset, r in enumerate(sent)
    ]
    consume, config = CONSUMERS[client]
    got = consume(broker.bootstrap, len(sent) - 1, config)
    assert_same(got, expected, f"{client} reading batches stamped by assign_offsets")


# --- older versions of the protocol --------------------------------------------------


def _flexible_from(api_key: int) -> int:
    version = APIS[api_key].flexible_from
    assert version is not None, f"API {api_key} has no flexible versions"
    return version


#: Version ranges that hold clients to older protocol versions: those of Kafka 0.11,
#: the first with record batches, and the newest versions before flexible encodings.
OLD_PROTOCOLS = {
    "kafka-0.11": {
        PRODUCE: (0, 3),
        FETCH: (4, 5),
        LIST_OFFSETS: (1, 2),
        METADATA: (0, 4),
        FIND_COORDINATOR: (0, 1),
        API_VERSIONS: (0, 1),
        INIT_PRODUCER_ID: (0, 0),
    },
    "before-flexible": {
        key: (low, _flexible_from(key) - 1) for key, (low, _) in SUPPORTED_VERSIONS.items()
    },
}

PRODUCERS = {
    "confluent-kafka": (produce_confluent, lambda codec: {"compression.type": codec}),
    "kafka-python": (
        produce_kafka_python,
        lambda codec: {"compression_type": codec, "enable_idempotence": False},
    ),
    "aiokafka": (produce_aiokafka, lambda codec: {"compression_type": codec}),
}


@pytest.mark.parametrize("protocol", OLD_PROTOCOLS)
@pytest.mark.parametrize("client", PRODUCERS)
def test_older_protocol_versions_round_trip(client: str, protocol: str) -> None:
    versions = OLD_PROTOCOLS[protocol]
    records = without_null_header_values(sample_records(big_value=False))
    produce, producer_config = PRODUCERS[client]
    consume, consumer_config = CONSUMERS[client]
    with HarnessBroker({TOPIC: 1}, versions=versions) as harness:
        produce(harness.bootstrap, records, producer_config("gzip"))
        check_batches(received_batches(harness.produced(TOPIC)), records, Compression.GZIP)
        got = consume(harness.bootstrap, len(records) - 1, consumer_config)
        expected = [
            Consumed(offset, r.key, r.value, r.headers, r.timestamp, False)
            for offset, r in enumerate(records)
        ]
        assert_same(got, expected, f"{client} over {protocol} versions")
        used = set(harness.requests)
    # The harness refuses anything outside the ranges, so the client kept to them.
    for api, key in (("Produce", PRODUCE), ("Fetch", FETCH)):
        assert {v for name, v in used if name == api} <= set(range(versions[key][1] + 1))
        assert any(name == api for name, _ in used), sorted(used)
