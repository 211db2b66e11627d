"""Produce hot path: validating a record batch and assigning its offsets.

Each group holds one produce batch as a client sends it (about 1 KiB records,
uncompressed) and measures, on the same bytes:

* ``crc32c`` -- plain CRC-32C of the buffer: the ceiling, since validation must
  checksum every byte anyway;
* ``validate`` -- :func:`validate_produce_records`, to reach ``target`` times the
  ceiling's throughput (16 KiB: 0.25, 1 MiB: 0.8);
* ``assign_offsets`` -- stamping base offset and leader epoch (CreateTime), and with
  LogAppendTime, which recomputes the CRC;
* ``validate+assign`` -- the whole per-batch cost of an append.

Run with ``python3 -m pytest bench/ --benchmark-only``; bench/conftest.py prints the
ratios.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from odradek.protocol.records.batch import RecordBatch, encode_batch
from odradek.protocol.records.crc import crc32c
from odradek.protocol.records.record import Header, Record
from odradek.protocol.records.validate import assign_offsets, validate_produce_records

RECORD_VALUE_SIZE = 1000
SIZES = {"16KiB": (16 * 1024, 0.25), "1MiB": (1024 * 1024, 0.8)}


def produce_batch(total_size: int) -> bytearray:
    """An idempotent producer's batch of ~1 KiB records filling about ``total_size`` bytes."""
    rng = random.Random(total_size)
    count = max(1, total_size // (RECORD_VALUE_SIZE + 40))
    records = [
        Record(
            offset_delta=i,
            timestamp_delta=i,
            key=b"user-%08d" % rng.randrange(10**8),
            value=rng.randbytes(RECORD_VALUE_SIZE),
            headers=(Header("trace-id", rng.randbytes(8)),),
        )
        for i in range(count)
    ]
    batch = RecordBatch.of(
        records,
        base_timestamp=1_700_000_000_000,
        producer_id=4242,
        producer_epoch=0,
        base_sequence=1000,
    )
    return bytearray(encode_batch(batch))


@pytest.fixture(params=list(SIZES), scope="module")
def size_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def batch(size_name: str) -> bytearray:
    return produce_batch(SIZES[size_name][0])


def run(
    benchmark: BenchmarkFixture,
    size_name: str,
    buf: bytearray,
    fn: Callable[[], object],
    *,
    baseline: bool = False,
    target: float | None = None,
    reads_every_byte: bool = True,
) -> None:
    benchmark.group = f"records: produce batch of {size_name}"
    if reads_every_byte:
        benchmark.extra_info["bytes"] = len(buf)
    if baseline:
        benchmark.extra_info["baseline"] = True
    if target is not None:
        benchmark.extra_info["target"] = target
    benchmark(fn)


def test_crc32c(benchmark: BenchmarkFixture, size_name: str, batch: bytearray) -> None:
    view = memoryview(batch)
    run(benchmark, size_name, batch, lambda: crc32c(view), baseline=True)


def test_validate(benchmark: BenchmarkFixture, size_name: str, batch: bytearray) -> None:
    view = memoryview(batch)
    assert validate_produce_records(view).records_count > 0
    run(
        benchmark,
        size_name,
        batch,
        lambda: validate_produce_records(view),
        target=SIZES[size_name][1],
    )


def test_assign_offsets(benchmark: BenchmarkFixture, size_name: str, batch: bytearray) -> None:
    buf = bytearray(batch)
    header = validate_produce_records(memoryview(buf))
    # Only the header is written: the time does not grow with the batch, so no MB/s.
    run(
        benchmark,
        size_name,
        buf,
        lambda: assign_offsets(buf, header, 123_456, 7),
        reads_every_byte=False,
    )


def test_assign_offsets_log_append_time(
    benchmark: BenchmarkFixture, size_name: str, batch: bytearray
) -> None:
    buf = bytearray(batch)
    header = validate_produce_records(memoryview(buf))
    run(
        benchmark,
        size_name,
        buf,
        lambda: assign_offsets(buf, header, 123_456, 7, 1_800_000_000_000),
    )


def test_validate_and_assign(benchmark: BenchmarkFixture, size_name: str, batch: bytearray) -> None:
    buf = bytearray(batch)
    view = memoryview(buf)

    def append_path() -> object:
        # Offset 0 keeps the batch valid for the next round: the CRC does not cover it.
        return assign_offsets(buf, validate_produce_records(view), 0, 7)

    run(benchmark, size_name, buf, append_path)
