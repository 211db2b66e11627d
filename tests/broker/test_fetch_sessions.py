"""Fetch sessions (KIP-227): the rules of ``odradek.broker.fetch_sessions``.

First each rule with a hand-made example; then a model client, like Kafka's
``FetchSessionHandler``, drives random sequences of fetches against the cache and checks
that what it learns through a session is what a sessionless broker would have told it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from odradek.broker.fetch_sessions import (
    FINAL_EPOCH,
    INITIAL_EPOCH,
    FetchContext,
    FetchSessionCache,
    IncrementalFetchContext,
    PartitionFetch,
    TopicIdPartition,
    next_epoch,
)
from odradek.protocol.codec import decode, encode
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.fetch_request import (
    FetchPartition,
    FetchRequest,
    FetchTopic,
    ForgottenTopic,
)
from odradek.protocol.messages.clients.fetch_response import (
    EpochEndOffset,
    FetchResponse,
    PartitionData,
)
from odradek.protocol.primitives import ZERO_UUID

FOO_ID = uuid.UUID(int=0xF00)
BAR_ID = uuid.UUID(int=0xBA2)
NAMES = {FOO_ID: "foo", BAR_ID: "bar"}

Topic = str | uuid.UUID


class ScriptedIds:
    """Session ids in a given order, as ``random.Random.randint`` would hand them out."""

    def __init__(self, *ids: int) -> None:
        self.ids = list(ids)
        self.calls: list[tuple[int, int]] = []

    def randint(self, a: int, b: int) -> int:
        self.calls.append((a, b))
        return self.ids.pop(0)


def new_cache(**kwargs: Any) -> FetchSessionCache:
    return FetchSessionCache(ScriptedIds(*range(101, 200)), **kwargs)


def request(
    *parts: tuple[Topic, int, int],
    session_id: int = 0,
    epoch: int = FINAL_EPOCH,
    forget: Iterable[tuple[Topic, int]] = (),
    max_bytes: int = 1000,
) -> FetchRequest:
    """A Fetch of ``(topic, partition, fetch_offset)`` parts; a topic is a name (v12) or
    an id (v13+). Consecutive parts of one topic share a topic entry."""
    topics: list[FetchTopic] = []
    for topic, partition, offset in parts:
        if not topics or _topic_of(topics[-1]) != topic:
            topics.append(_fetch_topic(topic))
        topics[-1].partitions.append(
            FetchPartition(partition=partition, fetch_offset=offset, partition_max_bytes=max_bytes)
        )
    forgotten: list[ForgottenTopic] = []
    for topic, partition in forget:
        if isinstance(topic, uuid.UUID):
            forgotten.append(ForgottenTopic(topic_id=topic, partitions=[partition]))
        else:
            forgotten.append(ForgottenTopic(topic=topic, partitions=[partition]))
    return FetchRequest(
        session_id=session_id, session_epoch=epoch, topics=topics, forgotten_topics_data=forgotten
    )


def _fetch_topic(topic: Topic) -> FetchTopic:
    if isinstance(topic, uuid.UUID):
        return FetchTopic(topic_id=topic)
    return FetchTopic(topic=topic)


def _topic_of(t: FetchTopic) -> Topic:
    return t.topic_id if t.topic_id != ZERO_UUID else t.topic


class Logs:
    """What the handler reads: a fixed answer per partition, changed by the tests."""

    def __init__(self) -> None:
        self.state: dict[tuple[str, int], dict[str, Any]] = {}

    def set(self, topic: str, partition: int, **fields: Any) -> None:
        self.state.setdefault((topic, partition), self._default()).update(fields)

    @staticmethod
    def _default() -> dict[str, Any]:
        return {"high_watermark": 10, "last_stable_offset": 10, "log_start_offset": 0}

    def read(self, p: PartitionFetch) -> PartitionData:
        tp = p.topic_partition
        if tp.topic is None:
            return PartitionData(
                error_code=ErrorCode.UNKNOWN_TOPIC_ID,
                high_watermark=-1,
                last_stable_offset=-1,
                log_start_offset=-1,
            )
        fields = self.state.get((tp.topic, tp.partition), self._default())
        return PartitionData(**fields)

    def serve(self, context: FetchContext, now_ms: int = 0) -> FetchResponse:
        results = [(p.topic_partition, self.read(p)) for p in context.partitions_to_fetch()]
        return context.build_response(results, now_ms)


def answered(response: FetchResponse) -> list[tuple[Topic, int]]:
    return [
        (t.topic_id if t.topic_id != ZERO_UUID else t.topic, p.partition_index)
        for t in response.responses
        for p in t.partitions
    ]


def fetched(context: FetchContext) -> list[tuple[str | None, int, int]]:
    return [
        (p.topic_partition.topic, p.topic_partition.partition, p.fetch_offset)
        for p in context.partitions_to_fetch()
    ]


def no_names(topic_id: uuid.UUID) -> str | None:
    raise AssertionError("a v12 request has no topic ids to resolve")


def names(topic_id: uuid.UUID) -> str | None:
    return NAMES.get(topic_id)


def open_session(
    cache: FetchSessionCache,
    logs: Logs,
    *parts: tuple[Topic, int, int],
    version: int = 12,
    now_ms: int = 0,
    is_follower: bool = False,
) -> int:
    context = cache.new_context(
        request(*parts, epoch=INITIAL_EPOCH), version, now_ms, is_follower, names
    )
    response = logs.serve(context, now_ms)
    assert response.error_code == ErrorCode.NONE
    return response.session_id


def incremental(
    cache: FetchSessionCache,
    session_id: int,
    epoch: int,
    *parts: tuple[Topic, int, int],
    forget: Iterable[tuple[Topic, int]] = (),
    version: int = 12,
    now_ms: int = 0,
) -> FetchContext:
    return cache.new_context(
        request(*parts, session_id=session_id, epoch=epoch, forget=forget),
        version,
        now_ms,
        False,
        names,
    )


# --- epochs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch", "following"), [(0, 1), (1, 2), (41, 42), (2**31 - 1, 1), (-1, -1)]
)
def test_next_epoch(epoch: int, following: int) -> None:
    assert next_epoch(epoch) == following


# --- sessionless and full fetches --------------------------------------------------------


def test_sessionless_fetch_answers_everything_and_creates_no_session() -> None:
    cache, logs = new_cache(), Logs()
    context = cache.new_context(
        request(("foo", 0, 5), ("foo", 1, 6), ("bar", 0, 7)), 12, 0, False, no_names
    )
    assert context.error == ErrorCode.NONE
    assert fetched(context) == [("foo", 0, 5), ("foo", 1, 6), ("bar", 0, 7)]
    response = logs.serve(context)
    assert response.session_id == 0
    assert response.error_code == ErrorCode.NONE
    assert [t.topic for t in response.responses] == ["foo", "bar"]
    assert answered(response) == [("foo", 0), ("foo", 1), ("bar", 0)]
    assert len(cache) == 0


def test_request_parameters_reach_the_handler() -> None:
    cache = new_cache()
    req = FetchRequest(
        topics=[
            FetchTopic(
                topic="foo",
                partitions=[
                    FetchPartition(
                        partition=3,
                        current_leader_epoch=7,
                        fetch_offset=100,
                        last_fetched_epoch=6,
                        log_start_offset=20,
                        partition_max_bytes=4096,
                    )
                ],
            )
        ]
    )
    context = cache.new_context(req, 12, 0, True, no_names)
    assert list(context.partitions_to_fetch()) == [
        PartitionFetch(
            topic_partition=TopicIdPartition(ZERO_UUID, "foo", 3),
            fetch_offset=100,
            partition_max_bytes=4096,
            current_leader_epoch=7,
            last_fetched_epoch=6,
            log_start_offset=20,
        )
    ]


def test_partition_named_twice_keeps_first_place_and_last_parameters() -> None:
    cache = new_cache()
    context = cache.new_context(
        request(("foo", 0, 1), ("bar", 0, 2), ("foo", 0, 3)), 12, 0, False, no_names
    )
    assert fetched(context) == [("foo", 0, 3), ("bar", 0, 2)]


def test_response_groups_consecutive_partitions_of_a_topic_only() -> None:
    cache, logs = new_cache(), Logs()
    context = cache.new_context(
        request(("foo", 0, 0), ("bar", 0, 0), ("foo", 1, 0)), 12, 0, False, no_names
    )
    response = logs.serve(context)
    assert [(t.topic, [p.partition_index for p in t.partitions]) for t in response.responses] == [
        ("foo", [0]),
        ("bar", [0]),
        ("foo", [1]),
    ]


def test_full_fetch_with_initial_epoch_creates_a_session() -> None:
    ids = ScriptedIds(77)
    cache, logs = FetchSessionCache(ids), Logs()
    context = cache.new_context(
        request(("foo", 0, 5), ("foo", 1, 6), epoch=INITIAL_EPOCH), 12, 1000, False, no_names
    )
    response = logs.serve(context, now_ms=1500)
    assert response.session_id == 77
    assert answered(response) == [("foo", 0), ("foo", 1)]
    session = cache.session(77)
    assert session is not None
    assert session.epoch == 1
    assert session.creation_ms == session.last_used_ms == 1500
    assert not session.privileged
    assert not session.uses_topic_ids
    assert ids.calls == [(1, 2**31 - 1)]
    assert len(cache) == 1
    assert cache.cached_partitions == 2


def test_session_ids_are_never_zero_and_never_reused() -> None:
    cache, logs = FetchSessionCache(ScriptedIds(0, 5, 5, 0, 6)), Logs()
    assert open_session(cache, logs, ("foo", 0, 0)) == 5
    assert open_session(cache, logs, ("foo", 0, 0)) == 6


def test_full_fetch_naming_a_session_closes_it_and_opens_another() -> None:
    cache, logs = new_cache(), Logs()
    old = open_session(cache, logs, ("foo", 0, 0))
    context = cache.new_context(
        request(("bar", 0, 0), session_id=old, epoch=INITIAL_EPOCH), 12, 0, False, no_names
    )
    assert cache.session(old) is None
    response = logs.serve(context)
    assert response.session_id not in (0, old)
    assert len(cache) == 1


def test_final_epoch_with_a_session_id_closes_it_and_fetches_without_session() -> None:
    cache, logs = new_cache(), Logs()
    old = open_session(cache, logs, ("foo", 0, 0))
    context = cache.new_context(
        request(("foo", 0, 3), session_id=old, epoch=FINAL_EPOCH), 12, 0, False, no_names
    )
    assert cache.session(old) is None
    assert fetched(context) == [("foo", 0, 3)]
    response = logs.serve(context)
    assert response.session_id == 0
    assert answered(response) == [("foo", 0)]
    assert len(cache) == 0


def test_full_fetch_response_names_partitions_that_did_not_change() -> None:
    cache, logs = new_cache(), Logs()
    first = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0))
    context = cache.new_context(
        request(("foo", 0, 0), ("foo", 1, 0), session_id=first, epoch=INITIAL_EPOCH),
        12,
        0,
        False,
        no_names,
    )
    assert answered(logs.serve(context)) == [("foo", 0), ("foo", 1)]


# --- incremental fetches -----------------------------------------------------------------


def test_incremental_fetch_reads_the_whole_session_and_answers_only_changes() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0), ("bar", 0, 0))
    logs.set("foo", 1, high_watermark=11)
    context = incremental(cache, sid, 1)
    assert isinstance(context, IncrementalFetchContext)
    assert fetched(context) == [("foo", 0, 0), ("foo", 1, 0), ("bar", 0, 0)]
    response = logs.serve(context)
    assert response.session_id == sid
    assert response.error_code == ErrorCode.NONE
    assert answered(response) == [("foo", 1)]
    assert response.responses[0].partitions[0].high_watermark == 11
    session = cache.session(sid)
    assert session is not None
    assert session.epoch == 2
    # Nothing changed since: an empty incremental response.
    assert answered(logs.serve(incremental(cache, sid, 2))) == []


@pytest.mark.parametrize(
    "change",
    [
        {"high_watermark": 12},
        {"last_stable_offset": 4},
        {"log_start_offset": 3},
        {"records": b"some records"},
        {"preferred_read_replica": 2},
        {"diverging_epoch": EpochEndOffset(epoch=3, end_offset=40)},
        {"error_code": ErrorCode.NOT_LEADER_OR_FOLLOWER},
    ],
    ids=lambda change: next(iter(change)),
)
def test_each_kind_of_change_is_answered(change: dict[str, Any]) -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0))
    logs.set("foo", 1, **change)
    response = logs.serve(incremental(cache, sid, 1))
    assert answered(response) == [("foo", 1)]
    (data,) = response.responses[0].partitions
    for field, value in change.items():
        assert getattr(data, field) == value


@pytest.mark.parametrize(
    "signal",
    [
        {"records": b"more"},
        {"preferred_read_replica": 2},
        {"diverging_epoch": EpochEndOffset(epoch=3, end_offset=40)},
        {"error_code": ErrorCode.NOT_LEADER_OR_FOLLOWER},
    ],
    ids=lambda signal: next(iter(signal)),
)
def test_per_response_signals_are_answered_every_time(signal: dict[str, Any]) -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    logs.set("foo", 0, **signal)
    for epoch in (1, 2, 3):
        assert answered(logs.serve(incremental(cache, sid, epoch))) == [("foo", 0)]


def test_empty_records_are_not_a_change() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    logs.set("foo", 0, records=b"")
    assert answered(logs.serve(incremental(cache, sid, 1))) == []


def test_partition_is_answered_again_when_its_error_clears() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0))
    # The error answer carries the same offsets as before: only the error differs.
    logs.set("foo", 1, error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert answered(logs.serve(incremental(cache, sid, 1))) == [("foo", 1)]
    logs.set("foo", 1, error_code=ErrorCode.NONE)
    response = logs.serve(incremental(cache, sid, 2))
    assert answered(response) == [("foo", 1)]
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE
    assert answered(logs.serve(incremental(cache, sid, 3))) == []


def test_error_in_the_full_fetch_is_resent_once_it_clears() -> None:
    cache, logs = new_cache(), Logs()
    logs.set("foo", 0, error_code=ErrorCode.KAFKA_STORAGE_ERROR)
    sid = open_session(cache, logs, ("foo", 0, 0))
    logs.set("foo", 0, error_code=ErrorCode.NONE)
    assert answered(logs.serve(incremental(cache, sid, 1))) == [("foo", 0)]


def test_incremental_request_updates_and_adds_partitions() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0))
    context = incremental(cache, sid, 1, ("foo", 0, 9), ("bar", 0, 4))
    # An updated partition keeps its place; a new one goes last.
    assert fetched(context) == [("foo", 0, 9), ("foo", 1, 0), ("bar", 0, 4)]
    # A new partition is always answered: its state has never been sent.
    assert answered(logs.serve(context)) == [("bar", 0)]
    # The new parameters stay in the session.
    assert fetched(incremental(cache, sid, 2)) == [("foo", 0, 9), ("foo", 1, 0), ("bar", 0, 4)]


def test_incremental_request_replaces_every_fetch_parameter() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    req = FetchRequest(
        session_id=sid,
        session_epoch=1,
        topics=[
            FetchTopic(
                topic="foo",
                partitions=[
                    FetchPartition(
                        partition=0,
                        current_leader_epoch=4,
                        fetch_offset=8,
                        last_fetched_epoch=3,
                        log_start_offset=2,
                        partition_max_bytes=77,
                    )
                ],
            )
        ],
    )
    cache.new_context(req, 12, 0, False, no_names)
    (p,) = incremental(cache, sid, 2).partitions_to_fetch()
    assert p == PartitionFetch(TopicIdPartition(ZERO_UUID, "foo", 0), 8, 77, 4, 3, 2)


def test_forgotten_partitions_leave_the_session() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0), ("bar", 0, 0))
    context = incremental(cache, sid, 1, forget=[("foo", 1), ("foo", 7)])
    assert fetched(context) == [("foo", 0, 0), ("bar", 0, 0)]
    logs.serve(context)
    assert cache.cached_partitions == 2


def test_forgetting_every_partition_closes_the_session() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0))
    context = incremental(cache, sid, 1, forget=[("foo", 0), ("foo", 1)])
    assert cache.session(sid) is None
    assert fetched(context) == []
    response = logs.serve(context)
    assert response.session_id == 0
    assert response.error_code == ErrorCode.NONE


def test_partition_both_fetched_and_forgotten_is_forgotten() -> None:
    # Kafka adds the request's partitions first, then drops the forgotten ones; if that
    # empties the session, the request is answered as a sessionless fetch of what it named.
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    context = incremental(cache, sid, 1, ("bar", 0, 3), forget=[("foo", 0), ("bar", 0)])
    assert cache.session(sid) is None
    assert fetched(context) == [("bar", 0, 3)]
    response = logs.serve(context)
    assert (response.session_id, answered(response)) == (0, [("bar", 0)])


def test_partitions_that_returned_records_move_to_the_end() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0), ("foo", 2, 0), ("foo", 3, 0))
    logs.set("foo", 0, records=b"r0")
    logs.set("foo", 2, records=b"r2")
    logs.set("foo", 3, high_watermark=20)
    response = logs.serve(incremental(cache, sid, 1))
    assert answered(response) == [("foo", 0), ("foo", 2), ("foo", 3)]
    assert [p for (_, p, _) in fetched(incremental(cache, sid, 2))] == [1, 3, 0, 2]


def test_wrong_epoch_is_an_error_and_leaves_the_session_alone() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    for epoch in (2, -2, 5):
        context = incremental(cache, sid, epoch, ("bar", 0, 0), forget=[("foo", 0)])
        assert context.error == ErrorCode.INVALID_FETCH_SESSION_EPOCH
        assert fetched(context) == []
        response = logs.serve(context)
        assert (response.error_code, response.session_id, response.responses) == (
            ErrorCode.INVALID_FETCH_SESSION_EPOCH,
            0,
            [],
        )
    session = cache.session(sid)
    assert session is not None
    assert session.epoch == 1
    assert fetched(incremental(cache, sid, 1)) == [("foo", 0, 0)]


def test_unknown_session_id_is_an_error() -> None:
    cache, logs = new_cache(), Logs()
    open_session(cache, logs, ("foo", 0, 0))
    for sid, epoch in [(12345, 1), (0, 1), (0, -2)]:
        context = incremental(cache, sid, epoch, ("foo", 0, 0))
        assert context.error == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
        response = logs.serve(context)
        assert (response.error_code, response.session_id) == (
            ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
            0,
        )
        assert answered(response) == []


def test_epoch_wraps_past_the_largest_int32() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    session = cache.session(sid)
    assert session is not None
    session.epoch = 2**31 - 1
    logs.serve(incremental(cache, sid, 2**31 - 1))
    assert session.epoch == 1
    assert incremental(cache, sid, 1).error == ErrorCode.NONE


def test_a_request_overtaken_on_its_session_is_answered_with_an_epoch_error() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    slow = incremental(cache, sid, 1)
    logs.set("foo", 0, high_watermark=50)
    fast = incremental(cache, sid, 2)
    assert answered(logs.serve(fast)) == [("foo", 0)]
    response = logs.serve(slow)
    assert (response.error_code, response.session_id, answered(response)) == (
        ErrorCode.INVALID_FETCH_SESSION_EPOCH,
        sid,
        [],
    )
    overtaken = incremental(cache, sid, 3)
    incremental(cache, sid, 4)
    throttled = overtaken.throttled_response(100)
    assert (throttled.error_code, throttled.session_id) == (
        ErrorCode.INVALID_FETCH_SESSION_EPOCH,
        sid,
    )


def test_results_for_partitions_outside_the_context_are_refused() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0))
    stray = TopicIdPartition(ZERO_UUID, "bar", 0)
    with pytest.raises(ValueError, match="not in fetch session"):
        incremental(cache, sid, 1).build_response([(stray, PartitionData())], 0)
    full = cache.new_context(request(("foo", 0, 0), epoch=INITIAL_EPOCH), 12, 0, False, names)
    with pytest.raises(ValueError, match="was not requested"):
        full.build_response([(stray, PartitionData())], 0)


def test_a_context_answers_once() -> None:
    cache, logs = new_cache(), Logs()
    context = cache.new_context(request(("foo", 0, 0), epoch=INITIAL_EPOCH), 12, 0, False, names)
    logs.serve(context)
    with pytest.raises(RuntimeError):
        logs.serve(context)
    with pytest.raises(RuntimeError):
        context.throttled_response(10)


def test_partition_index_is_set_from_the_partition() -> None:
    cache = new_cache()
    context = cache.new_context(request(("foo", 4, 0)), 12, 0, False, no_names)
    ((tp, _),) = [(p.topic_partition, p) for p in context.partitions_to_fetch()]
    response = context.build_response([(tp, PartitionData(partition_index=0))], 0)
    assert answered(response) == [("foo", 4)]


# --- throttling --------------------------------------------------------------------------


def test_throttled_full_fetch_creates_no_session() -> None:
    cache = new_cache()
    context = cache.new_context(request(("foo", 0, 0), epoch=INITIAL_EPOCH), 12, 0, False, names)
    response = context.throttled_response(250)
    assert (response.throttle_time_ms, response.session_id, response.responses) == (250, 0, [])
    assert response.error_code == ErrorCode.NONE
    assert len(cache) == 0


def test_throttled_incremental_fetch_keeps_the_changes_for_the_next_response() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, ("foo", 0, 0), ("foo", 1, 0))
    logs.set("foo", 1, high_watermark=30)
    response = incremental(cache, sid, 1).throttled_response(250)
    assert (response.throttle_time_ms, response.session_id, response.responses) == (250, sid, [])
    assert response.error_code == ErrorCode.NONE
    assert answered(logs.serve(incremental(cache, sid, 2))) == [("foo", 1)]


def test_throttled_session_error_is_an_empty_response_without_session() -> None:
    cache = new_cache()
    context = incremental(cache, 999, 1)
    response = context.throttled_response(40)
    assert (response.error_code, response.session_id, response.throttle_time_ms) == (0, 0, 40)


# --- topic ids (Fetch v13+) --------------------------------------------------------------


def test_topic_ids_are_resolved_to_names() -> None:
    cache, logs = new_cache(), Logs()
    context = cache.new_context(
        request((FOO_ID, 0, 0), (BAR_ID, 1, 0), epoch=INITIAL_EPOCH), 13, 0, False, names
    )
    assert [p.topic_partition for p in context.partitions_to_fetch()] == [
        TopicIdPartition(FOO_ID, "foo", 0),
        TopicIdPartition(BAR_ID, "bar", 1),
    ]
    response = logs.serve(context)
    assert [t.topic_id for t in response.responses] == [FOO_ID, BAR_ID]
    session = cache.session(response.session_id)
    assert session is not None
    assert session.uses_topic_ids


def test_unknown_topic_id_has_no_name_until_it_becomes_known() -> None:
    cache, logs = new_cache(), Logs()
    new_id = uuid.UUID(int=0x9E)
    known: dict[uuid.UUID, str] = {FOO_ID: "foo"}
    context = cache.new_context(
        request((FOO_ID, 0, 0), (new_id, 0, 0), epoch=INITIAL_EPOCH), 13, 0, False, known.get
    )
    assert [p.topic_partition.topic for p in context.partitions_to_fetch()] == ["foo", None]
    response = logs.serve(context)
    sid = response.session_id
    assert response.responses[1].partitions[0].error_code == ErrorCode.UNKNOWN_TOPIC_ID
    # Still unknown: the error is answered again.
    context = cache.new_context(request(session_id=sid, epoch=1), 13, 0, False, known.get)
    assert answered(logs.serve(context)) == [(new_id, 0)]
    known[new_id] = "baz"
    context = cache.new_context(request(session_id=sid, epoch=2), 13, 0, False, known.get)
    assert [p.topic_partition.topic for p in context.partitions_to_fetch()] == ["foo", "baz"]
    response = logs.serve(context)
    assert answered(response) == [(new_id, 0)]
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE


def test_a_zero_topic_id_is_unknown() -> None:
    cache = new_cache()
    context = cache.new_context(request((ZERO_UUID, 0, 0)), 13, 0, False, names)
    assert [p.topic_partition for p in context.partitions_to_fetch()] == [
        TopicIdPartition(ZERO_UUID, None, 0)
    ]


def test_forgetting_by_topic_id() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, (FOO_ID, 0, 0), (BAR_ID, 0, 0), version=13)
    context = incremental(cache, sid, 1, forget=[(FOO_ID, 0)], version=13)
    assert fetched(context) == [("bar", 0, 0)]


def test_recreated_topic_is_another_partition_to_a_topic_id_session() -> None:
    cache, logs = new_cache(), Logs()
    sid = open_session(cache, logs, (FOO_ID, 0, 5), version=13)
    new_foo = uuid.UUID(int=0xF01)
    renamed = {new_foo: "foo", BAR_ID: "bar"}
    context = cache.new_context(request(session_id=sid, epoch=1), 13, 0, False, renamed.get)
    # The old id no longer resolves, though it did before: the partition has no name now,
    # and is answered UNKNOWN_TOPIC_ID.
    assert fetched(context) == [(None, 0, 5)]
    logs.serve(context)
    # The client replaces it: the new id is added and the old one forgotten.
    context = cache.new_context(
        request((new_foo, 0, 0), session_id=sid, epoch=2, forget=[(FOO_ID, 0)]),
        13,
        0,
        False,
        renamed.get,
    )
    assert [p.topic_partition for p in context.partitions_to_fetch()] == [
        TopicIdPartition(new_foo, "foo", 0)
    ]
    assert answered(logs.serve(context)) == [(new_foo, 0)]


@pytest.mark.parametrize(("created", "used"), [(12, 13), (13, 12), (11, 17), (17, 7)])
def test_switching_between_names_and_ids_in_a_session_is_an_error(created: int, used: int) -> None:
    cache, logs = new_cache(), Logs()
    topic = FOO_ID if created >= 13 else "foo"
    sid = open_session(cache, logs, (topic, 0, 0), version=created)
    context = cache.new_context(request(session_id=sid, epoch=1), used, 0, False, names)
    assert context.error == ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR
    response = logs.serve(context)
    assert (response.error_code, response.session_id) == (
        ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
        0,
    )
    session = cache.session(sid)
    assert session is not None
    assert session.epoch == 1


# --- the cache: room and eviction --------------------------------------------------------

EVICTION_MS = 1000


def fill(
    cache: FetchSessionCache, logs: Logs, *sessions: tuple[int, bool], now_ms: int = 0
) -> list[int]:
    """Open one session per (partition count, privileged) at ``now_ms``."""
    return [
        open_session(
            cache,
            logs,
            *[("t", p, 0) for p in range(size)],
            now_ms=now_ms,
            is_follower=privileged,
        )
        for size, privileged in sessions
    ]


def use(cache: FetchSessionCache, logs: Logs, sid: int, now_ms: int) -> None:
    session = cache.session(sid)
    assert session is not None
    context = incremental(cache, sid, session.epoch, now_ms=now_ms)
    assert context.error == ErrorCode.NONE
    logs.serve(context, now_ms)


def try_open(cache: FetchSessionCache, logs: Logs, size: int, privileged: bool, now_ms: int) -> int:
    return fill(cache, logs, (size, privileged), now_ms=now_ms)[0]


def test_no_session_when_the_cache_is_full_of_fresh_sessions() -> None:
    cache, logs = new_cache(max_slots=2, eviction_ms=EVICTION_MS), Logs()
    fill(cache, logs, (1, False), (1, False))
    assert try_open(cache, logs, 1, False, now_ms=500) == 0
    assert len(cache) == 2
    assert cache.evictions == 0


def test_zero_slots_disables_sessions() -> None:
    cache, logs = new_cache(max_slots=0), Logs()
    assert try_open(cache, logs, 3, True, now_ms=0) == 0
    assert len(cache) == 0


def test_a_stale_session_is_evicted_first() -> None:
    cache, logs = new_cache(max_slots=2, eviction_ms=EVICTION_MS), Logs()
    follower, consumer = fill(cache, logs, (5, True), (5, False))
    use(cache, logs, consumer, now_ms=600)
    # The follower's session has been idle for more than EVICTION_MS: even a small
    # unprivileged newcomer takes its place.
    newcomer = try_open(cache, logs, 1, False, now_ms=EVICTION_MS + 1)
    assert newcomer != 0
    assert cache.session(follower) is None
    assert cache.session(consumer) is not None
    assert cache.evictions == 1


def test_idle_for_exactly_the_eviction_time_is_not_stale() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    fill(cache, logs, (5, False))
    assert try_open(cache, logs, 1, False, now_ms=EVICTION_MS) == 0


def test_a_follower_evicts_a_fresh_consumer_session() -> None:
    cache, logs = new_cache(max_slots=2, eviction_ms=EVICTION_MS), Logs()
    big, small = fill(cache, logs, (9, False), (2, False))
    newcomer = try_open(cache, logs, 1, True, now_ms=10)
    assert newcomer != 0
    # The least valuable: unprivileged, then fewest partitions.
    assert cache.session(small) is None
    assert cache.session(big) is not None


def test_a_follower_does_not_evict_a_fresh_follower_session() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    fill(cache, logs, (1, True))
    assert try_open(cache, logs, 50, True, now_ms=10) == 0


def test_a_consumer_does_not_evict_a_fresh_consumer_session() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    fill(cache, logs, (1, False))
    assert try_open(cache, logs, 50, False, now_ms=10) == 0


def test_a_bigger_consumer_evicts_an_old_smaller_one() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    (old,) = fill(cache, logs, (3, False))
    # Used after its protection ran out: now evictable by anyone, though not stale.
    use(cache, logs, old, now_ms=EVICTION_MS + 1)
    now = EVICTION_MS + 2
    assert try_open(cache, logs, 2, False, now_ms=now) == 0
    # Same size: the newcomer ranks as (size, id 0), below the existing session.
    assert try_open(cache, logs, 3, False, now_ms=now) == 0
    assert try_open(cache, logs, 4, False, now_ms=now) != 0
    assert cache.session(old) is None


def test_protection_ends_only_when_the_session_is_next_used() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    (old,) = fill(cache, logs, (3, False))
    use(cache, logs, old, now_ms=900)
    # Older than EVICTION_MS now, and not stale, but last ranked while still protected.
    assert try_open(cache, logs, 10, False, now_ms=1500) == 0
    use(cache, logs, old, now_ms=1600)
    assert try_open(cache, logs, 10, False, now_ms=1700) != 0


def test_protection_lasts_the_eviction_time_inclusive() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    (old,) = fill(cache, logs, (3, False))
    use(cache, logs, old, now_ms=EVICTION_MS)
    assert try_open(cache, logs, 10, False, now_ms=EVICTION_MS) == 0


def test_a_consumer_never_evicts_a_follower_unless_stale() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    (follower,) = fill(cache, logs, (1, True))
    use(cache, logs, follower, now_ms=EVICTION_MS + 1)
    assert try_open(cache, logs, 100, False, now_ms=EVICTION_MS + 2) == 0
    assert try_open(cache, logs, 100, False, now_ms=2 * EVICTION_MS + 2) != 0
    assert cache.session(follower) is None


def test_an_old_follower_session_is_evicted_by_a_bigger_follower() -> None:
    cache, logs = new_cache(max_slots=1, eviction_ms=EVICTION_MS), Logs()
    (follower,) = fill(cache, logs, (2, True))
    use(cache, logs, follower, now_ms=EVICTION_MS + 1)
    assert try_open(cache, logs, 2, True, now_ms=EVICTION_MS + 2) == 0
    assert try_open(cache, logs, 3, True, now_ms=EVICTION_MS + 2) != 0


def test_the_least_recently_used_stale_session_goes_ties_broken_by_id() -> None:
    cache, logs = FetchSessionCache(ScriptedIds(30, 20, 10, 40), max_slots=3), Logs()
    fill(cache, logs, (1, False), (1, False), (1, False), now_ms=0)
    use(cache, logs, 30, now_ms=5)
    assert try_open(cache, logs, 1, False, now_ms=200_000) == 40
    assert sorted(s for s in (10, 20, 30) if cache.session(s)) == [20, 30]


def test_stale_sessions_are_evicted_only_to_make_room() -> None:
    cache, logs = new_cache(max_slots=3, eviction_ms=EVICTION_MS), Logs()
    (old,) = fill(cache, logs, (1, False))
    try_open(cache, logs, 1, False, now_ms=10 * EVICTION_MS)
    assert cache.session(old) is not None
    assert cache.evictions == 0


# --- the model: a client's view through a session equals a sessionless broker's answer ---

TOPICS = ("alpha", "beta", "gamma")
PARTITIONS = 3
KEYS = [(t, p) for t in TOPICS for p in range(PARTITIONS)]
VERSIONS = (12, 13, 17)
MODEL_EVICTION_MS = 1000
PARTITION_ERRORS = (
    ErrorCode.KAFKA_STORAGE_ERROR,
    ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
)

Key = tuple[str, int]


@dataclass
class LogState:
    high_watermark: int = 0
    last_stable_offset: int = 0
    log_start_offset: int = 0
    error: int = ErrorCode.NONE
    preferred_read_replica: int = -1
    diverging_epoch: int = -1


def error_data(error: int) -> PartitionData:
    return PartitionData(
        error_code=error, high_watermark=-1, last_stable_offset=-1, log_start_offset=-1
    )


class World:
    """The broker's partitions, read as a Fetch handler reads them. Recreating a topic
    gives it a new id and empty logs."""

    def __init__(self) -> None:
        self.ids = {name: uuid.UUID(int=i + 1) for i, name in enumerate(TOPICS)}
        self.logs = {(self.ids[n], p): LogState() for n in TOPICS for p in range(PARTITIONS)}
        self.next_id = 100

    def topic_names(self, topic_id: uuid.UUID) -> str | None:
        return next((name for name, i in self.ids.items() if i == topic_id), None)

    def log(self, key: Key) -> LogState:
        return self.logs[(self.ids[key[0]], key[1])]

    def recreate(self, name: str) -> None:
        old = self.ids[name]
        self.ids[name] = uuid.UUID(int=self.next_id)
        self.next_id += 1
        for p in range(PARTITIONS):
            del self.logs[(old, p)]
            self.logs[(self.ids[name], p)] = LogState()

    def read(self, fetch: PartitionFetch) -> PartitionData:
        tp = fetch.topic_partition
        if tp.topic is None:
            return error_data(ErrorCode.UNKNOWN_TOPIC_ID)
        topic_id = tp.topic_id if tp.topic_id != ZERO_UUID else self.ids[tp.topic]
        log = self.logs[(topic_id, tp.partition)]
        if log.error == ErrorCode.NOT_LEADER_OR_FOLLOWER:
            return error_data(log.error)
        if log.error:
            # Some errors come with the partition's offsets, unchanged: only the error
            # code tells the client something happened, and then that it is over.
            return PartitionData(
                error_code=log.error,
                high_watermark=log.high_watermark,
                last_stable_offset=log.last_stable_offset,
                log_start_offset=log.log_start_offset,
            )
        if not log.log_start_offset <= fetch.fetch_offset <= log.high_watermark:
            return error_data(ErrorCode.OFFSET_OUT_OF_RANGE)
        n = min(log.high_watermark - fetch.fetch_offset, fetch.partition_max_bytes)
        return PartitionData(
            high_watermark=log.high_watermark,
            last_stable_offset=log.last_stable_offset,
            log_start_offset=log.log_start_offset,
            records=bytes((fetch.fetch_offset + i) % 256 for i in range(n)) if n else None,
            preferred_read_replica=log.preferred_read_replica,
            diverging_epoch=EpochEndOffset(
                epoch=log.diverging_epoch, end_offset=-1 if log.diverging_epoch < 0 else 7
            ),
        )


@dataclass(frozen=True)
class Want:
    """A partition's fetch parameters as the client keeps them."""

    topic_id: uuid.UUID
    fetch_offset: int = 0
    max_bytes: int = 16
    leader_epoch: int = 0


def summary(data: PartitionData) -> tuple[Any, ...]:
    return (
        data.error_code,
        data.high_watermark,
        data.last_stable_offset,
        data.log_start_offset,
        bytes(data.records or b""),
        data.preferred_read_replica,
        data.diverging_epoch.epoch,
    )


def sticky(data: PartitionData) -> tuple[int, int, int, int]:
    """What a client remembers of a partition between responses."""
    return (data.error_code, data.high_watermark, data.last_stable_offset, data.log_start_offset)


def must_hear(data: PartitionData) -> bool:
    """Whether the client must get this answer in the very response it belongs to."""
    return (
        data.error_code != ErrorCode.NONE
        or bool(data.records)
        or data.preferred_read_replica != -1
        or data.diverging_epoch.epoch >= 0
    )


class ModelClient:
    """A fetcher keeping its side of the session as Kafka's ``FetchSessionHandler`` does:
    the partitions it last told the broker about, the next (session id, epoch), and its
    view of each partition built from the responses."""

    def __init__(self, version: int, known_ids: dict[str, uuid.UUID]) -> None:
        self.version = version
        self.known_ids = dict(known_ids)
        self.id_names = {i: n for n, i in known_ids.items()}
        self.wanted: dict[Key, Want] = {}
        self.session_partitions: dict[Key, Want] = {}
        self.session_id = 0
        self.epoch = INITIAL_EPOCH
        #: Whether the session was opened by a request naming topics by id.
        self.session_uses_ids = False
        self.view: dict[Key, tuple[int, int, int, int]] = {}

    def is_full(self) -> bool:
        return self.epoch in (INITIAL_EPOCH, FINAL_EPOCH)

    def build(self) -> FetchRequest:
        send: list[tuple[Key, Want]] = []
        forget: list[tuple[Key, Want]] = []
        if self.is_full():
            self.session_partitions = dict(self.wanted)
            send = list(self.wanted.items())
        else:
            for key, prev in list(self.session_partitions.items()):
                want = self.wanted.get(key)
                if want is None:
                    del self.session_partitions[key]
                    forget.append((key, prev))
                    continue
                if want != prev:
                    self.session_partitions[key] = want
                    send.append((key, want))
                    if want.topic_id != prev.topic_id and self.version >= 13:
                        # A recreated topic: the old id leaves the session.
                        forget.append((key, prev))
            for key, want in self.wanted.items():
                if key not in self.session_partitions:
                    self.session_partitions[key] = want
                    send.append((key, want))
        topics: list[FetchTopic] = []
        for (name, partition), want in send:
            if not topics or topics[-1].topic != name or topics[-1].topic_id != self._id(want):
                topics.append(FetchTopic(topic=name, topic_id=self._id(want)))
            topics[-1].partitions.append(
                FetchPartition(
                    partition=partition,
                    fetch_offset=want.fetch_offset,
                    partition_max_bytes=want.max_bytes,
                    current_leader_epoch=want.leader_epoch,
                )
            )
        forgotten = [
            ForgottenTopic(topic=name, topic_id=self._id(prev), partitions=[partition])
            for (name, partition), prev in forget
        ]
        return FetchRequest(
            session_id=self.session_id,
            session_epoch=self.epoch,
            topics=topics,
            forgotten_topics_data=forgotten,
        )

    def _id(self, want: Want) -> uuid.UUID:
        return want.topic_id if self.version >= 13 else ZERO_UUID

    def key_of(self, topic: str, topic_id: uuid.UUID, partition: int) -> Key:
        if topic_id != ZERO_UUID:
            return (self.id_names[topic_id], partition)
        return (topic, partition)

    def handle(self, response: FetchResponse, full: bool) -> dict[Key, PartitionData] | None:
        """Take in a response; the partitions it carried, or None if it was refused."""
        if response.error_code != ErrorCode.NONE:
            # A client that keeps to the protocol never sends a stale epoch, and mixes
            # names and ids only when it changes Fetch versions.
            assert response.error_code != ErrorCode.INVALID_FETCH_SESSION_EPOCH
            if response.error_code == ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR:
                assert self.session_uses_ids != (self.version >= 13)
            if response.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND:
                self.session_id, self.epoch = 0, INITIAL_EPOCH
            else:
                self.epoch = INITIAL_EPOCH
            return None
        carried: dict[Key, PartitionData] = {}
        for t in response.responses:
            for data in t.partitions:
                key = self.key_of(t.topic, t.topic_id, data.partition_index)
                assert key not in carried, f"{key} answered twice"
                carried[key] = data
        if full and not carried and response.throttle_time_ms > 0:
            self.session_id, self.epoch = 0, INITIAL_EPOCH
            return None
        if full:
            assert set(carried) == set(self.session_partitions), "a full response answers all"
            if response.session_id == 0:
                self.session_id, self.epoch = 0, INITIAL_EPOCH
            else:
                self.session_id, self.epoch = response.session_id, next_epoch(INITIAL_EPOCH)
                self.session_uses_ids = self.version >= 13
        else:
            assert set(carried) <= set(self.session_partitions)
            if response.session_id == 0:
                self.session_id, self.epoch = 0, INITIAL_EPOCH
            else:
                assert response.session_id == self.session_id
                self.epoch = next_epoch(self.epoch)
        for key, data in carried.items():
            self.view[key] = sticky(data)
        return carried

    def lost_response(self) -> None:
        self.epoch = INITIAL_EPOCH

    def consume(self, carried: dict[Key, PartitionData]) -> None:
        for key, data in carried.items():
            if data.records and key in self.wanted:
                want = self.wanted[key]
                self.wanted[key] = replace(want, fetch_offset=want.fetch_offset + len(data.records))


def roundtrip(message: Any, cls: Any, version: int) -> Any:
    return decode(cls, encode(message, version), version)


def ops(*alternatives: st.SearchStrategy[tuple[Any, ...]]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.one_of(*alternatives), min_size=1, max_size=3)


KEY = st.sampled_from(KEYS)
CLIENT_OPS = ops(
    st.tuples(st.just("add"), KEY, st.sampled_from((16, 2, 40))),
    st.tuples(st.just("remove"), KEY),
    st.tuples(st.just("seek"), KEY, st.integers(0, 12)),
    st.tuples(st.just("max_bytes"), KEY, st.integers(1, 40)),
    st.tuples(st.just("leader_epoch"), KEY),
    st.tuples(st.just("refresh_metadata")),
    st.tuples(st.just("version"), st.sampled_from(VERSIONS)),
    st.tuples(st.just("close_session")),
)
#: A change to one partition's log.
LOG_OP = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 12)),
    st.tuples(st.just("last_stable_offset"), st.integers(0, 3)),
    st.tuples(st.just("delete_records"), st.integers(1, 3)),
    st.tuples(st.just("error"), st.sampled_from((*PARTITION_ERRORS, ErrorCode.NONE))),
    st.tuples(st.just("error"), st.just(ErrorCode.NONE)),
    st.tuples(st.just("preferred_replica"), st.sampled_from((-1, 2))),
    st.tuples(st.just("diverging_epoch"), st.sampled_from((-1, 4))),
)
#: As LOG_OP, or an error that comes and goes between two fetches.
QUIET_OP = st.one_of(LOG_OP, st.tuples(st.just("blip"), st.sampled_from(PARTITION_ERRORS)))
BROKER_OPS = ops(
    st.tuples(st.just("log"), KEY, LOG_OP),
    st.tuples(st.just("append_to_topic"), st.sampled_from(TOPICS), st.integers(1, 12)),
    st.tuples(st.just("recreate_topic"), st.sampled_from(TOPICS)),
)


FETCH_MODES = ("answered",) * 12 + ("throttled", "lost", "twice")


class FetchSessionModel(RuleBasedStateMachine):
    """One model client fetching through a small cache, with other fetchers competing
    for its slots, while the logs change under it."""

    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.now_ms = 0

    @initialize(
        max_slots=st.sampled_from((3, 1000, 1, 2, 0)),
        version=st.sampled_from(VERSIONS),
        is_follower=st.booleans(),
        seed=st.integers(0, 2**32),
        first=st.sets(KEY, min_size=1),
    )
    def setup(
        self, max_slots: int, version: int, is_follower: bool, seed: int, first: set[Key]
    ) -> None:
        self.max_slots = max_slots
        self.cache = FetchSessionCache(
            random.Random(seed), max_slots=max_slots, eviction_ms=MODEL_EVICTION_MS
        )
        self.client = ModelClient(version, self.world.ids)
        self.client.wanted = {key: Want(self.world.ids[key[0]]) for key in sorted(first)}
        self.is_follower = is_follower

    @rule(changes=CLIENT_OPS)
    def client_changes_what_it_fetches(self, changes: list[tuple[Any, ...]]) -> None:
        client, wanted = self.client, self.client.wanted
        for change in changes:
            match change:
                case ("add", key, max_bytes):
                    wanted[key] = Want(client.known_ids[key[0]], max_bytes=max_bytes)
                case ("remove", key):
                    wanted.pop(key, None)
                case ("seek", key, offset) if key in wanted:
                    wanted[key] = replace(wanted[key], fetch_offset=offset)
                case ("max_bytes", key, max_bytes) if key in wanted:
                    wanted[key] = replace(wanted[key], max_bytes=max_bytes)
                case ("leader_epoch", key) if key in wanted:
                    wanted[key] = replace(wanted[key], leader_epoch=wanted[key].leader_epoch + 1)
                case ("refresh_metadata",):
                    self.refresh_metadata()
                case ("version", version):
                    client.version = version
                case ("close_session",) if client.session_id:
                    client.epoch = FINAL_EPOCH

    def refresh_metadata(self) -> None:
        client = self.client
        client.known_ids = dict(self.world.ids)
        client.id_names.update({i: n for n, i in self.world.ids.items()})
        for key, want in client.wanted.items():
            client.wanted[key] = replace(want, topic_id=client.known_ids[key[0]])

    @rule(changes=BROKER_OPS)
    def logs_change(self, changes: list[tuple[Any, ...]]) -> None:
        for op, *args in changes:
            match op:
                case "log":
                    self.change_log(*args)
                case "append_to_topic":
                    for p in range(PARTITIONS):
                        self.world.log((args[0], p)).high_watermark += args[1]
                case "recreate_topic":
                    self.world.recreate(args[0])

    @precondition(lambda self: bool(self.client.wanted))
    @rule(data=st.data())
    def a_quiet_partition_changes(self, data: st.DataObject) -> None:
        """The client catches up, then a partition it fetches changes, one thing at a
        time: each change alone must reach the client."""
        key = data.draw(st.sampled_from(sorted(self.client.wanted)))
        changes = data.draw(st.lists(QUIET_OP, min_size=1, max_size=3))
        for _ in range(3):
            self.fetch("answered")
        for change in changes:
            steps = [change]
            if change[0] == "blip":
                steps = [("error", change[1]), ("error", ErrorCode.NONE)]
            for step in steps:
                self.change_log(key, step)
                self.fetch("answered")

    def change_log(self, key: Key, change: tuple[Any, ...]) -> None:
        log = self.world.log(key)
        match change:
            case ("append", n):
                log.high_watermark += n
            case ("last_stable_offset", n):
                # A transaction opens or ends somewhere below the high watermark.
                log.last_stable_offset = max(0, log.high_watermark - n)
            case ("delete_records", n):
                log.log_start_offset = min(log.high_watermark, log.log_start_offset + n)
            case ("error", error):
                log.error = error
            case ("preferred_replica", replica):
                log.preferred_read_replica = replica
            case ("diverging_epoch", epoch):
                log.diverging_epoch = epoch

    @rule(
        ms=st.integers(0, 2 * MODEL_EVICTION_MS),
        other=st.one_of(st.none(), st.none(), st.tuples(st.integers(0, 12), st.booleans())),
    )
    def meanwhile(self, ms: int, other: tuple[int, bool] | None) -> None:
        """Time passes; another fetcher (a follower, or not) may open a session."""
        self.now_ms += ms
        if other is None:
            return
        size, privileged = other
        context = self.cache.new_context(
            request(*[("other", p, 0) for p in range(size)], epoch=INITIAL_EPOCH),
            12,
            self.now_ms,
            privileged,
            self.world.topic_names,
        )
        results = [(p.topic_partition, PartitionData()) for p in context.partitions_to_fetch()]
        context.build_response(results, self.now_ms)

    @precondition(lambda self: bool(self.client.wanted))
    @rule(modes=st.lists(st.sampled_from(FETCH_MODES), min_size=1, max_size=4))
    def fetch_in_a_row(self, modes: list[str]) -> None:
        for mode in modes:
            self.fetch(mode)

    def fetch(self, mode: str) -> None:
        """Send the client's next request, and take in the response (``answered``), or
        an empty response (``throttled``), or no response (``lost``), or the response
        while a copy of the request also reaches the broker (``twice``)."""
        client, version = self.client, self.client.version
        truth = {key: self.world.read(self.sessionless(key, w)) for key, w in client.wanted.items()}
        full = client.is_full()
        request = roundtrip(client.build(), FetchRequest, version)
        context = self.cache.new_context(
            request, version, self.now_ms, self.is_follower, self.world.topic_names
        )
        if mode == "twice" and context.error == ErrorCode.NONE and not full:
            copy = self.cache.new_context(
                request, version, self.now_ms, self.is_follower, self.world.topic_names
            )
            assert copy.error == ErrorCode.INVALID_FETCH_SESSION_EPOCH
            assert copy.build_response([], self.now_ms).session_id == 0
        if context.error == ErrorCode.NONE:
            # The broker reads exactly what the client wants, however it was told.
            reads = {}
            for p in context.partitions_to_fetch():
                tp = p.topic_partition
                key = client.key_of(tp.topic or "", tp.topic_id, tp.partition)
                reads[key] = (tp.topic_id, p.fetch_offset, p.partition_max_bytes)
                assert p.current_leader_epoch == client.wanted[key].leader_epoch
            assert reads == {
                key: (client._id(w), w.fetch_offset, w.max_bytes)
                for key, w in client.wanted.items()
            }
        if full and request.session_id:
            assert self.cache.session(request.session_id) is None, "a full fetch closes"
        room = len(self.cache) < self.max_slots
        if mode == "throttled":
            response = context.throttled_response(100)
        else:
            results = [
                (p.topic_partition, self.world.read(p)) for p in context.partitions_to_fetch()
            ]
            response = context.build_response(results, self.now_ms)
            if full and request.session_epoch == INITIAL_EPOCH and room:
                assert response.session_id != 0, "a free slot makes a session"
        if mode == "lost":
            client.lost_response()
            return
        carried = client.handle(roundtrip(response, FetchResponse, version), full)
        if carried is None or mode == "throttled":
            return
        for key, expected in truth.items():
            if must_hear(expected):
                assert key in carried, f"{key}: {expected} was not sent"
                assert summary(carried[key]) == summary(expected)
            assert client.view[key] == sticky(expected), key
        client.consume(carried)
        # As a consumer does: start over from the log start when out of range (after a
        # ListOffsets, here read off the log), and look up topics it could not find.
        for key, data in carried.items():
            if data.error_code == ErrorCode.OFFSET_OUT_OF_RANGE and key in client.wanted:
                start = self.world.log(key).log_start_offset
                client.wanted[key] = replace(client.wanted[key], fetch_offset=start)
        if any(data.error_code == ErrorCode.UNKNOWN_TOPIC_ID for data in carried.values()):
            self.refresh_metadata()

    def sessionless(self, key: Key, want: Want) -> PartitionFetch:
        """The partition as a sessionless broker would read it for this client."""
        if self.client.version >= 13:
            tp = TopicIdPartition(want.topic_id, self.world.topic_names(want.topic_id), key[1])
        else:
            tp = TopicIdPartition(ZERO_UUID, key[0], key[1])
        return PartitionFetch(tp, want.fetch_offset, want.max_bytes, want.leader_epoch)

    @invariant()
    def cache_within_its_slots(self) -> None:
        assert len(self.cache) <= self.max_slots


FetchSessionModel.TestCase.settings = settings(stateful_step_count=50, deadline=None)
TestFetchSessionModel = FetchSessionModel.TestCase
