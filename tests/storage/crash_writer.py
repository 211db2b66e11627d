"""A process that writes to a log until it is killed, for the crash tests.

Run as ``python -m tests.storage.crash_writer DIR SEED MODE``. It opens the log dir with a
:class:`~odradek.storage.log_manager.LogManager` (so an earlier kill means recovery), goes
on from whatever the log holds, and appends numbered batches from an idempotent producer:
each record's value is ``<batch>/<index>/<count>/`` padded with bytes derived from the
batch number, so a reader can tell a whole batch from a damaged or partial one. It rolls
small segments, flushes, checkpoints, and in mode ``delete`` also deletes records, in
mode ``compact`` compacts. After each fsync it prints ``flushed <offset>``: everything
below that offset must survive the kill.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from odradek.storage.checkpoints import TopicPartition
from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from odradek.storage.log_manager import LogManager, ManagerSchedule
from tests.storage.batches import batch, read_batches

TP = TopicPartition("crash", 0)
PRODUCER_ID = 77
KEYS = 13


def config_for(mode: str) -> LogConfig:
    policy = ("compact",) if mode == "compact" else ("delete",)
    return LogConfig(
        segment_bytes=48 * 1024,
        index_interval_bytes=700,
        cleanup_policy=policy,
        delete_retention_ms=0,
        file_delete_delay_ms=0,
        retention_ms=-1,
    )


def record_value(number: int, index: int, count: int) -> bytes:
    head = b"%d/%d/%d/" % (number, index, count)
    return head + bytes([number % 251]) * (40 + number % 60)


def parse_value(value: bytes) -> tuple[int, int, int]:
    number, index, count, _ = value.split(b"/", 3)
    return int(number), int(index), int(count)


def next_batch_number(log: Log) -> int:
    batches = read_batches(log)
    if not batches:
        return 0
    last = batches[-1]
    return parse_value(last.records[-1].value or b"")[0] + 1


def main() -> None:
    directory, seed, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    manager = LogManager(
        [directory],
        config_for(mode),
        schedule=ManagerSchedule(cleaner_enabled=False),
    )
    manager.startup()
    log = manager.get_or_create_log(TP)
    number = next_batch_number(log)
    entry = log.producer_state.last_entry(PRODUCER_ID)
    sequence = 0 if entry is None else entry.last_seq + 1
    print("ready", log.log_end_offset, flush=True)
    while True:
        count = rng.randint(1, 12)
        data = batch(
            [record_value(number, i, count) for i in range(count)],
            keys=[b"k%d" % ((number + i) % KEYS) for i in range(count)],
            timestamp=int(time.time() * 1000),
            producer_id=PRODUCER_ID,
            producer_epoch=0,
            base_sequence=sequence,
        )
        log.append_as_leader(data, leader_epoch=0)
        number += 1
        sequence += count
        log.update_high_watermark(log.log_end_offset)
        roll = rng.random()
        if roll < 0.05:
            log.flush()
            print("flushed", log.recovery_point, flush=True)
        elif roll < 0.08:
            manager.checkpoint_recovery_points()
        elif roll < 0.09 and mode == "delete":
            log.maybe_increment_log_start_offset(max(0, log.log_end_offset - 2_000))
            log.delete_old_segments()
            manager.checkpoint_log_start_offsets()
        elif roll < 0.095 and mode == "compact":
            manager.cleaner.clean(log, directory, TP, int(time.time() * 1000))
        if log.size > 2_000_000:
            log.maybe_increment_log_start_offset(log.log_end_offset - 1_000)
            log.delete_old_segments()


if __name__ == "__main__":
    main()
