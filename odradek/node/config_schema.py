"""The controller's view of config keys, answered from the node's config tables.

When a client alters a topic or broker config, the controller checks the complete new
set against Kafka's definitions (types, validators, which broker keys may change
while running) before writing any ConfigRecord; APPEND and SUBTRACT need to know
which keys are lists and where they start from. Kafka's
``ControllerConfigurationValidator`` and ``DynamicBrokerConfig`` do the same.
"""

from __future__ import annotations

from collections.abc import Mapping

from odradek.metadata.configs import ConfigResource, ConfigResourceType
from odradek.node.config import BROKER_CONFIGS, TOPIC_CONFIGS, ConfigError, ConfigType, UpdateMode
from odradek.node.config.config_def import ConfigDef, ConfigKey
from odradek.protocol.errors import ErrorCode, KafkaError


def _table(resource_type: int) -> ConfigDef | None:
    if resource_type == ConfigResourceType.TOPIC:
        return TOPIC_CONFIGS
    if resource_type == ConfigResourceType.BROKER:
        return BROKER_CONFIGS
    return None


class NodeConfigSchema:
    """:class:`odradek.controller.configs.ConfigSchema` over Kafka's config tables."""

    def _key(self, resource_type: int, name: str) -> ConfigKey | None:
        table = _table(resource_type)
        return table.get(name) if table is not None else None

    def validate(
        self, resource: ConfigResource, configs: Mapping[str, str], existing: Mapping[str, str]
    ) -> None:
        for name, value in configs.items():
            key = self._key(resource.type, name)
            if key is None:
                what = "topic" if resource.type == ConfigResourceType.TOPIC else "broker"
                raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown {what} config name: {name}")
            read_only = key.mode is UpdateMode.READ_ONLY
            if (
                resource.type == ConfigResourceType.BROKER
                and read_only
                and (existing.get(name) != value)
            ):
                raise KafkaError(
                    ErrorCode.INVALID_CONFIG,
                    f"Cannot update these configs dynamically: Set({name})",
                )
            try:
                key.parse(value)
            except ConfigError as e:
                raise KafkaError(ErrorCode.INVALID_CONFIG, str(e)) from None

    def is_list(self, resource_type: int, name: str) -> bool:
        key = self._key(resource_type, name)
        return key is not None and key.type is ConfigType.LIST

    def default_value(self, resource_type: int, name: str) -> str | None:
        key = self._key(resource_type, name)
        return key.default_string if key is not None else None
