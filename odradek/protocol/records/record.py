"""One record inside a RecordBatch (magic 2), and its headers.

From ``docs/implementation.html``, sections "Record" and "Record Header"::

    length: varint                  bytes that follow, up to the end of the headers
    attributes: int8                unused, 0
    timestampDelta: varlong         record timestamp - batch baseTimestamp
    offsetDelta: varint             record offset - batch baseOffset
    keyLength: varint               -1 for a null key
    key: byte[]
    valueLength: varint             -1 for a null value
    value: byte[]
    headersCount: varint
    headers: [Header]
        headerKeyLength: varint
        headerKey: String           UTF-8
        headerValueLength: varint   -1 for a null value
        Value: byte[]

Varints are protobuf's zig-zag varints (:mod:`odradek.protocol.primitives`). A record
only knows its deltas: the batch that holds it knows the base offset and timestamp.
"""

from __future__ import annotations

import msgspec

from odradek.protocol.primitives import (
    Buffer,
    DecodeError,
    EncodeError,
    read_varint,
    read_varlong,
    varint_bytes,
    varlong_bytes,
)

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class Header(msgspec.Struct, frozen=True, gc=False):
    """A record header: a UTF-8 key and an optional value."""

    key: str
    value: bytes | None


class Record(msgspec.Struct, frozen=True, gc=False):
    """A record as stored in a batch: deltas from the batch's base offset and timestamp.

    :meth:`RecordBatch.offset_of <odradek.protocol.records.batch.RecordBatch.offset_of>`
    and ``timestamp_of`` turn the deltas into absolute values.
    """

    offset_delta: int
    timestamp_delta: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    attributes: int = 0


def _read_bytes(buf: Buffer, pos: int, end: int, what: str) -> tuple[bytes | None, int]:
    length, pos = read_varint(buf, pos)
    if length < 0:
        # Kafka reads any negative length as null (Utils.readBytes); -1 is what is written.
        return None, pos
    if length > end - pos:
        raise DecodeError(f"record {what} of {length} bytes runs past the end of the record")
    return bytes(buf[pos : pos + length]), pos + length


def decode_record(buf: Buffer, pos: int, end: int) -> tuple[Record, int]:
    """Decode the record starting at ``pos``; the record may not extend past ``end``.

    Returns the record and the position after it.
    """
    length, pos = read_varint(buf, pos)
    if length < 1 or length > end - pos:
        raise DecodeError(f"record length {length} does not fit in the batch")
    record_end = pos + length
    attributes = buf[pos]
    if attributes > 127:
        attributes -= 256
    timestamp_delta, pos = read_varlong(buf, pos + 1)
    offset_delta, pos = read_varint(buf, pos)
    key, pos = _read_bytes(buf, pos, record_end, "key")
    value, pos = _read_bytes(buf, pos, record_end, "value")
    count, pos = read_varint(buf, pos)
    if count < 0 or count > record_end - pos:
        raise DecodeError(f"invalid record header count {count}")
    headers: tuple[Header, ...] = ()
    if count:
        items = []
        for _ in range(count):
            key_length, pos = read_varint(buf, pos)
            if key_length < 0 or key_length > record_end - pos:
                raise DecodeError(f"invalid record header key length {key_length}")
            # surrogateescape keeps bytes that are not UTF-8, so they are written back unchanged.
            header_key = str(buf[pos : pos + key_length], "utf-8", "surrogateescape")
            header_value, pos = _read_bytes(buf, pos + key_length, record_end, "header value")
            items.append(Header(header_key, header_value))
        headers = tuple(items)
    if pos != record_end:
        taken = pos - record_end + length
        raise DecodeError(f"record declares {length} bytes but its fields take {taken}")
    return Record(offset_delta, timestamp_delta, key, value, headers, attributes), pos


def _write_bytes(out: bytearray, data: bytes | None) -> None:
    if data is None:
        out += b"\x01"  # zig-zag -1
    else:
        out += varint_bytes(len(data))
        out += data


def encode_record(record: Record, out: bytearray) -> None:
    """Append the encoding of ``record`` to ``out``."""
    if not _INT32_MIN <= record.offset_delta <= _INT32_MAX:
        raise EncodeError(f"offset delta {record.offset_delta} does not fit in an int32")
    if not _INT64_MIN <= record.timestamp_delta <= _INT64_MAX:
        raise EncodeError(f"timestamp delta {record.timestamp_delta} does not fit in an int64")
    if not -128 <= record.attributes <= 127:
        raise EncodeError(f"record attributes {record.attributes} do not fit in an int8")
    body = bytearray((record.attributes & 0xFF,))
    body += varlong_bytes(record.timestamp_delta)
    body += varint_bytes(record.offset_delta)
    _write_bytes(body, record.key)
    _write_bytes(body, record.value)
    body += varint_bytes(len(record.headers))
    for header in record.headers:
        key = header.key.encode("utf-8", "surrogateescape")
        body += varint_bytes(len(key))
        body += key
        _write_bytes(body, header.value)
    out += varint_bytes(len(body))
    out += body
