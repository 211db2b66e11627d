"""This broker's configuration in layers, and whether a dynamic change to it is acceptable.

A broker key's value comes from four layers, most specific first: a dynamic value
for this broker (the metadata log's configs of BROKER resource ``"<node id>"``), a
dynamic cluster-wide default (resource ``""``), the static ``server.properties``, and
Kafka's default (:mod:`odradek.node.config.resolver` merges them). This module reads
the two dynamic layers out of the metadata image, as Kafka's ``DynamicBrokerConfig``
does out of its config repository, leaving out values that do not parse
(``fromPersistentProps`` ignores them the same way, so one bad record cannot stop a
broker from describing or loading its configuration).

Before a BROKER config change is forwarded to the controller, the broker checks it
(``ConfigAdminManager.validateBrokerConfigChange`` and
``DynamicBrokerConfig.validate``), in Kafka's order:

* keys that cannot change at run time: "Cannot update these configs dynamically";
* values that do not parse or validate;
* per-broker keys set as a cluster-wide default: "Cannot update these configs at
  default cluster level, broker id must be specified";
* then the whole configuration the change would give is checked as at start-up:
  unknown keys and features Odradek does not have are refused here, where Kafka
  would store an unknown key and ignore it -- a typo must not pass silently.

Every failure is INVALID_REQUEST with the reason as its message: Kafka answers so
(KAFKA-13609 notes INVALID_CONFIG would fit better, but changing it needs a KIP).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from odradek.metadata.configs import ConfigResource
from odradek.metadata.image import MetadataImage
from odradek.node.config import BROKER_CONFIGS, BrokerConfig, ConfigError, ConfigLayers, UpdateMode
from odradek.node.config.broker_config import parse_broker_values, with_id_synonyms
from odradek.node.config.validation import check_node
from odradek.protocol.errors import ErrorCode, KafkaError


def parsable(configs: Mapping[str, str]) -> dict[str, str]:
    """The entries of a dynamic layer whose key is a broker key and whose value parses."""
    kept = {}
    for name, value in configs.items():
        key = BROKER_CONFIGS.get(name)
        if key is None:
            continue
        try:
            key.parse(value)
        except ConfigError:
            continue
        kept[name] = value
    return kept


def config_layers(
    config: BrokerConfig, image: MetadataImage, *, per_broker: bool = True
) -> ConfigLayers:
    """The broker's layers as of ``image``; without its own dynamic layer if not ``per_broker``.

    The cluster-default resource (``""``) is described from the static and default
    layers only, so that one broker's own overrides do not show as cluster defaults.
    """
    return ConfigLayers(
        static=config.originals,
        dynamic_default=parsable(image.configs.configs(ConfigResource.broker())),
        dynamic_broker=(
            parsable(image.configs.configs(ConfigResource.broker(config.node_id)))
            if per_broker
            else {}
        ),
    )


def _scala_set(names: Iterable[str]) -> str:
    return "Set(" + ", ".join(sorted(names)) + ")"


def check_broker_change(
    config: BrokerConfig, image: MetadataImage, configs: Mapping[str, str], *, per_broker: bool
) -> None:
    """Raise INVALID_REQUEST unless ``configs`` may become the dynamic layer it replaces.

    ``configs`` is the complete new dynamic config set of this broker's resource
    (``per_broker``) or of the cluster-wide default resource.
    """
    read_only = [
        name
        for name in configs
        if (key := BROKER_CONFIGS.get(name)) is not None and key.mode is UpdateMode.READ_ONLY
    ]
    if read_only:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Cannot update these configs dynamically: {_scala_set(read_only)}",
        )
    for name, value in configs.items():
        key = BROKER_CONFIGS.get(name)
        if key is not None:
            try:
                key.parse(value)
            except ConfigError as error:
                raise KafkaError(ErrorCode.INVALID_REQUEST, str(error)) from None
    if not per_broker:
        per_broker_keys = [
            name
            for name in configs
            if (key := BROKER_CONFIGS.get(name)) is not None and key.mode is UpdateMode.PER_BROKER
        ]
        if per_broker_keys:
            raise KafkaError(
                ErrorCode.INVALID_REQUEST,
                "Cannot update these configs at default cluster level, broker id must be "
                f"specified: {_scala_set(per_broker_keys)}",
            )
    layers = config_layers(config, image)
    default, own = (
        (layers.dynamic_default, configs) if per_broker else (configs, layers.dynamic_broker)
    )
    merged = {**with_id_synonyms(layers.static), **default, **own}
    try:
        check_node(parse_broker_values(merged), merged)
    except ConfigError as error:
        raise KafkaError(ErrorCode.INVALID_REQUEST, str(error)) from None
