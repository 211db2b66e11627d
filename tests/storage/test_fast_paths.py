"""The shortcuts of the hot paths give the answers of the long way round.

* an append handed the batch header that validation parsed gives what an append that
  parses it gives, bytes on disk included;
* recovery's block-by-block walk (:meth:`FileRecords.checked_batch_blocks`) finds the same
  batches, and stops at the same place, whatever the block size: batches cut by a block's
  end, batches larger than a block, a torn tail and a corrupt batch.
"""

from __future__ import annotations

import os
from pathlib import Path

import crc32c
import pytest

from odradek.protocol.records.batch_header import read_header
from odradek.protocol.records.validate import validate_produce_records
from odradek.storage import file_records
from odradek.storage.errors import CorruptRecordError
from odradek.storage.file_records import FileRecords
from odradek.storage.log import Log
from tests.storage.batches import batch


def _batches() -> list[bytearray]:
    sizes = [1, 3, 40, 2, 7, 1, 25]
    return [
        batch([bytes([i]) * (50 * n) for _ in range(n)], timestamp=1_000 + i)
        for i, n in enumerate(sizes)
    ]


def test_an_append_with_the_callers_header_is_an_append(tmp_path: Path) -> None:
    plain = Log.open(tmp_path / "plain-0")
    given = Log.open(tmp_path / "given-0")
    for data in _batches():
        copy = bytearray(data)
        header = validate_produce_records(memoryview(copy))
        assert given.append_as_leader(copy, 3, header=header) == plain.append_as_leader(data, 3)
    plain.flush()
    given.flush()
    assert given.read(0, 1 << 20).read() == plain.read(0, 1 << 20).read()
    assert given.log_end_offset == plain.log_end_offset


def _write(path: Path, data: bytes) -> FileRecords:
    path.write_bytes(data)
    return FileRecords.open(path, create=False)


def _walk(records: FileRecords) -> tuple[list[tuple[int, tuple[int, ...]]], int | None]:
    """Every batch one at a time, as the searches walk; and where it fails, if it does."""
    found: list[tuple[int, tuple[int, ...]]] = []
    position = 0
    while position + 17 < records.size:
        head = os.pread(records.fd, 61, position)
        if len(head) < 61:
            break
        header = read_header(head)
        end = position + header.size
        if header.batch_length < 14:
            return found, position
        if end > records.size:
            break
        if header.magic != 2 or header.size < 61:
            return found, position
        body = os.pread(records.fd, header.size, position)
        if crc32c.crc32c(body[21:]) != header.crc:
            return found, position
        found.append((position, tuple(header)))
        position = end
    return found, None


def _blocks(records: FileRecords) -> tuple[list[tuple[int, tuple[int, ...]]], int | None]:
    found: list[tuple[int, tuple[int, ...]]] = []
    try:
        for block in records.checked_batch_blocks():
            found.extend(block)
    except CorruptRecordError as e:
        return found, e.position
    return found, None


def _validated(records: FileRecords) -> tuple[list[tuple[int, tuple[int, ...]]], int | None]:
    found: list[tuple[int, tuple[int, ...]]] = []
    try:
        for position, fields in records.raw_batches(validate=True):
            found.append((position, fields))
    except CorruptRecordError as e:
        return found, e.position
    return found, None


@pytest.mark.parametrize("block_size", [128, 512, 1500, 1 << 20])
@pytest.mark.parametrize("damage", ["none", "torn tail", "flipped byte", "zero length", "zeros"])
def test_recovery_walks_blocks_as_it_walks_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_size: int, damage: str
) -> None:
    monkeypatch.setattr(file_records, "READ_AHEAD", block_size)
    batches = _batches()
    data = bytearray().join(batches)
    third = sum(len(b) for b in batches[:3])
    if damage == "torn tail":
        del data[len(data) - 30 :]
    elif damage == "flipped byte":
        data[third + 100] ^= 0x10
    elif damage == "zero length":
        data[third + 8 : third + 12] = bytes(4)
    elif damage == "zeros":
        data += bytes(300)  # a preallocated file after a crash
    records = _write(tmp_path / "00000000000000000000.log", bytes(data))
    try:
        expected = _walk(records)
        assert _blocks(records) == expected
        assert _validated(records) == expected
    finally:
        records.close()
    found, failed_at = expected
    if damage == "none":
        assert (len(found), failed_at) == (len(batches), None)
    elif damage == "torn tail":
        assert (len(found), failed_at) == (len(batches) - 1, None)
    elif damage == "zeros":
        assert (len(found), failed_at) == (len(batches), len(data) - 300)
    else:
        assert (len(found), failed_at) == (3, third)
