"""The runtime that generated message codecs call, and the public encode/decode entry points.

Every message class in :mod:`odradek.protocol.messages` carries a :class:`MessageCodec`
(``Cls.CODEC``) with one writer and one reader function per version. Those functions
are straight-line code written by :mod:`odradek.protocol.generator`; what they share
lives here: strings, byte arrays and records in their classic (int16/int32 length) and
compact (unsigned varint length + 1) forms, UUIDs, array lengths and tagged fields.
See "Protocol Primitive Types" in ``docs/protocol.html``.

Encoding writes into a :class:`Writer`. Most of a message goes into one growing
``bytearray``; a ``records`` field larger than :data:`ZERO_COPY_THRESHOLD` is not
copied but kept as a part of its own, so a fetch response is a short list of buffers
ready for ``socket.sendmsg`` (writev), with the record bytes exactly as the log holds
them.

Decoding reads from a ``memoryview``; ``records`` fields come back as slices of it,
without a copy. Every decoder raises :class:`DecodeError` for malformed input and
never allocates more than a small multiple of the bytes it was given: array and
string lengths are checked against what remains before anything is built.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from odradek.protocol.primitives import (
    INT16,
    INT32,
    ZERO_UUID,
    Buffer,
    DecodeError,
    EncodeError,
    uvarint_bytes,
)

__all__ = [
    "ZERO_UUID",
    "DecodeError",
    "EncodeError",
    "Message",
    "MessageCodec",
    "Writer",
    "decode",
    "encode",
    "encode_buffers",
]

#: Records smaller than this are copied into the message buffer; larger ones travel
#: as their own buffer so that the bytes from the log are never copied.
ZERO_COPY_THRESHOLD = 4096

_NULL_INT16 = INT16.pack(-1)
_NULL_INT32 = INT32.pack(-1)


class RecordsPart(Protocol):
    """Something a ``records`` field can hold besides a plain buffer.

    The storage engine hands out file regions that the network layer sends with
    ``sendfile``; they know their size and can be read into bytes when needed.
    """

    def __len__(self) -> int: ...

    def __bytes__(self) -> bytes: ...


Records = bytes | bytearray | memoryview | RecordsPart


class Writer:
    """Where an encoder writes: a growing buffer plus the zero-copy parts before it."""

    __slots__ = ("buf", "parts")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.parts: list[Records] = []

    def add_records(self, data: Records) -> None:
        if isinstance(data, bytes | bytearray | memoryview) and len(data) < ZERO_COPY_THRESHOLD:
            self.buf += data
            return
        if self.buf:
            self.parts.append(self.buf)
            self.buf = bytearray()
        self.parts.append(data)

    def buffers(self) -> list[Records]:
        """Everything written, in order, as a list of buffers for ``sendmsg``."""
        if self.buf or not self.parts:
            return [*self.parts, self.buf]
        return list(self.parts)

    def size(self) -> int:
        return sum(len(p) for p in self.parts) + len(self.buf)

    def getvalue(self) -> bytes:
        if not self.parts:
            return bytes(self.buf)
        return b"".join(
            p if isinstance(p, bytes | bytearray | memoryview) else bytes(p) for p in self.buffers()
        )


# --- writing -----------------------------------------------------------------------


def write_uvarint(buf: bytearray, n: int) -> None:
    if 0 <= n < 0x80:
        buf.append(n)
    else:
        buf += uvarint_bytes(n)


def _required(v: object) -> None:
    # A field that is nullable only in later versions holds None at an earlier one.
    if v is None:
        raise EncodeError("null where this version requires a value")


def write_string(buf: bytearray, v: str | None) -> None:
    _required(v)
    assert v is not None
    b = v.encode()
    if len(b) > 0x7FFF:
        raise EncodeError(f"string of {len(b)} bytes is longer than an int16 length allows")
    buf += INT16.pack(len(b))
    buf += b


def write_nullable_string(buf: bytearray, v: str | None) -> None:
    if v is None:
        buf += _NULL_INT16
    else:
        write_string(buf, v)


def write_compact_string(buf: bytearray, v: str | None) -> None:
    _required(v)
    assert v is not None
    b = v.encode()
    write_uvarint(buf, len(b) + 1)
    buf += b


def write_compact_nullable_string(buf: bytearray, v: str | None) -> None:
    if v is None:
        buf.append(0)
    else:
        write_compact_string(buf, v)


def write_bytes(buf: bytearray, v: Buffer | None) -> None:
    _required(v)
    assert v is not None
    buf += INT32.pack(len(v))
    buf += v


def write_nullable_bytes(buf: bytearray, v: Buffer | None) -> None:
    if v is None:
        buf += _NULL_INT32
    else:
        write_bytes(buf, v)


def write_compact_bytes(buf: bytearray, v: Buffer | None) -> None:
    _required(v)
    assert v is not None
    write_uvarint(buf, len(v) + 1)
    buf += v


def write_compact_nullable_bytes(buf: bytearray, v: Buffer | None) -> None:
    if v is None:
        buf.append(0)
    else:
        write_compact_bytes(buf, v)


def write_records(w: Writer, v: Records | None, compact: bool) -> None:
    if v is None:
        if compact:
            w.buf.append(0)
        else:
            w.buf += _NULL_INT32
        return
    if compact:
        write_uvarint(w.buf, len(v) + 1)
    else:
        w.buf += INT32.pack(len(v))
    w.add_records(v)


def write_array_length(buf: bytearray, n: int, compact: bool) -> None:
    if compact:
        write_uvarint(buf, n + 1)
    else:
        buf += INT32.pack(n)


def write_null_array(buf: bytearray, compact: bool) -> None:
    if compact:
        buf.append(0)
    else:
        buf += _NULL_INT32


def pack_array(fmt: str, values: Sequence[Any]) -> bytes:
    """Fixed-width array elements in one ``struct.pack`` call."""
    return struct.pack(f">{len(values)}{fmt}", *values)


def write_tagged_fields(buf: bytearray, fields: list[tuple[int, Buffer]]) -> None:
    """The tagged-field section: a count, then tag, size and data, in ascending tag order."""
    fields.sort(key=lambda item: item[0])
    write_uvarint(buf, len(fields))
    previous = -1
    for tag, data in fields:
        if tag == previous:
            raise EncodeError(f"tagged field {tag} written twice")
        previous = tag
        write_uvarint(buf, tag)
        write_uvarint(buf, len(data))
        buf += data


def null_value(name: str) -> EncodeError:
    return EncodeError(f"{name} is null, which this version does not allow")


def tagged_value(write: Callable[[Any, Writer], None], value: Any) -> bytes:
    """Serialize one tagged field's value on its own, to learn its size."""
    w = Writer()
    write(value, w)
    return w.getvalue()


def absent_field(struct_name: str, name: str) -> EncodeError:
    return EncodeError(f"{struct_name}.{name} holds a non-default value this version cannot carry")


# --- reading -----------------------------------------------------------------------


def read_uvarint(buf: Buffer, pos: int) -> tuple[int, int]:
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    while True:
        pos += 1
        b = buf[pos]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos + 1
        shift += 7
        if shift > 28:
            raise DecodeError("unsigned varint is longer than 5 bytes")


def _checked_end(buf: Buffer, pos: int, n: int) -> int:
    end = pos + n
    if end > len(buf):
        raise DecodeError(f"length {n} at position {pos} runs past the end of the data")
    return end


def read_string(buf: Buffer, pos: int) -> tuple[str, int]:
    (n,) = INT16.unpack_from(buf, pos)
    if n < 0:
        raise DecodeError("null string where a string is required")
    end = _checked_end(buf, pos + 2, n)
    return str(buf[pos + 2 : end], "utf-8"), end


def read_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    (n,) = INT16.unpack_from(buf, pos)
    if n < 0:
        return None, pos + 2
    end = _checked_end(buf, pos + 2, n)
    return str(buf[pos + 2 : end], "utf-8"), end


def read_compact_string(buf: Buffer, pos: int) -> tuple[str, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        raise DecodeError("null string where a string is required")
    end = _checked_end(buf, pos, n - 1)
    return str(buf[pos:end], "utf-8"), end


def read_compact_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = _checked_end(buf, pos, n - 1)
    return str(buf[pos:end], "utf-8"), end


def read_bytes(buf: Buffer, pos: int) -> tuple[bytes, int]:
    (n,) = INT32.unpack_from(buf, pos)
    if n < 0:
        raise DecodeError("null bytes where bytes are required")
    end = _checked_end(buf, pos + 4, n)
    return bytes(buf[pos + 4 : end]), end


def read_nullable_bytes(buf: Buffer, pos: int) -> tuple[bytes | None, int]:
    (n,) = INT32.unpack_from(buf, pos)
    if n < 0:
        return None, pos + 4
    end = _checked_end(buf, pos + 4, n)
    return bytes(buf[pos + 4 : end]), end


def read_compact_bytes(buf: Buffer, pos: int) -> tuple[bytes, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        raise DecodeError("null bytes where bytes are required")
    end = _checked_end(buf, pos, n - 1)
    return bytes(buf[pos:end]), end


def read_compact_nullable_bytes(buf: Buffer, pos: int) -> tuple[bytes | None, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = _checked_end(buf, pos, n - 1)
    return bytes(buf[pos:end]), end


def read_records(buf: Buffer, pos: int, compact: bool) -> tuple[memoryview | None, int]:
    """A records field as a slice of the input: no copy is made."""
    if compact:
        n, pos = read_uvarint(buf, pos)
        n -= 1
    else:
        (n,) = INT32.unpack_from(buf, pos)
        pos += 4
    if n < 0:
        return None, pos
    end = _checked_end(buf, pos, n)
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    return view[pos:end], end


def read_uuid(buf: Buffer, pos: int) -> tuple[uuid.UUID, int]:
    end = pos + 16
    raw = bytes(buf[pos:end])
    if len(raw) != 16:
        raise DecodeError("truncated uuid")
    return uuid.UUID(bytes=raw), end


def read_array_length(buf: Buffer, pos: int, compact: bool, min_size: int) -> tuple[int, int]:
    """An array's element count (-1 for null), checked against the bytes that remain."""
    if compact:
        n, pos = read_uvarint(buf, pos)
        n -= 1
    else:
        (n,) = INT32.unpack_from(buf, pos)
        pos += 4
    if n > 0 and n * min_size > len(buf) - pos:
        raise DecodeError(f"array of {n} elements at position {pos} is longer than the data")
    return n, pos


def unpack_array(fmt: str, size: int, buf: Buffer, pos: int, n: int) -> tuple[list[Any], int]:
    return list(struct.unpack_from(f">{n}{fmt}", buf, pos)), pos + n * size


def read_tagged_header(buf: Buffer, pos: int) -> tuple[int, int, int]:
    """One tagged field's tag and the end of its data; returns (tag, data_start, data_end)."""
    tag, pos = read_uvarint(buf, pos)
    size, pos = read_uvarint(buf, pos)
    return tag, pos, _checked_end(buf, pos, size)


def tagged_size_mismatch(tag: int, expected_end: int, actual_end: int) -> DecodeError:
    return DecodeError(
        f"tagged field {tag} declares {expected_end} as its end but its value ends at {actual_end}"
    )


def null_where_required(struct_name: str, name: str) -> DecodeError:
    return DecodeError(f"{struct_name}.{name} is null, which this version does not allow")


# --- messages ----------------------------------------------------------------------

WriteFn = Callable[[Any, Writer], None]
ReadFn = Callable[[Buffer, int], tuple[Any, int]]


class MessageCodec:
    """The per-version writers and readers of one message type."""

    __slots__ = ("flexible_from", "highest", "lowest", "name", "readers", "writers")

    def __init__(
        self,
        name: str,
        lowest: int,
        highest: int,
        flexible_from: int | None,
        writers: Sequence[WriteFn],
        readers: Sequence[ReadFn],
    ) -> None:
        self.name = name
        self.lowest = lowest
        self.highest = highest
        self.flexible_from = flexible_from
        self.writers = tuple(writers)
        self.readers = tuple(readers)

    def is_flexible(self, version: int) -> bool:
        return self.flexible_from is not None and version >= self.flexible_from

    def check_version(self, version: int) -> None:
        if not self.lowest <= version <= self.highest:
            raise EncodeError(
                f"{self.name} has versions {self.lowest}-{self.highest}, not {version}"
            )


class Message(Protocol):
    """What every generated top-level message class provides."""

    CODEC: ClassVar[MessageCodec]


M = TypeVar("M", bound=Message)

_ENCODE_FAILURES = (struct.error, AttributeError, TypeError, OverflowError, UnicodeEncodeError)
_DECODE_FAILURES = (struct.error, IndexError, UnicodeDecodeError, ValueError, RecursionError)


def write_message(message: Message, version: int, w: Writer) -> None:
    """Append ``message`` at ``version`` to ``w``; raise EncodeError if it cannot be written."""
    codec = message.CODEC
    codec.check_version(version)
    try:
        codec.writers[version - codec.lowest](message, w)
    except EncodeError as e:
        raise EncodeError(f"cannot encode {codec.name} v{version}: {e}") from None
    except _ENCODE_FAILURES as e:
        raise EncodeError(f"cannot encode {codec.name} v{version}: {e}") from e


def encode(message: Message, version: int) -> bytes:
    """``message`` serialized at ``version``, as one bytes object."""
    w = Writer()
    write_message(message, version, w)
    return w.getvalue()


def encode_buffers(message: Message, version: int) -> list[Records]:
    """``message`` serialized at ``version`` as buffers, records left uncopied."""
    w = Writer()
    write_message(message, version, w)
    return w.buffers()


def read_message(cls: type[M], buf: Buffer, pos: int, version: int) -> tuple[M, int]:
    """Decode one ``cls`` at ``version`` starting at ``pos``; returns it and the end position."""
    codec = cls.CODEC
    if not codec.lowest <= version <= codec.highest:
        raise DecodeError(
            f"{codec.name} has versions {codec.lowest}-{codec.highest}, not {version}"
        )
    try:
        result: tuple[M, int] = codec.readers[version - codec.lowest](buf, pos)
    except _DECODE_FAILURES as e:
        raise DecodeError(f"malformed {codec.name} v{version}: {e}") from e
    return result


def decode(cls: type[M], data: Buffer, version: int, *, allow_trailing: bool = False) -> M:
    """Decode a whole buffer holding one ``cls`` at ``version``."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    message, end = read_message(cls, view, 0, version)
    if end != len(view) and not allow_trailing:
        raise DecodeError(f"{len(view) - end} bytes left over after {cls.CODEC.name} v{version}")
    return message
