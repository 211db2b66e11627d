"""The old message format (magic 0 and 1): decoding, wrappers, offsets, interop.

Spec: shared/kafka-spec/docs/implementation.html ("Old Message Format"). The bytes
of the first tests are laid out by hand from that section; later tests use
kafka-python's LegacyRecordBatchBuilder and reader as an independent implementation.
"""

from __future__ import annotations

import contextlib
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from odradek.protocol.primitives import DecodeError, EncodeError
from odradek.protocol.records.compression import Compression, compress
from odradek.protocol.records.legacy import (
    CREATE_TIME,
    LOG_APPEND_TIME,
    NO_TIMESTAMP,
    NO_TIMESTAMP_TYPE,
    LegacyMessage,
    decode_message_set,
    encode_message,
    encode_message_set,
    encode_wrapper,
)

LEGACY_CODECS = [Compression.GZIP, Compression.SNAPPY, Compression.LZ4]


def hand_message(
    offset: int,
    key: bytes | None,
    value: bytes | None,
    *,
    magic: int = 1,
    attributes: int = 0,
    timestamp: int = 0,
) -> bytes:
    """One message laid out field by field from the spec, independent of legacy.py."""

    def nullable(data: bytes | None) -> bytes:
        return struct.pack(">i", -1) if data is None else struct.pack(">i", len(data)) + data

    after_crc = struct.pack(">bb", magic, attributes)
    if magic == 1:
        after_crc += struct.pack(">q", timestamp)
    after_crc += nullable(key) + nullable(value)
    message = struct.pack(">I", zlib.crc32(after_crc)) + after_crc
    return struct.pack(">qi", offset, len(message)) + message


def view(messages: list[LegacyMessage]) -> list[tuple[int, int, int, bytes | None, bytes | None]]:
    return [(m.offset, m.timestamp, m.timestamp_type, m.key, m.value) for m in messages]


# --- hand-built bytes -------------------------------------------------------------


def test_uncompressed_magic_0_and_1() -> None:
    buf = (
        hand_message(0, b"k0", b"v0", magic=0)
        + hand_message(1, None, b"v1", magic=1, timestamp=1000)
        + hand_message(2, b"", None, magic=1, timestamp=2000, attributes=0x08)
    )
    assert view(decode_message_set(buf)) == [
        (0, NO_TIMESTAMP, NO_TIMESTAMP_TYPE, b"k0", b"v0"),
        (1, 1000, CREATE_TIME, None, b"v1"),
        (2, 2000, LOG_APPEND_TIME, b"", None),
    ]
    assert decode_message_set(buf)[0].magic == 0


def test_our_encoder_writes_the_spec_layout() -> None:
    for magic in (0, 1):
        message = LegacyMessage(5, b"key", b"value", magic, 77 if magic else -1)
        assert encode_message(message) == hand_message(
            5, b"key", b"value", magic=magic, timestamp=77
        )


@pytest.mark.parametrize("codec", LEGACY_CODECS)
def test_magic_1_wrapper_with_relative_offsets(codec: int) -> None:
    inner = b"".join(hand_message(i, None, b"v%d" % i, timestamp=100 + i) for i in range(3))
    wrapper = hand_message(
        42, None, compress(codec, inner), attributes=codec, timestamp=999
    )  # the wrapper holds the absolute offset of the last inner message
    assert view(decode_message_set(wrapper)) == [
        (40, 100, CREATE_TIME, None, b"v0"),
        (41, 101, CREATE_TIME, None, b"v1"),
        (42, 102, CREATE_TIME, None, b"v2"),
    ]


def test_magic_1_log_append_time_wrapper_sets_every_timestamp() -> None:
    inner = b"".join(hand_message(i, None, b"v", timestamp=100 + i) for i in range(2))
    wrapper = hand_message(
        11, None, compress(Compression.GZIP, inner), attributes=0x08 | 1, timestamp=5555
    )
    assert [(m.offset, m.timestamp, m.timestamp_type) for m in decode_message_set(wrapper)] == [
        (10, 5555, LOG_APPEND_TIME),
        (11, 5555, LOG_APPEND_TIME),
    ]


def test_magic_1_wrapper_at_offset_zero_keeps_inner_offsets() -> None:
    # What some librdkafka versions produce: Kafka reads the inner offsets as they are.
    inner = b"".join(hand_message(i, None, b"v", timestamp=1) for i in range(3))
    wrapper = hand_message(0, None, compress(Compression.GZIP, inner), attributes=1)
    assert [m.offset for m in decode_message_set(wrapper)] == [0, 1, 2]


def test_magic_1_wrapper_offset_below_last_inner_offset() -> None:
    inner = b"".join(hand_message(i, None, b"v", timestamp=1) for i in range(3))
    wrapper = hand_message(1, None, compress(Compression.GZIP, inner), attributes=1)
    with pytest.raises(DecodeError, match="below"):
        decode_message_set(wrapper)


@pytest.mark.parametrize("codec", LEGACY_CODECS)
def test_magic_0_wrapper_keeps_absolute_inner_offsets(codec: int) -> None:
    inner = [LegacyMessage(100 + i, b"k", b"v%d" % i, 0) for i in range(3)]
    wrapper = encode_wrapper(inner, codec, offset=102, magic=0)
    assert view(decode_message_set(wrapper)) == [
        (100 + i, NO_TIMESTAMP, NO_TIMESTAMP_TYPE, b"k", b"v%d" % i) for i in range(3)
    ]


def test_magic_0_lz4_carries_kafkas_broken_descriptor_checksum() -> None:
    inner = [LegacyMessage(i, None, b"value", 0) for i in range(2)]
    wrapper = encode_wrapper(inner, Compression.LZ4, offset=1, magic=0)
    correct = compress(Compression.LZ4, encode_message_set(inner))
    frame_at = len(wrapper) - len(correct)  # the value is the last field
    assert wrapper[frame_at : frame_at + 6] == correct[:6]
    assert wrapper[frame_at + 6] != correct[6]  # KAFKA-3160: hashed with the frame magic
    assert [m.offset for m in decode_message_set(wrapper)] == [0, 1]
    # A magic 1 wrapper around the same broken frame is refused: only magic 0 had the bug.
    broken = wrapper[frame_at:]
    with pytest.raises(DecodeError):
        decode_message_set(hand_message(1, None, broken, attributes=3, timestamp=0))


def test_mixed_plain_and_compressed_entries() -> None:
    inner = b"".join(hand_message(i, None, b"c%d" % i, timestamp=7) for i in range(2))
    buf = (
        hand_message(0, None, b"p0", timestamp=5)
        + hand_message(2, None, compress(Compression.SNAPPY, inner), attributes=2, timestamp=7)
        + hand_message(3, None, b"p3", timestamp=9)
    )
    assert [(m.offset, m.value) for m in decode_message_set(buf)] == [
        (0, b"p0"),
        (1, b"c0"),
        (2, b"c1"),
        (3, b"p3"),
    ]


# --- malformed message sets --------------------------------------------------------


def test_crc_mismatch() -> None:
    buf = bytearray(hand_message(0, b"k", b"value"))
    buf[-1] ^= 1
    with pytest.raises(DecodeError, match="CRC"):
        decode_message_set(bytes(buf))
    assert decode_message_set(bytes(buf), verify_crc=False)[0].value == b"valud"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],  # truncated
        lambda b: b[:8] + struct.pack(">i", 13) + b[12:],  # size below the minimum
        lambda b: b + b"\x00" * 5,  # partial entry at the end
    ],
)
def test_truncation_and_sizes(mutate: object) -> None:
    buf = hand_message(0, b"k", b"value")
    with pytest.raises(DecodeError):
        decode_message_set(mutate(buf))  # type: ignore[operator]


def test_partial_tail_allowed_when_asked() -> None:
    one = hand_message(0, b"k", b"v")
    assert len(decode_message_set(one + one[:-3], allow_partial_tail=True)) == 1
    assert len(decode_message_set(one + one[:7], allow_partial_tail=True)) == 1


def test_bad_magic_and_bad_field_lengths() -> None:
    message = bytearray(hand_message(0, b"k", b"v"))
    message[16] = 2
    with pytest.raises(DecodeError, match="magic"):
        decode_message_set(bytes(message), verify_crc=False)
    # A magic 1 message too short for its timestamp.
    with pytest.raises(DecodeError):
        decode_message_set(
            hand_message(0, None, None, magic=0)[:16] + b"\x01\x00" + b"\xff" * 8, verify_crc=False
        )
    # Key length past the end of the message; bytes left after the value.
    long_key = bytearray(hand_message(0, b"k", b"v", magic=0))
    struct.pack_into(">i", long_key, 18, 50)
    with pytest.raises(DecodeError):
        decode_message_set(bytes(long_key), verify_crc=False)
    trailing = bytearray(hand_message(0, b"k", b"v", magic=0) + b"\x00")
    struct.pack_into(">i", trailing, 8, len(trailing) - 12)
    with pytest.raises(DecodeError, match="left after"):
        decode_message_set(bytes(trailing), verify_crc=False)


def test_wrapper_rules() -> None:
    inner = hand_message(0, None, b"v", timestamp=1)
    # zstd never existed for magic 0 and 1; neither did codecs 5-7.
    for codec in (4, 5):
        with pytest.raises(DecodeError):
            decode_message_set(hand_message(0, None, compress(1, inner), attributes=codec))
    with pytest.raises(DecodeError, match="null value"):
        decode_message_set(hand_message(0, None, None, attributes=1))
    with pytest.raises(DecodeError, match="no inner"):
        decode_message_set(hand_message(0, None, compress(1, b""), attributes=1))
    nested = hand_message(0, None, compress(1, inner), attributes=1)
    with pytest.raises(DecodeError, match="must not be compressed"):
        decode_message_set(hand_message(0, None, compress(1, nested), attributes=1))
    with pytest.raises(DecodeError):
        decode_message_set(hand_message(0, None, b"not gzip", attributes=1))
    with pytest.raises(EncodeError):
        encode_wrapper([], Compression.ZSTD, offset=0)


def test_decompression_budget_covers_the_whole_set() -> None:
    inner = hand_message(0, None, bytes(10_000), timestamp=1)
    wrapper = hand_message(0, None, compress(1, inner), attributes=1)
    assert len(decode_message_set(wrapper * 2, max_decompressed_size=2 * len(inner))) == 2
    with pytest.raises(DecodeError, match="limit"):
        decode_message_set(wrapper * 2, max_decompressed_size=2 * len(inner) - 1)


# --- fuzzing ---------------------------------------------------------------------

SEEDS = [
    hand_message(0, b"k", b"v", magic=0) + hand_message(1, None, b"value", timestamp=3),
    encode_wrapper([LegacyMessage(i, None, b"v", 1, 5) for i in range(3)], 1, offset=2),
    encode_wrapper([LegacyMessage(i, None, b"v", 0) for i in range(3)], 3, offset=2, magic=0),
    encode_wrapper([LegacyMessage(i, None, b"v", 1, 5) for i in range(3)], 2, offset=9),
]


@given(data=st.binary(max_size=300))
def test_random_bytes_raise_decode_error_only(data: bytes) -> None:
    for verify in (True, False):
        with contextlib.suppress(DecodeError):
            decode_message_set(data, verify_crc=verify)


@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_mutated_message_sets_raise_decode_error_only(
    seed: bytes, flips: list[tuple[int, int]]
) -> None:
    buf = bytearray(seed)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    with contextlib.suppress(DecodeError):
        decode_message_set(bytes(buf), verify_crc=False)


# --- interop with kafka-python ---------------------------------------------------


def no_none(timestamp: int | None) -> int:
    """kafka-python says None where Kafka says NO_TIMESTAMP (-1), for magic 0."""
    return NO_TIMESTAMP if timestamp is None else timestamp


entries = st.lists(
    st.tuples(st.none() | st.binary(max_size=30), st.none() | st.binary(max_size=30)),
    min_size=1,
    max_size=5,
)


@pytest.mark.parametrize(
    ("magic", "codec"),
    [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2), (1, 3)],
    # kafka-python needs the xxhash package for magic 0 lz4; that case is covered above.
)
@given(items=entries)
def test_we_decode_what_kafka_python_writes(
    magic: int, codec: int, items: list[tuple[bytes | None, bytes | None]]
) -> None:
    builder = LegacyRecordBatchBuilder(magic, codec, 1 << 20)
    for i, (key, value) in enumerate(items):
        assert builder.append(i, 1_000 + i, key, value) is not None
    buf = bytes(builder.build())
    ours = decode_message_set(buf)
    theirs: list[tuple[int, int, bytes | None, bytes | None]] = []
    reader = MemoryRecords(buf)
    while (batch := reader.next_batch()) is not None:
        theirs.extend((r.offset, no_none(r.timestamp), r.key, r.value) for r in batch)
    assert [(m.offset, m.timestamp, m.key, m.value) for m in ours] == theirs
    expected_timestamps = [1_000 + i for i in range(len(items))] if magic else [-1] * len(items)
    assert [m.timestamp for m in ours] == expected_timestamps
    assert [m.offset for m in ours] == list(range(len(items)))


@pytest.mark.parametrize(("magic", "codec"), [(0, 1), (1, 1), (0, 2), (1, 2), (1, 3)])
@given(items=entries, last_offset=st.integers(10, 2**40))
def test_kafka_python_decodes_what_we_write(
    magic: int, codec: int, items: list[tuple[bytes | None, bytes | None]], last_offset: int
) -> None:
    first = last_offset - len(items) + 1
    inner = [
        LegacyMessage(i if magic else first + i, key, value, magic, 500 + i if magic else -1)
        for i, (key, value) in enumerate(items)
    ]
    buf = encode_message_set([LegacyMessage(0, b"plain", b"p", magic, 7 if magic else -1)])
    buf += encode_wrapper(inner, codec, offset=last_offset, magic=magic, timestamp=600)
    theirs: list[tuple[int, int, bytes | None, bytes | None]] = []
    reader = MemoryRecords(buf)
    while (batch := reader.next_batch()) is not None:
        assert batch.validate_crc()
        theirs.extend((r.offset, no_none(r.timestamp), r.key, r.value) for r in batch)
    ours = [(m.offset, m.timestamp, m.key, m.value) for m in decode_message_set(buf)]
    assert theirs == ours
    assert [o for o, *_ in ours[1:]] == list(range(first, last_offset + 1))
