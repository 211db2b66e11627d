"""Kafka reads our files: its DumpLogSegments tool decodes every batch and index entry.

The log written here has several segments, compressed batches of every codec, an
idempotent and a transactional producer with COMMIT and ABORT markers (so a transaction
index), tombstones, a compaction pass (delete horizons, rebuilt batches) and producer
snapshots. Apache Kafka's own ``kafka-dump-log`` (``org.apache.kafka.tools.DumpLogSegments``,
from the jars ``tools/kafka/fetch.sh`` lays out) must read all of it without a complaint
and print back the records that were written. Skipped when Java or the jars are missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from odradek.protocol.records.compression import Compression
from odradek.storage.checkpoints import TopicPartition
from odradek.storage.cleaner import LogCleaner
from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from odradek.storage.producer_state import AppendOrigin
from tests.storage.batches import batch, marker, read_records
from tests.support.kafka_reference import kafka_unavailable, run_kafka_tool

pytestmark = [
    pytest.mark.java,
    pytest.mark.skipif(kafka_unavailable() is not None, reason=str(kafka_unavailable())),
]

RECORD_LINE = re.compile(rb"^\| offset: (\d+) .*? keySize: (-?\d+) valueSize: (-?\d+) ")


def printed_record(line: bytes) -> tuple[int, bytes | None, bytes | None] | None:
    """``(offset, key, value)`` of a data record line of ``--print-data-log`` output."""
    match = RECORD_LINE.match(line)
    if match is None or b"endTxnMarker" in line:
        return None
    key_size, value_size = int(match.group(2)), int(match.group(3))
    key = line.split(b" key: ", 1)[1].split(b" payload: ", 1)[0] if key_size >= 0 else None
    value = line.split(b" payload: ", 1)[1] if value_size >= 0 else None
    return int(match.group(1)), key, value


def write_log(path: Path) -> Log:
    now = 1_700_000_000_000
    config = LogConfig(
        segment_bytes=3_000,
        index_interval_bytes=300,
        cleanup_policy=("compact", "delete"),
        retention_ms=-1,
        delete_retention_ms=60_000,
    )
    log = Log.open(path / "interop-0", config, time_ms=lambda: now)
    codecs = [
        Compression.NONE,
        Compression.GZIP,
        Compression.SNAPPY,
        Compression.LZ4,
        Compression.ZSTD,
    ]
    sequence = 0
    for i in range(60):
        values: list[bytes | None] = [b"value-%d-%d" % (i, j) for j in range(4)]
        if i % 9 == 0:
            values[1] = None  # a tombstone
        if i == 1:
            values[2] = None  # a tombstone of a key written only here: it outlives a pass
        keys = [b"key-%d" % ((i * 4 + j) % 23) for j in range(4)]
        if i == 1:
            keys[2] = b"solo"
        if i % 3 == 0:
            data = batch(
                values,
                keys=keys,
                timestamp=now + i,
                compression=codecs[i % 5],
                producer_id=5,
                producer_epoch=0,
                base_sequence=sequence,
            )
            sequence += 4
        else:
            data = batch(values, keys=keys, timestamp=now + i, compression=codecs[i % 5])
        log.append_as_leader(data, leader_epoch=1 + i // 20)
        if i % 10 == 4:
            txn = batch(
                [b"txn-%d" % i],
                keys=[b"txn-key"],
                timestamp=now + i,
                producer_id=9,
                producer_epoch=0,
                base_sequence=i // 10,
                transactional=True,
            )
            log.append_as_leader(txn, leader_epoch=1 + i // 20)
            end = marker(commit=i % 20 == 4, producer_id=9, producer_epoch=0, timestamp=now + i)
            log.append_as_leader(end, leader_epoch=1 + i // 20, origin=AppendOrigin.COORDINATOR)
    log.update_high_watermark(log.log_end_offset)
    cleaner = LogCleaner()
    cleaner.clean(log, path, TopicPartition("interop", 0), now)
    # A second pass, past the first: emptied transactions' markers get a delete horizon.
    for i in range(40):
        log.append_as_leader(
            batch([b"late-%d" % i], keys=[b"late-%d" % i], timestamp=now + 100 + i), leader_epoch=4
        )
    log.update_high_watermark(log.log_end_offset)
    cleaner.clean(log, path, TopicPartition("interop", 0), now)
    log.flush()
    return log


def test_kafka_dump_log_segments_reads_every_batch_and_index(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    expected = read_records(log)
    assert log.active_segment.txn_index.all_aborted_txns() or any(
        s.txn_index.all_aborted_txns() for s in log.segments
    )
    log.close()
    directory = tmp_path / "interop-0"
    suffixes = (".log", ".index", ".timeindex", ".txnindex", ".snapshot")
    files = sorted(str(p) for p in directory.iterdir() if p.suffix in suffixes)
    assert any(f.endswith(".txnindex") for f in files)

    dump = run_kafka_tool(
        "kafka-dump-log",
        "--files",
        ",".join(files),
        "--deep-iteration",
        "--print-data-log",
        timeout=120,
    )
    out, err = dump.stdout, dump.stderr.decode()
    # Compaction leaves gaps, which the tool lists; anything else on stderr is a complaint.
    complaints = [
        line
        for line in err.splitlines()
        if line.strip()
        and not line.startswith("Non-consecutive offsets")
        and not re.fullmatch(r"\s+-?\d+ is followed by \d+", line)
    ]
    assert not complaints, err
    batch_lines = [line for line in out.splitlines() if line.startswith(b"baseOffset:")]
    assert batch_lines
    assert all(b"isvalid: true" in line for line in batch_lines)
    for codec in (b"gzip", b"snappy", b"lz4", b"zstd"):
        assert any(b"compresscodec: " + codec in line for line in batch_lines)
    assert any(b"isControl: true" in line for line in batch_lines)
    assert any(b"deleteHorizonMs: OptionalLong[" in line for line in batch_lines)
    assert b"endTxnMarker: ABORT" in out
    assert b"endTxnMarker: COMMIT" in out
    assert b"producerId: 5 producerEpoch: 0" in out  # from the producer snapshots
    assert b"lastStableOffset:" in out  # from the transaction index

    printed = [r for line in out.splitlines() if (r := printed_record(line)) is not None]
    assert printed == [(r.offset, r.key, r.value) for r in expected]

    verify = run_kafka_tool(
        "kafka-dump-log",
        "--files",
        ",".join(f for f in files if f.endswith("index")),
        "--verify-index-only",
        timeout=120,
    )
    assert not verify.stderr.strip(), verify.stderr.decode()
    sanity = run_kafka_tool(
        "kafka-dump-log",
        "--files",
        ",".join(f for f in files if f.endswith("index")),
        "--index-sanity-check",
        timeout=120,
    )
    assert sanity.stdout.count(b"passed sanity check") == sum(
        1 for f in files if f.endswith((".index", ".timeindex"))
    ) - sanity.stdout.count(b"is empty")
