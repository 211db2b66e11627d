"""The leader epoch cache: Kafka's LeaderEpochFileCache rules."""

from __future__ import annotations

from pathlib import Path

from odradek.storage.checkpoints import EpochEntry, read_leader_epoch_checkpoint
from odradek.storage.leader_epochs import LeaderEpochFileCache


def cache(tmp_path: Path) -> LeaderEpochFileCache:
    return LeaderEpochFileCache(tmp_path / "leader-epoch-checkpoint")


def test_assign_is_persisted_and_idempotent(tmp_path: Path) -> None:
    c = cache(tmp_path)
    c.assign(0, 0)
    c.assign(0, 5)  # same epoch, later offset: nothing new
    c.assign(2, 10)
    assert c.entries() == [EpochEntry(0, 0), EpochEntry(2, 10)]
    assert read_leader_epoch_checkpoint(c.path) == c.entries()
    assert LeaderEpochFileCache(c.path).entries() == c.entries()


def test_a_conflicting_entry_drops_those_in_its_way(tmp_path: Path) -> None:
    c = cache(tmp_path)
    c.assign(1, 0)
    c.assign(2, 10)
    c.assign(3, 20)
    c.assign(4, 15)  # a new leader whose log diverged at 15
    assert c.entries() == [EpochEntry(1, 0), EpochEntry(2, 10), EpochEntry(4, 15)]
    c.assign(2, 12)  # an older epoch again: everything at or after it goes
    assert c.entries() == [EpochEntry(1, 0), EpochEntry(2, 12)]


def test_end_offset_for_epoch(tmp_path: Path) -> None:
    c = cache(tmp_path)
    c.assign(1, 0)
    c.assign(3, 10)
    c.assign(5, 20)
    assert c.end_offset_for(5, 30) == (5, 30)  # the latest epoch ends at the log end
    assert c.end_offset_for(3, 30) == (3, 20)
    assert c.end_offset_for(4, 30) == (3, 20)  # unknown epoch: the one before it
    assert c.end_offset_for(0, 30) == (0, 0)  # before everything: the first start
    assert c.end_offset_for(6, 30) == (-1, -1)
    assert c.end_offset_for(-1, 30) == (-1, -1)


def test_truncations(tmp_path: Path) -> None:
    c = cache(tmp_path)
    for epoch, start in [(1, 0), (2, 10), (3, 20)]:
        c.assign(epoch, start)
    c.truncate_from_end(15)
    assert c.entries() == [EpochEntry(1, 0), EpochEntry(2, 10)]
    c.truncate_from_start(12)
    assert c.entries() == [EpochEntry(2, 12)]
    assert read_leader_epoch_checkpoint(c.path) == [EpochEntry(2, 12)]
    assert c.epoch_for_offset(11) is None
    assert c.epoch_for_offset(13) == 2
