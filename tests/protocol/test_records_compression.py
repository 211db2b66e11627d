"""Compression codecs of record batches: round trips, framings, bounds, and interop.

Spec: shared/kafka-spec/docs/implementation.html ("Record Batch", attributes bits 0-2).
kafka-python's codec functions are an independent implementation of the same
framings (xerial snappy, LZ4 frames, gzip, zstd) and check ours both ways.
"""

from __future__ import annotations

import contextlib
import gzip
import struct
import zlib

import cramjam
import lz4.frame
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from kafka import codec as kafka_codec

from odradek.protocol.primitives import DecodeError, EncodeError
from odradek.protocol.records.compression import (
    XERIAL_BLOCK_SIZE,
    XERIAL_MAGIC,
    Compression,
    compress,
    decompress,
    lz4_descriptor_checksum,
)
from odradek.protocol.records.crc import crc32, crc32c, hardware_accelerated

CODECS = list(Compression)
COMPRESSED = [c for c in Compression if c != Compression.NONE]

# Compressible data longer than one xerial block and one LZ4 block.
TEXT = b"".join(b"record %d says hello to the broker\n" % i for i in range(5000))


def test_crc32c_known_answer() -> None:
    # The check value of CRC-32C (RFC 3720, appendix B.4) and of CRC-32.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32(b"123456789") == 0xCBF43926
    assert crc32c(memoryview(b"xx123456789")[2:]) == 0xE3069283
    assert isinstance(hardware_accelerated(), bool)


@pytest.mark.parametrize("codec", CODECS)
@given(data=st.binary(max_size=3000))
def test_round_trip(codec: Compression, data: bytes) -> None:
    assert decompress(codec, compress(codec, data)) == data


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_large_input_and_memoryview(codec: Compression) -> None:
    compressed = compress(codec, memoryview(TEXT))
    assert decompress(codec, memoryview(compressed)) == TEXT
    assert decompress(codec, compressed, max_size=len(TEXT)) == TEXT


@pytest.mark.parametrize("codec", COMPRESSED)
def test_output_beyond_the_limit_is_refused(codec: Compression) -> None:
    with pytest.raises(DecodeError, match="limit"):
        decompress(codec, compress(codec, TEXT), max_size=len(TEXT) - 1)


@pytest.mark.parametrize("codec", COMPRESSED)
def test_a_bomb_is_refused_without_expanding_it(codec: Compression) -> None:
    # 64 MiB of zeros compresses to a few KiB (less for zstd); a 1 MiB limit must stop it.
    bomb = compress(codec, bytes(64 * 1024 * 1024))
    with pytest.raises(DecodeError, match="limit"):
        decompress(codec, bomb, max_size=1024 * 1024)


def test_zstd_bomb_without_content_size_is_refused() -> None:
    # Streaming writers (zstd-jni in the Java client) leave out the frame content size.
    bomb = zstandard.ZstdCompressor(write_content_size=False).compress(bytes(64 * 1024 * 1024))
    with pytest.raises(DecodeError, match="limit"):
        decompress(Compression.ZSTD, bomb, max_size=1024 * 1024)


def test_uncompressed_data_is_bounded_too() -> None:
    with pytest.raises(DecodeError):
        decompress(Compression.NONE, b"abc", max_size=2)


@pytest.mark.parametrize("codec", COMPRESSED)
def test_truncated_data_is_refused(codec: Compression) -> None:
    compressed = compress(codec, TEXT)
    with pytest.raises(DecodeError):
        decompress(codec, compressed[: len(compressed) // 2])


@pytest.mark.parametrize("codec", COMPRESSED)
@given(garbage=st.binary(max_size=200))
def test_garbage_raises_decode_error_only(codec: Compression, garbage: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decompress(codec, garbage, max_size=1 << 20)


def test_unknown_codec() -> None:
    with pytest.raises(DecodeError):
        decompress(5, b"")
    with pytest.raises(EncodeError):
        compress(7, b"")


# --- snappy ----------------------------------------------------------------------


def test_snappy_writes_xerial_framing() -> None:
    out = compress(Compression.SNAPPY, TEXT)
    assert out[:8] == XERIAL_MAGIC == b"\x82SNAPPY\x00"
    assert struct.unpack(">ii", out[8:16]) == (1, 1)
    pos, blocks = 16, []
    while pos < len(out):
        (length,) = struct.unpack_from(">i", out, pos)
        blocks.append(bytes(cramjam.snappy.decompress_raw(out[pos + 4 : pos + 4 + length])))
        pos += 4 + length
    assert pos == len(out)
    assert all(len(block) == XERIAL_BLOCK_SIZE for block in blocks[:-1])
    assert b"".join(blocks) == TEXT


def test_snappy_reads_raw_blocks() -> None:
    raw = bytes(cramjam.snappy.compress_raw(TEXT))
    assert decompress(Compression.SNAPPY, raw) == TEXT


def test_snappy_empty_input_is_header_only() -> None:
    out = compress(Compression.SNAPPY, b"")
    assert len(out) == 16
    assert decompress(Compression.SNAPPY, out) == b""


def test_snappy_xerial_block_length_past_the_end() -> None:
    out = bytearray(compress(Compression.SNAPPY, TEXT[:100]))
    out[16:20] = struct.pack(">i", 10_000)
    with pytest.raises(DecodeError):
        decompress(Compression.SNAPPY, bytes(out))


# --- lz4 -------------------------------------------------------------------------


def test_lz4_frame_is_what_the_java_reader_accepts() -> None:
    frame = compress(Compression.LZ4, TEXT)
    info = lz4.frame.get_frame_info(frame)
    assert info["block_linked"] is False  # Lz4BlockInputStream refuses dependent blocks
    assert info["block_size_id"] == 4  # 64 KiB, Kafka's default
    assert info["content_checksum"] is False


def test_lz4_descriptor_checksum_matches_the_lz4_library() -> None:
    for store_size in (False, True):
        frame = lz4.frame.compress(b"hello", store_size=store_size)
        end = 14 if store_size else 6
        assert frame[end] == lz4_descriptor_checksum(frame[4:end])


def test_lz4_broken_descriptor_checksum_only_for_magic_0() -> None:
    frame = bytearray(compress(Compression.LZ4, TEXT))
    frame[6] ^= 0xFF
    with pytest.raises(DecodeError):
        decompress(Compression.LZ4, bytes(frame))
    assert decompress(Compression.LZ4, bytes(frame), lz4_legacy_header=True) == TEXT


# --- gzip ------------------------------------------------------------------------


def test_gzip_reads_concatenated_members_and_ignores_trailing_bytes() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second") + b"\x00\x00"
    assert decompress(Compression.GZIP, data) == b"first second"


def test_gzip_writes_a_gzip_stream() -> None:
    out = compress(Compression.GZIP, TEXT)
    assert out[:2] == b"\x1f\x8b"
    assert gzip.decompress(out) == TEXT
    assert zlib.decompress(out, 31) == TEXT


# --- zstd ------------------------------------------------------------------------


def test_zstd_reads_several_frames_without_content_size() -> None:
    writer = zstandard.ZstdCompressor(write_content_size=False)
    data = writer.compress(TEXT) + writer.compress(b"tail")
    assert decompress(Compression.ZSTD, data) == TEXT + b"tail"


def test_zstd_frame_lying_about_its_size_is_refused() -> None:
    frame = bytearray(zstandard.ZstdCompressor().compress(b"a" * 1000))
    # Single-segment frame with a 2-byte content size field (value - 256) after the
    # 4-byte magic and the descriptor byte: declare 256 bytes instead of 1000.
    frame[5:7] = b"\x00\x00"
    with pytest.raises(DecodeError):
        decompress(Compression.ZSTD, bytes(frame))


# --- interop with kafka-python's codecs -------------------------------------------


# kafka-python does not recognise a header-only xerial stream; no batch body is empty.
@given(data=st.binary(min_size=1, max_size=2000))
def test_kafka_python_reads_ours(data: bytes) -> None:
    assert kafka_codec.gzip_decode(compress(Compression.GZIP, data)) == data
    assert kafka_codec.snappy_decode(compress(Compression.SNAPPY, data)) == data
    assert kafka_codec.lz4_decode(compress(Compression.LZ4, data)) == data
    assert kafka_codec.zstd_decode(compress(Compression.ZSTD, data)) == data


@given(data=st.binary(max_size=2000))
def test_we_read_kafka_pythons(data: bytes) -> None:
    assert decompress(Compression.GZIP, kafka_codec.gzip_encode(data)) == data
    assert decompress(Compression.SNAPPY, kafka_codec.snappy_encode(data)) == data
    raw = kafka_codec.snappy_encode(data, xerial_compatible=False)
    assert decompress(Compression.SNAPPY, raw) == data
    assert decompress(Compression.LZ4, kafka_codec.lz4_encode(data)) == data
    assert decompress(Compression.ZSTD, kafka_codec.zstd_encode(data)) == data
