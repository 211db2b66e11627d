"""Opening logs: recovery after a crash, and a clean restart of many partitions.

* **recovery** -- opening a 64 MiB log of 16 KiB batches after an unclean shutdown with
  the recovery point at 0: every batch's CRC checked, the offset and time indexes rebuilt,
  producer state replayed and snapshotted per segment. The ceiling reads the same files in
  1 MiB chunks and computes CRC-32C over them. Target: 0.5.
* **clean restart** -- ``LogManager.startup`` of a log dir of 1,000 partitions after a
  clean shutdown, once with 64 KiB per partition and once with ten times that. A clean
  restart reads no data, so the time must not grow with it: the 1x run is the ceiling and
  the 10x run's target is 0.9 (the same time, within noise).

The page cache is warm for both sides of each group.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import crc32c
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from odradek.protocol.records.batch import RecordBatch, encode_batch
from odradek.protocol.records.record import Record
from odradek.storage.checkpoints import TopicPartition
from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from odradek.storage.log_manager import LogManager, ManagerSchedule

RECOVERY_LOG_SIZE = 64 * 1024 * 1024
PARTITIONS = 1_000
BATCHES_PER_PARTITION = 4  # 64 KiB
ROUNDS = 10
ROUNDS_RESTART = 8


def bench_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the files go: ``$ODRADEK_BENCH_DIR`` (to pick a disk) or pytest's temp dir."""
    configured = os.environ.get("ODRADEK_BENCH_DIR")
    if configured:
        root = Path(configured) / f"odradek-bench-{os.getpid()}"
        root.mkdir(parents=True, exist_ok=True)
        return root
    return tmp_path_factory.mktemp("storage")


def batches_of_16k(count: int) -> list[bytearray]:
    out = []
    for i in range(count):
        records = [Record(j, j, b"key-%04d" % j, bytes([i % 251]) * 1003) for j in range(16)]
        out.append(bytearray(encode_batch(RecordBatch.of(records, base_timestamp=1_000 + i))))
    return out


@pytest.fixture(scope="module")
def unclean_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = bench_root(tmp_path_factory) / "recovery" / "recover-0"
    log = Log.open(directory, LogConfig(segment_bytes=16 * 1024 * 1024))
    batches = batches_of_16k(64)
    while log.size < RECOVERY_LOG_SIZE:
        for data in batches:
            log.append_as_leader(data, leader_epoch=1)
    log.flush()
    log.close_handlers()  # no clean close: the files stay as a crash leaves them
    os.sync()
    for path in directory.iterdir():  # warm the page cache
        path.read_bytes()
    yield directory
    shutil.rmtree(directory.parent, ignore_errors=True)


@pytest.mark.benchmark(group="storage: recover a 64 MiB log of 16KiB batches")
def test_recovery_raw_read_and_crc(benchmark: BenchmarkFixture, unclean_log: Path) -> None:
    files = sorted(unclean_log.glob("*.log"))
    size = sum(p.stat().st_size for p in files)

    def read_and_checksum() -> int:
        total = 0
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            try:
                while chunk := os.read(fd, 1 << 20):
                    crc32c.crc32c(chunk)
                    total += len(chunk)
            finally:
                os.close(fd)
        return total

    benchmark.extra_info.update(baseline=True, bytes=size)
    assert benchmark.pedantic(read_and_checksum, rounds=ROUNDS) == size


@pytest.mark.benchmark(group="storage: recover a 64 MiB log of 16KiB batches")
def test_recovery_log_open(benchmark: BenchmarkFixture, unclean_log: Path) -> None:
    size = sum(p.stat().st_size for p in unclean_log.glob("*.log"))
    opened: list[Log] = []

    def setup() -> None:
        # Each round recovers from scratch: no producer snapshots to start from.
        for snapshot in unclean_log.glob("*.snapshot"):
            snapshot.unlink()

    def recover() -> None:
        config = LogConfig(segment_bytes=16 * 1024 * 1024)
        opened.append(Log.open(unclean_log, config, recovery_point=0))

    def teardown() -> None:
        log = opened.pop()
        assert log.size == size  # nothing was lost or cut
        log.close_handlers()

    benchmark.extra_info.update(bytes=size, target=0.5)
    benchmark.pedantic(recover, setup=setup, teardown=teardown, rounds=ROUNDS)


def build_log_dir(root: Path, batches_per_partition: int) -> Path:
    """A log dir of 1,000 partitions, shut down cleanly."""
    manager = LogManager([root], LogConfig(), schedule=ManagerSchedule(cleaner_enabled=False))
    manager.startup()
    batches = batches_of_16k(batches_per_partition)
    for p in range(PARTITIONS):
        log = manager.get_or_create_log(TopicPartition("restart", p))
        for data in batches:
            log.append_as_leader(data, leader_epoch=1)
    manager.shutdown()
    return root


@pytest.fixture(scope="module")
def restart_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = bench_root(tmp_path_factory) / "restart"
    dirs = {
        "1x": build_log_dir(root / "1x", BATCHES_PER_PARTITION),
        "10x": build_log_dir(root / "10x", BATCHES_PER_PARTITION * 10),
    }
    os.sync()  # no writeback of the freshly written data competing with the rounds
    yield dirs
    shutil.rmtree(root, ignore_errors=True)


def _restart_benchmark(benchmark: BenchmarkFixture, log_dir: Path) -> None:
    started: list[LogManager] = []

    def startup() -> None:
        manager = LogManager([log_dir], LogConfig(), schedule=ManagerSchedule())
        manager.startup()
        started.append(manager)

    def shutdown() -> None:
        manager = started.pop()
        assert all(manager.had_clean_shutdown.values())
        assert len(manager.logs) == PARTITIONS
        manager.shutdown()

    benchmark.extra_info["bytes"] = sum(p.stat().st_size for p in log_dir.glob("*/*.log"))
    benchmark.pedantic(startup, teardown=shutdown, rounds=ROUNDS_RESTART)


@pytest.mark.benchmark(group="storage: clean restart of 1,000 partitions")
def test_clean_restart_1x_data(benchmark: BenchmarkFixture, restart_dirs: dict[str, Path]) -> None:
    benchmark.extra_info["baseline"] = True
    _restart_benchmark(benchmark, restart_dirs["1x"])


@pytest.mark.benchmark(group="storage: clean restart of 1,000 partitions")
def test_clean_restart_10x_data(benchmark: BenchmarkFixture, restart_dirs: dict[str, Path]) -> None:
    benchmark.extra_info["target"] = 0.9
    _restart_benchmark(benchmark, restart_dirs["10x"])
