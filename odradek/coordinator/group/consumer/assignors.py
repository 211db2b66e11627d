"""Server-side assignors: ``uniform`` and ``range`` (``group.consumer.assignors``).

With KIP-848 the coordinator, not a member, computes the target assignment. Both
assignors take every member's subscription (topic ids) and current target, and the
partition count of each subscribed topic, and return each member's new target. Every
partition of a subscribed topic goes to exactly one member subscribed to it.

``range`` (Kafka's ``RangeAssignor``): topic by topic, contiguous ranges of
partitions go to the topic's subscribers in order -- static members first by
instance id, then the others by member id -- the first ``partitions % subscribers``
of them getting one more. When members subscribe to the same co-partitioned topics,
each gets the same partition numbers of every topic, which is what joins of keyed
streams need.

``uniform`` (what Kafka's ``UniformAssignor`` promises; the algorithm is this
module's): balanced and sticky. Each member first keeps the partitions of its
current target it is still subscribed to; the partitions left go one by one to the
least-loaded member subscribed to their topic; then partitions move, one at a time,
to an eligible member with at least two fewer partitions than their owner, until no
such move is left. So with identical subscriptions every member ends with ``floor``
or ``ceil`` of partitions/members; with different ones no partition could go to a
subscriber with two fewer partitions; and an assignment that is already balanced
comes back unchanged, so partitions move only when membership or topics change.
Rack awareness is not implemented.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .member import Partitions


@dataclass(frozen=True, slots=True)
class MemberSpec:
    instance_id: str | None
    topics: frozenset[uuid.UUID]
    current: Partitions


#: member id -> spec, topic id -> partition count  =>  member id -> target.
Assignor = Callable[[Mapping[str, MemberSpec], Mapping[uuid.UUID, int]], dict[str, Partitions]]


def range_assignor(
    members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, int]
) -> dict[str, Partitions]:
    order = sorted(
        members,
        key=lambda m: (
            (0, members[m].instance_id or "", m)
            if members[m].instance_id is not None
            else (1, "", m)
        ),
    )
    result: dict[str, dict[uuid.UUID, frozenset[int]]] = {m: {} for m in members}
    for topic_id in sorted(topics, key=str):
        subscribers = [m for m in order if topic_id in members[m].topics]
        if not subscribers:
            continue
        count = topics[topic_id]
        quota, extra = divmod(count, len(subscribers))
        start = 0
        for i, member_id in enumerate(subscribers):
            size = quota + (1 if i < extra else 0)
            if size:
                result[member_id][topic_id] = frozenset(range(start, start + size))
            start += size
    return dict(result)


def uniform_assignor(
    members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, int]
) -> dict[str, Partitions]:
    ids = sorted(members)
    owner: dict[tuple[uuid.UUID, int], str] = {}
    load = dict.fromkeys(ids, 0)
    subscribers = {t: [m for m in ids if t in members[m].topics] for t in topics}

    # Keep what each member had and may still have.
    for member_id in ids:
        spec = members[member_id]
        for topic_id, partitions in sorted(spec.current.items(), key=lambda i: str(i[0])):
            if topic_id not in spec.topics or topic_id not in topics:
                continue
            for p in sorted(partitions):
                if p < topics[topic_id] and (topic_id, p) not in owner:
                    owner[topic_id, p] = member_id
                    load[member_id] += 1

    # Hand out the rest, each to the least loaded member that may have it.
    for topic_id in sorted(topics, key=str):
        eligible = subscribers[topic_id]
        if not eligible:
            continue
        for p in range(topics[topic_id]):
            if (topic_id, p) not in owner:
                chosen = min(eligible, key=lambda m: (load[m], m))
                owner[topic_id, p] = chosen
                load[chosen] += 1

    _balance(owner, load, subscribers)

    result: dict[str, dict[uuid.UUID, set[int]]] = {m: {} for m in ids}
    for (topic_id, p), member_id in owner.items():
        result[member_id].setdefault(topic_id, set()).add(p)
    return {m: {t: frozenset(ps) for t, ps in tps.items()} for m, tps in result.items()}


def _balance(
    owner: dict[tuple[uuid.UUID, int], str],
    load: dict[str, int],
    subscribers: Mapping[uuid.UUID, list[str]],
) -> None:
    """Move partitions from heavier to lighter eligible members while that narrows a gap."""
    moved = True
    while moved:
        moved = False
        for tp in sorted(owner, key=lambda x: (str(x[0]), x[1])):
            current = owner[tp]
            lightest = min(subscribers[tp[0]], key=lambda m: (load[m], m))
            if load[current] - load[lightest] > 1:
                owner[tp] = lightest
                load[current] -= 1
                load[lightest] += 1
                moved = True


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform_assignor, "range": range_assignor}
