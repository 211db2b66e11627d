"""OffsetFetch (key 9): where a group left off, per partition.

Behaviour (Kafka's ``KafkaApis.handleOffsetFetchRequest``; the rules are
:mod:`odradek.coordinator.group.offset_fetch`):

* a partition without a committed offset, or of a group that does not exist, is
  offset -1 without error; a null topic list (v2+) asks for every offset the group
  has;
* v8+ name several groups: each is sent to the shard that coordinates it, and the
  answers are put together shard by shard; a group this broker does not coordinate
  carries NOT_COORDINATOR on its own (the admin client then looks it up again);
* a reply waits until every record written before it is committed, so
  ``require_stable`` (v7+) holds for every fetch;
* v9 carries a consumer group member's id and epoch: UNKNOWN_MEMBER_ID,
  STALE_MEMBER_EPOCH.

Version notes: v0 read ZooKeeper and was removed in Kafka 4; v2 adds the top-level
error; v5 leader epochs; v7 ``require_stable``; v8 batched groups; v9 member epochs.

Spec: ``clients/OffsetFetchRequest.json``, ``clients/OffsetFetchResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.offset_fetch_request import OffsetFetchRequest
from odradek.protocol.messages.clients.offset_fetch_response import OffsetFetchResponse

OFFSET_FETCH = 9
BATCHED_VERSION = 8


@handles(OFFSET_FETCH, 1, 9)
async def handle_offset_fetch(
    ctx: RequestContext, request: OffsetFetchRequest
) -> OffsetFetchResponse:
    groups = ctx.broker.groups
    if ctx.api_version < BATCHED_VERSION:
        response = await groups.call(
            ctx, request.group_id, GroupCoordinatorShard.offset_fetch, request
        )
        assert isinstance(response, OffsetFetchResponse)
        return response
    by_id = {g.group_id: g for g in request.groups}

    def for_groups(group_ids: list[str]) -> OffsetFetchRequest:
        return OffsetFetchRequest(
            groups=[by_id[g] for g in group_ids], require_stable=request.require_stable
        )

    merged = OffsetFetchResponse()
    unique = list(by_id)
    for response in await groups.scatter(
        ctx, unique, for_groups, GroupCoordinatorShard.offset_fetch
    ):
        assert isinstance(response, OffsetFetchResponse)
        merged.groups.extend(response.groups)
    return merged
