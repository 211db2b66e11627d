"""Storage hot paths: appending 16 KiB batches, and reading them back.

Each group measures the log against the plain file operation it is built on, on the same
bytes, the same disk and in the same run (bench/README.md: ratios, not timings):

* **append** -- ``Log.append_as_leader`` of 256 batches of 16 KiB (4 MiB per round: offsets
  and leader epoch stamped, producer state checked, sparse index entries written) against
  ``os.write`` of the same 256 buffers to a file beside the log. Target: 0.7. Variants with
  the batch header handed over as the produce path has it from validation (not parsed
  again), with an idempotent producer (sequence checks) and a follower append (CRC
  checked) are reported against the same ceiling, without a target.
* **read** -- a consumer's walk over a 64 MiB log with ``Log.read`` of 1 MiB per call,
  reading each returned file region, against ``os.pread`` of the same files in 1 MiB
  chunks. Target: 0.7. The page cache is warm for both.

Each append round starts from an empty file (the raw side truncates its file, the log
truncates back to offset 0), and every read round reads the same files, so neither side
benefits from the other's leftovers.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from odradek.protocol.records.batch import RecordBatch, encode_batch
from odradek.protocol.records.batch_header import OFFSET_AND_LENGTH, read_header
from odradek.protocol.records.record import Record
from odradek.storage.config import LogConfig
from odradek.storage.log import FetchIsolation, Log

BATCH_SIZE = 16 * 1024
RECORDS_PER_BATCH = 16
BATCHES_PER_ROUND = 256
READ_LOG_SIZE = 64 * 1024 * 1024
READ_CHUNK = 1024 * 1024
ROUNDS = 30


def make_batch(seed: int, *, producer_id: int = -1, sequence: int = -1) -> bytearray:
    """A 16 KiB batch of ~1 KiB records, as a producer with batch.size=16384 sends it."""
    payload = bytes([seed % 251]) * 1003
    records = [Record(i, i, b"key-%04d" % i, payload) for i in range(RECORDS_PER_BATCH)]
    data = bytearray(
        encode_batch(
            RecordBatch.of(
                records,
                base_timestamp=1_700_000_000_000,
                producer_id=producer_id,
                producer_epoch=0 if producer_id >= 0 else -1,
                base_sequence=sequence,
            )
        )
    )
    assert abs(len(data) - BATCH_SIZE) < 64
    return data


def bench_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the files go: ``$ODRADEK_BENCH_DIR`` (to pick a disk) or pytest's temp dir."""
    configured = os.environ.get("ODRADEK_BENCH_DIR")
    if configured:
        root = Path(configured) / f"odradek-bench-{os.getpid()}"
        root.mkdir(parents=True, exist_ok=True)
        return root
    return tmp_path_factory.mktemp("storage")


@pytest.fixture
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = bench_root(tmp_path_factory) / "append"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.benchmark(group="storage: append 16KiB batches (4 MiB per round)")
def test_append_raw_write(benchmark: BenchmarkFixture, bench_dir: Path) -> None:
    batches = [make_batch(i) for i in range(BATCHES_PER_ROUND)]
    fd = os.open(bench_dir / "raw.bin", os.O_RDWR | os.O_CREAT, 0o644)

    def setup() -> None:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)

    def write_all() -> None:
        for data in batches:
            os.write(fd, data)

    benchmark.extra_info.update(baseline=True, bytes=sum(map(len, batches)))
    benchmark.pedantic(write_all, setup=setup, rounds=ROUNDS)
    os.close(fd)


def _append_benchmark(
    benchmark: BenchmarkFixture,
    bench_dir: Path,
    *,
    producer: bool,
    follower: bool,
    with_header: bool = False,
) -> None:
    count = BATCHES_PER_ROUND
    if producer:
        batches = [
            make_batch(i, producer_id=7, sequence=i * RECORDS_PER_BATCH) for i in range(count)
        ]
    else:
        batches = [make_batch(i) for i in range(count)]
    if follower:
        offset = 0
        for data in batches:
            OFFSET_AND_LENGTH.pack_into(data, 0, offset, len(data) - 12)
            offset += RECORDS_PER_BATCH
    # What validate_produce_records returns for each batch (the fields the log reads from
    # a header do not change when it stamps the offsets).
    headers = [read_header(data) for data in batches]
    log = Log.open(bench_dir / "bench-0", LogConfig(), time_ms=lambda: 1_000)

    def setup() -> None:
        # Back to an empty segment, keeping its files, as the raw side truncates its file.
        log.truncate_to(0)
        # As a new leader does before taking appends: the epoch starts outside the loop.
        log.maybe_assign_epoch_start_offset(1, 0)

    def append_all() -> None:
        if follower:
            for data in batches:
                log.append_as_follower(data)
        elif with_header:
            for data, header in zip(batches, headers, strict=True):
                log.append_as_leader(data, 1, header=header)
        else:
            for data in batches:
                log.append_as_leader(data, leader_epoch=1)

    benchmark.extra_info.update(bytes=sum(map(len, batches)))
    if not producer and not follower and not with_header:
        benchmark.extra_info["target"] = 0.7
    benchmark.pedantic(append_all, setup=setup, rounds=ROUNDS)
    log.delete()


@pytest.mark.benchmark(group="storage: append 16KiB batches (4 MiB per round)")
def test_append_log(benchmark: BenchmarkFixture, bench_dir: Path) -> None:
    _append_benchmark(benchmark, bench_dir, producer=False, follower=False)


@pytest.mark.benchmark(group="storage: append 16KiB batches (4 MiB per round)")
def test_append_log_with_header(benchmark: BenchmarkFixture, bench_dir: Path) -> None:
    _append_benchmark(benchmark, bench_dir, producer=False, follower=False, with_header=True)


@pytest.mark.benchmark(group="storage: append 16KiB batches (4 MiB per round)")
def test_append_log_idempotent_producer(benchmark: BenchmarkFixture, bench_dir: Path) -> None:
    _append_benchmark(benchmark, bench_dir, producer=True, follower=False)


@pytest.mark.benchmark(group="storage: append 16KiB batches (4 MiB per round)")
def test_append_log_follower(benchmark: BenchmarkFixture, bench_dir: Path) -> None:
    _append_benchmark(benchmark, bench_dir, producer=False, follower=True)


@pytest.fixture(scope="module")
def read_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    directory = bench_root(tmp_path_factory) / "read"
    log = Log.open(directory / "read-0", LogConfig(segment_bytes=16 * 1024 * 1024))
    batches = [make_batch(i) for i in range(64)]
    while log.size < READ_LOG_SIZE:
        for data in batches:
            log.append_as_leader(data, leader_epoch=1)
    log.flush()
    log.update_high_watermark(log.log_end_offset)
    for segment in log.segments:  # warm the page cache for both sides
        segment.log.read(0, segment.size)
    yield log
    log.delete()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.benchmark(group="storage: read a 64 MiB log, 1 MiB per read")
def test_read_raw_pread(benchmark: BenchmarkFixture, read_log: Log) -> None:
    fds = [segment.log.fd for segment in read_log.segments]
    sizes = [segment.size for segment in read_log.segments]

    def read_all() -> int:
        total = 0
        for fd, size in zip(fds, sizes, strict=True):
            position = 0
            while position < size:
                chunk = os.pread(fd, READ_CHUNK, position)
                position += len(chunk)
                total += len(chunk)
        return total

    benchmark.extra_info.update(baseline=True, bytes=read_log.size)
    assert benchmark.pedantic(read_all, rounds=ROUNDS) == read_log.size


@pytest.mark.benchmark(group="storage: read a 64 MiB log, 1 MiB per read")
def test_read_log(benchmark: BenchmarkFixture, read_log: Log) -> None:
    end = read_log.log_end_offset
    # baseOffset, batchLength and lastOffsetDelta: all a consumer needs to go on.
    unpack = struct.Struct(">qi11xi").unpack_from

    def consume() -> int:
        offset = 0
        total = 0
        while offset < end:
            data = read_log.read(offset, READ_CHUNK, FetchIsolation.HIGH_WATERMARK).region.read()
            total += len(data)
            # The next fetch starts after the last whole batch of this one.
            position = 0
            size = len(data)
            while size - position >= 27:
                base, length, last_delta = unpack(data, position)
                position += length + 12
                if position > size:
                    break
                offset = base + last_delta + 1
        return total

    benchmark.extra_info.update(bytes=read_log.size, target=0.7)
    total = benchmark.pedantic(consume, rounds=ROUNDS)
    assert total >= read_log.size
