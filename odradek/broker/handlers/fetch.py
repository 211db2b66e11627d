"""Fetch (key 1): hand consumers the record bytes of the log, waiting for data if asked.

Behaviour (Kafka's ``KafkaApis.handleFetchRequest``, ``ReplicaManager.fetchMessages``
and ``DelayedFetch``):

* partitions are read in request order, each up to its ``partition_max_bytes`` and
  all together up to the request's ``max_bytes``; the first partition that has data
  returns at least one whole batch even if it is larger, so a consumer always makes
  progress;
* consumers read up to the high watermark (``read_uncommitted``) or the last stable
  offset (``read_committed``, with the aborted transactions of the range);
* a fetch offset below the log start or past the log end is OFFSET_OUT_OF_RANGE;
  one between the high watermark and the log end returns nothing, without error;
* a client's ``current_leader_epoch`` older than the leader's is FENCED_LEADER_EPOCH,
  newer is UNKNOWN_LEADER_EPOCH; a partition led elsewhere is NOT_LEADER_OR_FOLLOWER;
* when the response holds fewer than ``min_bytes`` and no partition has an error, the
  request waits up to ``max_wait_ms`` for appends to its partitions, then reads again;
* v13+ name topics by id: an id this broker does not know is UNKNOWN_TOPIC_ID;
* incremental fetch sessions (KIP-227) are kept by :mod:`odradek.broker.fetch_sessions`.

Record bytes are never decoded: a read is a file region of the log, and the
response carries it to the socket as it is (:class:`LogRecords`).

Version notes: v4 is the first with ``isolation_level`` and magic-2 batches as
stored; Kafka 4 dropped v0-v3 too. v12+ are flexible; v13+ use topic ids.

Spec: ``clients/FetchRequest.json``, ``clients/FetchResponse.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import trio

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.fetch_sessions import PartitionFetch, TopicIdPartition
from odradek.broker.replicas import Partition
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.fetch_request import FetchRequest
from odradek.protocol.messages.clients.fetch_response import (
    AbortedTransaction,
    FetchResponse,
    PartitionData,
)
from odradek.storage.file_records import FileRegion
from odradek.storage.log import FetchIsolation

FETCH = 1
READ_COMMITTED = 1
#: Regions at least this large go to the socket with sendfile; smaller ones are read
#: into memory and sent with the rest of the response in one writev. From 16 KiB up,
#: sendfile is at least as fast here (bench/test_fetch_send_bench.py).
SENDFILE_THRESHOLD = 16 * 1024

log = logging.getLogger(__name__)


class LogRecords:
    """A region of a segment file, as the codec and the network layer take records."""

    __slots__ = ("_region",)

    def __init__(self, region: FileRegion) -> None:
        self._region = region

    def __len__(self) -> int:
        return self._region.size

    def __bytes__(self) -> bytes:
        return self._region.read()

    def fileno(self) -> int:
        return self._region.fd

    @property
    def position(self) -> int:
        return self._region.position


def records_for(region: FileRegion) -> bytes | LogRecords:
    if region.size >= SENDFILE_THRESHOLD:
        return LogRecords(region)
    return region.read()


def _read(
    ctx: RequestContext,
    want: PartitionFetch,
    isolation: FetchIsolation,
    budget: int,
    min_one_message: bool,
) -> tuple[PartitionData, Partition | None]:
    tp = want.topic_partition
    data = PartitionData(
        partition_index=tp.partition,
        high_watermark=-1,
        last_stable_offset=-1,
        log_start_offset=-1,
        aborted_transactions=None,
        records=b"",
    )
    if tp.topic is None:
        data.error_code = ErrorCode.UNKNOWN_TOPIC_ID
        return data, None
    try:
        p = ctx.broker.replicas.leader(tp.topic, tp.partition, want.current_leader_epoch)
    except KafkaError as e:
        data.error_code = e.code
        return data, None
    replica_log = p.log
    data.high_watermark = replica_log.high_watermark
    data.last_stable_offset = replica_log.last_stable_offset
    data.log_start_offset = replica_log.log_start_offset
    if isolation is FetchIsolation.TXN_COMMITTED:
        data.aborted_transactions = []
    limit = min(want.partition_max_bytes, budget)
    if want.fetch_offset > replica_log.log_end_offset or (
        want.fetch_offset < replica_log.log_start_offset
    ):
        data.error_code = ErrorCode.OFFSET_OUT_OF_RANGE
        return data, p
    try:
        info = replica_log.read(want.fetch_offset, limit, isolation, min_one_message)
    except KafkaError as e:
        data.error_code = e.code
        return data, p
    data.records = records_for(info.region)
    if info.aborted_transactions is not None and isolation is FetchIsolation.TXN_COMMITTED:
        data.aborted_transactions = [
            AbortedTransaction(producer_id=a.producer_id, first_offset=a.first_offset)
            for a in info.aborted_transactions
        ]
    return data, p


def _read_all(
    ctx: RequestContext, wanted: Sequence[PartitionFetch], request: FetchRequest
) -> tuple[list[tuple[TopicIdPartition, PartitionData]], int, bool, list[Partition]]:
    isolation = (
        FetchIsolation.TXN_COMMITTED
        if request.isolation_level == READ_COMMITTED
        else FetchIsolation.HIGH_WATERMARK
    )
    budget = request.max_bytes
    total = 0
    errors = False
    results = []
    partitions = []
    for want in wanted:
        data, p = _read(ctx, want, isolation, max(budget - total, 0), total == 0)
        size = len(data.records) if data.records is not None else 0
        total += size
        errors = errors or data.error_code != ErrorCode.NONE
        if p is not None:
            partitions.append(p)
            if size:
                ctx.broker.metrics.record_fetch(p.tp.topic, size)
        results.append((want.topic_partition, data))
    return results, total, errors, partitions


@handles(FETCH, 4, 17)
async def handle_fetch(ctx: RequestContext, request: FetchRequest) -> FetchResponse:
    broker = ctx.broker
    session = broker.fetch_sessions.new_context(
        request, ctx.api_version, broker.time_ms(), False, broker.topic_name
    )
    wanted = session.partitions_to_fetch()
    deadline = trio.current_time() + max(request.max_wait_ms, 0) / 1000
    while True:
        results, total, errors, partitions = _read_all(ctx, wanted, request)
        if total >= request.min_bytes or errors or not wanted or session.error:
            break
        remaining = deadline - trio.current_time()
        if remaining <= 0:
            break
        event = broker.replicas.waiter(partitions)
        try:
            with trio.move_on_after(remaining):
                await event.wait()
        finally:
            broker.replicas.forget_waiter(event, partitions)
    return session.build_response(results, broker.time_ms())
