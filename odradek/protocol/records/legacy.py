"""The old message format: message sets of magic 0 (before Kafka 0.10) and 1 (0.10).

From ``docs/implementation.html``, "Old Message Format"::

    MessageSet => [offset message_size message]     no array count in front
      offset: int64
      message_size: int32                           bytes of message
      message:
        crc: int32                                  CRC-32 of magic .. end of value
        magic: int8                                 0 or 1
        attributes: int8                            bits 0-2 codec, bit 3 LogAppendTime (magic 1)
        timestamp: int64                            magic 1 only
        key: bytes                                  int32 length, -1 for null
        value: bytes                                int32 length, -1 for null

**Compression wraps.** A compressed message (a *wrapper*) has a null key and, as its
value, a whole inner message set compressed with the wrapper's codec (gzip, snappy or
lz4; zstd never existed for these formats). Inner messages are not compressed again.

**Offsets.** In magic 0 every inner message carries its absolute offset. In magic 1
the inner offsets are relative (0, 1, 2 ...) and the wrapper carries the absolute
offset of the *last* inner message, so inner message ``i`` sits at
``wrapper_offset - last_inner_offset + inner_offset_i``. Some librdkafka versions
produced a wrapper offset of 0; Kafka then takes the inner offsets as they are, and so
does this module.

**Timestamps.** Magic 0 has none (-1). A magic 1 inner message keeps its own
timestamp, unless the wrapper says LogAppendTime: then the wrapper's timestamp is
every inner message's timestamp.

:func:`decode_message_set` flattens all of this into a list of
:class:`LegacyMessage` with absolute offsets and timestamps, checking every CRC. The
encoder exists for tests and for writing these formats for old consumers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

import msgspec

from odradek.protocol.primitives import Buffer, DecodeError, EncodeError
from odradek.protocol.records.compression import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    Compression,
    compress,
    decompress,
    lz4_descriptor_checksum,
)
from odradek.protocol.records.crc import crc32

MAGIC_V0 = 0
MAGIC_V1 = 1

NO_TIMESTAMP = -1
#: Timestamp types, with Kafka's ``TimestampType`` ids.
NO_TIMESTAMP_TYPE = -1
CREATE_TIME = 0
LOG_APPEND_TIME = 1

_COMPRESSION_MASK = 0x07
_TIMESTAMP_TYPE_MASK = 0x08

_ENTRY_HEAD = struct.Struct(">qi")  # offset, message_size
_MESSAGE_HEAD = struct.Struct(">Ibb")  # crc, magic, attributes
_TIMESTAMP = struct.Struct(">q")
_LENGTH = struct.Struct(">i")
_LOG_OVERHEAD = _ENTRY_HEAD.size
#: The smallest magic 0 message: crc, magic, attributes, and two null lengths.
MIN_MESSAGE_SIZE_V0 = 4 + 1 + 1 + 4 + 4
MIN_MESSAGE_SIZE_V1 = MIN_MESSAGE_SIZE_V0 + 8


class LegacyMessage(msgspec.Struct, frozen=True):
    """One message of magic 0 or 1, with its absolute offset and effective timestamp."""

    offset: int
    key: bytes | None
    value: bytes | None
    magic: int = MAGIC_V1
    timestamp: int = NO_TIMESTAMP
    timestamp_type: int = CREATE_TIME
    #: The message's own attributes; compression bits are 0 once a wrapper is expanded.
    attributes: int = 0

    @property
    def compression(self) -> int:
        return self.attributes & _COMPRESSION_MASK


class _Shallow(msgspec.Struct, frozen=True, gc=False):
    offset: int
    magic: int
    attributes: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def _read_bytes(view: memoryview, pos: int, end: int) -> tuple[bytes | None, int]:
    if end - pos < 4:
        raise DecodeError("message ends inside a length field")
    (length,) = _LENGTH.unpack_from(view, pos)
    pos += 4
    if length < 0:
        return None, pos
    if length > end - pos:
        raise DecodeError(f"field of {length} bytes runs past the end of the message")
    return bytes(view[pos : pos + length]), pos + length


def _read_shallow(
    view: memoryview, allow_partial_tail: bool, verify_crc: bool
) -> Iterator[_Shallow]:
    pos = 0
    end = len(view)
    while pos < end:
        if end - pos < _LOG_OVERHEAD:
            if allow_partial_tail:
                return
            raise DecodeError(f"partial message of {end - pos} bytes at the end")
        offset, size = _ENTRY_HEAD.unpack_from(view, pos)
        if size < MIN_MESSAGE_SIZE_V0:
            raise DecodeError(f"message size {size} is below the minimum {MIN_MESSAGE_SIZE_V0}")
        start = pos + _LOG_OVERHEAD
        message_end = start + size
        if message_end > end:
            if allow_partial_tail:
                return
            raise DecodeError(f"message of {size} bytes runs past the end of the buffer")
        crc, magic, attributes = _MESSAGE_HEAD.unpack_from(view, start)
        if magic not in (MAGIC_V0, MAGIC_V1):
            raise DecodeError(f"magic {magic} is not a legacy message (0 or 1)")
        if verify_crc and crc32(view[start + 4 : message_end]) != crc:
            raise DecodeError(f"message at offset {offset} fails its CRC-32")
        field = start + _MESSAGE_HEAD.size
        timestamp = NO_TIMESTAMP
        if magic == MAGIC_V1:
            if size < MIN_MESSAGE_SIZE_V1:
                raise DecodeError(f"magic 1 message size {size} is below {MIN_MESSAGE_SIZE_V1}")
            (timestamp,) = _TIMESTAMP.unpack_from(view, field)
            field += 8
        key, field = _read_bytes(view, field, message_end)
        value, field = _read_bytes(view, field, message_end)
        if field != message_end:
            raise DecodeError(f"{message_end - field} bytes left after the message value")
        yield _Shallow(offset, magic, attributes, timestamp, key, value)
        pos = message_end


def _timestamp_type(magic: int, attributes: int) -> int:
    if magic == MAGIC_V0:
        return NO_TIMESTAMP_TYPE
    return LOG_APPEND_TIME if attributes & _TIMESTAMP_TYPE_MASK else CREATE_TIME


def decode_message_set(
    buf: Buffer,
    *,
    allow_partial_tail: bool = False,
    verify_crc: bool = True,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> list[LegacyMessage]:
    """Decode a message set of magic 0 and 1, expanding compressed wrappers.

    ``max_decompressed_size`` bounds the bytes decompressed over the whole set.
    Raises :class:`DecodeError` on anything malformed.
    """
    messages: list[LegacyMessage] = []
    budget = max_decompressed_size
    for outer in _read_shallow(memoryview(buf), allow_partial_tail, verify_crc):
        codec = outer.attributes & _COMPRESSION_MASK
        if codec == Compression.NONE:
            messages.append(
                LegacyMessage(
                    outer.offset,
                    outer.key,
                    outer.value,
                    outer.magic,
                    outer.timestamp,
                    _timestamp_type(outer.magic, outer.attributes),
                    outer.attributes,
                )
            )
            continue
        inner, decompressed = _expand(outer, codec, budget, verify_crc)
        budget -= decompressed
        messages.extend(inner)
    return messages


def _expand(
    outer: _Shallow, codec: int, budget: int, verify_crc: bool
) -> tuple[list[LegacyMessage], int]:
    """The inner messages of a wrapper, and how many bytes decompressing it took."""
    if codec not in (Compression.GZIP, Compression.SNAPPY, Compression.LZ4):
        raise DecodeError(f"compression codec {codec} is invalid in magic {outer.magic}")
    if outer.value is None:
        raise DecodeError("compressed message has a null value")
    data = decompress(codec, outer.value, budget, lz4_legacy_header=outer.magic == MAGIC_V0)
    inner = list(_read_shallow(memoryview(data), False, verify_crc))
    if not inner:
        raise DecodeError("compressed message holds no inner messages")
    base = 0
    # A magic 1 wrapper at offset 0 comes from librdkafka's produce path: inner offsets stand.
    if outer.magic == MAGIC_V1 and outer.offset != 0:
        last = inner[-1].offset
        if outer.offset < last:
            raise DecodeError(f"wrapper offset {outer.offset} is below last inner offset {last}")
        base = outer.offset - last
    log_append = outer.magic == MAGIC_V1 and bool(outer.attributes & _TIMESTAMP_TYPE_MASK)
    out = []
    for message in inner:
        if message.attributes & _COMPRESSION_MASK:
            raise DecodeError("inner messages must not be compressed")
        offset = base + message.offset if outer.magic == MAGIC_V1 else message.offset
        if message.magic == MAGIC_V0:
            timestamp, timestamp_type = NO_TIMESTAMP, NO_TIMESTAMP_TYPE
        elif log_append:
            timestamp, timestamp_type = outer.timestamp, LOG_APPEND_TIME
        else:
            timestamp, timestamp_type = message.timestamp, CREATE_TIME
        out.append(
            LegacyMessage(
                offset,
                message.key,
                message.value,
                message.magic,
                timestamp,
                timestamp_type,
                message.attributes,
            )
        )
    return out, len(data)


# --- encoding --------------------------------------------------------------------


def encode_message(message: LegacyMessage) -> bytes:
    """One message with its offset and size in front, as a message set holds it."""
    if message.magic not in (MAGIC_V0, MAGIC_V1):
        raise EncodeError(f"magic {message.magic} is not a legacy message format")
    body = bytearray(_MESSAGE_HEAD.size)
    if message.magic == MAGIC_V1:
        body += _TIMESTAMP.pack(message.timestamp)
    for field in (message.key, message.value):
        if field is None:
            body += _LENGTH.pack(-1)
        else:
            body += _LENGTH.pack(len(field))
            body += field
    try:
        _MESSAGE_HEAD.pack_into(body, 0, 0, message.magic, message.attributes)
        head = _ENTRY_HEAD.pack(message.offset, len(body))
    except struct.error as exc:
        raise EncodeError(f"message field out of range: {exc}") from exc
    body[0:4] = crc32(memoryview(body)[4:]).to_bytes(4, "big")
    return head + bytes(body)


def encode_message_set(messages: Iterable[LegacyMessage]) -> bytes:
    """Messages back to back, each with the offset it carries (no compression)."""
    return b"".join(encode_message(m) for m in messages)


def encode_wrapper(
    inner: Iterable[LegacyMessage],
    codec: int,
    *,
    offset: int,
    magic: int = MAGIC_V1,
    timestamp: int = NO_TIMESTAMP,
    log_append_time: bool = False,
) -> bytes:
    """A compressed wrapper message holding ``inner`` (offsets written as given).

    For magic 1 the inner offsets should be relative and ``offset`` the absolute
    offset of the last one. For magic 0 lz4, the frame carries the descriptor
    checksum that Kafka wrote for that format (KAFKA-3160).
    """
    if codec not in (Compression.GZIP, Compression.SNAPPY, Compression.LZ4):
        raise EncodeError(f"compression codec {codec} is invalid in magic {magic}")
    value = compress(codec, encode_message_set(inner))
    if codec == Compression.LZ4 and magic == MAGIC_V0:
        value = _break_lz4_header_checksum(value)
    attributes = codec | (_TIMESTAMP_TYPE_MASK if log_append_time and magic == MAGIC_V1 else 0)
    return encode_message(
        LegacyMessage(offset, None, value, magic, timestamp, CREATE_TIME, attributes)
    )


def _break_lz4_header_checksum(frame: bytes) -> bytes:
    """Kafka's magic 0 LZ4 writer hashes the frame magic along with the descriptor."""
    descriptor_end = 6  # frames written here carry neither content size nor dictionary id
    out = bytearray(frame)
    out[descriptor_end] = lz4_descriptor_checksum(bytes(out[:descriptor_end]))
    return bytes(out)
