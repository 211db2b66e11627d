"""ApiVersions (key 18): which APIs and versions this broker speaks.

Behaviour (Kafka's ``ApiVersionsRequest`` handling in ``KafkaApis`` and
``SocketServer``):

* the list is the handler registry itself, so the broker advertises exactly what it
  implements; a controller listener answers from the controller's registry with the
  same :func:`api_versions_response` (:mod:`odradek.node.controller_apis`);
* v3+ requests carry the client's software name and version; either one failing
  Kafka's pattern (letters, digits, ``-`` and ``.``, starting and ending with a
  letter or digit) is answered with INVALID_REQUEST;
* a version newer than the broker knows is answered by the dispatcher with
  :func:`unsupported_version_response`: a v0 body with UNSUPPORTED_VERSION and the
  full list, from which the client picks a version both sides speak;
* from v3 the response names the supported features and the finalized ones from the
  metadata image, with the image's last offset as the finalized features epoch, so
  an UpdateFeatures shows here once its records have replicated. Finalized features
  at level 0 are left out; so, below v4, are supported features whose lowest level is
  0, which older clients cannot parse (Kafka's ``alterFeatureLevel0``, KAFKA-17492).

Spec: ``clients/ApiVersionsRequest.json``, ``clients/ApiVersionsResponse.json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.api_versions_request import ApiVersionsRequest
from odradek.protocol.messages.clients.api_versions_response import (
    ApiVersion,
    ApiVersionsResponse,
    FinalizedFeatureKey,
    SupportedFeatureKey,
)

if TYPE_CHECKING:
    from odradek.broker.broker import Features

API_VERSIONS = 18

_SOFTWARE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")


class AdvertisedApi(Protocol):
    """An API a listener serves, with the versions it serves (a broker or controller handler)."""

    @property
    def key(self) -> int: ...

    @property
    def lowest(self) -> int: ...

    @property
    def highest(self) -> int: ...


def api_list(apis: Mapping[int, AdvertisedApi]) -> list[ApiVersion]:
    return [
        ApiVersion(api_key=h.key, min_version=h.lowest, max_version=h.highest)
        for h in sorted(apis.values(), key=lambda h: h.key)
    ]


def unsupported_version_response(apis: Mapping[int, AdvertisedApi]) -> ApiVersionsResponse:
    return ApiVersionsResponse(error_code=ErrorCode.UNSUPPORTED_VERSION, api_keys=api_list(apis))


def api_versions_response(
    version: int,
    request: ApiVersionsRequest,
    apis: Mapping[int, AdvertisedApi],
    features: Features,
) -> ApiVersionsResponse:
    """The answer to an ApiVersions request at ``version``, on a listener serving ``apis``."""
    if version >= 3 and not (
        _SOFTWARE.fullmatch(request.client_software_name)
        and _SOFTWARE.fullmatch(request.client_software_version)
    ):
        return ApiVersionsResponse(error_code=ErrorCode.INVALID_REQUEST)
    return ApiVersionsResponse(
        error_code=ErrorCode.NONE,
        api_keys=api_list(apis),
        supported_features=[
            SupportedFeatureKey(name=name, min_version=lo, max_version=hi)
            for name, (lo, hi) in sorted(features.supported.items())
            if lo > 0 or version >= 4
        ],
        finalized_features_epoch=features.epoch,
        finalized_features=[
            FinalizedFeatureKey(name=name, max_version_level=level, min_version_level=level)
            for name, level in sorted(features.finalized.items())
            if level > 0
        ],
    )


@handles(API_VERSIONS, 0, 4)
async def handle_api_versions(
    ctx: RequestContext, request: ApiVersionsRequest
) -> ApiVersionsResponse:
    return api_versions_response(ctx.api_version, request, ctx.apis, ctx.broker.features)
