"""Produce-path validation and offset assignment: every rule and its error code.

Spec: shared/kafka-spec/docs/implementation.html ("Record Batch") and the rules of
Kafka's ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords and
LogValidator.validateBatch, tabled in odradek/protocol/records/validate.py.
"""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from odradek.protocol.records.batch import RecordBatch, decode_batch, encode_batch, make_attributes
from odradek.protocol.records.batch_header import (
    ATTRIBUTES_OFFSET,
    BASE_TIMESTAMP_OFFSET,
    CRC_OFFSET,
    LAST_OFFSET_DELTA_OFFSET,
    MAGIC_OFFSET,
    PRODUCER_ID_OFFSET,
    RECORDS_COUNT_OFFSET,
    read_header,
)
from odradek.protocol.records.compression import Compression
from odradek.protocol.records.control import end_txn_marker_batch
from odradek.protocol.records.crc import crc32c
from odradek.protocol.records.legacy import LegacyMessage, encode_message_set
from odradek.protocol.records.record import Record
from odradek.protocol.records.validate import (
    CORRUPT_MESSAGE,
    INVALID_RECORD,
    INVALID_TIMESTAMP,
    MESSAGE_TOO_LARGE,
    UNSUPPORTED_COMPRESSION_TYPE,
    RecordValidationError,
    _first_violation,
    assign_offsets,
    validate_produce_records,
)

BASE_SEQUENCE_OFFSET = 53
PRODUCER_EPOCH_OFFSET = 51


def client_batch(
    count: int = 4,
    compression: int = 0,
    producer: tuple[int, int, int] = (-1, -1, -1),
    transactional: bool = False,
) -> bytes:
    """A batch as a client writes it, by kafka-python's producer-side encoder."""
    builder = DefaultRecordBatchBuilder(
        2, compression, transactional, producer[0], producer[1], producer[2], 1 << 30
    )
    for i in range(count):
        # Values compressible enough that kafka-python keeps the codec it was asked for.
        builder.append(i, 1_700_000_000_000 + i, b"key-%d" % i, b"value-%d " % i * 20, [])
    batch = bytes(builder.build())
    assert read_header(batch).compression == compression
    return batch


def patched(batch: bytes, offset: int, fmt: str, value: int, *, fix_crc: bool = True) -> bytes:
    buf = bytearray(batch)
    struct.pack_into(fmt, buf, offset, value)
    if fix_crc:
        buf[CRC_OFFSET : CRC_OFFSET + 4] = crc32c(memoryview(buf)[21:]).to_bytes(4, "big")
    return bytes(buf)


def error_code(records: bytes, produce_version: int = 11, max_batch_size: int = 2**31) -> int:
    with pytest.raises(RecordValidationError) as info:
        validate_produce_records(memoryview(records), produce_version, max_batch_size)
    return info.value.error_code


# --- what passes -----------------------------------------------------------------


@pytest.mark.parametrize("compression", list(Compression))
def test_client_batches_pass(compression: int) -> None:
    batch = client_batch(5, compression)
    header = validate_produce_records(memoryview(batch))
    assert header == read_header(batch)
    assert header.records_count == 5
    assert header.size == len(batch)


def test_idempotent_and_transactional_batches_pass_with_their_producer_state() -> None:
    batch = client_batch(3, producer=(4000, 2, 2**31 - 2), transactional=True)
    header = validate_produce_records(batch)  # bytes are accepted too
    assert (header.producer_id, header.producer_epoch) == (4000, 2)
    assert (header.base_sequence, header.last_sequence) == (2**31 - 2, 0)
    assert header.is_transactional
    assert header.max_timestamp == 1_700_000_000_002


def test_non_idempotent_producers_may_leave_epoch_and_sequence_at_zero() -> None:
    # Sarama and kafkajs write producerId -1 with epoch and sequence 0; Kafka accepts it.
    batch = patched(client_batch(), PRODUCER_EPOCH_OFFSET, ">h", 0)
    header = validate_produce_records(patched(batch, BASE_SEQUENCE_OFFSET, ">i", 0))
    assert header.producer_id == -1


def test_zstd_from_produce_v7() -> None:
    assert validate_produce_records(client_batch(2, Compression.ZSTD), 7).records_count == 2


# --- every rule, with its error code ------------------------------------------------


def test_nothing_or_too_little() -> None:
    assert error_code(b"") == INVALID_RECORD
    assert error_code(client_batch()[:11]) == INVALID_RECORD


def test_batch_length_below_the_header() -> None:
    assert error_code(patched(client_batch(), 8, ">i", 48, fix_crc=False)) == CORRUPT_MESSAGE
    assert error_code(patched(client_batch(), 8, ">i", -5, fix_crc=False)) == CORRUPT_MESSAGE
    assert error_code(client_batch()[:12] + b"\x00") == INVALID_RECORD  # length fine, no magic


def test_invalid_magic_is_corrupt() -> None:
    assert error_code(patched(client_batch(), MAGIC_OFFSET, ">b", 3)) == CORRUPT_MESSAGE
    assert error_code(patched(client_batch(), MAGIC_OFFSET, ">b", -1)) == CORRUPT_MESSAGE


def test_legacy_magic_is_invalid_for_produce_v3_and_later() -> None:
    legacy = encode_message_set([LegacyMessage(0, b"k", b"v" * 60, 1, 5)])
    assert error_code(legacy) == INVALID_RECORD


def test_truncated_batch() -> None:
    batch = client_batch()
    assert error_code(batch[:-1]) == INVALID_RECORD
    assert error_code(batch[:40]) == INVALID_RECORD


def test_more_than_one_batch_or_trailing_bytes() -> None:
    batch = client_batch()
    assert error_code(batch + batch) == INVALID_RECORD
    assert error_code(batch + batch[:20]) == INVALID_RECORD
    assert error_code(batch + b"\x00") == INVALID_RECORD


def test_compression_codecs() -> None:
    attributes = read_header(client_batch()).attributes
    for codec in (5, 6, 7):
        bad = patched(client_batch(), ATTRIBUTES_OFFSET, ">h", attributes | codec)
        assert error_code(bad) == CORRUPT_MESSAGE
    zstd = client_batch(2, Compression.ZSTD)
    assert error_code(zstd, produce_version=6) == UNSUPPORTED_COMPRESSION_TYPE
    assert error_code(zstd, produce_version=3) == UNSUPPORTED_COMPRESSION_TYPE


def test_base_offset_must_be_zero() -> None:
    assert error_code(patched(client_batch(), 0, ">q", 1)) == INVALID_RECORD


def test_max_message_bytes() -> None:
    batch = client_batch()
    assert validate_produce_records(batch, max_batch_size=len(batch)).size == len(batch)
    assert error_code(batch, max_batch_size=len(batch) - 1) == MESSAGE_TOO_LARGE


def test_crc_mismatch_is_corrupt() -> None:
    batch = bytearray(client_batch())
    batch[-3] ^= 0x40
    assert error_code(bytes(batch)) == CORRUPT_MESSAGE
    # The CRC covers the header from the attributes on, too.
    assert error_code(patched(client_batch(), BASE_TIMESTAMP_OFFSET, ">q", 9, fix_crc=False)) == (
        CORRUPT_MESSAGE
    )


def test_record_count_and_last_offset_delta() -> None:
    batch = client_batch(4)
    assert error_code(patched(batch, LAST_OFFSET_DELTA_OFFSET, ">i", -1)) == INVALID_RECORD
    assert error_code(patched(batch, RECORDS_COUNT_OFFSET, ">i", 0)) == INVALID_RECORD
    assert error_code(patched(batch, RECORDS_COUNT_OFFSET, ">i", -3)) == INVALID_RECORD
    assert error_code(patched(batch, RECORDS_COUNT_OFFSET, ">i", 3)) == INVALID_RECORD
    assert error_code(patched(batch, LAST_OFFSET_DELTA_OFFSET, ">i", 4)) == INVALID_RECORD
    empty = encode_batch(RecordBatch(last_offset_delta=-1, base_timestamp=0, max_timestamp=0))
    assert error_code(empty) == INVALID_RECORD


def test_control_batches_from_clients() -> None:
    marker = end_txn_marker_batch(
        commit=True, producer_id=1, producer_epoch=0, coordinator_epoch=0, timestamp=0
    )
    assert error_code(encode_batch(marker)) == INVALID_RECORD


def test_producer_id_without_sequence() -> None:
    batch = client_batch(producer=(10, 0, 0))
    assert error_code(patched(batch, BASE_SEQUENCE_OFFSET, ">i", -1)) == INVALID_RECORD


def test_transactional_without_producer_id() -> None:
    batch = client_batch(producer=(10, 0, 0), transactional=True)
    assert error_code(patched(batch, PRODUCER_ID_OFFSET, ">q", -1)) == INVALID_RECORD


def test_log_append_time_set_by_the_client() -> None:
    attributes = read_header(client_batch()).attributes | 0x08
    bad = patched(client_batch(), ATTRIBUTES_OFFSET, ">h", attributes)
    assert error_code(bad) == INVALID_TIMESTAMP


def test_rules_are_reported_in_kafkas_order() -> None:
    # A batch at the wrong base offset and with a bad CRC: the offset rule comes first.
    bad = patched(client_batch(), 0, ">q", 7, fix_crc=False)
    bad = patched(bad, RECORDS_COUNT_OFFSET, ">i", 99, fix_crc=False)
    assert error_code(bad) == INVALID_RECORD
    assert error_code(bad, max_batch_size=10) == INVALID_RECORD  # offset before size
    # Too large and corrupt: MESSAGE_TOO_LARGE is checked before the CRC.
    unsized = patched(client_batch(), RECORDS_COUNT_OFFSET, ">i", 99, fix_crc=False)
    assert error_code(unsized, max_batch_size=10) == MESSAGE_TOO_LARGE


def test_error_carries_a_message() -> None:
    with pytest.raises(RecordValidationError, match="CRC") as info:
        validate_produce_records(patched(client_batch(), -2, ">b", 0, fix_crc=False))
    assert "RecordValidationError(2" in repr(info.value)


# --- the fast path and the rules agree ----------------------------------------------

SEEDS = [
    client_batch(3),
    client_batch(2, Compression.LZ4, (9, 1, 5), transactional=True),
    client_batch(1, Compression.ZSTD, (9, 1, 5)),
]
# Header fields the rules read, and the values that sit on their boundaries.
FIELDS = [
    (0, ">q", [0, 1, -1]),
    (8, ">i", [48, 49, 100, 2**31 - 1, -1]),
    (MAGIC_OFFSET, ">b", [0, 1, 2, 3, -1]),
    (ATTRIBUTES_OFFSET, ">h", [0, 3, 4, 5, 8, 0x10, 0x14, 0x20, 0x40, -1]),
    (LAST_OFFSET_DELTA_OFFSET, ">i", [-1, 0, 1, 2, 3]),
    (PRODUCER_ID_OFFSET, ">q", [-1, -2, 0, 9]),
    (BASE_SEQUENCE_OFFSET, ">i", [-1, 0, 5]),
    (RECORDS_COUNT_OFFSET, ">i", [-1, 0, 1, 2, 3]),
]


@given(
    seed=st.sampled_from(SEEDS),
    changes=st.lists(
        st.tuples(st.sampled_from(FIELDS), st.integers(0, 4), st.booleans()), max_size=4
    ),
    version=st.sampled_from([3, 6, 7, 11]),
    limit=st.sampled_from([2**31, 100]),
)
def test_fast_path_accepts_only_what_breaks_no_rule(
    seed: bytes,
    changes: list[tuple[tuple[int, str, list[int]], int, bool]],
    version: int,
    limit: int,
) -> None:
    batch = seed
    for (offset, fmt, values), pick, fix_crc in changes:
        batch = patched(batch, offset, fmt, values[pick % len(values)], fix_crc=fix_crc)
    try:
        validate_produce_records(batch, version, limit)
    except RecordValidationError:
        return
    with pytest.raises(AssertionError):
        _first_violation(memoryview(batch), version, limit)


@given(data=st.binary(max_size=200))
def test_random_bytes_raise_the_validation_error_only(data: bytes) -> None:
    with contextlib.suppress(RecordValidationError):
        validate_produce_records(data)


@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 10_000),
)
def test_mutated_batches_raise_the_validation_error_only(
    seed: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    buf = bytearray(seed)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    if cut % 2:
        buf = buf[: cut % (len(buf) + 1)]
    with contextlib.suppress(RecordValidationError):
        validate_produce_records(bytes(buf))


# --- assigning offsets -------------------------------------------------------------


def test_assign_offsets_rewrites_offset_and_epoch_outside_the_crc() -> None:
    original = client_batch(4, Compression.GZIP, (77, 1, 10))
    buf = bytearray(original)
    header = validate_produce_records(memoryview(buf))
    stamped = assign_offsets(buf, header, 1000, 12)
    assert stamped == read_header(buf)
    assert (stamped.base_offset, stamped.partition_leader_epoch) == (1000, 12)
    assert stamped.crc == header.crc
    assert buf[16:] == original[16:]  # from the magic on, byte for byte as sent
    decoded = decode_batch(buf)
    assert [decoded.offset_of(r) for r in decoded.records] == [1000, 1001, 1002, 1003]
    assert not decoded.is_log_append_time


def test_assign_offsets_with_log_append_time() -> None:
    buf = bytearray(client_batch(3))
    header = validate_produce_records(memoryview(buf))
    stamped = assign_offsets(memoryview(buf), header, 50, 2, log_append_time_ms=1_800_000_000_000)
    assert stamped == read_header(buf)
    assert stamped.is_log_append_time
    assert stamped.max_timestamp == 1_800_000_000_000
    assert stamped.base_timestamp == header.base_timestamp
    assert stamped.crc == crc32c(memoryview(buf)[21:]) != header.crc
    decoded = decode_batch(buf)  # checks the new CRC
    assert [decoded.timestamp_of(r) for r in decoded.records] == [1_800_000_000_000] * 3
    # An independent reader sees the same: LogAppendTime, every record at the append time.
    theirs = MemoryRecords(bytes(buf)).next_batch()
    assert theirs.validate_crc()
    assert [(r.offset, r.timestamp, r.timestamp_type) for r in theirs] == [
        (50 + i, 1_800_000_000_000, 1) for i in range(3)
    ]


def test_assign_offsets_at_a_position_inside_a_larger_buffer() -> None:
    batch = client_batch(2)
    frame = bytearray(b"\xee" * 30 + batch + b"\xee" * 5)
    records = memoryview(frame)[30 : 30 + len(batch)]
    header = validate_produce_records(records)
    assign_offsets(frame, header, 7, 1, log_append_time_ms=99, position=30)
    assert frame[:30] == b"\xee" * 30
    assert frame[-5:] == b"\xee" * 5
    decoded = decode_batch(frame, 30)
    assert (decoded.base_offset, decoded.partition_leader_epoch, decoded.max_timestamp) == (
        7,
        1,
        99,
    )


def test_assigned_batch_keeps_our_own_encoding_valid() -> None:
    batch = RecordBatch.of(
        [Record(i, i, None, b"v") for i in range(3)],
        base_timestamp=10,
        attributes=make_attributes(Compression.SNAPPY),
        producer_id=5,
        producer_epoch=0,
        base_sequence=0,
    )
    buf = bytearray(encode_batch(batch))
    assign_offsets(buf, validate_produce_records(buf), 2**40, 3, 123)
    decoded = decode_batch(buf)
    assert decoded.records == batch.records
    assert (decoded.base_offset, decoded.max_timestamp, decoded.is_log_append_time) == (
        2**40,
        123,
        True,
    )
