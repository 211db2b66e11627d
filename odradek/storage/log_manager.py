"""The log dirs of a node: every partition log in them, and the files kept per log dir.

Kafka's ``LogManager`` (``docs/ops.html``, "Disks and Filesystem"; ``docs/implementation.html``,
"Log"). A node has one or more log dirs (``log.dirs``); each holds one directory per
partition replica, ``<topic>-<partition>/``, and beside them:

* ``meta.properties`` (:mod:`odradek.storage.meta_properties`): which cluster and node;
* ``recovery-point-offset-checkpoint``: per partition, the offset below which the log is
  known to be flushed; an unclean restart re-validates only what lies above it;
* ``log-start-offset-checkpoint``: per partition, the log start offset (DeleteRecords
  moves it inside a segment, which the files alone cannot tell);
* ``replication-offset-checkpoint``: per partition, the high watermark, written for the
  replication layer (:meth:`LogManager.checkpoint_high_watermarks`);
* ``cleaner-offset-checkpoint``: per compacted partition, where the dirty section begins;
* ``.kafka_cleanshutdown``: present only between a clean shutdown and the next start.
  With it, logs open without any scan; without it, logs are recovered from their
  recovery points.

A *stray* log is one the metadata no longer gives this broker (KIP-858: its topic was
deleted, or its partition moved away, while the broker could not hear of it). The broker
decides which logs are strays (:meth:`odradek.broker.broker.Broker.handle_stray_logs`);
:meth:`LogManager.move_aside_stray` renames such a log ``<topic>-<partition>.<uuid>-stray``
and stops managing it. As in Kafka (``LogManager.asyncDelete`` with ``isStray``), a stray
log is moved aside, never deleted: if the metadata was wrong, its data is still there for
the operator. A start-up passes over ``-stray`` directories, with a warning for each, and
deletes ``-delete`` directories (a deletion a crash interrupted).

The manager runs nothing by itself: the node's driver calls :meth:`LogManager.tick`
periodically (retention, flushes, checkpoints, delayed file deletion), with the time it
was given, as Kafka's scheduled tasks would, and runs :meth:`LogManager.run_cleaner` as a
task of its own: compaction copies in a worker thread (:mod:`.cleaner_thread`) while the
event loop keeps serving, as Kafka's cleaner threads do. The driver cancels that task
before :meth:`LogManager.shutdown`; cancelling waits for the thread.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import trio

from odradek.storage import log_files
from odradek.storage.checkpoints import (
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    REPLICATION_OFFSET_CHECKPOINT,
    TopicPartition,
    read_offset_checkpoint,
    write_offset_checkpoint,
)
from odradek.storage.cleaner import LogCleaner
from odradek.storage.config import LogConfig
from odradek.storage.log import Log, system_time_ms
from odradek.storage.meta_properties import MetaPropertiesError, read_meta_properties

logger = logging.getLogger(__name__)

CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"
METADATA_TOPIC = "__cluster_metadata"
FUTURE_DIR_SUFFIX = "-future"
STRAY_DIR_SUFFIX = "-stray"


@dataclass
class ManagerSchedule:
    """How often the periodic duties run (Kafka's broker configs of the same names)."""

    #: ``log.retention.check.interval.ms``
    retention_check_interval_ms: int = 300_000
    #: ``log.flush.scheduler.interval.ms`` (Kafka's default is Long.MAX: never)
    flush_check_interval_ms: int = 2**63 - 1
    #: ``log.flush.offset.checkpoint.interval.ms``
    recovery_point_checkpoint_interval_ms: int = 60_000
    #: ``log.flush.start.offset.checkpoint.interval.ms``
    log_start_offset_checkpoint_interval_ms: int = 60_000
    #: ``producer.id.expiration.check.interval.ms``
    producer_expiration_check_interval_ms: int = 600_000
    #: ``log.cleaner.backoff.ms``
    cleaner_backoff_ms: int = 15_000
    #: ``log.cleaner.enable``
    cleaner_enabled: bool = True
    last_run: dict[str, int] = field(default_factory=dict)

    def due(self, duty: str, interval_ms: int, now_ms: int) -> bool:
        last = self.last_run.setdefault(duty, now_ms)
        if now_ms - last >= interval_ms:
            self.last_run[duty] = now_ms
            return True
        return False


class LogManager:
    def __init__(
        self,
        log_dirs: Iterable[Path],
        default_config: LogConfig | None = None,
        *,
        time_ms: Callable[[], int] = system_time_ms,
        topic_config: Callable[[str], LogConfig] | None = None,
        cluster_id: str | None = None,
        node_id: int | None = None,
        producer_id_expiration_ms: int = 86_400_000,
        schedule: ManagerSchedule | None = None,
        cleaner: LogCleaner | None = None,
    ) -> None:
        self.log_dirs = [Path(d) for d in log_dirs]
        if not self.log_dirs:
            raise ValueError("a log manager needs at least one log dir")
        self.default_config = default_config or LogConfig()
        self.time_ms = time_ms
        self._topic_config = topic_config
        self.cluster_id = cluster_id
        self.node_id = node_id
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.schedule = schedule or ManagerSchedule()
        self.cleaner = cleaner or LogCleaner()
        self.logs: dict[TopicPartition, Log] = {}
        self._log_dir_of: dict[TopicPartition, Path] = {}
        self._pending_dir_deletions: list[tuple[int, Path]] = []
        #: Per log dir, whether the last shutdown was clean (known after :meth:`startup`).
        self.had_clean_shutdown: dict[Path, bool] = {}

    def config_for(self, topic: str) -> LogConfig:
        return self._topic_config(topic) if self._topic_config else self.default_config

    # -- startup ------------------------------------------------------------------------

    def startup(self) -> None:
        """Check each log dir's identity, then open every partition log in it."""
        for log_dir in self.log_dirs:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._check_meta_properties(log_dir)
            self._load_logs(log_dir)
        self.cleaner.load_checkpoints(self.log_dirs)

    def _check_meta_properties(self, log_dir: Path) -> None:
        meta = read_meta_properties(log_dir)
        if meta is None:
            if self.cluster_id is not None:
                raise MetaPropertiesError(
                    f"log dir {log_dir} is not formatted (no meta.properties)"
                )
            return
        if self.cluster_id is not None and meta.cluster_id != self.cluster_id:
            raise MetaPropertiesError(
                f"log dir {log_dir} belongs to cluster {meta.cluster_id}, not {self.cluster_id}"
            )
        if self.node_id is not None and meta.node_id is not None and meta.node_id != self.node_id:
            raise MetaPropertiesError(
                f"log dir {log_dir} belongs to node {meta.node_id}, not {self.node_id}"
            )

    def _load_logs(self, log_dir: Path) -> None:
        marker = log_dir / CLEAN_SHUTDOWN_FILE
        clean = marker.exists()
        self.had_clean_shutdown[log_dir] = clean
        # From here until the next clean shutdown, a crash must trigger recovery.
        marker.unlink(missing_ok=True)
        recovery_points = read_offset_checkpoint(log_dir / RECOVERY_POINT_CHECKPOINT)
        start_offsets = read_offset_checkpoint(log_dir / LOG_START_OFFSET_CHECKPOINT)
        for entry in sorted(os.scandir(log_dir), key=lambda e: e.name):
            if not entry.is_dir():
                continue
            name = entry.name
            if name.endswith(log_files.DELETE_DIR_SUFFIX):
                shutil.rmtree(entry.path, ignore_errors=True)
                continue
            if name.endswith(STRAY_DIR_SUFFIX):
                logger.warning(
                    "stray log %s left in place: remove it once it is not needed", entry.path
                )
                continue
            if name.endswith(FUTURE_DIR_SUFFIX):
                continue
            try:
                tp = TopicPartition.from_dir_name(name)
            except ValueError:
                continue
            if tp.topic == METADATA_TOPIC:
                # The metadata log belongs to the node's Raft replica, as in Kafka: a second
                # owner would trim its segment to the size it knew of.
                continue
            log = Log.open(
                Path(entry.path),
                self.config_for(tp.topic),
                time_ms=self.time_ms,
                log_start_offset=start_offsets.get(tp, 0),
                recovery_point=recovery_points.get(tp, 0),
                had_clean_shutdown=clean,
                producer_id_expiration_ms=self.producer_id_expiration_ms,
            )
            if tp in self.logs:
                raise RuntimeError(
                    f"partition {tp} has logs in {self._log_dir_of[tp]} and {log_dir}"
                )
            self.logs[tp] = log
            self._log_dir_of[tp] = log_dir

    # -- logs ---------------------------------------------------------------------------

    def get_log(self, tp: TopicPartition) -> Log | None:
        return self.logs.get(tp)

    def get_or_create_log(
        self,
        tp: TopicPartition,
        config: LogConfig | None = None,
        topic_id: uuid.UUID | None = None,
    ) -> Log:
        """The partition's log, created in the log dir with the fewest partitions."""
        log = self.logs.get(tp)
        if log is not None:
            if topic_id is not None:
                log.assign_topic_id(topic_id)
            return log
        counts = {d: 0 for d in self.log_dirs}
        for d in self._log_dir_of.values():
            counts[d] += 1
        log_dir = min(self.log_dirs, key=lambda d: counts[d])
        log = Log.open(
            log_dir / tp.dir_name,
            config or self.config_for(tp.topic),
            time_ms=self.time_ms,
            topic_id=topic_id,
            producer_id_expiration_ms=self.producer_id_expiration_ms,
        )
        self.logs[tp] = log
        self._log_dir_of[tp] = log_dir
        return log

    def update_config(self, topic: str, config: LogConfig) -> None:
        for tp, log in self.logs.items():
            if tp.topic == topic:
                log.update_config(config)

    def delete_log(self, tp: TopicPartition) -> None:
        """Remove a partition's log: renamed ``<dir>.<id>-delete`` now, deleted later.

        The rename is what makes the deletion survive a crash: a restart deletes any
        ``-delete`` directory it finds.
        """
        replica_log = self.logs.get(tp)
        if replica_log is None:
            return
        replica_log.close_handlers()
        target = self._move_aside(tp, log_files.DELETE_DIR_SUFFIX)
        due = self.time_ms() + self.config_for(tp.topic).file_delete_delay_ms
        self._pending_dir_deletions.append((due, target))

    def move_aside_stray(self, tp: TopicPartition) -> Path | None:
        """Stop managing a stray log and rename it ``<topic>-<partition>.<uuid>-stray``.

        Its files are flushed and closed first, so that the directory stays a complete
        log. Returns the new directory (None: no log of ``tp``).
        """
        replica_log = self.logs.get(tp)
        if replica_log is None:
            return None
        if replica_log.cleaning:
            # The pass notices the closing and throws its output away.
            replica_log.close_handlers()
        else:
            replica_log.flush(replica_log.log_end_offset, include_offset=True)
            replica_log.close()
        log_dir = self._log_dir_of[tp]
        target = self._move_aside(tp, STRAY_DIR_SUFFIX)
        # A new log of the partition must not start from the stray's recovery point.
        self.checkpoint_recovery_points({log_dir})
        self.checkpoint_log_start_offsets({log_dir})
        return target

    def _move_aside(self, tp: TopicPartition, suffix: str) -> Path:
        """Forget ``tp``'s (closed) log and rename its directory with ``suffix``."""
        replica_log = self.logs.pop(tp)
        log_dir = self._log_dir_of.pop(tp)
        target = log_dir / renamed_dir_name(tp, suffix)
        os.replace(replica_log.directory, target)
        log_files.fsync_dir(log_dir)
        self.cleaner.forget(tp)
        return target

    def truncate_to(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Truncate logs (followers diverging from a new leader) and checkpoint at once.

        The recovery-point checkpoint must drop with the truncation: otherwise data
        appended after it, below the old recovery point, would be trusted unflushed after
        a crash. Kafka checkpoints here for the same reason.
        """
        dirs = set()
        for tp, offset in offsets.items():
            log = self.logs.get(tp)
            if log is not None and log.truncate_to(offset):
                dirs.add(self._log_dir_of[tp])
        if dirs:
            self.checkpoint_recovery_points(dirs)

    def truncate_fully_and_start_at(self, tp: TopicPartition, new_offset: int) -> None:
        """Empty a log and restart it at ``new_offset``, checkpointing its dir."""
        log = self.logs.get(tp)
        if log is None:
            return
        log.truncate_fully_and_start_at(new_offset)
        log_dir = self._log_dir_of[tp]
        self.checkpoint_recovery_points({log_dir})
        self.checkpoint_log_start_offsets({log_dir})

    def log_dir_of(self, tp: TopicPartition) -> Path | None:
        return self._log_dir_of.get(tp)

    def uncleanable_partition_counts(self) -> dict[Path, int]:
        """Per log dir, the partitions compaction gave up on (Kafka's gauge of that name)."""
        return {d: self.cleaner.uncleanable_partitions_count(d) for d in self.log_dirs}

    # -- checkpoints --------------------------------------------------------------------

    def _logs_by_dir(self) -> dict[Path, dict[TopicPartition, Log]]:
        by_dir: dict[Path, dict[TopicPartition, Log]] = {d: {} for d in self.log_dirs}
        for tp, log in self.logs.items():
            by_dir[self._log_dir_of[tp]][tp] = log
        return by_dir

    def checkpoint_recovery_points(self, dirs: Iterable[Path] | None = None) -> None:
        selected = None if dirs is None else set(dirs)
        for log_dir, logs in self._logs_by_dir().items():
            if selected is not None and log_dir not in selected:
                continue
            write_offset_checkpoint(
                log_dir / RECOVERY_POINT_CHECKPOINT,
                {tp: log.recovery_point for tp, log in logs.items()},
            )

    def checkpoint_log_start_offsets(self, dirs: Iterable[Path] | None = None) -> None:
        selected = None if dirs is None else set(dirs)
        for log_dir, logs in self._logs_by_dir().items():
            if selected is not None and log_dir not in selected:
                continue
            write_offset_checkpoint(
                log_dir / LOG_START_OFFSET_CHECKPOINT,
                {tp: log.log_start_offset for tp, log in logs.items()},
            )

    def checkpoint_high_watermarks(self, high_watermarks: Mapping[TopicPartition, int]) -> None:
        """Write ``replication-offset-checkpoint`` in every log dir for its partitions."""
        for log_dir, logs in self._logs_by_dir().items():
            write_offset_checkpoint(
                log_dir / REPLICATION_OFFSET_CHECKPOINT,
                {tp: high_watermarks[tp] for tp in logs if tp in high_watermarks},
            )

    def read_high_watermarks(self) -> dict[TopicPartition, int]:
        result: dict[TopicPartition, int] = {}
        for log_dir in self.log_dirs:
            result.update(read_offset_checkpoint(log_dir / REPLICATION_OFFSET_CHECKPOINT))
        return result

    # -- periodic duties ----------------------------------------------------------------

    def tick(self, now_ms: int | None = None) -> None:
        """Run whichever periodic duties are due (Kafka's scheduler tasks)."""
        now = self.time_ms() if now_ms is None else now_ms
        schedule = self.schedule
        if schedule.due("retention", schedule.retention_check_interval_ms, now):
            self.cleanup_logs(now)
        if schedule.due("flush", schedule.flush_check_interval_ms, now):
            self.flush_dirty_logs(now)
        if schedule.due(
            "recovery-point-checkpoint", schedule.recovery_point_checkpoint_interval_ms, now
        ):
            self.checkpoint_recovery_points()
        if schedule.due(
            "log-start-offset-checkpoint",
            schedule.log_start_offset_checkpoint_interval_ms,
            now,
        ):
            self.checkpoint_log_start_offsets()
        if schedule.due("producer-expiration", schedule.producer_expiration_check_interval_ms, now):
            for log in self.logs.values():
                log.remove_expired_producers(now)
        self.delete_expired_files(now)

    async def clean(self, now_ms: int | None = None) -> TopicPartition | None:
        """The compaction duty, if due: one pass over the dirtiest log, off the event loop.

        Returns the partition cleaned, if any.
        """
        now = self.time_ms() if now_ms is None else now_ms
        schedule = self.schedule
        if not (
            schedule.cleaner_enabled and schedule.due("cleaner", schedule.cleaner_backoff_ms, now)
        ):
            return None
        return await self.cleaner.clean_filthiest_in_thread(self.logs, self._log_dir_of, now)

    async def run_cleaner(self, poll_s: float) -> None:
        """Look every ``poll_s`` seconds whether compaction is due, and run it (forever)."""
        while True:
            await trio.sleep(poll_s)
            await self.clean()

    def cleanup_logs(self, now_ms: int) -> int:
        """Retention for every log (Kafka's ``cleanupLogs``); returns segments deleted.

        A log being compacted waits for the next round: deleting its segments now would
        throw the pass's work away. (The cleaner applies retention to compacted logs
        with ``delete`` in their policy after each pass.)
        """
        # A compact-only log still loses the segments below its log start offset.
        return sum(log.delete_old_segments() for log in self.logs.values() if not log.cleaning)

    def flush_dirty_logs(self, now_ms: int) -> None:
        for log in self.logs.values():
            log.maybe_flush(now_ms)

    def delete_expired_files(self, now_ms: int) -> None:
        for log in self.logs.values():
            log.delete_expired_files(now_ms)
        due = [p for t, p in self._pending_dir_deletions if t <= now_ms]
        self._pending_dir_deletions = [(t, p) for t, p in self._pending_dir_deletions if t > now_ms]
        for path in due:
            shutil.rmtree(path, ignore_errors=True)

    # -- shutdown -----------------------------------------------------------------------

    def shutdown(self, broker_epoch: int = -1) -> None:
        """Flush and close every log, write the checkpoints, then the clean-shutdown markers.

        The marker is written last: if anything before it fails, the next start recovers.
        Compaction must have stopped (its task cancelled) first.
        """
        for log in self.logs.values():
            log.flush(log.log_end_offset, include_offset=True)
            log.close()
        self.checkpoint_recovery_points()
        self.checkpoint_log_start_offsets()
        self.cleaner.write_checkpoints(self.log_dirs)
        for path in [p for _, p in self._pending_dir_deletions]:
            shutil.rmtree(path, ignore_errors=True)
        self._pending_dir_deletions = []
        content = json.dumps({"version": 0, "brokerEpoch": broker_epoch}).encode("utf-8")
        for log_dir in self.log_dirs:
            log_files.write_atomically(log_dir / CLEAN_SHUTDOWN_FILE, content)
        self.logs.clear()
        self._log_dir_of.clear()


def renamed_dir_name(tp: TopicPartition, suffix: str) -> str:
    """Kafka's ``<topic>-<partition>.<uuid>-<suffix>``, the topic cut to keep 255 bytes."""
    tail = f"-{tp.partition}.{uuid.uuid4().hex}{suffix}"
    return tp.topic[: max(0, 255 - len(tail))] + tail
