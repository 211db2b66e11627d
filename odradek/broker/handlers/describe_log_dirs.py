"""DescribeLogDirs (key 35): this broker's log directories and the partition logs in them.

Behaviour (Kafka's ``KafkaApis.handleDescribeLogDirsRequest`` and
``ReplicaManager.describeLogDirs``):

* ``topics`` null asks for every partition log on the broker; otherwise for the
  partitions named, and those the broker has no log for are simply absent;
* every log directory of the broker is listed, by absolute path, even with no
  partition asked for in it; a topic appears under a directory only with at least
  one partition;
* per partition: its size on disk (the sum of its segments), its *offset lag* --
  how far the log end is behind the high watermark, 0 for any caught-up replica, -1
  for a log that no partition replica owns -- and ``is_future_key`` false, as
  Odradek does not move replicas between directories (AlterReplicaLogDirs);
* v4+ report the volume's total and usable bytes (``os.statvfs``); a directory
  that cannot be read is KAFKA_STORAGE_ERROR, with its path and nothing else.

Version notes: v0 was removed in Kafka 4; v2+ are flexible; v3 added the top-level
error code; v4 the volume sizes.

Spec: ``clients/DescribeLogDirsRequest.json``, ``clients/DescribeLogDirsResponse.json``.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from pathlib import Path

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.describe_log_dirs_request import DescribeLogDirsRequest
from odradek.protocol.messages.clients.describe_log_dirs_response import (
    DescribeLogDirsPartition,
    DescribeLogDirsResponse,
    DescribeLogDirsResult,
    DescribeLogDirsTopic,
)
from odradek.storage.checkpoints import TopicPartition

DESCRIBE_LOG_DIRS = 35
INVALID_OFFSET_LAG = -1

log = logging.getLogger(__name__)


@handles(DESCRIBE_LOG_DIRS, 1, 4)
async def handle_describe_log_dirs(
    ctx: RequestContext, request: DescribeLogDirsRequest
) -> DescribeLogDirsResponse:
    broker = ctx.broker
    logs = broker.logs
    wanted: set[TopicPartition] | None = None
    if request.topics is not None:
        wanted = {TopicPartition(t.topic, p) for t in request.topics for p in t.partitions}
    by_dir: dict[Path, dict[str, list[DescribeLogDirsPartition]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for tp in sorted(logs.logs, key=lambda tp: (tp.topic, tp.partition)):
        log_dir = logs.log_dir_of(tp)
        if log_dir is None or (wanted is not None and tp not in wanted):
            continue
        partition_log = logs.logs[tp]
        hosted = broker.replicas.get(tp.topic, tp.partition)
        lag = (
            max(hosted.log.high_watermark - partition_log.log_end_offset, 0)
            if hosted is not None
            else INVALID_OFFSET_LAG
        )
        by_dir[log_dir][tp.topic].append(
            DescribeLogDirsPartition(
                partition_index=tp.partition,
                partition_size=partition_log.size,
                offset_lag=lag,
                is_future_key=False,
            )
        )
    return DescribeLogDirsResponse(
        results=[_describe_dir(log_dir, by_dir.get(log_dir, {})) for log_dir in logs.log_dirs]
    )


def _describe_dir(
    log_dir: Path, topics: dict[str, list[DescribeLogDirsPartition]]
) -> DescribeLogDirsResult:
    path = os.path.abspath(log_dir)
    try:
        stats = os.statvfs(path)
    except OSError as error:
        log.warning("cannot describe log dir %s: %s", path, error)
        return DescribeLogDirsResult(error_code=ErrorCode.KAFKA_STORAGE_ERROR, log_dir=path)
    return DescribeLogDirsResult(
        error_code=ErrorCode.NONE,
        log_dir=path,
        topics=[
            DescribeLogDirsTopic(name=topic, partitions=partitions)
            for topic, partitions in topics.items()
        ],
        # Kafka's FileStore.getTotalSpace and getUsableSpace (what an unprivileged
        # process may still write).
        total_bytes=stats.f_blocks * stats.f_frsize,
        usable_bytes=stats.f_bavail * stats.f_frsize,
    )
