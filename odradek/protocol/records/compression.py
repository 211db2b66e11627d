"""The compression codecs of Kafka record batches, both ways, with bounded output.

A batch's attributes name its codec in bits 0-2 (``docs/implementation.html``,
"Record Batch"; the same ids in the old message format's attributes):

====  ======  =========================================================================
 id   codec   bytes on the wire
====  ======  =========================================================================
  0   none
  1   gzip    a gzip stream (RFC 1952), as ``java.util.zip.GZIPOutputStream`` writes it
  2   snappy  xerial's framing (below) from the Java client; raw snappy from others
  3   lz4     one LZ4 frame, independent blocks, no content checksum
  4   zstd    zstd frames, often without the content size (streaming writers)
====  ======  =========================================================================

**Snappy.** The Java client wraps snappy blocks in the framing of the xerial
``snappy-java`` library: the magic ``\\x82SNAPPY\\x00``, a big-endian int32 version
(1) and compatible version (1), then blocks, each a big-endian int32 length followed
by one raw snappy block of at most 32 KiB of input. librdkafka and other clients may
write a single raw snappy block instead; readers accept both, told apart by the magic.

**LZ4 and magic 0.** Kafka before 0.10 computed the LZ4 frame descriptor checksum
over the wrong bytes (KAFKA-3160), and kept doing so for magic 0 messages so that old
readers could read them. Such frames fail a standard LZ4 reader, so for magic 0 the
checksum byte is recomputed before decoding (:func:`decompress` with
``lz4_legacy_header=True``).

**Bounded output.** Every decoder takes the largest output the caller accepts and
raises :class:`DecodeError` as soon as the output would pass it, before allocating
more: a small batch must not be able to expand into gigabytes.

Errors from the codec libraries on malformed input are raised as ``DecodeError``.
"""

from __future__ import annotations

import enum
import struct
import zlib

import cramjam
import lz4.frame
import zstandard

from odradek.protocol.primitives import Buffer, DecodeError, EncodeError


class Compression(enum.IntEnum):
    """Codec ids, as stored in bits 0-2 of batch and message attributes."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


#: A decompressed batch body larger than this is refused unless the caller allows
#: more. Kafka's default ``message.max.bytes`` is about 1 MiB of compressed bytes;
#: 64 MiB leaves room for any sane compression ratio.
DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024

# --- snappy, xerial framing -------------------------------------------------------

XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = struct.Struct(">8sii")
_XERIAL_VERSION = 1
_XERIAL_COMPATIBLE_VERSION = 1
#: Input bytes per snappy block, the default of snappy-java's SnappyOutputStream.
XERIAL_BLOCK_SIZE = 32 * 1024
_BLOCK_LENGTH = struct.Struct(">i")


def _snappy_compress(data: Buffer) -> bytes:
    view = memoryview(data)
    out = bytearray(_XERIAL_HEADER.pack(XERIAL_MAGIC, _XERIAL_VERSION, _XERIAL_COMPATIBLE_VERSION))
    for start in range(0, len(view), XERIAL_BLOCK_SIZE):
        block = cramjam.snappy.compress_raw(view[start : start + XERIAL_BLOCK_SIZE])
        out += _BLOCK_LENGTH.pack(len(block))
        out += block
    return bytes(out)


def _snappy_raw_block(block: Buffer, budget: int) -> bytes:
    """Decode one raw snappy block whose declared length must fit in ``budget``."""
    declared = cramjam.snappy.decompress_raw_len(block)
    if declared > budget:
        raise DecodeError(f"snappy block of {declared} bytes exceeds the decompression limit")
    return bytes(cramjam.snappy.decompress_raw(block))


def _snappy_decompress(data: Buffer, max_size: int) -> bytes:
    view = memoryview(data)
    if len(view) < _XERIAL_HEADER.size or view[:8] != XERIAL_MAGIC:
        return _snappy_raw_block(view, max_size)
    out = bytearray()
    pos = _XERIAL_HEADER.size
    end = len(view)
    while pos < end:
        if end - pos < 4:
            raise DecodeError("truncated xerial snappy block length")
        (length,) = _BLOCK_LENGTH.unpack_from(view, pos)
        pos += 4
        if length < 0 or length > end - pos:
            raise DecodeError(f"xerial snappy block length {length} runs past the data")
        out += _snappy_raw_block(view[pos : pos + length], max_size - len(out))
        pos += length
    return bytes(out)


# --- lz4 -------------------------------------------------------------------------

_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_LZ4_FLG_CONTENT_SIZE = 0x08
_LZ4_FLG_DICT_ID = 0x01


def _xxh32_short(data: bytes) -> int:
    """XXH32 with seed 0 of fewer than 16 bytes: all an LZ4 frame descriptor needs."""
    p1, p2, p3, p4, p5 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1
    mask = 0xFFFFFFFF
    assert len(data) < 16
    h = (p5 + len(data)) & mask
    pos = 0
    while pos + 4 <= len(data):
        h = (h + int.from_bytes(data[pos : pos + 4], "little") * p3) & mask
        h = (((h << 17) | (h >> 15)) & mask) * p4 & mask
        pos += 4
    for byte in data[pos:]:
        h = (h + byte * p5) & mask
        h = (((h << 11) | (h >> 21)) & mask) * p1 & mask
    h ^= h >> 15
    h = h * p2 & mask
    h ^= h >> 13
    h = h * p3 & mask
    h ^= h >> 16
    return h


def lz4_descriptor_checksum(descriptor: bytes) -> int:
    """The header checksum byte an LZ4 frame stores after its descriptor (FLG onwards)."""
    return (_xxh32_short(descriptor) >> 8) & 0xFF


def _repair_legacy_lz4_header(data: Buffer) -> bytes:
    """Rewrite the descriptor checksum of a KAFKA-3160 frame (magic 0) to the correct one."""
    frame = bytearray(data)
    if len(frame) < 7 or frame[:4] != _LZ4_MAGIC:
        raise DecodeError("not an LZ4 frame")
    flg = frame[4]
    checksum_at = 6
    if flg & _LZ4_FLG_CONTENT_SIZE:
        checksum_at += 8
    if flg & _LZ4_FLG_DICT_ID:
        checksum_at += 4
    if len(frame) <= checksum_at:
        raise DecodeError("truncated LZ4 frame descriptor")
    frame[checksum_at] = lz4_descriptor_checksum(bytes(frame[4:checksum_at]))
    return bytes(frame)


def _lz4_compress(data: Buffer, level: int | None) -> bytes:
    # The Java reader (Lz4BlockInputStream) insists on independent blocks; 64 KiB
    # blocks and no content size or checksums mirror what the Java client writes.
    return lz4.frame.compress(
        data,
        compression_level=level if level is not None else 0,
        block_size=lz4.frame.BLOCKSIZE_MAX64KB,
        block_linked=False,
        content_checksum=False,
        store_size=False,
    )


def _lz4_decompress(data: Buffer, max_size: int, legacy_header: bool) -> bytes:
    if legacy_header:
        data = _repair_legacy_lz4_header(data)
    decompressor = lz4.frame.LZ4FrameDecompressor()
    try:
        out = decompressor.decompress(data, max_length=max_size + 1)
    except RuntimeError as exc:
        raise DecodeError(f"invalid LZ4 frame: {exc}") from exc
    if len(out) > max_size:
        raise DecodeError("LZ4 data exceeds the decompression limit")
    if not decompressor.eof:
        raise DecodeError("truncated LZ4 frame")
    # Like the Java reader, anything after the end of the frame is ignored.
    return out


# --- zstd ------------------------------------------------------------------------

_ZSTD_DECOMPRESSOR = zstandard.ZstdDecompressor()
#: No zstd block expands by more than this factor (an RLE block: 4 bytes for
#: 128 KiB), so feeding the decoder ``budget // _ZSTD_MAX_RATIO`` input bytes at a
#: time bounds its output even when a frame does not declare its size.
_ZSTD_MAX_RATIO = 1 << 16
_ZSTD_MAX_FEED = 64 * 1024


def _zstd_decompress(data: Buffer, max_size: int) -> bytes:
    view = memoryview(data)
    out = bytearray()
    pos = 0
    end = len(view)
    if end == 0:
        raise DecodeError("empty zstd data")
    while pos < end:
        decompressor = _ZSTD_DECOMPRESSOR.decompressobj()
        try:
            declared = zstandard.frame_content_size(view[pos:])
        except zstandard.ZstdError:
            declared = -1
        while not decompressor.eof:
            if pos >= end:
                raise DecodeError("truncated zstd frame")
            budget = max_size - len(out)
            if 0 <= declared <= budget:
                # The decoder refuses output beyond the size the frame declares.
                feed = end - pos
            else:
                feed = min(max(budget // _ZSTD_MAX_RATIO, 1), _ZSTD_MAX_FEED, end - pos)
            out += decompressor.decompress(view[pos : pos + feed])
            pos += feed
            if len(out) > max_size:
                raise DecodeError("zstd data exceeds the decompression limit")
        # Input fed past the end of this frame belongs to the next one.
        pos -= len(decompressor.unused_data)
    return bytes(out)


# --- gzip ------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def _gzip_compress(data: Buffer, level: int | None) -> bytes:
    # zlib rather than the gzip module: no file name, and mtime 0 like Java's writer.
    compressor = zlib.compressobj(
        level if level is not None else zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, _GZIP_WBITS
    )
    return compressor.compress(data) + compressor.flush()


def _gzip_decompress(data: Buffer, max_size: int) -> bytes:
    out = bytearray()
    pending: bytes | memoryview = memoryview(data)
    if len(pending) == 0:
        raise DecodeError("empty gzip data")
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    while True:
        out += decompressor.decompress(pending, max_size - len(out) + 1)
        if len(out) > max_size:
            raise DecodeError("gzip data exceeds the decompression limit")
        if decompressor.eof:
            # GZIPInputStream reads concatenated members and ignores trailing bytes
            # that do not start another one; so do we.
            pending = decompressor.unused_data
            if pending[:2] != _GZIP_MAGIC:
                return bytes(out)
            decompressor = zlib.decompressobj(_GZIP_WBITS)
        elif decompressor.unconsumed_tail:
            pending = decompressor.unconsumed_tail
        else:
            raise DecodeError("truncated gzip data")


# --- dispatch --------------------------------------------------------------------


def compress(codec: int, data: Buffer, level: int | None = None) -> bytes:
    """Compress ``data`` as a batch body (or legacy wrapper value) with ``codec``.

    ``level`` is the codec's own compression level; ``None`` means Kafka's default
    for that codec (gzip 6, lz4 fast mode, zstd 3). Snappy has no levels.
    """
    if codec == Compression.NONE:
        return bytes(data)
    if codec == Compression.GZIP:
        return _gzip_compress(data, level)
    if codec == Compression.SNAPPY:
        return _snappy_compress(data)
    if codec == Compression.LZ4:
        return _lz4_compress(data, level)
    if codec == Compression.ZSTD:
        return zstandard.ZstdCompressor(level=level if level is not None else 3).compress(data)
    raise EncodeError(f"unknown compression codec {codec}")


def decompress(
    codec: int,
    data: Buffer,
    max_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
    *,
    lz4_legacy_header: bool = False,
) -> bytes:
    """Decompress a batch body (or legacy wrapper value) compressed with ``codec``.

    Raises :class:`DecodeError` if the data is malformed or truncated, if the codec
    id is unknown, or if the output would exceed ``max_size`` bytes.
    ``lz4_legacy_header`` accepts the broken LZ4 descriptor checksum of magic 0.
    """
    try:
        if codec == Compression.NONE:
            if len(data) > max_size:
                raise DecodeError("data exceeds the size limit")
            return bytes(data)
        if codec == Compression.GZIP:
            return _gzip_decompress(data, max_size)
        if codec == Compression.SNAPPY:
            return _snappy_decompress(data, max_size)
        if codec == Compression.LZ4:
            return _lz4_decompress(data, max_size, lz4_legacy_header)
        if codec == Compression.ZSTD:
            return _zstd_decompress(data, max_size)
    except (zlib.error, zstandard.ZstdError, cramjam.DecompressionError) as exc:
        raise DecodeError(f"invalid {Compression(codec).name.lower()} data: {exc}") from exc
    raise DecodeError(f"unknown compression codec {codec}")
