"""One group coordinator shard at work: its partition, its commands, its timers.

A :class:`ShardRunner` is the trio shell around one pure
:class:`~odradek.coordinator.group.GroupCoordinatorShard` (the driver's loop of
:mod:`odradek.coordinator.group`, Kafka's ``CoordinatorRuntime`` for one partition).
It lives while this broker leads its ``__consumer_offsets`` partition:

1. **Loading.** The shard replays the partition from its start
   (:func:`~.partition_log.load_shard`); meanwhile requests are answered
   COORDINATOR_LOAD_IN_PROGRESS by the shard itself. A partition that cannot be
   loaded leaves the runner *failed*, answering NOT_COORDINATOR, as Kafka does.
2. **Serving.** A request runs as one synchronous step: the shard's command, then the
   append of its records as one batch. trio switches tasks only at ``await``, and
   there is none between the two, so the commands of a shard are serialized and
   its log holds their records in the order the commands ran -- without a queue or
   a lock on the hot path.
3. **Answering.** A reply is held until the high watermark reaches the log end
   offset as it was when the reply was made: every record written before it, by any
   command, is then committed, so no reply reveals state the log could lose. With
   one in-sync replica the high watermark moves with the append and replies go out
   at once; otherwise they wait, woken like fetches by whatever moves the high
   watermark, for at most ``offsets.commit.timeout.ms`` (then the request gets
   COORDINATOR_NOT_AVAILABLE, Kafka's answer to REQUEST_TIMED_OUT).
4. **Timers.** A task sleeps until the shard's next deadline (session and rebalance
   timeouts, the offsets retention sweep), runs :meth:`tick` and appends what it
   writes like any command.
5. **Stopping.** When the broker stops leading the partition, :meth:`stop` unloads
   the shard (parked JoinGroup and SyncGroup requests get NOT_COORDINATOR) and
   answers every request still waiting.

If an append fails, the shard's memory is ahead of its log: the requests of that
step and every held one are answered with the error Kafka's
``CoordinatorOperationExceptionHelper`` maps it to, and the runner asks to be
replaced by a fresh one loaded from the log.
"""

from __future__ import annotations

import collections
import enum
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import trio

from odradek.broker.replicas import Partition, ReplicaManager
from odradek.coordinator.group import (
    Caller,
    CoordinatorResult,
    GroupCoordinatorShard,
    Reply,
    Response,
    TopicsView,
    error_response,
)
from odradek.coordinator.group.error_responses import Request
from odradek.protocol.errors import ErrorCode, KafkaError

from .partition_log import DEFAULT_LOAD_BUFFER, LoadError, encode_records, load_shard

log = logging.getLogger(__name__)

#: A command of the shard, unbound: ``GroupCoordinatorShard.join_group`` and the like.
Command = Callable[[GroupCoordinatorShard, Caller, Any, int], CoordinatorResult]


class RunnerStatus(enum.Enum):
    LOADING = "loading"
    ACTIVE = "active"
    FAILED = "failed"
    STOPPED = "stopped"


def client_error(error: ErrorCode) -> ErrorCode:
    """What a client is told when a coordinator's append fails with ``error``.

    Kafka's ``CoordinatorOperationExceptionHelper.handleOperationException``: errors
    that mean "look for the coordinator again" or "retry later" become the
    coordinator errors clients know how to handle.
    """
    if error in (
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        ErrorCode.REQUEST_TIMED_OUT,
    ):
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if error in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.KAFKA_STORAGE_ERROR):
        return ErrorCode.NOT_COORDINATOR
    if error in (
        ErrorCode.MESSAGE_TOO_LARGE,
        ErrorCode.RECORD_LIST_TOO_LARGE,
        ErrorCode.INVALID_FETCH_SIZE,
    ):
        return ErrorCode.UNKNOWN_SERVER_ERROR
    return error


@dataclass(eq=False)
class _Waiting:
    """A request whose handler waits for its reply."""

    request: Request
    caller: Caller
    done: trio.Event = field(default_factory=trio.Event)
    response: Response | None = None


@dataclass(eq=False)
class _Held:
    """Replies waiting for the high watermark to reach ``required``."""

    required: int
    deadline_ms: int
    replies: list[Reply]


@dataclass(frozen=True)
class RunnerSettings:
    """What every runner of a broker shares."""

    time_ms: Callable[[], int]
    #: ``offsets.topic.compression.codec``.
    compression: int = 0
    #: ``offsets.commit.timeout.ms``.
    commit_timeout_ms: int = 5_000
    #: ``offsets.load.buffer.size``.
    load_buffer_size: int = DEFAULT_LOAD_BUFFER


class ShardRunner:
    """The shard of one ``__consumer_offsets`` partition this broker leads.

    ``on_failure`` is called (once, synchronously) when an append fails, so that the
    owner replaces this runner with one loaded afresh from the log.
    """

    def __init__(
        self,
        *,
        partition: Partition,
        shard: GroupCoordinatorShard,
        replicas: ReplicaManager,
        settings: RunnerSettings,
        on_failure: Callable[[ShardRunner], None],
    ) -> None:
        self.partition = partition
        self.leader_epoch = partition.leader_epoch
        self.shard = shard
        self.status = RunnerStatus.LOADING
        self._replicas = replicas
        self._settings = settings
        self._time_ms = settings.time_ms
        self._on_failure = on_failure
        self._waiting: dict[Hashable, _Waiting] = {}
        self._held: collections.deque[_Held] = collections.deque()
        self._held_added = trio.Event()
        #: The log end offset after this shard's last write: what replies wait for.
        self._written_end = 0
        self._timer_changed = trio.Event()
        self._sleeping_until: int | None = None
        self._scope = trio.CancelScope()

    @property
    def partition_index(self) -> int:
        return self.partition.tp.partition

    # -- life --------------------------------------------------------------------------

    async def run(self) -> None:
        """Load the shard, then serve its timers and held replies until stopped."""
        if self.status is not RunnerStatus.LOADING:
            return  # stopped before it could start
        with self._scope:
            tp = self.partition.tp
            started = self._time_ms()
            try:
                count = await load_shard(
                    self.partition.log, self.shard, buffer_size=self._settings.load_buffer_size
                )
            except (LoadError, KafkaError, OSError) as e:
                log.error("group coordinator for %s failed to load: %s", tp, e)
                self._stop(RunnerStatus.FAILED)
                return
            self._written_end = self.partition.log.log_end_offset
            self.status = RunnerStatus.ACTIVE
            log.info(
                "group coordinator for %s loaded %d records in %d ms",
                tp,
                count,
                self._time_ms() - started,
            )
            self._handle(self.shard.on_loaded(self._time_ms()))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._run_timers)
                nursery.start_soon(self._release_held)

    def stop(self) -> None:
        """This broker no longer leads the partition: answer everyone, stop the tasks."""
        self._stop(RunnerStatus.STOPPED)

    def _stop(self, status: RunnerStatus) -> None:
        if self.status in (RunnerStatus.STOPPED, RunnerStatus.FAILED):
            return
        self.status = status
        self._scope.cancel()
        for reply in self.shard.unload():
            self._deliver(reply)
        self._fail_held(ErrorCode.NOT_COORDINATOR)
        for waiting in list(self._waiting.values()):
            self._answer_error(waiting, ErrorCode.NOT_COORDINATOR)

    # -- requests ----------------------------------------------------------------------

    async def submit(self, command: Command, caller: Caller, request: Request) -> Response:
        """Run ``command`` for ``request`` and wait for its reply."""
        if self.status in (RunnerStatus.STOPPED, RunnerStatus.FAILED):
            return error_response(request, caller, ErrorCode.NOT_COORDINATOR)
        waiting = _Waiting(request, caller)
        self._waiting[caller.handle] = waiting
        try:
            self._handle(command(self.shard, caller, request, self._time_ms()))
            if waiting.response is None:
                await waiting.done.wait()
        finally:
            del self._waiting[caller.handle]
        assert waiting.response is not None
        return waiting.response

    def update_topics(self, topics: TopicsView) -> None:
        self.shard.update_topics(topics)

    def on_partitions_deleted(self, partitions: list[tuple[str, int]]) -> None:
        if self.status is RunnerStatus.ACTIVE:
            self._handle(self.shard.on_partitions_deleted(partitions, self._time_ms()))

    # -- one step: append, then answer -------------------------------------------------

    def _handle(self, result: CoordinatorResult) -> None:
        if result.records:
            try:
                data = encode_records(
                    result.records,
                    now_ms=self._time_ms(),
                    compression=self._settings.compression,
                )
                info = self.partition.append_as_coordinator(data)
            except (KafkaError, OSError) as e:
                code = e.code if isinstance(e, KafkaError) else ErrorCode.KAFKA_STORAGE_ERROR
                self._append_failed(result, code, e)
                return
            self._written_end = info.last_offset + 1
        if result.replies:
            self._release(result.replies)
        deadline = self.shard.next_deadline()
        if deadline is not None and (
            self._sleeping_until is None or deadline < self._sleeping_until
        ):
            self._timer_changed.set()

    def _release(self, replies: list[Reply]) -> None:
        if not self._held and self.partition.log.high_watermark >= self._written_end:
            for reply in replies:
                self._deliver(reply)
            return
        deadline = self._time_ms() + self._settings.commit_timeout_ms
        self._held.append(_Held(self._written_end, deadline, replies))
        self._held_added.set()

    def _deliver(self, reply: Reply) -> None:
        waiting = self._waiting.get(reply.handle)
        # Nobody waits when the requester went away (its connection closed).
        if waiting is not None and waiting.response is None:
            waiting.response = reply.response
            waiting.done.set()

    def _answer_error(self, waiting: _Waiting, error: ErrorCode) -> None:
        if waiting.response is None:
            waiting.response = error_response(waiting.request, waiting.caller, error)
            waiting.done.set()

    def _error_to(self, reply: Reply, error: ErrorCode) -> None:
        waiting = self._waiting.get(reply.handle)
        if waiting is not None:
            self._answer_error(waiting, error)

    def _fail_held(self, error: ErrorCode) -> None:
        while self._held:
            for reply in self._held.popleft().replies:
                self._error_to(reply, error)

    def _append_failed(self, result: CoordinatorResult, code: ErrorCode, e: Exception) -> None:
        log.error("group coordinator for %s could not append: %s", self.partition.tp, e)
        error = client_error(code)
        for reply in result.replies:
            self._error_to(reply, error)
        self._fail_held(error)
        self._on_failure(self)

    # -- background tasks --------------------------------------------------------------

    async def _run_timers(self) -> None:
        while True:
            self._timer_changed = trio.Event()
            deadline = self.shard.next_deadline()
            now = self._time_ms()
            if deadline is None or deadline > now:
                self._sleeping_until = deadline
                if deadline is None:
                    await self._timer_changed.wait()
                else:
                    with trio.move_on_after((deadline - now) / 1000):
                        await self._timer_changed.wait()
                continue
            self._sleeping_until = None
            self._handle(self.shard.tick(now))
            await trio.lowlevel.checkpoint()

    async def _release_held(self) -> None:
        log_ = self.partition.log
        while True:
            while not self._held:
                self._held_added = trio.Event()
                await self._held_added.wait()
            high_watermark = log_.high_watermark
            while self._held and self._held[0].required <= high_watermark:
                for reply in self._held.popleft().replies:
                    self._deliver(reply)
            now = self._time_ms()
            while self._held and self._held[0].deadline_ms <= now:
                for reply in self._held.popleft().replies:
                    self._error_to(reply, ErrorCode.COORDINATOR_NOT_AVAILABLE)
            if not self._held:
                continue
            moved = self._replicas.waiter([self.partition])
            try:
                with trio.move_on_after((self._held[0].deadline_ms - now) / 1000):
                    await moved.wait()
            finally:
                self._replicas.forget_waiter(moved, [self.partition])
