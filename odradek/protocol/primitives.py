"""Primitive wire types shared by the message codec and record batches.

Kafka's protocol uses fixed-width big-endian integers, zig-zag varints (signed,
inside records), unsigned varints (lengths in flexible versions), and UUIDs as 16
raw bytes. See "Protocol Primitive Types" in ``docs/protocol.html``.

Decoders here take a buffer and a position and return ``(value, new_position)``;
they raise :class:`DecodeError` on malformed input.
"""

from __future__ import annotations

import struct
import uuid

Buffer = bytes | bytearray | memoryview


class DecodeError(ValueError):
    """Bytes that do not form a valid message, batch or frame.

    This is the only exception a decoder in :mod:`odradek.protocol` raises for bad
    input; anything else escaping a decoder is a bug.
    """


class EncodeError(ValueError):
    """A value that cannot be written at the requested version.

    Raised, as Kafka's serializers do, when a field that the version lacks holds a
    non-default value and the field is not marked ignorable, or when a value does
    not fit its wire type.
    """


INT8 = struct.Struct(">b")
INT16 = struct.Struct(">h")
INT32 = struct.Struct(">i")
INT64 = struct.Struct(">q")
UINT16 = struct.Struct(">H")
UINT32 = struct.Struct(">I")
FLOAT64 = struct.Struct(">d")

ZERO_UUID = uuid.UUID(int=0)


def _read_leb128(buf: Buffer, pos: int, max_shift: int, what: str) -> tuple[int, int]:
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise DecodeError(f"truncated {what}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > max_shift:
            raise DecodeError(f"{what} is longer than {max_shift // 7 + 1} bytes")


def read_uvarint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an unsigned LEB128 varint of at most 5 bytes (a 32-bit value)."""
    return _read_leb128(buf, pos, 28, "varint")


def read_uvarlong(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an unsigned LEB128 varint of at most 10 bytes (a 64-bit value)."""
    return _read_leb128(buf, pos, 63, "varlong")


def read_varint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a zig-zag encoded signed 32-bit varint."""
    raw, pos = read_uvarint(buf, pos)
    return (raw >> 1) ^ -(raw & 1), pos


def read_varlong(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a zig-zag encoded signed 64-bit varint."""
    raw, pos = read_uvarlong(buf, pos)
    return (raw >> 1) ^ -(raw & 1), pos


def uvarint_bytes(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned varint."""
    if value < 0x80:
        if value < 0:
            raise EncodeError(f"unsigned varint cannot hold {value}")
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint_bytes(value: int) -> bytes:
    """Encode a signed 32-bit integer as a zig-zag varint."""
    return uvarint_bytes(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def varlong_bytes(value: int) -> bytes:
    """Encode a signed 64-bit integer as a zig-zag varint."""
    return uvarint_bytes(((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


def uvarint_size(value: int) -> int:
    """How many bytes :func:`uvarint_bytes` writes for ``value``."""
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size
