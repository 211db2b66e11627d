"""Incremental fetch sessions (KIP-227): which partitions a Fetch reads, and which it answers.

A consumer or follower that fetches a thousand partitions would, without sessions, name
all thousand in every Fetch request and get all thousand back in every response, even
when nothing changed. KIP-227 lets the broker remember the partition list and the last
answer per partition, so that a request names only what changed on the client side
(partitions added, fetch positions moved, partitions forgotten) and a response carries
only what changed on the broker side.

This module is that memory, as Kafka's ``FetchSession.scala`` (``FetchSessionCache``,
``FetchManager.newContext`` and the four ``FetchContext`` kinds) defines it. It does no
I/O and reads no clock: the Fetch handler passes the time in and reads the logs itself.

Spec: ``clients/FetchRequest.json`` (``SessionId``, ``SessionEpoch``,
``ForgottenTopicsData``, v7+; topic ids from v13) and ``clients/FetchResponse.json``
(``ErrorCode``, ``SessionId``) under ``shared/kafka-spec``.

Theory of operation
===================

Every Fetch request carries a session id and an epoch (before v7, implicitly 0 and -1).
Together they say what kind of request it is, as :meth:`FetchSessionCache.new_context`
decides:

=============  =============  ==============================================================
session id     epoch          meaning
=============  =============  ==============================================================
0              -1 (FINAL)     *sessionless*: read the partitions named, answer them all.
0              0 (INITIAL)    *full*: as sessionless, and then try to open a new session
                              holding those partitions; its id goes back in the response.
N              -1             close session N, then behave as sessionless.
N              0              close session N, then behave as full (a fresh session).
N              e > 0          *incremental*: e must be session N's next epoch. Apply the
                              request's changes to the session, read every partition it
                              holds, answer only those that changed.
other                         an incremental request for an unknown id, or with an epoch
                              the session does not expect, is a *session error*: the
                              response has the error code (70, 71 or 106), no partitions,
                              and the session (if any) is left as it was.
=============  =============  ==============================================================

The data flow through one request is::

    FetchRequest --new_context()--> FetchContext --partitions_to_fetch()--> handler reads logs
                                                                                  |
    FetchResponse <--------------build_response(results, now_ms)-----------------+

1. :meth:`FetchSessionCache.new_context` classifies the request and, for an incremental
   one, applies it to the session at once: partitions named in the request are added or
   have their fetch parameters replaced, forgotten partitions are dropped, and the
   session's expected epoch moves on. If that leaves the session empty, the session is
   closed and the request is answered as a sessionless one.
2. :meth:`FetchContext.partitions_to_fetch` lists what to read, in order, each with its
   fetch offset, maximum bytes and epochs: the request's partitions for a sessionless or
   full fetch, the whole session for an incremental one. From Fetch v13 topics are named
   by id; an id this broker cannot resolve yields a partition whose ``topic`` is None,
   which the handler answers with UNKNOWN_TOPIC_ID.
3. The handler reads the logs and hands one ``PartitionData`` per partition to
   :meth:`FetchContext.build_response`. A sessionless context answers them all with
   session id 0. A full context answers them all and tries to create a session caching
   them (see *The cache* below), putting its id, or 0 if there was no room, in the
   response. An incremental context keeps a partition in the response only if the client
   could not otherwise know what it says: records were returned, its high watermark, last
   stable offset or log start offset differs from what the session last sent, it carries
   an error, a diverging epoch or a preferred read replica. After an error the session
   forgets the high watermark it sent, so the partition is sent again once the error
   clears. Partitions that returned records move to the end of the session, so that
   the next fetch reads the others first when the response size limit cuts it short.
4. If the handler throttles the client instead, :meth:`FetchContext.throttled_response`
   gives the empty response to send; a full context then creates no session.

Kafka compares only the high watermark and the log start offset; the last stable offset
is compared here too, so that a ``read_committed`` client's view of a partition through
a session is never behind what a sessionless fetch would tell it.

Between steps 1 and 3 the handler may wait (a long poll). If another request on the same
session arrives in that time and moves its epoch on, the first request is stale: its
response is INVALID_FETCH_SESSION_EPOCH with no partitions, and the session state it
would have updated is left alone.

A session remembers whether it was made with topic ids (Fetch v13+) or names; an
incremental request of the other kind gets FETCH_SESSION_TOPIC_ID_ERROR. A topic
recreated under a new id is, to a session using ids, simply a different partition: the
client adds the new id and forgets the old one (clients do this when they see the id
change in metadata), and until then the old id is answered UNKNOWN_TOPIC_ID. Topic ids
in a session are resolved again on every fetch, so a session reads exactly the
partitions a sessionless fetch would. (Kafka keeps the first name it resolved and lets
the log read notice the mismatch, answering INCONSISTENT_TOPIC_ID instead; clients
treat both errors alike, refreshing their metadata.)

The cache
=========

At most ``max.incremental.fetch.session.cache.slots`` sessions (default 1000) live in a
:class:`FetchSessionCache`. A new session takes a free slot, or evicts one session:

1. the least recently used session, if it has been idle for more than
   ``eviction_ms`` (Kafka's fixed minimum eviction time, 120 s); otherwise
2. the *least valuable* evictable session, ranked by (privileged, partition count, id),
   if the newcomer ranks above it, its id counted as 0: on a tie in privilege and
   partition count the existing session stays. Sessions created by followers are
   privileged. Which sessions may be evicted at all is decided whenever a session is
   used: one older than ``eviction_ms`` then may be evicted by anyone, and an
   unprivileged one of any age by a privileged newcomer.

So a follower always finds room by pushing out a consumer, and a consumer fetching many
partitions pushes out an older one fetching fewer, but a freshly made session is safe
from peers of its own kind. A client whose session was evicted gets
FETCH_SESSION_ID_NOT_FOUND on its next incremental fetch and starts over with a full one.

Session ids are random (from the injected source), positive, and unique in the cache.
Kafka shards its cache to spread lock contention across request threads; a broker with
one event loop has no such contention, so this cache is one shard.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol

from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.fetch_request import FetchRequest
from odradek.protocol.messages.clients.fetch_response import (
    FetchableTopicResponse,
    FetchResponse,
    PartitionData,
)
from odradek.protocol.primitives import ZERO_UUID

#: The session id of a request or response outside any session.
INVALID_SESSION_ID = 0
#: The epoch of a full fetch that asks for a new session.
INITIAL_EPOCH = 0
#: The epoch of a full fetch that wants no session (and closes the one it names).
FINAL_EPOCH = -1

#: ``max.incremental.fetch.session.cache.slots``.
DEFAULT_MAX_SLOTS = 1000
#: How long a session is protected from eviction after it is created, and how long it
#: must sit unused to count as stale (Kafka's ``MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS``).
DEFAULT_EVICTION_MS = 120_000

_MAX_INT32 = 2**31 - 1
#: Topic-id versions of Fetch: topics are named by id in requests and responses.
_TOPIC_ID_VERSION = 13


def next_epoch(epoch: int) -> int:
    """The epoch that follows ``epoch`` in a session: +1, wrapping past 2**31-1 to 1.

    A negative epoch (FINAL) is followed by itself.
    """
    if epoch < 0:
        return FINAL_EPOCH
    if epoch == _MAX_INT32:
        return 1
    return epoch + 1


class TopicIdPartition(NamedTuple):
    """A partition as a Fetch request names it.

    Before Fetch v13 the topic is named and ``topic_id`` is the zero UUID. From v13 the
    topic is named by ``topic_id`` and ``topic`` is its name on this broker, or None when
    the broker knows no topic with that id (the handler answers UNKNOWN_TOPIC_ID).
    """

    topic_id: uuid.UUID
    topic: str | None
    partition: int


class PartitionFetch(NamedTuple):
    """One partition to read, with the parameters of the request that last named it.

    The integer fields are as on the wire: -1 for an epoch or log start offset means
    "not given".
    """

    topic_partition: TopicIdPartition
    fetch_offset: int
    partition_max_bytes: int
    current_leader_epoch: int = -1
    last_fetched_epoch: int = -1
    #: The log start offset of the fetching follower's replica (-1 from consumers).
    log_start_offset: int = -1


#: Resolves a topic id to the topic's name, or None if this broker knows no such topic.
TopicNames = Callable[[uuid.UUID], str | None]

#: How partitions are told apart inside a session and a request. With topic ids, a
#: partition is its (id, index), whatever name the id resolves to now; with names, its
#: (name, index).
_Key = tuple[uuid.UUID, str | None, int]


def _key(tp: TopicIdPartition) -> _Key:
    if tp.topic_id != ZERO_UUID:
        return (tp.topic_id, None, tp.partition)
    return (ZERO_UUID, tp.topic, tp.partition)


class RandomInts(Protocol):
    """Where session ids come from: ``random.Random`` and ``random.SystemRandom`` fit."""

    def randint(self, a: int, b: int) -> int: ...


def _has_records(data: PartitionData) -> bool:
    return data.records is not None and len(data.records) > 0


class CachedPartition:
    """A partition in a session: the request parameters, and the state last sent for it.

    ``high_watermark`` is None when the client must be sent the partition whatever its
    next answer says: it has never been sent, or the last answer carried an error.
    """

    __slots__ = ("fetch", "high_watermark", "last_stable_offset", "log_start_offset")

    def __init__(self, fetch: PartitionFetch) -> None:
        self.fetch = fetch
        self.high_watermark: int | None = None
        self.last_stable_offset: int | None = None
        #: The broker's log start offset as last sent (``fetch.log_start_offset`` is
        #: the follower's own).
        self.log_start_offset: int | None = None

    def must_send(self, data: PartitionData) -> bool:
        """Whether ``data`` must go to the client; records what is being sent if so."""
        must = _has_records(data)
        if data.high_watermark != self.high_watermark:
            self.high_watermark = data.high_watermark
            must = True
        # Kafka leaves the last stable offset out of this comparison: see the module notes.
        if data.last_stable_offset != self.last_stable_offset:
            self.last_stable_offset = data.last_stable_offset
            must = True
        if data.log_start_offset != self.log_start_offset:
            self.log_start_offset = data.log_start_offset
            must = True
        if data.error_code != ErrorCode.NONE:
            self.high_watermark = None
            must = True
        # Signals that concern this response alone: the client acts on them once.
        return must or data.preferred_read_replica != -1 or data.diverging_epoch.epoch >= 0


class FetchSession:
    """One client's session: its partitions in fetch order, and what it expects next.

    ``epoch`` is the epoch the next incremental request must carry. ``partitions`` is
    ordered: partitions that returned records are moved to the end.
    """

    __slots__ = (
        "creation_ms",
        "epoch",
        "evictable_by_all",
        "evictable_by_privileged",
        "id",
        "last_used_ms",
        "partitions",
        "privileged",
        "uses_topic_ids",
    )

    def __init__(
        self,
        session_id: int,
        privileged: bool,
        uses_topic_ids: bool,
        partitions: dict[_Key, CachedPartition],
        now_ms: int,
    ) -> None:
        self.id = session_id
        self.privileged = privileged
        self.uses_topic_ids = uses_topic_ids
        self.partitions = partitions
        self.creation_ms = now_ms
        self.last_used_ms = now_ms
        self.epoch = next_epoch(INITIAL_EPOCH)
        # Set by FetchSessionCache._touch each time the session is used.
        self.evictable_by_all = False
        self.evictable_by_privileged = False

    def __repr__(self) -> str:
        return (
            f"FetchSession(id={self.id}, epoch={self.epoch}, privileged={self.privileged}, "
            f"partitions={len(self.partitions)}, uses_topic_ids={self.uses_topic_ids}, "
            f"creation_ms={self.creation_ms}, last_used_ms={self.last_used_ms})"
        )

    def _update(self, requested: dict[_Key, PartitionFetch], forgotten: Iterable[_Key]) -> None:
        for key, fetch in requested.items():
            cached = self.partitions.get(key)
            if cached is None:
                self.partitions[key] = CachedPartition(fetch)
            else:
                cached.fetch = fetch
        for key in forgotten:
            self.partitions.pop(key, None)

    def _eviction_rank(self) -> tuple[bool, int, int]:
        # Lower ranks are evicted first; a newcomer ranks as (privileged, size, 0).
        return (self.privileged, len(self.partitions), self.id)


def _response(
    error: ErrorCode,
    session_id: int,
    results: Iterable[tuple[TopicIdPartition, PartitionData]],
    throttle_time_ms: int = 0,
) -> FetchResponse:
    """The response carrying ``results`` in their order, consecutive partitions of a topic
    grouped under one topic entry (a topic may appear again later, as in Kafka)."""
    topics: list[FetchableTopicResponse] = []
    last: TopicIdPartition | None = None
    for tp, data in results:
        data.partition_index = tp.partition
        same_topic = last is not None and (
            last.topic_id == tp.topic_id if last.topic_id != ZERO_UUID else last.topic == tp.topic
        )
        if not same_topic:
            topics.append(
                FetchableTopicResponse(topic=tp.topic or "", topic_id=tp.topic_id, partitions=[])
            )
        topics[-1].partitions.append(data)
        last = tp
    return FetchResponse(
        throttle_time_ms=throttle_time_ms,
        error_code=error,
        session_id=session_id,
        responses=topics,
    )


class FetchContext(ABC):
    """What one Fetch request reads, and how its response is built.

    Made by :meth:`FetchSessionCache.new_context`; answers exactly one request, with
    either :meth:`build_response` or :meth:`throttled_response`.
    """

    #: The session-level error (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH,
    #: FETCH_SESSION_TOPIC_ID_ERROR), or NONE. With an error there is nothing to fetch.
    error: ErrorCode = ErrorCode.NONE

    def __init__(self) -> None:
        self._answered = False

    @abstractmethod
    def partitions_to_fetch(self) -> Sequence[PartitionFetch]:
        """The partitions the handler reads, in the order it should read them."""

    def build_response(
        self, results: Iterable[tuple[TopicIdPartition, PartitionData]], now_ms: int
    ) -> FetchResponse:
        """The response to send, given one ``PartitionData`` per partition read.

        ``results`` pairs each partition of :meth:`partitions_to_fetch` with what was
        read for it, in the order the response should list them. Each ``PartitionData``
        gets its ``partition_index`` set. ``now_ms`` is the time the response is made,
        which a newly created session records as its creation time.
        """
        self._answer()
        return self._build(results, now_ms)

    def throttled_response(self, throttle_time_ms: int) -> FetchResponse:
        """The empty response to send instead when the client is throttled (KIP-219)."""
        self._answer()
        # Kafka's default, also for a session error: the client, seeing no session id,
        # starts over with a full fetch.
        return _response(ErrorCode.NONE, INVALID_SESSION_ID, (), throttle_time_ms)

    @abstractmethod
    def _build(
        self, results: Iterable[tuple[TopicIdPartition, PartitionData]], now_ms: int
    ) -> FetchResponse: ...

    def _answer(self) -> None:
        if self._answered:
            raise RuntimeError("a fetch context answers a single request")
        self._answered = True


class SessionErrorContext(FetchContext):
    """A request that named a session it cannot use: answered with the error alone."""

    def __init__(self, error: ErrorCode) -> None:
        super().__init__()
        self.error = error

    def partitions_to_fetch(self) -> Sequence[PartitionFetch]:
        return ()

    def _build(
        self, results: Iterable[tuple[TopicIdPartition, PartitionData]], now_ms: int
    ) -> FetchResponse:
        # The session cannot say which partitions were meant, so none are answered.
        return _response(self.error, INVALID_SESSION_ID, ())


class SessionlessFetchContext(FetchContext):
    """A full fetch outside any session: read and answer exactly what the request names."""

    def __init__(self, requested: dict[_Key, PartitionFetch]) -> None:
        super().__init__()
        self._requested = requested
        self._partitions = tuple(requested.values())

    def partitions_to_fetch(self) -> Sequence[PartitionFetch]:
        return self._partitions

    def _build(
        self, results: Iterable[tuple[TopicIdPartition, PartitionData]], now_ms: int
    ) -> FetchResponse:
        return _response(ErrorCode.NONE, INVALID_SESSION_ID, results)


class FullFetchContext(SessionlessFetchContext):
    """A full fetch that opens a session holding its partitions, if the cache has room."""

    def __init__(
        self,
        cache: FetchSessionCache,
        requested: dict[_Key, PartitionFetch],
        uses_topic_ids: bool,
        privileged: bool,
    ) -> None:
        super().__init__(requested)
        self._cache = cache
        self._uses_topic_ids = uses_topic_ids
        self._privileged = privileged

    def _build(
        self, results: Iterable[tuple[TopicIdPartition, PartitionData]], now_ms: int
    ) -> FetchResponse:
        answered = list(results)
        partitions: dict[_Key, CachedPartition] = {}
        for tp, data in answered:
            key = _key(tp)
            fetch = self._requested.get(key)
            if fetch is None:
                raise ValueError(f"{tp} was not requested")
            cached = CachedPartition(fetch)
            cached.must_send(data)
            partitions[key] = cached
        session_id = self._cache._maybe_create_session(
            self._privileged, self._uses_topic_ids, partitions, now_ms
        )
        return _response(ErrorCode.NONE, session_id, answered)


class IncrementalFetchContext(FetchContext):
    """An incremental fetch: read the whole session, answer what changed."""

    def __init__(self, session: FetchSession, request_epoch: int, topic_names: TopicNames) -> None:
        super().__init__()
        self._session = session
        self._expected_epoch = next_epoch(request_epoch)
        partitions = []
        for cached in session.partitions.values():
            tp = cached.fetch.topic_partition
            if session.uses_topic_ids:
                # Resolved afresh each time, as for a sessionless fetch: the id may have
                # become known, or its topic been deleted, since the last request.
                name = _resolve(tp.topic_id, topic_names)
                if name != tp.topic:
                    cached.fetch = cached.fetch._replace(topic_partition=tp._replace(topic=name))
            partitions.append(cached.fetch)
        self._partitions = tuple(partitions)

    @property
    def session(self) -> FetchSession:
        return self._session

    def partitions_to_fetch(self) -> Sequence[PartitionFetch]:
        return self._partitions

    def _build(
        self, results: Iterable[tuple[TopicIdPartition, PartitionData]], now_ms: int
    ) -> FetchResponse:
        session = self._session
        if session.epoch != self._expected_epoch:
            # A later request on this session was accepted while this one waited.
            return _response(ErrorCode.INVALID_FETCH_SESSION_EPOCH, session.id, ())
        changed = []
        for tp, data in results:
            key = _key(tp)
            cached = session.partitions.get(key)
            if cached is None:
                raise ValueError(f"{tp} is not in fetch session {session.id}")
            if cached.must_send(data):
                changed.append((tp, data))
                if _has_records(data):
                    session.partitions[key] = session.partitions.pop(key)
        return _response(ErrorCode.NONE, session.id, changed)

    def throttled_response(self, throttle_time_ms: int) -> FetchResponse:
        self._answer()
        session = self._session
        error = ErrorCode.NONE
        if session.epoch != self._expected_epoch:
            error = ErrorCode.INVALID_FETCH_SESSION_EPOCH
        # Nothing is recorded as sent, so the next fetch reports every change.
        return _response(error, session.id, (), throttle_time_ms)


class FetchSessionCache:
    """The broker's fetch sessions, and the rules for making room for new ones.

    ``rng`` supplies session ids. ``max_slots`` is
    ``max.incremental.fetch.session.cache.slots`` (0 disables sessions); ``eviction_ms``
    is how long a new session is protected and how long an unused one lives for sure.
    """

    def __init__(
        self,
        rng: RandomInts,
        max_slots: int = DEFAULT_MAX_SLOTS,
        eviction_ms: int = DEFAULT_EVICTION_MS,
    ) -> None:
        self._rng = rng
        self._max_slots = max_slots
        self._eviction_ms = eviction_ms
        self._sessions: dict[int, FetchSession] = {}
        #: Sessions evicted to make room (``IncrementalFetchSessionEvictionsPerSec``).
        self.evictions = 0

    def __len__(self) -> int:
        """The number of sessions (``NumIncrementalFetchSessions``)."""
        return len(self._sessions)

    @property
    def cached_partitions(self) -> int:
        """Partitions held over all sessions (``NumIncrementalFetchPartitionsCached``)."""
        return sum(len(s.partitions) for s in self._sessions.values())

    def session(self, session_id: int) -> FetchSession | None:
        return self._sessions.get(session_id)

    def new_context(
        self,
        request: FetchRequest,
        version: int,
        now_ms: int,
        is_follower: bool,
        topic_names: TopicNames,
    ) -> FetchContext:
        """Classify ``request`` (a Fetch of ``version``) and apply it to its session.

        ``is_follower`` marks a replica's fetch, whose new session is privileged.
        ``topic_names`` resolves the topic ids of v13+ requests.
        """
        requested = _requested_partitions(request, version, topic_names)
        session_id = request.session_id
        epoch = request.session_epoch
        if epoch in (INITIAL_EPOCH, FINAL_EPOCH):
            if session_id != INVALID_SESSION_ID:
                # A full fetch always ends the session it names.
                self._remove(session_id)
            if epoch == FINAL_EPOCH:
                return SessionlessFetchContext(requested)
            return FullFetchContext(self, requested, version >= _TOPIC_ID_VERSION, is_follower)

        session = self._sessions.get(session_id)
        if session is None:
            return SessionErrorContext(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
        if session.epoch != epoch:
            return SessionErrorContext(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
        if session.uses_topic_ids != (version >= _TOPIC_ID_VERSION):
            return SessionErrorContext(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR)
        session._update(requested, _forgotten_partitions(request, version))
        if not session.partitions:
            self._remove(session.id)
            return SessionlessFetchContext(requested)
        self._touch(session, now_ms)
        session.epoch = next_epoch(session.epoch)
        return IncrementalFetchContext(session, epoch, topic_names)

    def _make_room(self, privileged: bool, size: int, now_ms: int) -> bool:
        """Whether a new session of ``size`` partitions fits, evicting one if it may."""
        if len(self._sessions) < self._max_slots:
            return True
        if not self._sessions:
            return False
        least_recent = min(self._sessions.values(), key=lambda s: (s.last_used_ms, s.id))
        if now_ms - least_recent.last_used_ms > self._eviction_ms:
            self._evict(least_recent)
            return True
        if privileged:
            evictable = [s for s in self._sessions.values() if s.evictable_by_privileged]
        else:
            evictable = [s for s in self._sessions.values() if s.evictable_by_all]
        if not evictable:
            return False
        victim = min(evictable, key=FetchSession._eviction_rank)
        if (privileged, size, 0) < victim._eviction_rank():
            return False
        self._evict(victim)
        return True

    def _maybe_create_session(
        self,
        privileged: bool,
        uses_topic_ids: bool,
        partitions: dict[_Key, CachedPartition],
        now_ms: int,
    ) -> int:
        """The id of a new session holding ``partitions``, or 0 if there is no room."""
        if not self._make_room(privileged, len(partitions), now_ms):
            return INVALID_SESSION_ID
        session_id = INVALID_SESSION_ID
        while session_id == INVALID_SESSION_ID or session_id in self._sessions:
            session_id = self._rng.randint(1, _MAX_INT32)
        session = FetchSession(session_id, privileged, uses_topic_ids, partitions, now_ms)
        self._sessions[session_id] = session
        self._touch(session, now_ms)
        return session_id

    def _touch(self, session: FetchSession, now_ms: int) -> None:
        session.last_used_ms = now_ms
        protected = now_ms - session.creation_ms <= self._eviction_ms
        session.evictable_by_all = not protected
        session.evictable_by_privileged = not protected or not session.privileged

    def _evict(self, session: FetchSession) -> None:
        self._remove(session.id)
        self.evictions += 1

    def _remove(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)


def _requested_partitions(
    request: FetchRequest, version: int, topic_names: TopicNames
) -> dict[_Key, PartitionFetch]:
    """The request's partitions in order; a partition named twice keeps its first place
    and its last parameters."""
    requested: dict[_Key, PartitionFetch] = {}
    for topic in request.topics:
        topic_id, name = _topic(topic.topic, topic.topic_id, version, topic_names)
        for p in topic.partitions:
            tp = TopicIdPartition(topic_id, name, p.partition)
            requested[_key(tp)] = PartitionFetch(
                topic_partition=tp,
                fetch_offset=p.fetch_offset,
                partition_max_bytes=p.partition_max_bytes,
                current_leader_epoch=p.current_leader_epoch,
                last_fetched_epoch=p.last_fetched_epoch,
                log_start_offset=p.log_start_offset,
            )
    return requested


def _forgotten_partitions(request: FetchRequest, version: int) -> list[_Key]:
    forgotten: list[_Key] = []
    for topic in request.forgotten_topics_data:
        # With topic ids the id alone says which partition to forget: no name is needed.
        if version >= _TOPIC_ID_VERSION:
            topic_id, name = topic.topic_id, None
        else:
            topic_id, name = ZERO_UUID, topic.topic
        forgotten.extend(_key(TopicIdPartition(topic_id, name, p)) for p in topic.partitions)
    return forgotten


def _topic(
    name: str, topic_id: uuid.UUID, version: int, topic_names: TopicNames
) -> tuple[uuid.UUID, str | None]:
    if version < _TOPIC_ID_VERSION:
        return ZERO_UUID, name
    return topic_id, _resolve(topic_id, topic_names)


def _resolve(topic_id: uuid.UUID, topic_names: TopicNames) -> str | None:
    return topic_names(topic_id) if topic_id != ZERO_UUID else None
