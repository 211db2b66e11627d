"""A node's log dirs: loading, checkpoints, the clean-shutdown marker, periodic duties."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from odradek.storage.checkpoints import TopicPartition, read_offset_checkpoint
from odradek.storage.config import LogConfig
from odradek.storage.log_manager import CLEAN_SHUTDOWN_FILE, LogManager, ManagerSchedule
from odradek.storage.meta_properties import (
    MetaProperties,
    MetaPropertiesError,
    write_meta_properties,
)
from tests.storage.batches import batch, read_records


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def manager(dirs: list[Path], clock: Clock, **kw: object) -> LogManager:
    m = LogManager(dirs, LogConfig(segment_bytes=800), time_ms=clock, **kw)  # type: ignore[arg-type]
    m.startup()
    return m


def test_logs_spread_over_log_dirs_and_come_back_after_a_clean_shutdown(tmp_path: Path) -> None:
    clock = Clock()
    dirs = [tmp_path / "a", tmp_path / "b"]
    m = manager(dirs, clock)
    tps = [TopicPartition("orders", p) for p in range(4)]
    for tp in tps:
        log = m.get_or_create_log(tp)
        for i in range(10):
            log.append_as_leader(batch([b"%s-%d" % (str(tp).encode(), i)]), leader_epoch=0)
    assert {m.log_dir_of(tp) for tp in tps} == set(dirs)
    m.shutdown(broker_epoch=12)
    for d in dirs:
        marker = json.loads((d / CLEAN_SHUTDOWN_FILE).read_text())
        assert marker == {"version": 0, "brokerEpoch": 12}
        points = read_offset_checkpoint(d / "recovery-point-offset-checkpoint")
        assert set(points.values()) == {10}
        assert (d / "log-start-offset-checkpoint").exists()
        assert (d / "cleaner-offset-checkpoint").exists()
    again = manager(dirs, clock)
    assert all(again.had_clean_shutdown.values())
    assert not any((d / CLEAN_SHUTDOWN_FILE).exists() for d in dirs)
    for tp in tps:
        reloaded = again.get_log(tp)
        assert reloaded is not None
        assert [r.value for r in read_records(reloaded)][-1] == b"%s-9" % str(tp).encode()


def test_an_unclean_start_recovers_from_the_checkpointed_points(tmp_path: Path) -> None:
    clock = Clock()
    m = manager([tmp_path], clock)
    tp = TopicPartition("t", 0)
    log = m.get_or_create_log(tp)
    for _ in range(30):
        log.append_as_leader(batch([b"x" * 40]), leader_epoch=0)
    m.checkpoint_recovery_points()
    log.append_as_leader(batch([b"last"]), leader_epoch=0)
    # No shutdown: the process died.
    again = manager([tmp_path], clock)
    assert again.had_clean_shutdown == {tmp_path: False}
    recovered = again.get_log(tp)
    assert recovered is not None
    assert recovered.log_end_offset == 31


def test_log_start_offsets_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    m = manager([tmp_path], clock)
    tp = TopicPartition("t", 0)
    log = m.get_or_create_log(tp)
    for _ in range(20):
        log.append_as_leader(batch([b"x"]), leader_epoch=0)
    log.update_high_watermark(20)
    log.maybe_increment_log_start_offset(7)
    m.shutdown()
    reloaded = manager([tmp_path], clock).get_log(tp)
    assert reloaded is not None
    assert reloaded.log_start_offset == 7


def test_high_watermark_checkpoint(tmp_path: Path) -> None:
    clock = Clock()
    m = manager([tmp_path], clock)
    tp = TopicPartition("t", 0)
    m.get_or_create_log(tp)
    m.checkpoint_high_watermarks({tp: 42})
    assert (tmp_path / "replication-offset-checkpoint").read_text() == "0\n1\nt 0 42\n"
    assert m.read_high_watermarks() == {tp: 42}


def test_deleting_a_log_renames_its_directory_first(tmp_path: Path) -> None:
    clock = Clock()
    m = manager([tmp_path], clock)
    tp = TopicPartition("gone", 0)
    m.get_or_create_log(tp).append_as_leader(batch([b"x"]), leader_epoch=0)
    m.delete_log(tp)
    assert not (tmp_path / "gone-0").exists()
    (pending,) = [p for p in tmp_path.iterdir() if p.name.endswith("-delete")]
    assert pending.name.startswith("gone-0.")
    # A crash now: the next start deletes it.
    manager([tmp_path], clock)
    assert not pending.exists()


def test_meta_properties_must_match(tmp_path: Path) -> None:
    clock = Clock()
    write_meta_properties(tmp_path, MetaProperties("cluster-a", 1, uuid.uuid4()))
    manager([tmp_path], clock, cluster_id="cluster-a", node_id=1)
    with pytest.raises(MetaPropertiesError, match="cluster"):
        manager([tmp_path], clock, cluster_id="cluster-b", node_id=1)
    with pytest.raises(MetaPropertiesError, match="node"):
        manager([tmp_path], clock, cluster_id="cluster-a", node_id=2)
    with pytest.raises(MetaPropertiesError, match="not formatted"):
        manager([tmp_path / "fresh"], clock, cluster_id="cluster-a")


def test_tick_runs_retention_flushes_and_checkpoints_when_due(tmp_path: Path) -> None:
    clock = Clock()
    schedule = ManagerSchedule(
        retention_check_interval_ms=1_000,
        flush_check_interval_ms=1_000,
        recovery_point_checkpoint_interval_ms=1_000,
        cleaner_enabled=False,
    )
    m = LogManager(
        [tmp_path],
        LogConfig(segment_bytes=400, retention_ms=5_000, flush_ms=500),
        time_ms=clock,
        schedule=schedule,
    )
    m.startup()
    tp = TopicPartition("t", 0)
    log = m.get_or_create_log(tp)
    for _ in range(20):
        log.append_as_leader(batch([b"y" * 40], timestamp=clock.now), leader_epoch=0)
    log.update_high_watermark(20)
    m.tick()
    assert read_offset_checkpoint(tmp_path / "recovery-point-offset-checkpoint") == {}
    clock.now += 10_000
    m.tick()
    assert log.recovery_point == 20  # flush.ms passed
    assert read_offset_checkpoint(tmp_path / "recovery-point-offset-checkpoint") == {tp: 20}
    assert log.log_start_offset == 20  # retention.ms passed


def test_truncation_checkpoints_the_lowered_recovery_point(tmp_path: Path) -> None:
    clock = Clock()
    m = manager([tmp_path], clock)
    tp = TopicPartition("t", 0)
    log = m.get_or_create_log(tp)
    for _ in range(10):
        log.append_as_leader(batch([b"x"]), leader_epoch=0)
    log.flush()
    m.checkpoint_recovery_points()
    m.truncate_to({tp: 4})
    assert read_offset_checkpoint(tmp_path / "recovery-point-offset-checkpoint") == {tp: 4}
    m.truncate_fully_and_start_at(tp, 50)
    assert read_offset_checkpoint(tmp_path / "log-start-offset-checkpoint") == {tp: 50}
