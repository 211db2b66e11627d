"""Record batches (magic 2): round trips, malformed input, control records, interop.

Spec: shared/kafka-spec/docs/implementation.html ("Record Batch", "Record", "Record
Header", "Control Batches"). kafka-python's DefaultRecordBatchBuilder and
DefaultRecordBatch are an independent implementation: batches it writes must decode
exactly with ours, and batches we write must read back exactly with it.
"""

from __future__ import annotations

import contextlib
import random
import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from odradek.protocol.primitives import DecodeError, EncodeError, varint_bytes
from odradek.protocol.records.batch import (
    RecordBatch,
    batch_size_at,
    decode_batch,
    encode_batch,
    encode_batches,
    iter_batches,
    make_attributes,
)
from odradek.protocol.records.batch_header import (
    CRC_OFFSET,
    HEADER_SIZE,
    RECORDS_COUNT_OFFSET,
    read_header,
)
from odradek.protocol.records.compression import Compression
from odradek.protocol.records.control import (
    ControlKey,
    ControlRecordType,
    EndTxnMarker,
    control_batch,
    control_record,
    decode_control_key,
    decode_end_txn_marker,
    encode_control_key,
    encode_end_txn_marker,
    end_txn_marker_batch,
)
from odradek.protocol.records.crc import crc32c
from odradek.protocol.records.record import Header, Record

INT16 = st.integers(-(2**15), 2**15 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
nullable_bytes = st.none() | st.binary(max_size=64)
headers = st.lists(st.builds(Header, st.text(max_size=12), nullable_bytes), max_size=3).map(tuple)


@st.composite
def record_lists(draw: st.DrawFn) -> list[Record]:
    count = draw(st.integers(0, 8))
    offsets = sorted(draw(st.sets(st.integers(0, 2**31 - 4), min_size=count, max_size=count)))
    return [
        Record(
            offset_delta=offset,
            timestamp_delta=draw(st.integers(-(2**40), 2**40)),
            key=draw(nullable_bytes),
            value=draw(nullable_bytes),
            headers=draw(headers),
        )
        for offset in offsets
    ]


@st.composite
def batches(draw: st.DrawFn, control: bool = False) -> RecordBatch:
    records = draw(record_lists())
    last_offset_delta = max((r.offset_delta for r in records), default=-1)
    attributes = make_attributes(
        draw(st.sampled_from(list(Compression))),
        log_append_time=draw(st.booleans()),
        transactional=draw(st.booleans()),
        control=control,
        delete_horizon=draw(st.booleans()),
    )
    return RecordBatch(
        base_offset=draw(st.integers(0, 2**62)),
        partition_leader_epoch=draw(INT32),
        attributes=attributes,
        last_offset_delta=last_offset_delta + draw(st.integers(0, 3)),
        base_timestamp=draw(st.integers(-1, 2**45)),
        max_timestamp=draw(st.integers(-1, 2**45)),
        producer_id=draw(INT64),
        producer_epoch=draw(INT16),
        base_sequence=draw(INT32),
        records=tuple(records),
    )


KafkaPythonEntry = tuple[int, int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]


def kafka_python_batch(
    records: list[KafkaPythonEntry],
    compression: int = 0,
    producer: tuple[int, int, int] = (-1, -1, -1),
    transactional: bool = False,
) -> bytes:
    builder = DefaultRecordBatchBuilder(
        2, compression, transactional, producer[0], producer[1], producer[2], 1 << 30
    )
    for offset, timestamp, key, value, hdrs in records:
        assert builder.append(offset, timestamp, key, value, hdrs) is not None
    return bytes(builder.build())


# --- round trips -----------------------------------------------------------------


@given(batch=batches())
def test_encode_decode_round_trip(batch: RecordBatch) -> None:
    encoded = encode_batch(batch)
    assert decode_batch(encoded) == batch
    header = read_header(encoded)
    assert header.size == len(encoded)
    assert header.records_count == len(batch.records)
    assert header.crc == crc32c(encoded[21:])


@given(batch=batches(control=True))
def test_control_batches_round_trip(batch: RecordBatch) -> None:
    assert decode_batch(encode_batch(batch)).is_control


def test_null_and_empty_keys_values_and_headers_stay_distinct() -> None:
    records = [
        Record(0, 0, None, None),
        Record(1, 0, b"", b""),
        Record(2, 0, b"k", None, (Header("", None), Header("", b""), Header("h\u00e9", b"v"))),
    ]
    batch = RecordBatch.of(records, base_timestamp=5)
    decoded = decode_batch(encode_batch(batch))
    assert decoded.records == tuple(records)
    assert [r.key for r in decoded.records] == [None, b"", b"k"]


def test_absolute_offsets_timestamps_and_sequences() -> None:
    records = [Record(0, 0, None, b"a"), Record(1, 7, None, b"b")]
    batch = RecordBatch.of(records, base_timestamp=1000, base_offset=50, base_sequence=2**31 - 1)
    assert batch.last_offset_delta == 1
    assert batch.max_timestamp == 1007
    assert [batch.offset_of(r) for r in records] == [50, 51]
    assert [batch.timestamp_of(r) for r in records] == [1000, 1007]
    # Sequences wrap at 2**31, as in Kafka's DefaultRecordBatch.incrementSequence.
    assert [batch.sequence_of(r) for r in records] == [2**31 - 1, 0]
    assert (batch.last_offset, batch.next_offset) == (51, 52)
    log_append = RecordBatch.of(
        records, base_timestamp=1000, attributes=make_attributes(log_append_time=True)
    )
    assert [log_append.timestamp_of(r) for r in records] == [1007, 1007]
    assert RecordBatch.of(records, base_timestamp=0).sequence_of(records[1]) == -1


def test_attributes_properties() -> None:
    attributes = make_attributes(
        Compression.ZSTD, log_append_time=True, transactional=True, control=True
    )
    batch = RecordBatch(
        attributes=attributes, last_offset_delta=-1, base_timestamp=0, max_timestamp=0
    )
    assert batch.compression == Compression.ZSTD
    assert batch.is_log_append_time
    assert batch.is_transactional
    assert batch.is_control
    assert not batch.has_delete_horizon
    assert attributes == 0x3C
    with pytest.raises(EncodeError):
        make_attributes(8)


def test_header_keys_that_are_not_utf8_survive() -> None:
    record = Record(
        0, 0, None, None, (Header(b"\xff\xfe".decode("utf-8", "surrogateescape"), None),)
    )
    encoded = encode_batch(RecordBatch.of([record], base_timestamp=0))
    assert b"\xff\xfe" in encoded
    assert decode_batch(encoded).records == (record,)


def test_encode_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(EncodeError):
        encode_batch(RecordBatch.of([Record(2**31, 0, None, None)], base_timestamp=0))
    with pytest.raises(EncodeError):
        encode_batch(
            RecordBatch(
                last_offset_delta=0, base_timestamp=0, max_timestamp=0, producer_epoch=2**15
            )
        )


# --- several batches in one buffer ------------------------------------------------


@given(st.lists(batches(), min_size=1, max_size=4))
def test_iterate_concatenated_batches(many: list[RecordBatch]) -> None:
    buf = encode_batches(many)
    assert list(iter_batches(buf)) == many
    positions, pos = [], 0
    while pos < len(buf):
        size = batch_size_at(buf, pos)
        assert size is not None
        positions.append(pos)
        pos += size
    assert [decode_batch(buf, p) for p in positions] == many


def test_partial_tail() -> None:
    one = encode_batch(RecordBatch.of([Record(0, 0, b"k", b"v")], base_timestamp=0))
    buf = one + one[:-1]
    with pytest.raises(DecodeError, match="partial"):
        list(iter_batches(buf))
    assert len(list(iter_batches(buf, allow_partial_tail=True))) == 1
    assert len(list(iter_batches(one + one[:5], allow_partial_tail=True))) == 1
    assert batch_size_at(buf, len(one)) is None


# --- malformed batches -----------------------------------------------------------


def simple_batch(count: int = 3, compression: int = 0) -> bytes:
    records = [Record(i, i, b"key", b"value-%d" % i) for i in range(count)]
    return encode_batch(
        RecordBatch.of(records, base_timestamp=1, attributes=make_attributes(compression))
    )


def with_crc(buf: bytearray) -> bytes:
    buf[CRC_OFFSET : CRC_OFFSET + 4] = crc32c(memoryview(buf)[21:]).to_bytes(4, "big")
    return bytes(buf)


def patch(batch: bytes, offset: int, fmt: str, value: int) -> bytes:
    buf = bytearray(batch)
    struct.pack_into(fmt, buf, offset, value)
    return with_crc(buf)


def test_crc_mismatch() -> None:
    buf = bytearray(simple_batch())
    buf[-2] ^= 1  # the last byte of the last value (a headers count follows it)
    with pytest.raises(DecodeError, match="CRC"):
        decode_batch(bytes(buf))
    decode_batch(bytes(buf), verify_crc=False)  # still well formed: only the value changed


@pytest.mark.parametrize("compression", list(Compression))
def test_record_count_disagreeing_with_records(compression: int) -> None:
    batch = simple_batch(3, compression)
    with pytest.raises(DecodeError):
        decode_batch(patch(batch, RECORDS_COUNT_OFFSET, ">i", 2))  # a record left over
    with pytest.raises(DecodeError):
        decode_batch(patch(batch, RECORDS_COUNT_OFFSET, ">i", 4))  # a record missing
    with pytest.raises(DecodeError, match="negative"):
        decode_batch(patch(batch, RECORDS_COUNT_OFFSET, ">i", -1))


def test_more_records_than_last_offset_delta_allows() -> None:
    with pytest.raises(DecodeError, match="lastOffsetDelta"):
        decode_batch(patch(simple_batch(3), 23, ">i", 1))
    # Compaction leaves fewer records than offsets: that is fine.
    decoded = decode_batch(patch(simple_batch(3), 23, ">i", 9))
    assert decoded.last_offset_delta == 9


def test_short_buffers_and_bad_lengths() -> None:
    batch = simple_batch()
    with pytest.raises(DecodeError):
        decode_batch(batch[: HEADER_SIZE - 1])
    with pytest.raises(DecodeError, match="past the end"):
        decode_batch(batch[:-1])
    with pytest.raises(DecodeError, match="below the header"):
        decode_batch(patch(batch, 8, ">i", 48))
    with pytest.raises(DecodeError, match="magic"):
        decode_batch(patch(batch, 16, ">b", 1))


def records_body(*records: bytes) -> bytes:
    """A batch whose records section is given raw, with a recordsCount to match."""
    body = b"".join(records)
    buf = bytearray(simple_batch(1)[:HEADER_SIZE]) + body
    struct.pack_into(">i", buf, 8, len(buf) - 12)
    struct.pack_into(">i", buf, RECORDS_COUNT_OFFSET, len(records))
    return with_crc(buf)


def raw_record(fields: bytes, length: int | None = None) -> bytes:
    return varint_bytes(len(fields) if length is None else length) + fields


GOOD_FIELDS = b"\x00" + b"\x00" + b"\x00" + b"\x02k" + b"\x02v" + b"\x00"


def test_raw_record_helpers_build_a_valid_record() -> None:
    decoded = decode_batch(records_body(raw_record(GOOD_FIELDS)))
    assert decoded.records == (Record(0, 0, b"k", b"v"),)


@pytest.mark.parametrize(
    ("fields", "length"),
    [
        (GOOD_FIELDS, len(GOOD_FIELDS) + 1),  # declared longer than the batch holds
        (GOOD_FIELDS + b"\x00", None),  # fields shorter than the declared length
        (GOOD_FIELDS[:-1], None),  # header count missing
        (b"\x00\x00\x00\x10k\x02v\x00", None),  # key length past the record
        (b"\x00\x00\x00\x02k\x10v\x00", None),  # value length past the record
        (b"\x00\x00\x00\x02k\x02v\x01", None),  # negative header count
        (b"\x00\x00\x00\x02k\x02v\x04\x00\x00", None),  # more headers than bytes
        (b"\x00\x00\x00\x02k\x02v\x02\x01\x00", None),  # negative header key length
        (b"\x00\x00\x00\x02k\x02v\x02\x08a\x00", None),  # header key past the record
        (b"\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00", None),  # overlong varlong
    ],
)
def test_malformed_records(fields: bytes, length: int | None) -> None:
    with pytest.raises(DecodeError):
        decode_batch(records_body(raw_record(fields, length)))


def test_negative_key_length_reads_as_null_like_kafka() -> None:
    decoded = decode_batch(records_body(raw_record(b"\x00\x00\x00\x03\x03\x00")))
    assert decoded.records == (Record(0, 0, None, None),)


def test_bytes_after_the_last_record() -> None:
    buf = bytearray(records_body(raw_record(GOOD_FIELDS))) + b"\x00"
    struct.pack_into(">i", buf, 8, len(buf) - 12)
    with pytest.raises(DecodeError, match="left after"):
        decode_batch(with_crc(buf))


def test_decompression_is_bounded() -> None:
    records = [Record(0, 0, None, bytes(100_000))]
    batch = encode_batch(
        RecordBatch.of(records, base_timestamp=0, attributes=make_attributes(Compression.GZIP))
    )
    assert len(batch) < 1000
    with pytest.raises(DecodeError, match="limit"):
        decode_batch(batch, max_decompressed_size=10_000)


# --- fuzzing ---------------------------------------------------------------------


@given(data=st.binary(max_size=300))
def test_random_bytes_raise_decode_error_only(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        list(iter_batches(data, verify_crc=False))


MUTATION_SEEDS = [simple_batch(3, codec) for codec in Compression] + [
    encode_batch(
        end_txn_marker_batch(
            commit=True, producer_id=1, producer_epoch=0, coordinator_epoch=3, timestamp=9
        )
    )
]


@given(
    seed=st.sampled_from(MUTATION_SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 10_000),
)
def test_mutated_batches_raise_decode_error_only(
    seed: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    buf = bytearray(seed)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    buf = buf[: max(cut % (len(buf) + 1), 1)] if cut % 3 == 0 else buf
    for verify in (True, False):
        with contextlib.suppress(DecodeError):
            decode_batch(bytes(buf), verify_crc=verify)


# --- control records --------------------------------------------------------------


@pytest.mark.parametrize("commit", [True, False])
def test_end_txn_marker_batch(commit: bool) -> None:
    batch = end_txn_marker_batch(
        commit=commit, producer_id=42, producer_epoch=3, coordinator_epoch=17, timestamp=1234
    )
    decoded = decode_batch(encode_batch(batch))
    assert decoded.is_control
    assert decoded.is_transactional
    assert (decoded.producer_id, decoded.producer_epoch, decoded.base_sequence) == (42, 3, -1)
    key, value = control_record(decoded)
    assert key == ControlKey(0, ControlRecordType.COMMIT if commit else ControlRecordType.ABORT)
    assert decode_end_txn_marker(value) == EndTxnMarker(0, 17)
    assert value == b"\x00\x00\x00\x00\x00\x11"


@pytest.mark.parametrize("control_type", list(ControlRecordType)[2:])
def test_kraft_control_records_carry_raw_values(control_type: ControlRecordType) -> None:
    batch = control_batch(control_type, b"\x00\x01generated-struct", timestamp=5)
    key, value = control_record(decode_batch(encode_batch(batch)))
    assert key == ControlKey(0, control_type)
    assert value == b"\x00\x01generated-struct"
    assert not batch.is_transactional


def test_control_key_and_marker_codecs() -> None:
    assert encode_control_key(ControlRecordType.KRAFT_VOTERS) == b"\x00\x00\x00\x06"
    assert decode_control_key(b"\x00\x01\x00\x09extra") == ControlKey(1, 9)  # newer versions read
    for bad in (None, b"\x00\x00\x00", b"\xff\xff\x00\x00"):
        with pytest.raises(DecodeError):
            decode_control_key(bad)
    assert encode_end_txn_marker(5) == b"\x00\x00\x00\x00\x00\x05"
    assert decode_end_txn_marker(b"\x00\x02\x00\x00\x00\x05\x00") == EndTxnMarker(2, 5)
    for bad in (None, b"\x00\x00\x00\x00\x05", b"\x80\x00\x00\x00\x00\x05"):
        with pytest.raises(DecodeError):
            decode_end_txn_marker(bad)
    with pytest.raises(EncodeError):
        encode_end_txn_marker(2**31)


def test_control_record_requires_a_control_batch_with_one_record() -> None:
    with pytest.raises(DecodeError):
        control_record(RecordBatch.of([Record(0, 0, b"\x00\x00\x00\x01", None)], base_timestamp=0))
    two = RecordBatch.of(
        [Record(0, 0, b"\x00\x00\x00\x01", None), Record(1, 0, b"\x00\x00\x00\x01", None)],
        base_timestamp=0,
        attributes=make_attributes(control=True),
    )
    with pytest.raises(DecodeError):
        control_record(two)


# --- interop with kafka-python ---------------------------------------------------


kafka_records = st.lists(
    st.tuples(
        st.integers(0, 2**40),
        st.none() | st.binary(max_size=40),
        st.none() | st.binary(max_size=40),
        st.lists(st.tuples(st.text(max_size=8), st.none() | st.binary(max_size=8)), max_size=2),
    ),
    min_size=1,
    max_size=6,
)


@given(
    entries=kafka_records,
    compression=st.sampled_from(list(Compression)),
    idempotent=st.booleans(),
)
def test_we_decode_what_kafka_python_writes(
    entries: list[tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]],
    compression: int,
    idempotent: bool,
) -> None:
    producer = (7, 2, 100) if idempotent else (-1, -1, -1)
    raw = kafka_python_batch(
        [(i, ts, k, v, h) for i, (ts, k, v, h) in enumerate(entries)], compression, producer
    )
    batch = decode_batch(raw)
    theirs = DefaultRecordBatch(bytearray(raw))
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == producer
    assert batch.compression == theirs.compression_type
    assert batch.max_timestamp == theirs.max_timestamp
    got = [
        (
            batch.offset_of(r),
            batch.timestamp_of(r),
            r.key,
            r.value,
            [(h.key, h.value) for h in r.headers],
        )
        for r in batch.records
    ]
    assert got == [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in theirs]
    if compression == Compression.NONE:
        assert encode_batch(batch) == raw  # the same bytes, field for field


@given(batch=batches())
def test_kafka_python_decodes_what_we_write(batch: RecordBatch) -> None:
    assume(not batch.is_control)  # kafka-python turns control records into another type
    assume(batch.records or not batch.compression)  # it cannot read an empty xerial stream
    buf = encode_batch(batch)
    reader = MemoryRecords(buf)
    theirs = reader.next_batch()
    assert theirs is not None
    assert not reader.has_next()
    assert theirs.validate_crc()
    assert (theirs.base_offset, theirs.leader_epoch, theirs.last_offset_delta) == (
        batch.base_offset,
        batch.partition_leader_epoch,
        batch.last_offset_delta,
    )
    assert (theirs.producer_id, theirs.producer_epoch, theirs.base_sequence) == (
        batch.producer_id,
        batch.producer_epoch,
        batch.base_sequence,
    )
    assert theirs.is_transactional == batch.is_transactional
    assert theirs.timestamp_type == int(batch.is_log_append_time)
    ours = [
        (
            batch.offset_of(r),
            batch.timestamp_of(r),
            r.key,
            r.value,
            [(h.key, h.value) for h in r.headers],
        )
        for r in batch.records
    ]
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in theirs] == ours


def test_a_realistic_kafka_python_produce_batch_round_trips() -> None:
    rng = random.Random(7)
    entries: list[KafkaPythonEntry] = [
        (i, 1_700_000_000_000 + i, b"key-%d" % i, rng.randbytes(1000), [("trace", b"abc")])
        for i in range(16)
    ]
    for compression in Compression:
        raw = kafka_python_batch(entries, compression, (1000, 5, 0), transactional=True)
        batch = decode_batch(raw)
        assert batch.is_transactional
        assert len(batch.records) == 16
        assert decode_batch(encode_batch(batch)) == batch
