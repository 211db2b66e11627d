"""UpdateFeatures (key 57): finalizing feature levels, decided by the active controller.

Behaviour (Kafka 4's ``KafkaApis``, which forwards the request as it came, and the
controller's ``ControllerApis.handleUpdateFeatures``; the decision is
:func:`odradek.controller.update_features.update_features`):

* the broker decides nothing: the request goes to the active controller at the
  client's version (:mod:`odradek.broker.forwarding`) and its answer comes back;
* the controller applies every update or none: a refused update is the top-level
  INVALID_UPDATE_VERSION of the whole request, with the reason in its message;
* ``validate_only`` (``kafka-features.sh --dry-run``) checks and writes nothing;
* the new levels reach this broker's ApiVersions answers (FinalizedFeatures and
  FinalizedFeaturesEpoch) as the records replicate, so a describe right after the
  answer may still show the old level, as in Kafka;
* if the controller cannot be reached or does not answer in time the request gets
  that error at the top level and no per-feature results (Kafka's
  ``UpdateFeaturesRequest.getErrorResponse``).

Version notes: v1 adds the upgrade type and ``validate_only`` (KIP-778); v2 answers
without per-feature results.

Spec: ``clients/UpdateFeaturesRequest.json``, ``clients/UpdateFeaturesResponse.json``.
"""

from __future__ import annotations

from odradek.broker.admin_errors import update_features_failed
from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import forward
from odradek.protocol.messages.clients.update_features_request import UpdateFeaturesRequest
from odradek.protocol.messages.clients.update_features_response import UpdateFeaturesResponse

UPDATE_FEATURES = 57


@handles(UPDATE_FEATURES, 0, 2)
async def handle_update_features(
    ctx: RequestContext, request: UpdateFeaturesRequest
) -> UpdateFeaturesResponse:
    return await forward(ctx, request, update_features_failed)
