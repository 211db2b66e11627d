"""The two checksums of Kafka's record formats.

* **CRC-32C** (Castagnoli) protects a RecordBatch (magic 2): it covers the bytes from
  ``attributes`` to the end of the batch (``docs/implementation.html``, "Record Batch").
* **CRC-32** (the zlib/IEEE polynomial) protects each message of the old message
  format, magic 0 and 1: it covers the bytes from ``magic`` to the end of the value
  (``docs/implementation.html``, "Old Message Format").

Both functions take any contiguous buffer (``bytes``, ``bytearray``, ``memoryview``)
without copying it, and return the checksum as an unsigned 32-bit integer, which is
how the RecordBatch header stores it. The legacy message header stores its CRC as a
signed int32; compare with ``& 0xFFFFFFFF`` or read it unsigned.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import crc32c as _crc32c

from odradek.protocol.primitives import Buffer

#: ``crc32c(data, value=0)``: CRC-32C of a buffer, optionally continuing from a previous
#: value. The C implementation uses SSE4.2/ARMv8 CRC instructions when the CPU has them;
#: the broker's produce path checks every batch with it, so it is bound here, not wrapped.
crc32c: Callable[..., int] = _crc32c.crc32c


def crc32(data: Buffer, value: int = 0) -> int:
    """CRC-32 (IEEE) of ``data``, as used by message format magic 0 and 1."""
    return zlib.crc32(data, value)


def hardware_accelerated() -> bool:
    """Whether CRC-32C runs on CPU instructions rather than a software table."""
    return bool(_crc32c.hardware_based)


__all__ = ["crc32", "crc32c", "hardware_accelerated"]
