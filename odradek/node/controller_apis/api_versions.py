"""ApiVersions (key 18) on a controller listener: the controller's own APIs and features.

The answer is built as a broker builds it
(:func:`odradek.broker.handlers.api_versions.api_versions_response`: the software name
check, the v0 fallback, features from v3), from the controller's registry and the
controller's view of the cluster: the feature levels this software supports, and the
finalized ones of the controller's committed metadata, whose last offset is the
features epoch (Kafka's controller ``ApiVersionManager`` over its metadata cache).

Spec: ``clients/ApiVersionsRequest.json``, ``clients/ApiVersionsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.broker import Features
from odradek.broker.handlers.api_versions import API_VERSIONS, api_versions_response
from odradek.controller.features import supported_features
from odradek.node.controller_apis.registry import ControllerRequestContext, handles
from odradek.protocol.messages.clients.api_versions_request import ApiVersionsRequest
from odradek.protocol.messages.clients.api_versions_response import ApiVersionsResponse


@handles(API_VERSIONS, 0, 4)
async def api_versions(
    ctx: ControllerRequestContext, request: ApiVersionsRequest
) -> ApiVersionsResponse:
    image = ctx.controller.controller.committed_image
    features = Features(
        supported={name: (r.min, r.max) for name, r in supported_features().items()},
        finalized=image.features.finalized(),
        epoch=image.provenance.last_offset,
    )
    return api_versions_response(ctx.api_version, request, ctx.apis.apis, features)
