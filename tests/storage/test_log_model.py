"""The log against a model: random appends, reads, rolls, truncations, deletions, retention,
compaction and restarts, with every read compared to what a plain list of batches says."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from odradek.protocol.records.batch_header import read_header
from odradek.storage.checkpoints import TopicPartition
from odradek.storage.cleaner import LogCleaner
from odradek.storage.config import LogConfig
from odradek.storage.log import FetchIsolation, Log
from tests.storage.batches import batch, decode

KEYS = [b"a", b"b", b"c", b"d", b"e"]
PRODUCER_ID = 42
TP = TopicPartition("m", 0)


@dataclass
class ModelBatch:
    base_offset: int
    records: list[tuple[int, bytes | None, bytes | None]]  # (offset, key, value)
    last_offset: int


class LogModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="odradek-model-"))
        self.now = 1_000_000
        self.config = LogConfig(
            segment_bytes=700,
            index_interval_bytes=90,
            segment_index_bytes=8 * 6,
            cleanup_policy=("compact", "delete"),
            retention_ms=-1,
            delete_retention_ms=0,
            file_delete_delay_ms=0,
        )
        self.log = self._open(clean=True)
        self.batches: list[ModelBatch] = []
        self.log_start = 0
        self.end = 0
        self.counter = 0
        self.cleaner = LogCleaner()
        # The idempotent producer's batches still in the log's history (truncation removes
        # them, retention does not: producer state outlives its records):
        # (first sequence, last sequence, first offset, last offset, bytes).
        self.producer_history: list[tuple[int, int, int, int, bytes]] = []
        self.next_sequence = 0

    def _open(self, *, clean: bool, log_start: int = 0, recovery_point: int = 0) -> Log:
        return Log.open(
            self.root / "m-0",
            self.config,
            time_ms=lambda: self.now,
            had_clean_shutdown=clean,
            log_start_offset=log_start,
            recovery_point=recovery_point,
        )

    def teardown(self) -> None:
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- operations ---------------------------------------------------------------------

    @rule(
        records=st.lists(st.tuples(st.sampled_from(KEYS), st.booleans()), min_size=1, max_size=5),
        batches=st.integers(1, 3),
    )
    def append(self, records: list[tuple[bytes, bool]], batches: int) -> None:
        data = bytearray()
        planned = []
        offset = self.end
        for _ in range(batches):
            values = []
            for key, tombstone in records:
                self.counter += 1
                values.append((key, None if tombstone else b"v%d" % self.counter))
            data += batch([v for _, v in values], keys=[k for k, _ in values], timestamp=self.now)
            planned.append(
                ModelBatch(
                    offset,
                    [(offset + i, k, v) for i, (k, v) in enumerate(values)],
                    offset + len(values) - 1,
                )
            )
            offset += len(values)
        info = self.log.append_as_leader(data, leader_epoch=1)
        assert info.first_offset == self.end
        assert info.last_offset == offset - 1
        self.batches.extend(planned)
        self.end = offset
        self.now += 10

    @rule(count=st.integers(1, 4))
    def idempotent_append(self, count: int) -> None:
        if self.producer_history:
            self.next_sequence = self.producer_history[-1][1] + 1
        values = []
        for _ in range(count):
            self.counter += 1
            values.append(b"p%d" % self.counter)
        keys = [KEYS[self.counter % len(KEYS)]] * count
        data = batch(
            values,
            keys=keys,
            timestamp=self.now,
            producer_id=PRODUCER_ID,
            producer_epoch=0,
            base_sequence=self.next_sequence,
        )
        original = bytes(data)
        info = self.log.append_as_leader(data, leader_epoch=1)
        assert not info.duplicate
        assert (info.first_offset, info.last_offset) == (self.end, self.end + count - 1)
        self.batches.append(
            ModelBatch(
                self.end,
                [(self.end + i, k, v) for i, (k, v) in enumerate(zip(keys, values, strict=True))],
                self.end + count - 1,
            )
        )
        last_sequence = self.next_sequence + count - 1
        self.producer_history.append(
            (self.next_sequence, last_sequence, self.end, self.end + count - 1, original)
        )
        self.next_sequence = last_sequence + 1
        self.end += count
        self.now += 10

    @precondition(
        lambda self: bool(self.producer_history) and self.producer_history[-1][3] >= self.log_start
    )
    @rule()
    def retry_the_last_producer_batch(self) -> None:
        """A producer retrying its last batch gets its first offsets back, nothing written."""
        _, _, first, last, original = self.producer_history[-1]
        info = self.log.append_as_leader(bytearray(original), leader_epoch=1)
        assert info.duplicate
        assert (info.first_offset, info.last_offset) == (first, last)
        assert self.log.log_end_offset == self.end

    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        start = data.draw(st.integers(self.log_start, self.end))
        max_bytes = data.draw(st.sampled_from([1, 200, 100_000]))
        got = decode(self.log.read(start, max_bytes).read(), partial_tail=True)
        expected = [b for b in self.batches if b.last_offset >= start]
        assert len(got) <= len(expected)
        if start < self.end:
            assert got, "min_one_message: a read below the end returns a batch"
        for stored, model in zip(got, expected, strict=False):
            assert stored.base_offset == model.base_offset
            assert stored.last_offset == model.last_offset
            assert [(stored.offset_of(r), r.key, r.value) for r in stored.records] == model.records

    @rule()
    def roll(self) -> None:
        self.log.roll()

    @rule(data=st.data())
    def advance_high_watermark(self, data: st.DataObject) -> None:
        self.log.update_high_watermark(data.draw(st.integers(self.log.high_watermark, self.end)))

    @rule(data=st.data())
    def truncate(self, data: st.DataObject) -> None:
        target = data.draw(st.integers(self.log_start, self.end))
        self.log.truncate_to(target)
        self.producer_history = [h for h in self.producer_history if h[3] < target]
        removed = [b for b in self.batches if b.last_offset >= target]
        self.batches = [b for b in self.batches if b.last_offset < target]
        if target < self.end:
            self.end = min([target] + [b.base_offset for b in removed])
        # Truncating below the log start offset moves the start down with the end.
        self.log_start = min(self.log_start, self.end)
        assert self.log.log_end_offset == self.end

    @rule(gap=st.integers(0, 50))
    def truncate_fully(self, gap: int) -> None:
        new_start = self.end + gap
        self.log.truncate_fully_and_start_at(new_start)
        self.producer_history = []  # the producer state is gone with the data
        self.batches = []
        self.log_start = self.end = new_start

    @rule(data=st.data())
    def delete_records(self, data: st.DataObject) -> None:
        target = data.draw(st.integers(self.log_start, self.log.high_watermark))
        self.log.maybe_increment_log_start_offset(target)
        self.log_start = max(self.log_start, target)
        self.log.delete_old_segments()
        self._drop_below_start()

    @rule(limit=st.integers(0, 3_000))
    def retention_by_size(self, limit: int) -> None:
        self.log.update_config(self.config.with_overrides(retention_bytes=limit))
        self.log.delete_old_segments()
        self.log.update_config(self.config)
        assert self.log.log_start_offset >= self.log_start
        assert self.log.log_start_offset <= self.log.high_watermark
        self.log_start = self.log.log_start_offset
        self._drop_below_start()

    @rule()
    def retention_by_time(self) -> None:
        self.now += 100
        self.log.update_config(self.config.with_overrides(retention_ms=50))
        self.log.delete_old_segments()
        self.log.update_config(self.config)
        assert self.log.log_start_offset <= self.log.high_watermark
        self.log_start = self.log.log_start_offset
        self._drop_below_start()

    def _drop_below_start(self) -> None:
        self.batches = [b for b in self.batches if b.last_offset >= self.log_start]

    @rule()
    def compact(self) -> None:
        before = {(o, k, v) for b in self.batches for (o, k, v) in b.records}
        latest = self._latest_per_key(self.batches)
        self.now += 5
        self.cleaner.clean(self.log, self.root, TP, self.now)
        stored = self._stored_batches()
        after = {(o, k, v) for b in stored for (o, k, v) in b.records}
        assert after <= before  # compaction only removes
        # Every key keeps its latest live value; tombstones may go once they are old.
        after_latest = self._latest_per_key(stored)
        for key, (offset, value) in latest.items():
            if value is not None:
                assert after_latest.get(key) == (offset, value)
        # Offsets never move: each batch keeps its base and last offset.
        bounds = {(b.base_offset, b.last_offset) for b in self.batches}
        assert {(b.base_offset, b.last_offset) for b in stored} <= bounds
        self.batches = stored

    def _stored_batches(self) -> list[ModelBatch]:
        out: list[ModelBatch] = []
        offset = self.log_start
        while offset < self.end:
            got = decode(self.log.read(offset, 1 << 20).read())
            if not got:
                break
            out.extend(
                ModelBatch(
                    b.base_offset,
                    [(b.offset_of(r), r.key, r.value) for r in b.records],
                    b.last_offset,
                )
                for b in got
            )
            offset = got[-1].next_offset
        return [b for b in out if b.last_offset >= self.log_start]

    @staticmethod
    def _latest_per_key(batches: list[ModelBatch]) -> dict[bytes, tuple[int, bytes | None]]:
        latest: dict[bytes, tuple[int, bytes | None]] = {}
        for b in batches:
            for offset, key, value in b.records:
                assert key is not None
                latest[key] = (offset, value)
        return latest

    @rule(clean=st.booleans())
    def restart(self, clean: bool) -> None:
        hw = self.log.high_watermark
        self.log.flush()
        if clean:
            self.log.close()
        recovery_point = self.log.recovery_point
        self.log = self._open(clean=clean, log_start=self.log_start, recovery_point=recovery_point)
        self.log.update_high_watermark(hw)

    @precondition(lambda self: self.end > self.log_start)
    @rule(data=st.data())
    def tear_the_tail(self, data: st.DataObject) -> None:
        """An unclean stop in the middle of a write: part of the last batch reached disk."""
        hw = self.log.high_watermark
        active = self.log.active_segment
        if active.size == 0:
            return
        last = self.batches[-1]
        found = active.translate_offset(last.base_offset)
        assert found is not None
        cut = data.draw(st.integers(1, found.size - 1))
        path = active.log_path
        self.log.close_handlers()
        with open(path, "r+b") as f:
            f.truncate(found.position + found.size - cut)
        self.log = self._open(clean=False, log_start=self.log_start)
        self.batches.pop()
        if self.producer_history and self.producer_history[-1][2] == last.base_offset:
            self.producer_history.pop()
        # A log whose end fell below its start offset restarts at the start offset.
        self.end = max(last.base_offset, self.log_start)
        self.log.update_high_watermark(min(hw, self.end))

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def offsets_agree(self) -> None:
        assert self.log.log_start_offset == self.log_start
        assert self.log.log_end_offset == self.end
        assert self.log.log_start_offset <= self.log.high_watermark <= self.log.log_end_offset
        assert self.log.last_stable_offset <= self.log.high_watermark

    @invariant()
    def everything_readable_matches(self) -> None:
        stored = self._stored_batches() if self.end > self.log_start else []
        assert [(b.base_offset, b.last_offset, b.records) for b in stored] == [
            (b.base_offset, b.last_offset, b.records) for b in self.batches
        ]

    @invariant()
    def indexes_point_at_batches(self) -> None:
        for segment in self.log.segments:
            index = segment.offset_index
            for i in range(index.entries):
                offset, position = index.entry(i)
                header = read_header(segment.log.read(position, 61))
                assert header.last_offset == offset

    @invariant()
    def reads_below_the_high_watermark_stop_there(self) -> None:
        hw = self.log.high_watermark
        if hw <= self.log_start:
            return
        got = decode(self.log.read(self.log_start, 1 << 20, FetchIsolation.HIGH_WATERMARK).read())
        assert all(b.base_offset < hw for b in got)


TestLogModel = LogModel.TestCase
TestLogModel.settings = settings(stateful_step_count=30, deadline=None)
